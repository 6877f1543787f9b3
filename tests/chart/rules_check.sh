#!/usr/bin/env bash
# Unit tests of the chart's recording rules and alerts: `promtool test rules` runs
# tests/chart/rules/*_test.yaml against RULES_JSON, the PrometheusRule's spec as check.sh extracts
# it from the chart rendered with default values, release and namespace `pixhive` (the tests'
# series carry those names, and the expected alerts the default thresholds).
# Also checks that every alert has a test where it fires and one where it stays silent, and a
# section of docs/runbook.md under the anchor its runbook_url ends with. Needs promtool and
# tests/chart/node_modules (scripts/bootstrap), as check.sh does.
# Usage: rules_check.sh RULES_JSON
set -euo pipefail

[ $# -eq 1 ] && [ -f "$1" ] || { echo "usage: $0 RULES_JSON" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The tests name their rules file `rules.json`, relative to themselves.
cp "$here"/rules/*_test.yaml "$tmp/"
cp "$1" "$tmp/rules.json"
fail=0
(cd "$tmp" && promtool test rules ./*_test.yaml) || fail=1

NODE_PATH="$here/node_modules" node -e '
  const fs = require("fs"), path = require("path"), YAML = require("yaml");
  const [rulesJson, testsDir, runbook] = process.argv.slice(1);
  const alerts = JSON.parse(fs.readFileSync(rulesJson, "utf8")).groups.flatMap((g) => g.rules).filter((r) => r.alert);
  const headings = new Set([...fs.readFileSync(runbook, "utf8").matchAll(/^## (\S+)\s*$/gm)].map((m) => m[1]));
  const fires = new Set(), silent = new Set();
  for (const f of fs.readdirSync(testsDir).filter((f) => f.endsWith("_test.yaml")))
    for (const t of YAML.parse(fs.readFileSync(path.join(testsDir, f), "utf8")).tests)
      for (const c of t.alert_rule_test || []) ((c.exp_alerts || []).length ? fires : silent).add(c.alertname);
  const bad = [];
  for (const { alert: name, annotations = {} } of alerts) {
    const anchor = "#" + name.toLowerCase();
    if (!(annotations.runbook_url || "").endsWith(anchor)) bad.push(`${name}: runbook_url does not end with ${anchor}`);
    if (!headings.has(name)) bad.push(`${name}: no "## ${name}" section in docs/runbook.md`);
    if (!fires.has(name)) bad.push(`${name}: no test where it fires`);
    if (!silent.has(name)) bad.push(`${name}: no test where it stays silent`);
  }
  bad.forEach((b) => console.error("rules check: " + b));
  if (!bad.length) console.log(`${alerts.length} alerts, each tested firing and silent, each in docs/runbook.md`);
  process.exit(bad.length ? 1 : 0);
' "$1" "$here/rules" "$repo/docs/runbook.md" || fail=1

[ "$fail" -eq 0 ] && echo "rules check: PASS" || echo "rules check: FAIL"
exit "$fail"
