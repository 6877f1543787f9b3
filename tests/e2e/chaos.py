#!/usr/bin/env python3
"""Chaos test of the split deployment (scripts/cluster): a steady mixed load through the ingress
while replica 1 of every service is killed (-9) and restarted in turn, then Redis and PostgreSQL
are restarted; then it checks that nothing acknowledged was lost.

  tests/e2e/chaos.py [--bin PIXHIVE] [--rate 12] [--keep] [--logs DIR]

It starts its own cluster (scripts/cluster up) in a temp folder on a free block of ports and
tears it down at the end (--keep leaves it running). The cluster runs with production options
except `--rate-limits off`: all the load comes from one address, which is what that option is
for. Setup: 4 users (sign-up, the code from <cluster>/data/outbox, verify, login), 3 photos each.
Load: 4 client threads, --rate requests/s in all (default 12), each upload's bytes distinct
(small JPEGs made with vipsthumbnail from .cache/photos, each with its own JPEG comment).

Checks (each polled until a deadline, never a bare sleep):
  uploads     every 2xx upload downloads byte-identical (sha256) and becomes `ready`
              (within 120 s after the load stops)
  jobs        every 202 job on a photo ends `succeeded` (same deadline)
  likes, comments, follows
              every acknowledged one is in its list exactly once (likers, comments, following)
  notifications
              every acknowledged like/comment/follow has its notification for the photo's owner
              or the followee
  bus         XPENDING pixhive:events <group> is 0 for every group; nothing dead-lettered
  failures    per step (a kill, or a Redis/PostgreSQL restart) at t: non-idempotent (POST)
              failures (5xx or connection error) overlapping [t, t+2s] <= requests in flight
              at t; and no failure of a request started after t+2s (kills: the replica is out
              of the ingress until ready) or after ready+2s (Redis, PostgreSQL), until the next
              step
  client errors
              no 4xx: every request the load sends is valid, so a 4xx means lost state
  latency     p99 over 2 s windows is back to the pre-kill level (<= 1.5x the p99 of the 10 s
              before the kill, or <= that + 100 ms) within 10 s of each restart

Exits 1 when a check fails, printing the cluster's error lines and keeping its logs (--logs DIR,
or a temp folder it names). Run time on 2 cores: about 2.5-3 min with the debug (ASan) binary
(ctest e2e.chaos: 150-170 s: cluster up ~17 s, setup ~4 s, load ~2 min, checks a few s, down
~15 s), about 2.4 min with the release binary.
"""
import argparse
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
CLUSTER = os.path.join(REPO, "scripts", "cluster")
SERVICES = ["auth", "media", "processing", "graph", "feed", "search"]
USERS = ["amber", "basil", "cedar", "dahlia"]
PASSWORD = "chaos is a ladder, said someone"
# kind -> share of the load
MIX = {"feed": 0.22, "photo": 0.14, "search": 0.14, "like": 0.15, "comment": 0.12,
       "follow": 0.06, "upload": 0.10, "job": 0.07}
EPS = 0.05  # how much earlier than its report a kill may have happened, in seconds
NON_IDEMPOTENT = {"upload", "comment", "job"}  # POST; likes and follows are PUT
WORDS = ["macro", "sunset", "street", "portrait", "chaos", "blue", "green", "light"]


def now():
    return time.monotonic()


class Cluster:
    def __init__(self, binary, keep):
        self.dir = tempfile.mkdtemp(prefix="pixhive-chaos-")
        os.chmod(self.dir, 0o755)
        self.base = int(subprocess.check_output([sys.executable, os.path.join(HERE, "free_port_base.py")]))
        self.port = self.base + 99
        self.keep = keep
        self.env = dict(os.environ, PIXHIVE_CLUSTER_DIR=self.dir, PIXHIVE_CLUSTER_BASE=str(self.base),
                        PIXHIVE_CLUSTER_PORT=str(self.port), PIXHIVE_CLUSTER_ARGS="--rate-limits off")
        if binary:
            self.env["PIXHIVE_BIN"] = binary
        self.redis_port = self.base + 1

    def run(self, *args, check=True):
        t0 = time.time()
        p = subprocess.run([CLUSTER, *args], env=self.env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if check and p.returncode != 0:
            raise SystemExit("scripts/cluster %s failed (%.1f s):\n%s" % (" ".join(args), time.time() - t0, p.stdout))
        return p

    def step(self, *args):
        """Runs scripts/cluster and notes when each of its progress lines arrived: `killed X`
        comes right after the SIGKILL, `stopping X` right before the stop, so their arrival
        times are when the chaos really happened (the script itself takes a moment to start)."""
        t0 = now()
        p = subprocess.Popen([CLUSTER, *args], env=self.env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, bufsize=1)
        lines = []
        for line in p.stdout:
            lines.append((now(), line.rstrip()))
            if "WARNING" in line:
                print("scripts/cluster %s: %s" % (" ".join(args), line.rstrip()), flush=True)
        rc = p.wait()
        if rc != 0:
            raise SystemExit("scripts/cluster %s failed (%.1f s):\n%s" % (
                " ".join(args), now() - t0, "\n".join(l for _, l in lines)))
        return lines, now()

    @staticmethod
    def when(lines, word, default):
        return next((t for t, l in lines if ("cluster: %s " % word) in l), default)

    def up(self):
        out = self.run("up").stdout.strip().splitlines()
        for line in out:
            if "WARNING" in line:
                print("scripts/cluster up: " + line, flush=True)
        return out[-1]

    def down(self):
        if self.keep:
            print("cluster kept running: PIXHIVE_CLUSTER_DIR=%s scripts/cluster status" % self.dir)
            return
        self.run("down", "--wipe", check=False)

    def redis(self, *args):
        p = subprocess.run(["redis-cli", "-p", str(self.redis_port), *args], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=10)
        return p.stdout

    def error_lines(self, limit=12):
        """The last error/warn lines of every log, for the report."""
        out = []
        logs = os.path.join(self.dir, "logs")
        for name in sorted(os.listdir(logs)) if os.path.isdir(logs) else []:
            if name == "nginx-access.log":
                continue
            with open(os.path.join(logs, name), errors="replace") as f:
                lines = [l.rstrip() for l in f if re.search(r'"level":"(error|warn)"|\[(error|crit|alert|emerg)\]|ERROR|FATAL|PANIC|runtime error|AddressSanitizer', l)]
            if lines:
                out.append("--- %s (%d error/warn lines, last %d)" % (name, len(lines), min(limit, len(lines))))
                out.extend(l[:400] for l in lines[-limit:])
        return out


class Client:
    """One HTTP request per connection (no keep-alive), so that a closed idle connection is never
    mistaken for a failure."""

    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port

    def call(self, method, path, body=None, token=None, ctype=None, timeout=60):
        headers = {}
        if token:
            headers["Authorization"] = "Bearer " + token
        if body is not None and not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode()
            ctype = ctype or "application/json"
        if ctype:
            headers["Content-Type"] = ctype
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            return r.status, data
        except (OSError, http.client.HTTPException) as e:
            return 0, str(e).encode()
        finally:
            conn.close()

    def json(self, method, path, body=None, token=None):
        status, data = self.call(method, path, body, token)
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, None


def make_jpegs(workdir):
    """Small JPEGs (480 and 640 px) made from the real photos, as bases for distinct uploads."""
    photos = os.path.join(REPO, ".cache", "photos")
    if not any(n.endswith(".jpg") for n in os.listdir(photos) if os.path.isdir(photos)):
        subprocess.run([os.path.join(REPO, "scripts", "fetch-photos")], check=True)
    if not shutil.which("vipsthumbnail"):
        raise SystemExit("vipsthumbnail is missing (Debian libvips-tools); run scripts/bootstrap")
    out = []
    for name in sorted(os.listdir(photos)):
        if not name.endswith(".jpg"):
            continue
        for size in (480, 640):
            dst = os.path.join(workdir, "%s-%d.jpg" % (name[:-4], size))
            subprocess.run(["vipsthumbnail", os.path.join(photos, name), "--size", str(size),
                            "-o", dst + "[Q=80,strip]"], check=True)
            with open(dst, "rb") as f:
                out.append(f.read())
    return out


def distinct(jpeg, tag):
    """The same picture with a JPEG comment segment (COM) naming this upload: distinct bytes."""
    text = tag.encode()
    assert jpeg[:2] == b"\xff\xd8"
    return jpeg[:2] + b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text + jpeg[2:]


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.records = []

    def add(self, rec):
        with self.lock:
            self.records.append(rec)


class Load:
    def __init__(self, client, users, photos, jpegs, rate, recorder):
        self.client, self.users, self.jpegs = client, users, jpegs
        self.targets = photos  # setup photos: like and comment targets
        self.own = {u["name"]: [p for p in photos if p["owner"] == u["name"]] for u in users}
        self.interval = len(users) / rate
        self.rec = recorder
        self.stop = threading.Event()
        self.counter = 0
        self.count_lock = threading.Lock()
        kinds, weights = zip(*MIX.items())
        self.kinds, self.weights = list(kinds), list(weights)

    def next_n(self):
        with self.count_lock:
            self.counter += 1
            return self.counter

    def one(self, user, rng):
        kind = rng.choices(self.kinds, self.weights)[0]
        tok = user["token"]
        ident = None
        others = [p for p in self.targets if p["owner"] != user["name"]]
        if kind == "feed":
            method, path, body, ctype = "GET", "/api/v1/feed/home?limit=20", None, None
        elif kind == "photo":
            p = rng.choice(self.targets)
            method, path, body, ctype = "GET", "/api/v1/photos/" + p["id"], None, None
        elif kind == "search":
            q = rng.choice(["q=%23" + rng.choice(WORDS), "q=" + rng.choice(WORDS), "type=users&q=" + rng.choice(USERS)[:4]])
            method, path, body, ctype = "GET", "/api/v1/search?" + q, None, None
        elif kind == "like":
            p = rng.choice(others)
            method, path, body, ctype = "PUT", "/api/v1/photos/%s/like" % p["id"], None, None
            ident = {"user": user["name"], "photo": p["id"], "owner": p["owner"]}
        elif kind == "comment":
            p = rng.choice(others)
            text = "chaos comment %d by %s" % (self.next_n(), user["name"])
            method, path, body, ctype = "POST", "/api/v1/photos/%s/comments" % p["id"], json.dumps({"text": text}).encode(), "application/json"
            ident = {"user": user["name"], "photo": p["id"], "owner": p["owner"]}
        elif kind == "follow":
            other = rng.choice([u for u in self.users if u["name"] != user["name"]])
            method, path, body, ctype = "PUT", "/api/v1/users/%s/follow" % other["name"], None, None
            ident = {"follower": user["name"], "followee": other["name"]}
        elif kind == "upload":
            n = self.next_n()
            body = distinct(rng.choice(self.jpegs), "chaos upload %d %s %f" % (n, user["name"], time.time()))
            word = rng.choice(WORDS)
            method, path, ctype = "POST", "/api/v1/photos?caption=" + urllib.parse.quote("chaos %d #%s" % (n, word)), "image/jpeg"
            ident = {"owner": user["name"], "sha256": hashlib.sha256(body).hexdigest()}
        else:  # job
            p = rng.choice(self.own[user["name"]])
            body = json.dumps({"operations": [{"name": "grayscale"}]}).encode()
            method, path, ctype = "POST", "/api/v1/photos/%s/jobs" % p["id"], "application/json"
            ident = {"owner": user["name"], "photo": p["id"]}
        wall = time.time()
        t0 = now()
        status, data = self.client.call(method, path, body, tok, ctype)
        t1 = now()
        rec = {"kind": kind, "t0": t0, "t1": t1, "wall": wall, "status": status, "user": user["name"],
               "method": method, "path": path}
        if 200 <= status < 300 and ident is not None:
            try:
                doc = json.loads(data)
            except ValueError:
                doc = {}
            if kind == "upload":
                ident["id"] = doc.get("id")
            elif kind == "comment":
                ident["id"] = doc.get("id")
            elif kind == "job":
                ident["ids"] = [j.get("id") for j in doc.get("jobs", [])]
            rec["ident"] = ident
        elif not 200 <= status < 300:
            rec["error"] = data[:300].decode(errors="replace")
        self.rec.add(rec)

    def worker(self, user, seed):
        rng = random.Random(seed)
        next_t = now() + rng.random() * self.interval
        while not self.stop.is_set():
            delay = next_t - now()
            if delay > 0 and self.stop.wait(delay):
                break
            next_t = max(next_t + self.interval, now())
            self.one(user, rng)

    def start(self):
        self.threads = [threading.Thread(target=self.worker, args=(u, i), daemon=True)
                        for i, u in enumerate(self.users)]
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=120)


def latest_code(cluster_dir, email):
    outbox = os.path.join(cluster_dir, "data", "outbox")
    files = sorted((os.path.join(outbox, n) for n in os.listdir(outbox) if n.endswith(".eml")),
                   key=os.path.getmtime, reverse=True) if os.path.isdir(outbox) else []
    for f in files:
        text = open(f, errors="replace").read()
        if "<%s>" % email in text:
            m = re.search(r"code is ([0-9]+)", text)
            if m:
                return m.group(1)
    return None


def poll(deadline, fn, every=1.0):
    """Calls fn() until it returns a true value or the deadline passes; returns the last value."""
    while True:
        v = fn()
        if v or now() >= deadline:
            return v
        time.sleep(every)


def setup(client, cluster, jpegs):
    users = []
    for name in USERS:
        email = name + "@example.com"
        st, doc = client.json("POST", "/api/v1/auth/signup", {"username": name, "email": email, "password": PASSWORD})
        if st != 201:
            raise SystemExit("signup %s: %s %s" % (name, st, doc))
        uid = doc["id"]
        code = poll(now() + 30, lambda: latest_code(cluster.dir, email), 0.2)
        if not code:
            raise SystemExit("no verification mail for %s in %s/data/outbox" % (email, cluster.dir))
        st, doc = client.json("POST", "/api/v1/auth/verify", {"username": name, "code": code})
        if st != 200:
            raise SystemExit("verify %s: %s %s" % (name, st, doc))
        st, doc = client.json("POST", "/api/v1/auth/login", {"login": name, "password": PASSWORD})
        if st != 200:
            raise SystemExit("login %s: %s %s" % (name, st, doc))
        users.append({"name": name, "id": uid, "token": doc["access_token"]})
    photos = []
    uploads = []
    for u in users:
        for i in range(3):
            body = distinct(jpegs[(len(photos)) % len(jpegs)], "setup %s %d" % (u["name"], i))
            st, data = client.call("POST", "/api/v1/photos?caption=" + urllib.parse.quote("setup #chaos #%s" % WORDS[i]),
                                   body, u["token"], "image/jpeg")
            if st != 201:
                raise SystemExit("setup upload: %s %s" % (st, data[:300]))
            pid = json.loads(data)["id"]
            photos.append({"id": pid, "owner": u["name"]})
            uploads.append({"kind": "upload", "t0": now(), "t1": now(), "status": st, "user": u["name"],
                            "ident": {"owner": u["name"], "id": pid, "sha256": hashlib.sha256(body).hexdigest()}})
    deadline = now() + 120
    for p in photos:
        last = {}

        def ready():
            last["doc"] = client.json("GET", "/api/v1/photos/" + p["id"])
            return (last["doc"][1] or {}).get("status") == "ready"

        if not poll(deadline, ready, 0.5):
            raise SystemExit("setup photo %s never became ready: %s" % (p["id"], last["doc"]))
    return users, photos, uploads


def pages(client, path, key, token=None):
    """Every item of a cursor-paged list, or None when a page fails."""
    items, cursor = [], None
    for _ in range(1000):
        sep = "&" if "?" in path else "?"
        q = path + sep + "limit=100" + ("&cursor=" + cursor if cursor else "")
        st, doc = client.json("GET", q, token=token)
        if st != 200 or not isinstance(doc, dict):
            return None
        items.extend(doc.get(key, []))
        cursor = doc.get("next_cursor")
        if not cursor:
            return items
    return items


def p99(values):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(round(0.99 * (len(v) - 1))))]


def pct(values, q):
    if not values:
        return 0.0
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def describe(rs, n=4):
    return "; ".join("%s %s -> %s %s" % (r["method"], r["path"], r["status"], r.get("error", "").strip()[:140])
                     for r in rs[:n])


def failed(r):
    return r["status"] == 0 or r["status"] >= 500


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.environ.get("PIXHIVE_BIN", ""),
                    help="pixhive binary (default: PIXHIVE_BIN, else scripts/cluster builds the release binary)")
    ap.add_argument("--rate", type=float, default=12.0, help="requests per second in all (default 12)")
    ap.add_argument("--pause", type=float, default=5.0, help="seconds between kill, restart and the next kill")
    ap.add_argument("--keep", action="store_true", help="leave the cluster running")
    ap.add_argument("--logs", default="", help="copy the cluster's logs here at the end")
    args = ap.parse_args()

    started = now()
    cluster = Cluster(args.bin, args.keep)
    violations = []
    timings = {}
    try:
        t = now()
        url = cluster.up()
        timings["cluster up"] = now() - t
        print("cluster up in %.1f s at %s (dir %s)" % (timings["cluster up"], url, cluster.dir), flush=True)
        client = Client(url)
        work = tempfile.mkdtemp(prefix="pixhive-chaos-jpegs-")
        try:
            jpegs = make_jpegs(work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        t = now()
        users, photos, setup_uploads = setup(client, cluster, jpegs)
        timings["setup"] = now() - t
        print("setup: %d users, %d photos ready in %.1f s" % (len(users), len(photos), timings["setup"]), flush=True)
        by_name = {u["name"]: u for u in users}

        rec = Recorder()
        load = Load(client, users, photos, jpegs, args.rate, rec)
        t_load = now()
        load.start()
        events = []  # {"what", "kill", "restart", "ready", "next"}
        time.sleep(20)  # the pre-kill baseline of the first kill
        for svc in SERVICES:
            ev = {"what": "kill -9 %s-1" % svc, "wall": time.time(), "begin": now()}
            lines, done = cluster.step("kill", svc, "1")
            ev["kill"] = cluster.when(lines, "killed", done)
            time.sleep(args.pause)
            ev["restart"] = now()
            lines, ev["ready"] = cluster.step("restart", svc, "1")
            events.append(ev)
            print("%s: restarted and ready %.1f s after the kill" % (ev["what"], ev["ready"] - ev["kill"]), flush=True)
            time.sleep(args.pause)
        for infra in ("redis", "postgres"):
            ev = {"what": "restart %s" % infra, "wall": time.time(), "restart": now()}
            ev["begin"] = ev["restart"]
            lines, ev["ready"] = cluster.step("restart", infra)
            ev["kill"] = cluster.when(lines, "stopping", ev["restart"])
            events.append(ev)
            print("%s: ready %.1f s after it was stopped" % (ev["what"], ev["ready"] - ev["kill"]), flush=True)
            time.sleep(2 * args.pause)
        load.finish()
        t_end = now()
        timings["load"] = t_end - t_load
        for i, ev in enumerate(events):
            ev["next"] = events[i + 1]["begin"] if i + 1 < len(events) else t_end
        records = rec.records
        print("load: %d requests in %.1f s (%.1f/s)" % (len(records), timings["load"], len(records) / timings["load"]), flush=True)

        # ---- failures per chaos step
        fail_rows = []
        for ev in events:
            k = ev["kill"]
            is_kill = ev["what"].startswith("kill")
            # k is when scripts/cluster reported the kill (or the stop): a few ms after it.
            inflight = [r for r in records if r["t0"] <= k and r["t1"] >= k - EPS]
            early = [r for r in records if failed(r) and r["t1"] >= k - EPS and r["t0"] <= k + 2 and r["t0"] < ev["next"]]
            early_ni = [r for r in early if r["kind"] in NON_IDEMPOTENT]
            if len(early_ni) > len(inflight):
                violations.append("%s: %d non-idempotent requests failed in [t, t+2s] > %d in flight at t: %s" % (
                    ev["what"], len(early_ni), len(inflight), describe(early_ni)))
            # A killed replica is back in the ingress only once ready; Redis and PostgreSQL may
            # fail requests while they restart, but not 2 s after they answer again.
            quiet_from = k + 2 if is_kill else ev["ready"] + 2
            during = [r for r in records if failed(r) and k + 2 < r["t0"] <= quiet_from]
            late = [r for r in records if failed(r) and quiet_from < r["t0"] < ev["next"]]
            if late:
                violations.append("%s: %d requests started later than %s failed: %s" % (
                    ev["what"], len(late), "t+2s" if is_kill else "ready+2s", describe(late)))
            fail_rows.append((ev, len(inflight), len(early), len(early_ni), len(during), len(late)))

        # ---- latency: p99 over 2 s windows, back to the pre-kill level within 10 s of the restart
        lat_rows = []
        prev_ready = t_load
        for ev in events:
            # Pre-kill level: the requests started in the 10 s before the step, after the previous
            # step's restart was ready (so its outage does not count as normal).
            before = [r["t1"] - r["t0"] for r in records if max(prev_ready, ev["kill"] - 10) <= r["t0"] < ev["kill"]]
            prev_ready = ev["ready"]
            base = p99(before)
            recovered = first = None
            horizon = min(ev["ready"] + 10, ev["next"])
            if base is not None:
                bound = max(1.5 * base, base + 0.1)
                t = ev["ready"]
                while t + 2 <= horizon + 1e-9:
                    win = [r["t1"] - r["t0"] for r in records if t <= r["t0"] < t + 2]
                    if len(win) >= 5:
                        v = p99(win)
                        first = v if first is None else first
                        if v <= bound:
                            recovered = t + 2 - ev["ready"]
                            break
                    t += 0.5
                if recovered is None:
                    violations.append("%s: p99 of 2 s windows not back to <= %.0f ms (pre-kill p99 %.0f ms) within %.0f s of the restart" %
                                      (ev["what"], bound * 1000, base * 1000, horizon - ev["ready"]))
            lat_rows.append((ev, base, first, recovered))

        # ---- client errors
        bad4 = [r for r in records if 400 <= r["status"] < 500]
        if bad4:
            violations.append("%d requests answered 4xx: %s" % (len(bad4), describe(bad4)))

        # ---- acknowledged writes
        acked = [r for r in setup_uploads + records if "ident" in r]
        uploads = [r["ident"] for r in acked if r["kind"] == "upload"]
        jobs = [(r["ident"]["owner"], j) for r in acked if r["kind"] == "job" for j in r["ident"].get("ids", [])]
        likes = {(r["ident"]["user"], r["ident"]["photo"]): r["ident"] for r in acked if r["kind"] == "like"}
        comments = [r["ident"] for r in acked if r["kind"] == "comment"]
        follows = {(r["ident"]["follower"], r["ident"]["followee"]) for r in acked if r["kind"] == "follow"}
        deadline = t_end + 120

        # uploads: ready and byte-identical
        t = now()
        pending = {u["id"]: u for u in uploads}
        bad_status = {}
        while pending and now() < deadline:
            for pid in list(pending):
                st, doc = client.json("GET", "/api/v1/photos/" + pid, token=by_name[pending[pid]["owner"]]["token"])
                status = (doc or {}).get("status") if st == 200 else "http %d" % st
                if status == "ready":
                    del pending[pid]
                elif status == "failed":
                    bad_status[pid] = "failed: %s" % (doc or {}).get("error")
                    del pending[pid]
            if pending:
                time.sleep(1)
        not_ready = {pid: "not ready by the deadline" for pid in pending}
        not_ready.update(bad_status)
        if not_ready:
            violations.append("%d of %d acknowledged uploads never became ready: %s" % (
                len(not_ready), len(uploads), "; ".join("%s %s" % kv for kv in list(not_ready.items())[:5])))
        mismatched = []
        for u in uploads:
            st, data = client.call("GET", "/api/v1/photos/%s/original" % u["id"], token=by_name[u["owner"]]["token"])
            if st != 200 or hashlib.sha256(data).hexdigest() != u["sha256"]:
                mismatched.append("%s (%s)" % (u["id"], st))
        if mismatched:
            violations.append("%d acknowledged uploads do not download byte-identical: %s" % (len(mismatched), ", ".join(mismatched[:5])))
        timings["uploads ready"] = now() - t

        # jobs: succeeded
        pending_jobs = {j: o for o, j in jobs}
        job_bad = {}
        while pending_jobs and now() < deadline:
            for jid in list(pending_jobs):
                st, doc = client.json("GET", "/api/v1/jobs/" + jid, token=by_name[pending_jobs[jid]]["token"])
                status = (doc or {}).get("status") if st == 200 else "http %d" % st
                if status == "succeeded":
                    del pending_jobs[jid]
                elif status in ("failed", "cancelled", "canceled"):
                    job_bad[jid] = "%s: %s" % (status, (doc or {}).get("error"))
                    del pending_jobs[jid]
            if pending_jobs:
                time.sleep(1)
        job_bad.update({j: "not finished by the deadline" for j in pending_jobs})
        if job_bad:
            violations.append("%d of %d accepted jobs did not succeed: %s" % (
                len(job_bad), len(jobs), "; ".join("%s %s" % kv for kv in list(job_bad.items())[:5])))

        # likes, comments, follows: exactly once (strongly consistent, but polled with a deadline)
        def social_problems():
            problems = []
            likers = {}
            for (user, photo) in likes:
                if photo not in likers:
                    likers[photo] = pages(client, "/api/v1/photos/%s/likes" % photo, "users")
                ids = [x["id"] for x in likers[photo] or []]
                n = ids.count(by_name[user]["id"])
                if likers[photo] is None or n != 1:
                    problems.append("like %s->%s listed %d times" % (user, photo, n))
            listed = {}
            for c in comments:
                if c["photo"] not in listed:
                    listed[c["photo"]] = pages(client, "/api/v1/photos/%s/comments" % c["photo"], "comments")
                n = [x["id"] for x in listed[c["photo"]] or []].count(c["id"])
                if n != 1:
                    problems.append("comment %s on %s listed %d times" % (c["id"], c["photo"], n))
            following = {}
            for (a, b) in follows:
                if a not in following:
                    following[a] = pages(client, "/api/v1/users/%s/following" % a, "users")
                n = [x["username"] for x in following[a] or []].count(b)
                if n != 1:
                    problems.append("follow %s->%s listed %d times" % (a, b, n))
            return problems

        social_left = []

        def social_ok():
            social_left[:] = social_problems()
            return not social_left

        poll(now() + 30, social_ok, 2)
        if social_left:
            violations.append("%d acknowledged likes/comments/follows not listed exactly once: %s" % (
                len(social_left), "; ".join(social_left[:5])))

        # notifications
        def missing_notifications():
            notes = {u["name"]: pages(client, "/api/v1/notifications", "notifications", u["token"]) for u in users}
            missing = []
            for (user, photo), ident in likes.items():
                if not any(n["kind"] == "like" and (n.get("actor") or {}).get("id") == by_name[user]["id"] and n.get("photo_id") == photo
                           for n in notes[ident["owner"]] or []):
                    missing.append("like by %s on %s for %s" % (user, photo, ident["owner"]))
            for c in comments:
                if not any(n["kind"] == "comment" and n.get("comment_id") == c["id"] for n in notes[c["owner"]] or []):
                    missing.append("comment %s for %s" % (c["id"], c["owner"]))
            for (a, b) in follows:
                if not any(n["kind"] == "follow" and (n.get("actor") or {}).get("id") == by_name[a]["id"] for n in notes[b] or []):
                    missing.append("follow %s->%s" % (a, b))
            return missing, notes

        t = now()
        result = {}

        def notes_ok():
            result["missing"], result["notes"] = missing_notifications()
            return not result["missing"]

        poll(max(deadline, now() + 30), notes_ok, 2)
        timings["notifications"] = now() - t
        if result["missing"]:
            violations.append("%d acknowledged likes/comments/follows have no notification: %s" % (
                len(result["missing"]), "; ".join(result["missing"][:5])))
        dup_notes = 0
        for name, notes in result["notes"].items():
            seen = set()
            for n in notes or []:
                key = (n["kind"], (n.get("actor") or {}).get("id"), n.get("photo_id"), n.get("comment_id"))
                if n["kind"] in ("like", "comment", "follow") and key in seen:
                    dup_notes += 1
                seen.add(key)

        # bus: nothing pending, nothing dead-lettered
        def groups():
            lines = cluster.redis("XINFO", "GROUPS", "pixhive:events").splitlines()
            return [lines[i + 1] for i, l in enumerate(lines[:-1]) if l == "name"]

        def pending_counts():
            out = {}
            for g in groups():
                first = cluster.redis("XPENDING", "pixhive:events", g).splitlines()
                out[g] = int(first[0]) if first and first[0].isdigit() else -1
            return out

        t = now()
        last = {}

        def drained():
            last.update(pending_counts())
            return bool(last) and all(v == 0 for v in last.values())

        poll(max(deadline, now() + 60), drained, 2)
        timings["bus drained"] = now() - t
        if not last or any(v != 0 for v in last.values()):
            violations.append("bus entries left pending: %s" % ", ".join("%s=%s" % kv for kv in sorted(last.items())))
        dead = cluster.redis("XLEN", "pixhive:events:dead").strip()
        if dead not in ("0", ""):
            violations.append("%s events dead-lettered (pixhive:events:dead)" % dead)

        # ---- report
        print()
        print("requests by kind (load phase)")
        print("  %-8s %6s %6s %5s %5s %6s %8s %8s" % ("kind", "sent", "2xx", "4xx", "5xx", "conn", "p50 ms", "p99 ms"))
        for kind in MIX:
            rs = [r for r in records if r["kind"] == kind]
            lat = [r["t1"] - r["t0"] for r in rs]
            print("  %-8s %6d %6d %5d %5d %6d %8.0f %8.0f" % (
                kind, len(rs), sum(200 <= r["status"] < 300 for r in rs), sum(400 <= r["status"] < 500 for r in rs),
                sum(r["status"] >= 500 for r in rs), sum(r["status"] == 0 for r in rs),
                pct(lat, 0.5) * 1000, pct(lat, 0.99) * 1000))
        print()
        print("failures per chaos step (failed = 5xx or connection error)")
        print("  [t, t+2s]: requests overlapping the 2 s after the kill/restart began; during: started after t+2s")
        print("  until ready+2s (restarts only); later: started after that, until the next step")
        print("  %-24s %6s %9s %11s %13s %7s %6s" % ("step", "at s", "in flight", "failed t+2s", "non-idem t+2s", "during", "later"))
        for ev, inflight, early, early_ni, during, late in fail_rows:
            print("  %-24s %6.1f %9d %11d %13d %7s %6d" % (ev["what"], ev["kill"] - t_load, inflight, early, early_ni,
                                                         during if ev["what"].startswith("restart") else "-", late))
        print()
        print("latency (p99 of all requests by start time; windows of 2 s)")
        print("  %-24s %12s %12s %16s %14s" % ("step", "p99 before", "first after", "recovered after", "restart took"))
        for ev, base, first, recovered in lat_rows:
            print("  %-24s %9s ms %9s ms %14s s %12.1f s" % (
                ev["what"], "%.0f" % (base * 1000) if base is not None else "-",
                "%.0f" % (first * 1000) if first is not None else "-",
                "%.1f" % recovered if recovered is not None else "never", ev["ready"] - ev["restart"]))
        print()
        print("acknowledged: %d uploads, %d jobs, %d likes, %d comments, %d follows; bus groups: %s; "
              "duplicate like/comment/follow notifications: %d" % (
                  len(uploads), len(jobs), len(likes), len(comments), len(follows),
                  ", ".join("%s=%s" % kv for kv in sorted(last.items())), dup_notes))
        failures_all = [r for r in records if failed(r)]
        if failures_all:
            print("\nfailed requests (%d%s):" % (len(failures_all), ", the first 25" if len(failures_all) > 25 else ""))
            for r in failures_all[:25]:
                print("  +%6.1f s %-7s %-6s %-45s -> %s %s" % (r["t0"] - t_load, r["kind"], r["method"], r["path"][:45],
                                                            r["status"], r.get("error", "").strip()[:150]))
        timings["total"] = now() - started
        print("\ntimes: " + ", ".join("%s %.0f s" % kv for kv in timings.items()))
        print()
        if violations:
            print("CHECKS FAILED (%d):" % len(violations))
            for v in violations:
                print("  - " + v)
            print("\ncluster error/warn lines:")
            for l in cluster.error_lines():
                print("  " + l)
        else:
            print("all checks passed")
    finally:
        if violations and not args.logs:
            args.logs = tempfile.mkdtemp(prefix="pixhive-chaos-logs-")
        if args.logs and os.path.isdir(os.path.join(cluster.dir, "logs")):
            shutil.copytree(os.path.join(cluster.dir, "logs"), args.logs, dirs_exist_ok=True)
            print("logs copied to %s" % args.logs)
        t = now()
        cluster.down()
        print("cluster down in %.0f s; chaos run took %.0f s" % (now() - t, now() - started))
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
