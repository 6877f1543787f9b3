#!/usr/bin/env python3
"""Resident memory and CPU of every service under the chaos test's load, read from Prometheus:
the numbers behind the Helm chart's resources (bench/results/resources.md).

  bench/resources.py [--bin PIXHIVE] [--seconds 180] [--rate 12] [--keep]

Starts the local split deployment (scripts/cluster: 2 replicas of every service,
`--processing-workers 1`, `--rate-limits off`) with Prometheus on it (scripts/monitor, every
5 s), makes the chaos test's users and photos, then runs its load (tests/e2e/chaos.py's Load:
4 clients, the same mix of feed, photo reads, search, likes, comments, follows, uploads of
480/640 px JPEGs and jobs) for --seconds without any kill. Then, over the load's window, per
service (the max over its 2 pods): p95 and max of process_resident_memory_bytes, and p95, max
and mean of rate(process_cpu_seconds_total[30s]) (a 5 s subquery over the window less its first
30 s, so that no rate reaches back into the setup).
The chaos mix uploads small JPEGs and logs nobody in; a second phase uploads the real camera
photos of .cache/photos (1.4-8.8 MB, up to 3640x2400 and larger) from 2 clients while 2 others
log in over and over, for --camera-seconds, and waits until processing has drained the photos:
p95 and max RSS and CPU of that phase are the next columns (media holds the photos' bytes and
its hot-blob cache fills; processing decodes them; auth hashes passwords with Argon2id, 64 MiB
each). Prometheus samples RSS every 5 s and misses what lasts less, such as a password hash: the
last column is each process's peak RSS over the whole run, VmHWM from /proc.
Prints Markdown.
Run time: --seconds + --camera-seconds plus about 2 min (cluster up, setup, drain, down).
"""
import argparse
import os
import threading
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import livelib  # noqa: E402

SERVICES = ["auth", "media", "processing", "graph", "feed", "search"]


def per_job(prom, expr, at):
    data = prom.get("/api/v1/query", query=expr, time="%.3f" % at)
    return {s["metric"].get("job"): float(s["value"][1]) for s in data["result"]}


def camera_phase(live, seconds):
    """Uploads distinct copies of the camera photos from 2 clients for `seconds` while 2 more log
    in over and over, then waits until processing has drained the photos; returns
    ((uploads, logins), start, end) in wall-clock seconds."""
    photos_dir = os.path.join(livelib.REPO, ".cache", "photos")
    photos = []
    for name in sorted(os.listdir(photos_dir)):
        if name.endswith(".jpg"):
            with open(os.path.join(photos_dir, name), "rb") as f:
                photos.append(f.read())
    done = [0]
    lock = threading.Lock()
    t_start = time.time()

    def client(k):
        user = live.users[k]
        i = 0
        while time.time() - t_start < seconds:
            body = livelib.chaos.distinct(photos[(i + k) % len(photos)], "camera %d %d %f" % (k, i, time.time()))
            st, _ = live.client.call("POST", "/api/v1/photos?caption=camera", body, user["token"], "image/jpeg")
            if st == 201:
                with lock:
                    done[0] += 1
            i += 1

    logins = [0]

    def login(k):
        user = live.users[k]
        while time.time() - t_start < seconds:
            st, _ = live.client.json("POST", "/api/v1/auth/login", {"login": user["name"], "password": livelib.chaos.PASSWORD})
            if st == 200:
                with lock:
                    logins[0] += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(2)]
    threads += [threading.Thread(target=login, args=(k,)) for k in (2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Drained: nothing undelivered to processing's group, nothing delivered and unacknowledged.
    livelib.wait_until("processing drained", lambda: all(v == 0 for _, v in live.prom.numbers(
        'max(pixhive_bus_consumer_lag{namespace="pixhive",group="processing"})'
        ' + max(pixhive_bus_consumer_pending{namespace="pixhive",group="processing"})')), 600, every=2)
    t_end = time.time()
    livelib.wait_until("a scrape after the drain", lambda: all(
        float(v) >= t_end for _, v in live.prom.query("timestamp(up)")), 30, every=1)
    return (done[0], logins[0]), t_start, t_end


def peak_rss(cluster_dir):
    """{service: the largest VmHWM (bytes) of its replicas}, from the pids scripts/cluster keeps."""
    out = {}
    run = os.path.join(cluster_dir, "run")
    for name in os.listdir(run):
        svc = name.rsplit("-", 1)[0]
        if not name.endswith(".pid") or svc not in SERVICES:
            continue
        with open(os.path.join(run, name)) as f:
            pid = f.read().split()[0]
        try:
            with open("/proc/%s/status" % pid) as f:
                hwm = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM:"))
        except (OSError, StopIteration):
            continue
        out[svc] = max(out.get(svc, 0), hwm)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.environ.get("PIXHIVE_BIN", ""))
    ap.add_argument("--seconds", type=int, default=180)
    ap.add_argument("--rate", type=float, default=12.0, help="requests per second in all (chaos.py's default)")
    ap.add_argument("--camera-seconds", type=int, default=60)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    live = livelib.Live(args.bin, args.keep)
    try:
        live.up()
        load, rec = live.load(args.rate)
        t0 = time.time()
        load.start()
        livelib.wait_until("%d s of load" % args.seconds, lambda: time.time() - t0 >= args.seconds,
                           args.seconds + 5, every=1)
        load.finish()
        t1 = time.time()
        # The last scrape of the window must be in before the window is read.
        livelib.wait_until("a scrape after the load", lambda: all(
            float(v) >= t1 for _, v in live.prom.query("timestamp(up)")), 30, every=1)
        w = "%ds" % int(t1 - t0)
        wc = "%ds" % int(t1 - t0 - 30)
        sel = 'namespace="pixhive"'
        rss = "process_resident_memory_bytes{%s}" % sel
        cpu = "rate(process_cpu_seconds_total{%s}[30s])" % sel
        rows = {
            "rss_p95": per_job(live.prom, "max by (job) (quantile_over_time(0.95, %s[%s]))" % (rss, w), t1),
            "rss_max": per_job(live.prom, "max by (job) (max_over_time(%s[%s]))" % (rss, w), t1),
            "cpu_mean": per_job(live.prom, "max by (job) (avg_over_time(%s[%s:5s]))" % (cpu, wc), t1),
            "cpu_p95": per_job(live.prom, "max by (job) (quantile_over_time(0.95, %s[%s:5s]))" % (cpu, wc), t1),
            "cpu_max": per_job(live.prom, "max by (job) (max_over_time(%s[%s:5s]))" % (cpu, wc), t1),
        }
        camera, t2, t3 = camera_phase(live, args.camera_seconds)
        rows["peak"] = peak_rss(live.cluster.dir)
        w2, w2c = "%ds" % int(t3 - t2), "%ds" % int(t3 - t2 - 30)
        rows["rss_p95_camera"] = per_job(live.prom, "max by (job) (quantile_over_time(0.95, %s[%s]))" % (rss, w2), t3)
        rows["rss_max_camera"] = per_job(live.prom, "max by (job) (max_over_time(%s[%s]))" % (rss, w2), t3)
        rows["cpu_p95_camera"] = per_job(live.prom, "max by (job) (quantile_over_time(0.95, %s[%s:5s]))" % (cpu, w2c), t3)
        rows["cpu_max_camera"] = per_job(live.prom, "max by (job) (max_over_time(%s[%s:5s]))" % (cpu, w2c), t3)
        recs = rec.records
        ok = sum(200 <= r["status"] < 300 for r in recs)
        version = subprocess.run([args.bin or os.path.join(livelib.REPO, "build", "release", "apps", "pixhive", "pixhive"), "--version"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout.strip()
        print()
        print("- date: %s" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t0)))
        print("- machine: %s (shared: load average %.1f at the end)" % (livelib.machine(), os.getloadavg()[0]))
        print("- binary: %s" % version)
        print("- load: %d requests in %.0f s (%.1f/s), %d 2xx, %d 4xx, %d 5xx, %d connection errors" % (
            len(recs), t1 - t0, len(recs) / (t1 - t0), ok, sum(400 <= r["status"] < 500 for r in recs),
            sum(r["status"] >= 500 for r in recs), sum(r["status"] == 0 for r in recs)))
        print()
        print("- photos+logins phase: %d camera photos uploaded and %d logins in %.0f s, photos processed by %.0f s" % (
            camera[0], camera[1], args.camera_seconds, t3 - t2))
        print()
        print("| service | RSS p95 | RSS max | CPU mean | CPU p95 | CPU max | photos+logins: RSS p95 | RSS max | CPU p95 | CPU max | peak RSS (VmHWM) |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for svc in SERVICES:
            mib = lambda k: "%.1f MiB" % (rows[k].get(svc, float("nan")) / 2**20)  # noqa: E731
            mc = lambda k: "%.0f m" % (rows[k].get(svc, float("nan")) * 1000)  # noqa: E731
            print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                svc, mib("rss_p95"), mib("rss_max"), mc("cpu_mean"), mc("cpu_p95"), mc("cpu_max"),
                mib("rss_p95_camera"), mib("rss_max_camera"), mc("cpu_p95_camera"), mc("cpu_max_camera"), mib("peak")))
    finally:
        live.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
