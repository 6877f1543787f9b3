// Validates every document of a rendered chart (multi-document YAML file given as argv[2]):
// - built-in kinds with kubernetes-models (types, enums, required fields, base64 Secret data)
//   and, for unknown fields, by walking @kubernetes/client-node's attribute type maps;
// - ServiceMonitor/PrometheusRule/ScaledObject with the prometheus-operator and KEDA models
//   (their unknown fields stay unchecked: the CRD models allow extra properties).
// Prints one line per document; exits 1 if any document fails. With `--json OUT` also writes
// the documents as a JSON list (for ingress_check.py and the rule extraction).
import { readFileSync, writeFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import * as k8s from "@kubernetes/client-node";

const crdPackages = {
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
  "keda.sh": "@kubernetes-models/keda",
};

async function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const pkg = crdPackages[group];
  const path = pkg ? `${pkg}/${group}/${version}/${kind}` : `kubernetes-models/${group ? group + "/" : ""}${version}/${kind}`;
  try {
    const mod = await import(`${path}.js`).catch(() => import(path));
    return { model: mod[kind], crd: !!pkg, version };
  } catch (e) {
    return { error: `no model for ${apiVersion} ${kind} (${path})` };
  }
}

// Unknown-field walk over client-node's type maps.
function unknownFields(value, type, where, out) {
  if (value === null || value === undefined) return;
  let m;
  if ((m = /^Array<(.+)>$/.exec(type))) {
    if (Array.isArray(value)) value.forEach((v, i) => unknownFields(v, m[1], `${where}[${i}]`, out));
    return;
  }
  if ((m = /^\{ \[key: string\]: (.+); \}$/.exec(type))) {
    if (typeof value === "object") for (const [k, v] of Object.entries(value)) unknownFields(v, m[1], `${where}.${k}`, out);
    return;
  }
  const cls = k8s[type];
  if (!cls || typeof cls.getAttributeTypeMap !== "function") return; // primitives, IntOrString, any
  if (typeof value !== "object" || Array.isArray(value)) {
    out.push(`${where}: expected an object (${type})`);
    return;
  }
  const attrs = new Map(cls.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value)) {
    if (!attrs.has(k)) out.push(`${where}.${k}: unknown field (${type})`);
    else unknownFields(v, attrs.get(k), `${where}.${k}`, out);
  }
}

const file = process.argv[2];
const docs = parseAllDocuments(readFileSync(file, "utf8"));
let failed = 0;
let count = 0;
for (const d of docs) {
  if (d.errors.length) {
    console.log(`FAIL yaml: ${d.errors[0].message}`);
    failed++;
    continue;
  }
  const obj = d.toJS();
  if (!obj) continue;
  count++;
  const name = `${obj.kind}/${obj.metadata?.name}`;
  const problems = [];
  const { model, crd, version, error } = await modelFor(obj.apiVersion ?? "", obj.kind ?? "");
  if (error || !model) problems.push(error ?? "no model");
  else {
    try {
      new model(obj).validate();
    } catch (e) {
      problems.push(String(e.message ?? e).split("\n").slice(0, 6).join(" | "));
    }
    if (!crd) {
      const cls = version[0].toUpperCase() + version.slice(1) + obj.kind;
      if (!k8s[cls]) problems.push(`client-node has no ${cls}`);
      else unknownFields(obj, cls, obj.kind, problems);
    }
  }
  if (problems.length) {
    failed++;
    console.log(`FAIL ${name}\n  ${problems.join("\n  ")}`);
  } else console.log(`ok   ${name}`);
}
console.log(`${count} documents, ${failed} failed`);
const j = process.argv.indexOf("--json");
if (j > 0) writeFileSync(process.argv[j + 1], JSON.stringify(docs.filter((d) => !d.errors.length).map((d) => d.toJS()).filter(Boolean)));
process.exit(failed || count === 0 ? 1 : 0);
