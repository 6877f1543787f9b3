// Every PromQL query of PixHive's Grafana dashboards (charts/pixhive/files/dashboards/*.json) with
// Grafana's variables replaced, one JSON line each: {"file", "panel", "refId", "expr"}. The offline
// check (check.mjs) only parses them; whether they return data takes a real Prometheus, so a live
// check can feed each line's expr to /api/v1/query.
//
// Usage: node tests/chart/dashboards/queries.mjs [--dir DIR] [--var NAME=VALUE]...
//          [--rate-interval 2m] [--interval 1m] [--range 1h]
//   --dir              dashboards to read (default charts/pixhive/files/dashboards)
//   --var NAME=VALUE   a dashboard variable's value, e.g. --var namespace=pixhive; a variable not
//                      given takes its allValue (".*") when it offers "All", and is an error otherwise
//   --rate-interval, --interval, --range
//                      $__rate_interval, $__interval and $__range (with $__range_s, $__range_ms);
//                      Grafana makes $__rate_interval at least four scrape intervals, hence 2m
// A query variable's label_values(SELECTOR, LABEL) comes out as `count by (LABEL) (SELECTOR)`, the
// PromQL that returns the same values; its panel is "$NAME".
// Exits 1 (naming the query) when a query uses a variable that has no value.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const defaultDir = resolve(here, "../../../charts/pixhive/files/dashboards");

// $name, ${name}, ${name:format} and the deprecated [[name]], as Grafana's template service reads them.
const variablePattern = /\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]/g;

export function builtins({ rateInterval = "2m", interval = "1m", range = "1h" } = {}) {
  const seconds = durationSeconds(range);
  return {
    __rate_interval: rateInterval,
    __interval: interval,
    __interval_ms: String(durationSeconds(interval) * 1000),
    __range: range,
    __range_s: String(seconds),
    __range_ms: String(seconds * 1000),
  };
}

function durationSeconds(d) {
  const m = /^(\d+)(ms|s|m|h|d|w)$/.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  return (Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2]]);
}

/** Replaces Grafana variables from `values`; throws naming the first one without a value. */
export function substitute(text, values) {
  return text.replace(variablePattern, (whole, a, b, c) => {
    const name = a ?? b ?? c;
    if (!(name in values)) throw new Error(`variable $${name} has no value`);
    return values[name];
  });
}

/** The dashboard's own variables' values: given, else the "All" value, else none (an error when used). */
export function variableValues(dashboard, given = {}) {
  const values = {};
  for (const v of dashboard.templating?.list ?? []) {
    if (v.name in given) values[v.name] = given[v.name];
    else if (v.includeAll) values[v.name] = v.allValue ?? ".*";
  }
  return values;
}

/** label_values(SELECTOR, LABEL) as PromQL with the same values; null for forms without a query. */
export function variableQueryExpr(query) {
  const q = query.trim();
  let m;
  if ((m = /^label_values\(\s*(.+?)\s*,\s*(\w+)\s*\)$/s.exec(q))) return `count by (${m[2]}) (${m[1]})`;
  if ((m = /^query_result\(\s*(.+)\s*\)$/s.exec(q))) return m[1];
  if (/^(label_values\(\s*\w+\s*\)|label_names\(.*\)|metrics\(.*\))$/s.test(q)) return null;
  throw new Error(`unknown variable query form: ${q}`);
}

export function variableQueryText(v) {
  return typeof v.query === "string" ? v.query : v.query?.query ?? "";
}

/** Panels in layout order, the panels of collapsed rows included. */
export function allPanels(dashboard) {
  const out = [];
  for (const p of dashboard.panels ?? []) {
    out.push(p);
    if (p.type === "row") out.push(...(p.panels ?? []));
  }
  return out;
}

/** The raw (unsubstituted) queries of one dashboard: panel targets, then query variables. */
export function rawQueries(dashboard) {
  const out = [];
  for (const p of allPanels(dashboard)) {
    if (p.type === "row") continue;
    for (const t of p.targets ?? []) out.push({ panel: p.title ?? `#${p.id}`, refId: t.refId, expr: t.expr ?? "", target: t });
  }
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== "query") continue;
    const text = variableQueryText(v);
    out.push({ panel: `$${v.name}`, refId: "variable", expr: text, variable: v });
  }
  return out;
}

export function loadDashboards(dir = defaultDir) {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((file) => ({ file, path: join(dir, file), text: readFileSync(join(dir, file), "utf8") }));
}

function parseArgs(argv) {
  const opts = { dir: defaultDir, vars: {}, times: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--dir") opts.dir = next();
    else if (a === "--var") {
      const [name, ...rest] = next().split("=");
      opts.vars[name] = rest.join("=");
    } else if (a === "--rate-interval") opts.times.rateInterval = next();
    else if (a === "--interval") opts.times.interval = next();
    else if (a === "--range") opts.times.range = next();
    else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  let failed = false;
  const told = new Set();
  for (const { file, text } of loadDashboards(opts.dir)) {
    const dashboard = JSON.parse(text);
    const values = { ...builtins(opts.times), ...variableValues(dashboard, opts.vars) };
    for (const q of rawQueries(dashboard)) {
      try {
        const expr = q.variable ? variableQueryExpr(q.expr) : q.expr;
        if (expr === null) continue;
        console.log(JSON.stringify({ file, panel: q.panel, refId: q.refId, expr: substitute(expr, values) }));
      } catch (e) {
        failed = true;
        const missing = /^variable \$(\w+) has no value$/.exec(e.message);
        if (!missing) console.error(`${file}: ${q.panel} ${q.refId}: ${e.message}`);
        else if (!told.has(missing[1])) {
          told.add(missing[1]);
          console.error(`${e.message}: pass --var ${missing[1]}=VALUE`);
        }
      }
    }
  }
  process.exit(failed ? 1 : 0);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
