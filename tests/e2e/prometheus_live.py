#!/usr/bin/env python3
"""Live check of the chart's monitoring: the Grafana dashboards' queries and the PrometheusRule's
recording rules return data from a real Prometheus scraping the split deployment, and the
consumer-lag alert fires when processing stops.

  tests/e2e/prometheus_live.py [--bin PIXHIVE] [--keep] [--logs DIR]

It starts its own cluster (scripts/cluster up, `--rate-limits off` as in the chaos test: all the
load comes from one address) in a temp folder on a free block of ports, and Prometheus on it
(scripts/monitor up: the ServiceMonitor's scrape configuration, the PrometheusRule rendered by
Helm, every 5 s), with the consumer-lag alert's values made short for this test (threshold 5,
window 1m, for 15s; the chart's are 20, 10m, 3m). Then, through the ingress:

  load       4 users signed up and verified from the mail outbox, logged in, 3 photos each
             processed (chaos.py's setup), then 40 s of chaos.py's mix at 10 requests/s (feed,
             photo reads, search, likes, comments, follows, uploads, jobs) while this script also
             drives what the mix lacks: originals and variants read twice (the hot-blob cache),
             tag pages, notifications, a job of several operations, ad-hoc POST /process (a
             result-cache hit, a corrupt image that fails, and a burst of 40 full-size images
             beyond the admission queues: 503s, i.e. 5xx and ad-hoc rejections), a failed login,
             a 404 and an upload refused for its caption; Redis killed until media's and graph's
             outbox relays have failed to publish, then restarted; and idle connections to one
             processing replica until it refuses some (past its --max-connections, 4096: the
             test's connections come from the ingress's address, a trusted proxy, exempt from
             the per-IP cap)
  (a)        every query of tests/chart/dashboards/queries.mjs, with namespace=pixhive and the
             other variables `.*`, then with real values (REAL_VARS: service=processing,
             job=media, operation=grayscale), returns at least one series with a number (NaN is
             a panel without data), except those listed in NO_DATA with a reason (none now)
  (b)        every recording rule of the PrometheusRule returns a series with a number
  (c)        both processing replicas killed (scripts/cluster kill), photos uploaded one a second
             until PixHiveProcessingConsumerLag fires in /api/v1/alerts; processing restarted,
             pixhive:bus_consumer_lag:max{group="processing"} falls to 0

Every wait is wait_until(): polling with a deadline, no bare sleeps. Exits 1 when a check
fails, printing what failed and keeping the cluster's logs (--logs DIR, or a temp folder it
names). Run time on 2 cores: about 3 min with the release binary (cluster up ~15 s, Prometheus
and its first scrapes ~15 s, setup ~5 s, load 40 s, checks (a) and (b) a few s, (c) 40-70 s: the
alert fires 25-45 s after processing stops and the lag is 0 again 15-30 s after the restart,
down ~15 s), 4 min while a C++ build shares the cores, 5 min with the debug (ASan) binary that
ctest runs (cluster up ~45 s, the load's extra requests ~40 s longer).
"""
import argparse
import concurrent.futures
import json
import math
import os
import resource
import shutil
import selectors
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import chaos  # noqa: E402  (the cluster, client, setup and load of the chaos test)

REPO = chaos.REPO
MONITOR = os.path.join(REPO, "scripts", "monitor")
QUERIES = os.path.join(REPO, "tests", "chart", "dashboards", "queries.mjs")
# Short enough to fire within a minute of processing stopping; the chart's defaults would take
# over 13 minutes (a 10 m deriv window, then 3 m pending).
LAG_VALUES = {"threshold": 5, "window": "1m", "for": "15s"}
LOAD_SECONDS = 40
# The second pass's values: services whose every panel has data after this run (processing gets
# the 5xx and the refused connections; media's outbox publishes fail while Redis is down).
REAL_VARS = {"service": "processing", "job": "media", "operation": "grayscale"}
REFUSING_REPLICA = "processing-2"

# Dashboard queries that legitimately have no data after this run, by (file, panel, refId, pass)
# (pass: "all" for `.*`, "real" for REAL_VARS, "*" for both), each with its reason. Empty: the
# load gives every panel data, dead letters, link retries and the like as their zero series.
NO_DATA = {}


def now():
    return time.monotonic()


class Timeout(Exception):
    pass


def wait_until(what, fn, timeout, every=1.0):
    """Calls fn() until it returns a true value; raises Timeout naming `what` (and fn's last
    value) when `timeout` seconds pass first. The one way this test waits."""
    deadline = now() + timeout
    while True:
        v = fn()
        if v:
            return v
        if now() >= deadline:
            raise Timeout("%s: not within %.0f s (last: %s)" % (what, timeout, str(v)[:500]))
        time.sleep(every)


class Prometheus:
    def __init__(self, url):
        self.url = url

    def get(self, path, **params):
        q = urllib.parse.urlencode(params)
        with urllib.request.urlopen("%s%s?%s" % (self.url, path, q), timeout=20) as r:
            doc = json.load(r)
        if doc.get("status") != "success":
            raise RuntimeError("%s: %s" % (path, doc))
        return doc["data"]

    def query(self, expr):
        """The instant vector (or scalar) of expr now, as [(labels, value)]."""
        data = self.get("/api/v1/query", query=expr)
        if data["resultType"] == "scalar":
            return [({}, float(data["result"][1]))]
        return [(s["metric"], float(s["value"][1])) for s in data["result"]]

    def numbers(self, expr):
        return [(m, v) for m, v in self.query(expr) if not math.isnan(v)]

    def alerts(self):
        return self.get("/api/v1/alerts")["alerts"]


def multipart(fields):
    """multipart/form-data of [(name, filename or None, content type or None, bytes)]."""
    boundary = "pixhive-live-%d" % int(time.time() * 1000)
    out = []
    for name, filename, ctype, data in fields:
        head = 'Content-Disposition: form-data; name="%s"' % name
        if filename:
            head += '; filename="%s"' % filename
        out.append(b"--" + boundary.encode() + b"\r\n" + head.encode() + b"\r\n")
        if ctype:
            out.append(("Content-Type: %s\r\n" % ctype).encode())
        out.append(b"\r\n" + data + b"\r\n")
    out.append(b"--" + boundary.encode() + b"--\r\n")
    return b"".join(out), "multipart/form-data; boundary=" + boundary


def process_form(image, operation, params=None, fmt="jpeg"):
    fields = [("image", "image.jpg", "image/jpeg", image), ("operation", None, None, operation.encode()),
              ("format", None, None, fmt.encode())]
    if params:
        fields.append(("params", None, None, json.dumps(params).encode()))
    return multipart(fields)


def expect(status, want, what):
    if status not in want:
        raise SystemExit("%s: HTTP %s, expected %s" % (what, status, want))


def extra_features(client, users, photos, full_size):
    """What chaos.py's mix does not do; each request's answer is checked where it is certain."""
    alice, bob = users[0], users[1]
    counts = {}
    mine = [p for p in photos if p["owner"] == alice["name"]]
    # Originals and variants, each read twice: a miss, then a hit of media's hot-blob cache.
    for p in mine:
        for path in ("/original", "/variants/thumbnail", "/variants/display"):
            for _ in range(2):
                st, _ = client.call("GET", "/api/v1/photos/%s%s" % (p["id"], path), token=alice["token"])
                expect(st, (200,), "GET photo " + path)
    # Tag pages (search), notifications (graph), the user's own profile (auth).
    for tag in ("chaos", "macro", "sunset"):
        st, _ = client.call("GET", "/api/v1/tags/" + tag)
        expect(st, (200,), "GET /tags/" + tag)
    for u in users:
        st, _ = client.call("GET", "/api/v1/notifications", token=u["token"])
        expect(st, (200,), "GET /notifications")
        st, _ = client.call("GET", "/api/v1/users/me", token=u["token"])
        expect(st, (200,), "GET /users/me")
    # A stored-photo job of several operations.
    st, doc = client.json("POST", "/api/v1/photos/%s/jobs" % mine[0]["id"],
                          {"operations": [{"name": "edge_detection", "params": {"threshold1": 50}},
                                          {"name": "gaussian_blur", "params": {"kernel": 9}},
                                          {"name": "grayscale"}]}, token=alice["token"])
    expect(st, (202,), "POST jobs")
    # Ad-hoc: the same request twice (the second is a result-cache hit), and a corrupt JPEG.
    small = chaos.distinct(full_size["small"], "live adhoc")
    for _ in range(2):
        body, ctype = process_form(small, "contrast_enhancement", {"mode": "clahe"}, "webp")
        st, _ = client.call("POST", "/api/v1/process", body, bob["token"], ctype)
        expect(st, (200,), "POST /process")
    corrupt = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + os.urandom(4000)
    body, ctype = process_form(corrupt, "grayscale")
    st, _ = client.call("POST", "/api/v1/process", body, bob["token"], ctype)
    counts["corrupt image"] = st
    # 4xx: a wrong password, a photo that does not exist.
    st, _ = client.json("POST", "/api/v1/auth/login", {"login": bob["name"], "password": "not the password"})
    expect(st, (401, 403), "login with a wrong password")
    st, _ = client.call("GET", "/api/v1/photos/999999999")
    expect(st, (404,), "GET a missing photo")
    # An upload media refuses after reading it (a caption over 2200 characters): `rejected`.
    st, _ = client.call("POST", "/api/v1/photos?caption=" + "x" * 2300, full_size["small"], alice["token"], "image/jpeg")
    expect(st, (400, 413, 422), "an upload with a caption too long")
    # A burst of full-size images beyond the admission queues (8 per worker, one worker per
    # replica): the surplus gets 503, the one 5xx a healthy cluster answers on purpose.
    big = full_size["big"]

    def one(i):
        b, ct = process_form(chaos.distinct(big, "burst %d" % i), "gaussian_blur", {"kernel": 31})
        return client.call("POST", "/api/v1/process", b, users[i % len(users)]["token"], ct, timeout=120)[0]

    t = now()
    with concurrent.futures.ThreadPoolExecutor(max_workers=40) as ex:
        statuses = list(ex.map(one, range(40)))
    counts["ad-hoc burst"] = "%d answered 200, %d 503 in %.1f s" % (statuses.count(200), statuses.count(503), now() - t)
    if not statuses.count(503):
        raise SystemExit("no 503 from a burst of 40 ad-hoc requests: %s" % statuses)
    return counts


def redis_outage(prom, cluster, client, user, other, jpeg):
    """Redis killed until media's and graph's outbox relays have failed to publish (their events
    wait in PostgreSQL meanwhile), then restarted: the outbox panels' failures have data."""
    failing = 'sum by (job) (pixhive_outbox_publish_failures_total{namespace="pixhive"}) > 0'
    n = [0]
    t0 = now()
    cluster.run("kill", "redis")
    try:
        def failed():
            # Each pass writes an event to media's and graph's outboxes.
            n[0] += 1
            client.call("POST", "/api/v1/photos?caption=outage", chaos.distinct(jpeg, "outage %d" % n[0]),
                        user["token"], "image/jpeg")
            client.call("POST", "/api/v1/photos/%s/comments" % other["id"], json.dumps({"text": "outage %d" % n[0]}).encode(),
                        user["token"], "application/json")
            return {m.get("job") for m, _ in prom.numbers(failing)} >= {"media", "graph"}

        wait_until("outbox publish failures of media and graph", failed, 60, every=1)
    finally:
        cluster.run("restart", "redis")
    return now() - t0


def refuse_connections(port, wanted=16):
    """Opens idle connections to one replica's HTTP port, in batches, until it has refused
    `wanted` of them: it keeps --max-connections (4096, lowered below its open-files limit) and
    closes the rest right after accepting them. Returns how many it closed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    budget = hard - 256  # descriptors this process keeps for everything else
    socks = []
    sel = selectors.DefaultSelector()
    closed = set()
    try:
        def refused():
            # The server sends nothing on a kept connection: readable means closed (EOF or reset).
            for key, _ in sel.select(timeout=0.2):
                closed.add(key.fileobj)
                sel.unregister(key.fileobj)
            return len(closed) >= wanted

        while not refused():
            if len(socks) + 512 > budget:
                raise SystemExit("the replica on port %d refused %d of %d connections, want %d (open-files limit %d)" % (
                    port, len(closed), len(socks), wanted, hard))
            for _ in range(512):
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                s.setblocking(False)
                socks.append(s)
                sel.register(s, selectors.EVENT_READ)
        return len(closed)
    finally:
        sel.close()
        for s in socks:
            s.close()


def replica_ports(cluster):
    """{name-replica: http port} from scripts/cluster status."""
    out = {}
    for line in cluster.run("status").stdout.splitlines()[1:]:
        f = line.split()
        if len(f) >= 5 and f[1].isdigit():
            out["%s-%s" % (f[0], f[1])] = int(f[4])
    return out


def dashboard_queries(variables):
    args = ["node", QUERIES, "--var", "namespace=pixhive"]
    for k, v in variables.items():
        args += ["--var", "%s=%s" % (k, v)]
    out = subprocess.run(args, check=True, stdout=subprocess.PIPE, text=True).stdout
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def check_dashboards(prom, passes, timeout):
    """Waits until every dashboard query (every pass) has a number, or the timeout; returns the
    failures as lines, and the excused queries that turned out to have data."""
    todo = []
    for name, variables in passes:
        for q in dashboard_queries(variables):
            excused = NO_DATA.get((q["file"], q["panel"], q["refId"], name)) or \
                NO_DATA.get((q["file"], q["panel"], q["refId"], "*"))
            todo.append((name, q, excused))
    pending = {}

    def all_have_data():
        pending.clear()
        for name, q, excused in todo:
            if excused:
                continue
            if not prom.numbers(q["expr"]):
                pending["%s %s / %s %s" % (name, q["file"], q["panel"], q["refId"])] = q["expr"]
        return not pending

    try:
        wait_until("every dashboard query has data", all_have_data, timeout, every=5)
    except Timeout:
        pass
    excused_with_data = sorted({"%s / %s %s" % (q["file"], q["panel"], q["refId"])
                                for _, q, excused in todo if excused and prom.numbers(q["expr"])})
    return ["%s: no data from %s" % kv for kv in sorted(pending.items())], len(todo), excused_with_data


def check_recording_rules(prom, rules_file, timeout):
    with open(rules_file) as f:
        records = [r["record"] for g in json.load(f)["groups"] for r in g["rules"] if "record" in r]
    missing = []

    def all_recorded():
        missing[:] = [r for r in records if not prom.numbers(r)]
        return not missing

    try:
        wait_until("every recording rule has data", all_recorded, timeout, every=5)
    except Timeout:
        pass
    return ["recording rule %s: no data" % r for r in missing], len(records)


def lag_alert(prom, cluster, client, user, jpeg, report):
    """(c): processing stopped, uploads until the lag alert fires; then restarted, lag back to 0."""
    violations = []
    lag = 'max(pixhive:bus_consumer_lag:max{namespace="pixhive", group="processing"})'
    wait_until("processing's lag at 0 before the stop", lambda: [v for _, v in prom.numbers(lag) if v == 0], 60)
    t0 = now()
    for r in ("1", "2"):
        cluster.run("kill", "processing", r)
    uploaded = [0]

    def firing():
        # One upload a second keeps the lag growing (the alert needs a positive deriv).
        body = chaos.distinct(jpeg, "lag %d %f" % (uploaded[0], time.time()))
        st, _ = client.call("POST", "/api/v1/photos?caption=lag", body, user["token"], "image/jpeg")
        if st == 201:
            uploaded[0] += 1
        return [a for a in prom.alerts()
                if a["labels"].get("alertname") == "PixHiveProcessingConsumerLag" and a["state"] == "firing"]

    try:
        alerts = wait_until("PixHiveProcessingConsumerLag firing", firing, 150, every=1)
        report["lag alert firing after"] = "%.0f s (%d photos uploaded, lag %s)" % (
            now() - t0, uploaded[0], alerts[0].get("value"))
    except Timeout as e:
        violations.append(str(e))
    t1 = now()
    for r in ("1", "2"):
        cluster.run("restart", "processing", r)
    try:
        wait_until("processing's lag back to 0", lambda: [v for _, v in prom.numbers(lag) if v == 0], 120, every=2)
        report["lag back to 0 after restart"] = "%.0f s" % (now() - t1)
    except Timeout as e:
        violations.append(str(e))
    return violations


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.environ.get("PIXHIVE_BIN", ""),
                    help="pixhive binary (default: PIXHIVE_BIN, else scripts/cluster builds the release binary)")
    ap.add_argument("--keep", action="store_true", help="leave the cluster and Prometheus running")
    ap.add_argument("--logs", default="", help="copy the cluster's logs here at the end")
    args = ap.parse_args()

    started = now()
    cluster = chaos.Cluster(args.bin, args.keep)
    violations = []
    report = {}
    times = {}

    def monitor(*a, check=True):
        p = subprocess.run([MONITOR, *a], env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if check and p.returncode != 0:
            raise SystemExit("scripts/monitor %s failed:\n%s" % (" ".join(a), p.stdout))
        return p.stdout.strip().splitlines()

    try:
        t = now()
        url = cluster.up()
        times["cluster up"] = now() - t
        t = now()
        prom = Prometheus(monitor("up", "--set-json", "metrics.prometheusRule.consumerLag=" + json.dumps(LAG_VALUES))[-1])
        wait_until("12 targets up", lambda: len([v for _, v in prom.query("up") if v == 1]) == 12, 60)
        times["prometheus up"] = now() - t
        print("cluster %s, Prometheus %s (dir %s)" % (url, prom.url, cluster.dir), flush=True)

        client = chaos.Client(url)
        work = tempfile.mkdtemp(prefix="pixhive-live-jpegs-")
        try:
            jpegs = chaos.make_jpegs(work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        with open(os.path.join(REPO, ".cache", "photos", "string.jpg"), "rb") as f:
            full_size = {"big": f.read(), "small": jpegs[0]}
        t = now()
        users, photos, _ = chaos.setup(client, cluster, jpegs)
        times["setup"] = now() - t

        t = now()
        rec = chaos.Recorder()
        load = chaos.Load(client, users, photos, jpegs, 10.0, rec)
        load.start()
        t_load = now()
        try:
            t_extra = now()
            report.update(extra_features(client, users, photos, full_size))
            times["extra features"] = now() - t_extra
            others = [p for p in photos if p["owner"] != users[0]["name"]]
            report["redis down for"] = "%.0f s" % redis_outage(prom, cluster, client, users[0], others[0], jpegs[0])
            ports = replica_ports(cluster)
            report["connections refused by " + REFUSING_REPLICA] = refuse_connections(ports[REFUSING_REPLICA])
            wait_until("%d s of load" % LOAD_SECONDS, lambda: now() - t_load >= LOAD_SECONDS,
                       LOAD_SECONDS + 5, every=0.5)
        finally:
            load.finish()
        recs = rec.records
        report["load"] = "%d requests, %d 2xx, %d 4xx, %d 5xx, %d connection errors" % (
            len(recs), sum(200 <= r["status"] < 300 for r in recs), sum(400 <= r["status"] < 500 for r in recs),
            sum(r["status"] >= 500 for r in recs), sum(r["status"] == 0 for r in recs))
        times["load"] = now() - t

        # Photos uploaded by the load become ready and their jobs run while the checks poll.
        t = now()
        failures, n_queries, excused_with_data = check_dashboards(
            prom, [("all", {}), ("real", REAL_VARS)], timeout=45)
        violations += failures
        report["dashboard queries"] = "%d checked, %d without data, %d excused (%d of them had data)" % (
            n_queries, len(failures), len(NO_DATA), len(excused_with_data))
        failures, n_rules = check_recording_rules(prom, os.path.join(cluster.dir, "monitor", "rules.json"), timeout=30)
        violations += failures
        report["recording rules"] = "%d checked, %d without data" % (n_rules, len(failures))
        times["checks (a), (b)"] = now() - t

        t = now()
        violations += lag_alert(prom, cluster, client, users[0], jpegs[0], report)
        times["check (c)"] = now() - t
    except (Timeout, SystemExit) as e:
        violations.append(str(e))
    finally:
        print()
        for k, v in report.items():
            print("%s: %s" % (k, v))
        print("times: " + ", ".join("%s %.0f s" % kv for kv in times.items()))
        if violations:
            print("\nCHECKS FAILED (%d):" % len(violations))
            for v in violations:
                print("  - " + v)
            print("\ncluster error/warn lines:")
            for line in cluster.error_lines(6):
                print("  " + line)
            if not args.logs:
                args.logs = tempfile.mkdtemp(prefix="pixhive-live-logs-")
        if args.logs and os.path.isdir(os.path.join(cluster.dir, "logs")):
            shutil.copytree(os.path.join(cluster.dir, "logs"), args.logs, dirs_exist_ok=True)
            print("logs copied to %s" % args.logs)
        if args.keep:
            print("kept running: PIXHIVE_CLUSTER_DIR=%s scripts/monitor url" % cluster.dir)
        else:
            monitor("down", check=False)
        cluster.down()
        print("prometheus live check: %d passed, %d failed (%.0f s)" % (
            0 if violations else 1, 1 if violations else 0, now() - started))
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
