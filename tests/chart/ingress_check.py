#!/usr/bin/env python3
"""Checks the rendered Ingresses against charts/pixhive/files/ingress-routes.tsv.
Usage: ingress_check.py RENDERED.json REPO (the documents as a JSON list)

1. The Ingress paths are exactly the table's rows (leading ^ dropped, as the chart does), in
   order, each to <release>-pixhive-<service> port http, pathType ImplementationSpecific, on
   Ingresses with use-regex; `stream` rows on an Ingress with proxy-buffering off.
2. ingress-nginx does not keep that order: it writes regex locations longest path first and nginx
   takes the first match. For every path of docs/openapi.yaml (with sample parameters) the
   longest-first order must pick the same service as the table's first-match order.
"""
import json
import re
import sys

import yaml

SAMPLES = {"id": "386859605961269248", "comment_id": "386859619209232384", "username": "alice",
           "name": "thumbnail", "key": "holiday-1", "tag": "blue"}


def main(rendered, repo):
    rows = []
    for line in open(f"{repo}/charts/pixhive/files/ingress-routes.tsv", encoding="utf-8").read().splitlines():
        if line.strip() and not line.startswith("#"):
            c = line.split("\t")
            rows.append((c[0].removeprefix("^"), c[1], len(c) > 2 and c[2] == "stream"))
    got = []
    errors = []
    for doc in json.load(open(rendered, encoding="utf-8")):
        if not doc or doc.get("kind") != "Ingress":
            continue
        ann = doc["metadata"].get("annotations") or {}
        if ann.get("nginx.ingress.kubernetes.io/use-regex") != "true":
            errors.append(f"{doc['metadata']['name']}: no use-regex annotation")
        stream = ann.get("nginx.ingress.kubernetes.io/proxy-buffering") == "off"
        for rule in doc["spec"]["rules"]:
            for p in rule["http"]["paths"]:
                if p["pathType"] != "ImplementationSpecific":
                    errors.append(f"{p['path']}: pathType {p['pathType']}")
                if not p["path"].startswith("/"):
                    errors.append(f"{p['path']}: the API server wants paths that start with /")
                svc = p["backend"]["service"]["name"].rsplit("-", 1)[1]
                if p["backend"]["service"]["port"].get("name") != "http":
                    errors.append(f"{p['path']}: not to port http")
                got.append((p["path"], svc, stream))
    if sorted(got) != sorted(rows):
        errors.append("Ingress routes differ from ingress-routes.tsv:\n  missing %s\n  extra %s"
                      % (sorted(set(rows) - set(got)), sorted(set(got) - set(rows))))
    # The plain rows keep the table's order (the stream rows live on their own Ingress).
    if [r for r in got if not r[2]] != [r for r in rows if not r[2]]:
        errors.append("the plain Ingress does not keep the table's order")

    with open(f"{repo}/docs/openapi.yaml", encoding="utf-8") as f:
        paths = [p for p in yaml.safe_load(f)["paths"] if p.startswith("/api/v1/")]
    if not paths:
        errors.append("no paths found in docs/openapi.yaml")
    longest_first = sorted(rows, key=lambda r: len(r[0]), reverse=True)  # stable, as ingress-nginx

    def first(table, path):
        for rx, svc, _ in table:
            if re.match("^" + rx, path, re.I):
                return svc
        return None

    for tpl in paths:
        path = re.sub(r"\{(\w+)\}", lambda m: SAMPLES.get(m.group(1), "x1"), tpl)
        a, b = first(rows, path), first(longest_first, path)
        if a != b:
            errors.append(f"{tpl}: the table sends it to {a}, ingress-nginx (longest path first) to {b}")
    for page in ("/", "/photos/1", "/assets/index-3f2a.js", "/healthz", "/metrics", "/api/v2/x"):
        want = None if page in ("/healthz", "/metrics", "/api/v2/x") else "media"
        a, b = first(rows, page), first(longest_first, page)
        if a != want or b != want:
            errors.append(f"{page}: the table sends it to {a}, ingress-nginx to {b}; want {want}")
    for e in errors:
        print("FAIL ingress:", e)
    print(f"ingress: {len(got)} routes, {len(paths)} documented paths routed alike in table and nginx order"
          if not errors else f"ingress: {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
