#!/usr/bin/env python3
"""The ingress route table (charts/pixhive/files/ingress-routes.tsv) sends every path of
docs/openapi.yaml to the service that registers it in services/<service>/src/routes.cpp, and
sends the web app's pages to media, and exposes nothing else (/healthz, /readyz, /metrics stay
inside). Usage: ingress_routes_test.py REPO
"""
import os
import re
import sys

import yaml

SAMPLES = {"id": "386859605961269248", "comment_id": "386859619209232384", "username": "alice",
           "name": "thumbnail", "key": "holiday-1", "tag": "blue"}


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def routes_table(repo):
    rows = []
    for n, line in enumerate(read(os.path.join(repo, "charts/pixhive/files/ingress-routes.tsv"))
                             .splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) not in (2, 3) or (len(cols) == 3 and cols[2] != "stream"):
            raise SystemExit("ingress-routes.tsv:%d: want <regex>TAB<service>[TAB stream]: %r" % (n, line))
        rows.append((re.compile(cols[0]), cols[1], cols[2] if len(cols) == 3 else ""))
    return rows


def owners(repo):
    """Every /api/v1 path literal of each service's routes.cpp."""
    out = {}
    base = os.path.join(repo, "services")
    for svc in sorted(os.listdir(base)):
        f = os.path.join(base, svc, "src", "routes.cpp")
        if os.path.exists(f):
            for lit in re.findall(r'"(/api/v1/[^"]*)"', read(f)):
                out.setdefault(lit, set()).add(svc)
    return out


def owner_of(path, literals):
    exact = literals.get(path)
    if exact:
        return exact
    # A template built from a literal prefix, e.g. "/api/v1/admin/users/{id}/" + "disable".
    best = max((lit for lit in literals if lit.endswith("/") and path.startswith(lit)),
               key=len, default=None)
    return literals[best] if best else set()


def main():
    repo = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../..")
    table = routes_table(repo)
    literals = owners(repo)
    with open(os.path.join(repo, "docs/openapi.yaml"), encoding="utf-8") as f:
        paths = list(yaml.safe_load(f)["paths"])
    failures = []
    checked = 0
    for template in paths:
        concrete = re.sub(r"\{(\w+)\}", lambda m: SAMPLES.get(m.group(1), "x1"), template)
        hit = next((row for row in table if row[0].search(concrete)), None)
        if not template.startswith("/api/"):
            if hit:
                failures.append("%s is internal but the ingress routes it to %s" % (template, hit[1]))
            continue
        want = owner_of(template, literals)
        if len(want) != 1:
            failures.append("%s: registered by %s in services/*/src/routes.cpp" %
                            (template, sorted(want) or "no service"))
            continue
        want = next(iter(want))
        checked += 1
        if not hit:
            failures.append("%s (%s) matches no ingress route; it belongs to %s" % (template, concrete, want))
        elif hit[1] != want:
            failures.append("%s goes to %s (by %s) but %s serves it" % (template, hit[1], hit[0].pattern, want))
        if template.endswith("/events") and hit and hit[2] != "stream":
            failures.append("%s is a Server-Sent Events route but is not marked stream" % template)
    # The web app's pages and assets go to media (it serves web/dist); the probes stay inside.
    for page in ("/", "/explore", "/photos/386859605961269248", "/users/alice/followers",
                 "/assets/index-3f2a.js", "/favicon.svg", "/healthz.html"):
        hit = next((row for row in table if row[0].search(page)), None)
        if not hit or hit[1] != "media":
            failures.append("%s (a page of the web app) goes to %s, not media" % (page, hit and hit[1]))
    for internal in ("/healthz", "/readyz", "/metrics", "/api/v2/x", "/api/"):
        hit = next((row for row in table if row[0].search(internal)), None)
        if hit:
            failures.append("%s is not for the web app but the ingress routes it to %s" % (internal, hit[1]))
    # Every registered literal is documented (so the loop above saw it).
    for lit in literals:
        if not any(p == lit or (lit.endswith("/") and p.startswith(lit)) for p in paths):
            failures.append("%s (services/%s) is not in docs/openapi.yaml" % (lit, sorted(literals[lit])))
    for f in failures:
        print("FAIL:", f)
    print("ingress routes: %d API paths checked, %d failures" % (checked, len(failures)))
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
