// Offline check of PixHive's Grafana dashboards (charts/pixhive/files/dashboards/*.json); no Grafana
// is packaged for Debian or npm, so this is what can be checked without one:
// - each dashboard, as a TypeScript object literal, `satisfies` dashboard-types.ts's
//   PixHiveDashboard (@grafana/schema's Dashboard; timeseries/stat options and custom field config;
//   Prometheus targets), so a misspelt or misplaced field is an error, reported at its JSON line;
// - every target's expr and query variable, with Grafana's variables replaced (queries.mjs), parses
//   with @prometheus-io/lezer-promql; each metric is in metrics.json, each label it matches, groups
//   or puts in a legend is one the series has (or has kept through the aggregations around it),
//   counters appear only under rate/irate/increase and those take only counters, every selector of
//   a panel matches namespace=~"$namespace", and a multi-value variable is matched with =~ or !~;
// - uids and titles are unique across the dashboards; every panel has a title, an id unique in its
//   dashboard, a place on the 24-column grid overlapping no other, a target (rows excepted), the
//   ${datasource} data source and, for timeseries and stat, a unit.
// Prints `ok <file>` or the file's errors; exits 1 on any error.
// Usage: node tests/chart/dashboards/check.mjs [--dir DIR] [--rules OUT]
//   --rules OUT  also writes every query as a recording rule (Prometheus rule-file JSON), so
//                `promtool check rules OUT` type-checks them with Prometheus's own parser.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { parser } from "@prometheus-io/lezer-promql";
import {
  allPanels,
  builtins,
  defaultDir,
  loadDashboards,
  rawQueries,
  substitute,
  variableQueryExpr,
} from "./queries.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const known = JSON.parse(readFileSync(join(here, "metrics.json"), "utf8"));
const scrapeLabels = new Set(known.scrapeLabels);

const args = process.argv.slice(2);
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const dir = resolve(opt("--dir") ?? defaultDir);
const rulesOut = opt("--rules");

// Each dashboard variable stands for a marker: inside a matcher's string it shows which variable
// a matcher uses; outside a string it reads as an unknown metric, which is an error as it should be.
const marker = (name) => `__var_${name}__`;

// ---------------------------------------------------------------- PromQL

const exprNodes = new Set([
  "AggregateExpr", "BinaryExpr", "FunctionCall", "MatrixSelector", "NumberDurationLiteral", "OffsetExpr",
  "ParenExpr", "StringLiteral", "SubqueryExpr", "UnaryExpr", "VectorSelector", "StepInvariantExpr",
  "AnchoredExpr", "SmoothedExpr",
]);
const counterFunctions = new Set(["rate", "irate", "increase", "resets"]);
const keepLabelsAggregations = new Set(["topk", "bottomk", "limitk", "limit_ratio"]);
const comparisons = new Set(["Eql", "Neq", "Gtr", "Lss", "Gte", "Lte"]);
// By Prometheus's naming conventions (which pixhive follows): counters end in _total, and a
// histogram's _bucket, _sum and _count only grow.
const isCounter = (metric) => /_(total|bucket|sum|count)$/.test(metric);

const children = (node) => {
  const out = [];
  for (let c = node.firstChild; c; c = c.nextSibling) out.push(c);
  return out;
};
const child = (node, name) => children(node).find((c) => c.name === name);
const exprChildren = (node) => children(node).filter((c) => exprNodes.has(c.name));
const text = (expr, node) => expr.slice(node.from, node.to);
const stringValue = (expr, node) => {
  try {
    return JSON.parse(text(expr, node).replace(/^'|'$/g, '"'));
  } catch {
    return text(expr, node).slice(1, -1);
  }
};
const labelNames = (expr, grouping) =>
  grouping ? children(grouping).filter((c) => c.name === "LabelName").map((c) => text(expr, c)) : [];
const functionName = (expr, call) => text(expr, child(call, "FunctionIdentifier"));
const selectorMetric = (expr, sel) => {
  const id = child(sel, "Identifier");
  return id ? text(expr, id) : null;
};

/** Labels a (sub)expression's result keeps, or null where that is not worked out here. */
function outLabels(expr, node) {
  switch (node.name) {
    case "PromQL":
    case "ParenExpr":
    case "OffsetExpr":
    case "SubqueryExpr":
    case "UnaryExpr":
    case "StepInvariantExpr":
    case "AnchoredExpr":
    case "SmoothedExpr":
    case "MatrixSelector": {
      const inner = exprChildren(node)[0];
      return inner ? outLabels(expr, inner) : new Set();
    }
    case "VectorSelector": {
      const labels = known.metrics[selectorMetric(expr, node)];
      return labels ? new Set([...labels, ...scrapeLabels]) : null;
    }
    case "NumberDurationLiteral":
    case "StringLiteral":
      return new Set();
    case "AggregateExpr": {
      const op = text(expr, child(node, "AggregateOp"));
      const body = exprChildren(child(node, "FunctionCallBody"));
      const inner = body.length ? outLabels(expr, body[body.length - 1]) : new Set();
      if (keepLabelsAggregations.has(op)) return inner;
      const modifier = child(node, "AggregateModifier");
      if (!modifier) return new Set();
      const grouped = labelNames(expr, child(modifier, "GroupingLabels"));
      if (child(modifier, "By")) return new Set(grouped);
      return inner && new Set([...inner].filter((l) => !grouped.includes(l)));
    }
    case "FunctionCall": {
      const name = functionName(expr, node);
      const argNodes = exprChildren(child(node, "FunctionCallBody"));
      if (["vector", "time", "scalar", "pi"].includes(name)) return new Set();
      if (["label_replace", "label_join", "absent", "absent_over_time", "info"].includes(name)) return null;
      const sets = argNodes.filter((a) => !["NumberDurationLiteral", "StringLiteral"].includes(a.name)).map((a) => outLabels(expr, a));
      if (sets.some((s) => s === null)) return null;
      const labels = new Set(sets.flatMap((s) => [...s]));
      if (name === "histogram_quantile") labels.delete("le");
      return labels;
    }
    case "BinaryExpr": {
      // Prometheus's resultMetric: set operators and filtering comparisons keep the left sample's
      // labels; otherwise one-to-one matching keeps only on(...) or drops ignoring(...), and
      // group_left/right keep the "many" side's plus the labels they name.
      const [left, right] = exprChildren(node);
      const l = outLabels(expr, left);
      const r = outLabels(expr, right);
      if (l === null || r === null) return null;
      const op = children(node).find((c) => !exprNodes.has(c.name) && c.name !== "MatchingModifierClause" && c.name !== "BoolModifier")?.name;
      if (op === "Or") return new Set([...l, ...r]);
      if (op === "And" || op === "Unless") return l;
      if (!l.size || !r.size) return l.size ? l : r;
      if (comparisons.has(op) && !child(node, "BoolModifier")) return l;
      const clause = child(node, "MatchingModifierClause");
      if (!clause) return l;
      const named = labelNames(expr, child(clause, "GroupingLabels"));
      if (child(clause, "GroupLeft")) return new Set([...l, ...named]);
      if (child(clause, "GroupRight")) return new Set([...r, ...named]);
      if (child(clause, "On")) return new Set([...l].filter((x) => named.includes(x)));
      return new Set([...l].filter((x) => !named.includes(x)));
    }
    default:
      return null;
  }
}

/**
 * Problems of one substituted query. `multiVars`: variables offering several values at once;
 * `requireNamespace`: every selector must match namespace=~"$namespace"; `evaluated`: false for a
 * variable's query, whose series are listed rather than evaluated.
 */
function checkExpr(expr, { multiVars, requireNamespace, legendFormat, evaluated }) {
  const problems = [];
  const tree = parser.parse(expr);
  const top = tree.topNode;
  tree.iterate({
    enter(ref) {
      const node = ref.node;
      if (node.type.isError) {
        const at = node.from;
        problems.push(`parse error at column ${at + 1}: ${expr.slice(Math.max(0, at - 30), at)}<<here>>${expr.slice(at, at + 30)}`);
        return;
      }
      if (node.name === "VectorSelector") checkSelector(expr, node, { multiVars, requireNamespace }, problems);
      if (node.name === "GroupingLabels") {
        // by/without belong to an AggregateExpr, on/ignoring/group_x to a BinaryExpr.
        const owner = node.parent.parent;
        const operands =
          owner.name === "AggregateExpr" ? exprChildren(child(owner, "FunctionCallBody")) : exprChildren(owner);
        const sets = operands.map((o) => outLabels(expr, o));
        if (sets.every((s) => s !== null)) {
          const available = new Set(sets.flatMap((s) => [...s]));
          for (const l of labelNames(expr, node))
            if (!available.has(l)) problems.push(`groups by "${l}", which ${text(expr, owner).slice(0, 60)}... does not have`);
        }
      }
      if (node.name === "FunctionCall" && counterFunctions.has(functionName(expr, node))) {
        for (const sel of selectorsIn(child(node, "FunctionCallBody"))) {
          const metric = selectorMetric(expr, sel);
          if (metric && known.metrics[metric] && !isCounter(metric))
            problems.push(`${functionName(expr, node)}() of ${metric}, which is not a counter`);
        }
      }
    },
  });
  // A variable's label_values() reads series, not values: a bare counter is right there.
  for (const sel of evaluated ? selectorsIn(top) : []) {
    const metric = selectorMetric(expr, sel);
    if (!metric || !isCounter(metric) || !known.metrics[metric]) continue;
    let under = false;
    for (let p = sel.parent; p && !under; p = p.parent)
      under = p.name === "FunctionCall" && counterFunctions.has(functionName(expr, p));
    if (!under) problems.push(`counter ${metric} used without rate(), irate() or increase()`);
  }
  if (legendFormat && legendFormat !== "__auto") {
    const labels = outLabels(expr, top);
    if (labels)
      for (const [, l] of legendFormat.matchAll(/\{\{\s*(\w+)\s*\}\}/g))
        if (!labels.has(l)) problems.push(`legend uses {{${l}}}, which the result does not have (it has: ${[...labels].sort().join(", ") || "no labels"})`);
  }
  return problems;
}

function selectorsIn(node) {
  const out = [];
  const walk = (n) => {
    if (n.name === "VectorSelector") out.push(n);
    for (const c of children(n)) walk(c);
  };
  walk(node);
  return out;
}

function checkSelector(expr, sel, { multiVars, requireNamespace }, problems) {
  const metric = selectorMetric(expr, sel);
  if (!metric) {
    problems.push(`selector ${text(expr, sel)} names no metric (name it, so that it can be checked)`);
    return;
  }
  const labels = known.metrics[metric];
  if (!labels) {
    problems.push(`unknown metric ${metric} (not in tests/chart/dashboards/metrics.json)`);
    return;
  }
  let namespaced = false;
  for (const m of children(child(sel, "LabelMatchers") ?? sel).filter((c) => c.name.endsWith("LabelMatcher"))) {
    const nameNode = child(m, "LabelName") ?? child(m, "QuotedLabelName");
    const name = nameNode.name === "LabelName" ? text(expr, nameNode) : stringValue(expr, child(nameNode, "StringLiteral"));
    const op = text(expr, child(m, "MatchOp"));
    const value = stringValue(expr, child(m, "StringLiteral"));
    if (!labels.includes(name) && !scrapeLabels.has(name)) problems.push(`${metric} has no label "${name}"`);
    if (name === "namespace" && op === "=~" && value === marker("namespace")) namespaced = true;
    for (const v of multiVars)
      if (value.includes(marker(v)) && op !== "=~" && op !== "!~")
        problems.push(`$${v} can hold several values: match it with =~ or !~, not ${op} (${text(expr, m)})`);
  }
  if (requireNamespace && !namespaced) problems.push(`${metric} is not filtered with namespace=~"$namespace"`);
}

// ---------------------------------------------------------------- dashboard structure

function checkStructure(d, problems) {
  if (typeof d.uid !== "string" || !/^[A-Za-z0-9_-]{1,40}$/.test(d.uid)) problems.push(`uid ${JSON.stringify(d.uid)}: want 1-40 of [A-Za-z0-9_-]`);
  if (typeof d.title !== "string" || !d.title.trim()) problems.push("no title");
  if (!d.tags?.includes("pixhive")) problems.push('tags lack "pixhive" (the dashboards link each other by it)');
  const vars = new Map((d.templating?.list ?? []).map((v) => [v.name, v]));
  if (vars.get("datasource")?.type !== "datasource" || vars.get("datasource")?.query !== "prometheus")
    problems.push('no variable "datasource" of type datasource for prometheus');
  if (vars.get("namespace")?.type !== "query") problems.push('no query variable "namespace"');
  for (const v of vars.values())
    if (v.type === "query" && v.datasource?.uid !== "${datasource}") problems.push(`variable $${v.name}: data source is not \${datasource}`);

  const ids = new Set();
  const cells = new Map();
  for (const p of allPanels(d)) {
    const name = p.title ? `panel "${p.title}"` : `panel #${p.id}`;
    if (!p.title?.trim()) problems.push(`${name}: no title`);
    if (!Number.isInteger(p.id) || ids.has(p.id)) problems.push(`${name}: id ${p.id} is missing or not unique`);
    ids.add(p.id);
    const g = p.gridPos;
    if (!g || !(g.w > 0 && g.h > 0 && g.x >= 0 && g.y >= 0 && g.x + g.w <= 24)) problems.push(`${name}: gridPos ${JSON.stringify(g)} is off the 24-column grid`);
    else
      for (let y = g.y; y < g.y + g.h; y++)
        for (let x = g.x; x < g.x + g.w; x++) {
          const other = cells.get(`${x},${y}`);
          if (other) {
            problems.push(`${name} overlaps ${other}`);
            y = Infinity;
            break;
          }
          cells.set(`${x},${y}`, name);
        }
    if (p.type === "row") continue;
    if (!p.targets?.length) problems.push(`${name}: no target`);
    if (p.datasource?.uid !== "${datasource}") problems.push(`${name}: data source is not \${datasource}`);
    for (const t of p.targets ?? [])
      if (t.datasource?.uid !== "${datasource}") problems.push(`${name} ${t.refId}: data source is not \${datasource}`);
    if (["timeseries", "stat"].includes(p.type) && !p.fieldConfig?.defaults?.unit) problems.push(`${name}: no unit`);
  }
}

// ---------------------------------------------------------------- TypeScript

/**
 * Type-checks every dashboard in one in-memory program: each becomes `<json> satisfies
 * PixHiveDashboard` in a file beside dashboard-types.ts (never written), so that module resolution
 * finds @grafana/schema in tests/chart/node_modules. Returns problems per file, at JSON lines.
 */
function typeCheck(dashboards) {
  const configPath = join(here, "tsconfig.json");
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, here);
  const header = [
    'import type { PixHiveDashboard } from "./dashboard-types";',
    "export const dashboard =",
  ];
  const virtual = new Map();
  for (const { file, text } of dashboards)
    virtual.set(join(here, `__${file}.ts`), { file, source: `${header.join("\n")}\n${text.trimEnd()} satisfies PixHiveDashboard;\n` });

  const host = ts.createCompilerHost(parsed.options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (f) => virtual.has(f) || fileExists.call(host, f);
  host.readFile = (f) => virtual.get(f)?.source ?? readFile.call(host, f);
  host.getSourceFile = (f, lang, ...rest) =>
    virtual.has(f) ? ts.createSourceFile(f, virtual.get(f).source, lang, true) : getSourceFile.call(host, f, lang, ...rest);
  const program = ts.createProgram([...parsed.fileNames, ...virtual.keys()], parsed.options, host);

  const byFile = new Map(dashboards.map((d) => [d.file, []]));
  const global = [];
  for (const diag of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diag.messageText, "\n    ");
    const v = diag.file && virtual.get(diag.file.fileName);
    if (v) {
      const { line, character } = diag.file.getLineAndCharacterOfPosition(diag.start ?? 0);
      byFile.get(v.file).push(`${v.file}:${line - header.length + 1}:${character + 1}: TS${diag.code}: ${message}`);
    } else global.push(`${diag.file ? diag.file.fileName : "tsconfig"}: TS${diag.code}: ${message}`);
  }
  return { byFile, global };
}

// ---------------------------------------------------------------- main

const dashboards = loadDashboards(dir);
const results = new Map(dashboards.map((d) => [d.file, []]));
const rules = [];
const uids = new Map();
const titles = new Map();

for (const { file, text } of dashboards) {
  const problems = results.get(file);
  let d;
  try {
    d = JSON.parse(text);
  } catch (e) {
    problems.push(`not JSON: ${e.message}`);
    continue;
  }
  checkStructure(d, problems);
  for (const [key, seen] of [["uid", uids], ["title", titles]]) {
    if (seen.has(d[key])) problems.push(`${key} ${JSON.stringify(d[key])} is also ${seen.get(d[key])}'s`);
    else seen.set(d[key], file);
  }

  const vars = d.templating?.list ?? [];
  const values = { ...builtins(), ...Object.fromEntries(vars.map((v) => [v.name, marker(v.name)])) };
  const multiVars = vars.filter((v) => v.multi || v.includeAll).map((v) => v.name);
  for (const q of rawQueries(d)) {
    const where = `${q.panel} ${q.refId}`;
    let expr;
    try {
      expr = q.variable ? variableQueryExpr(q.expr) : q.expr;
      if (expr === null) continue;
      if (!expr.trim()) throw new Error("empty query");
      expr = substitute(expr, values);
    } catch (e) {
      problems.push(`${where}: ${e.message}`);
      continue;
    }
    const requireNamespace = !(q.variable && q.variable.name === "namespace");
    for (const p of checkExpr(expr, { multiVars, requireNamespace, legendFormat: q.target?.legendFormat, evaluated: !q.variable }))
      problems.push(`${where}: ${p}\n      ${q.expr}`);
    rules.push({ record: `pixhive_dashboard:${file.replace(/\W/g, "_")}:${rules.length}`, expr });
  }
}

const typed = typeCheck(dashboards);
for (const [file, problems] of typed.byFile) results.get(file).push(...problems);

let failed = typed.global.length > 0;
for (const p of typed.global) console.log(`FAIL ${p}`);
for (const [file, problems] of results) {
  if (!problems.length) {
    console.log(`ok ${file}`);
    continue;
  }
  failed = true;
  console.log(`FAIL ${file}\n  ${problems.join("\n  ")}`);
}
if (!dashboards.length) {
  console.log(`FAIL no dashboards in ${dir}`);
  failed = true;
}
if (rulesOut) writeFileSync(rulesOut, JSON.stringify({ groups: [{ name: "pixhive-dashboards", rules }] }, null, 2));
process.exit(failed ? 1 : 0);
