"""Per-route request rate and latency quantiles between two /metrics snapshots.

The server's http_request_duration_seconds histogram (by route) gives each endpoint's own
latency in a mixed run, which wrk's single report cannot; quantiles are interpolated within
buckets, as Prometheus's histogram_quantile does.

    route_quantiles.py BEFORE AFTER SECONDS ROUTE...
"""
import re
import sys

LINE = re.compile(r'^http_request_duration_seconds_bucket\{(.*)\} (\S+)$')


def buckets(path, route):
    out = {}
    for line in open(path):
        m = LINE.match(line.strip())
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if labels.get("route") != route:
            continue
        le = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
        out[le] = out.get(le, 0) + float(m.group(2))
    return out


def quantile(q, cumulative):
    bounds = sorted(cumulative)
    total = cumulative[bounds[-1]]
    if total == 0:
        return float("nan")
    rank, prev_bound, prev_count = q * total, 0.0, 0.0
    for b in bounds:
        if cumulative[b] >= rank:
            if b == float("inf"):
                return prev_bound
            span = cumulative[b] - prev_count
            return prev_bound + (b - prev_bound) * ((rank - prev_count) / span if span else 0)
        prev_bound, prev_count = b, cumulative[b]
    return prev_bound


before, after, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
for route in sys.argv[4:]:
    a, b = buckets(before, route), buckets(after, route)
    delta = {le: b[le] - a.get(le, 0) for le in b}
    if not delta:
        print(f"{route:34} no requests")
        continue
    count = delta[float("inf")]
    print(f"{route:34} {count / seconds:9.1f} req/s  p50 {quantile(0.5, delta) * 1000:8.2f} ms"
          f"  p99 {quantile(0.99, delta) * 1000:8.2f} ms")
