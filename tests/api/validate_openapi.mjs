// Validates an OpenAPI document as OpenAPI 3 (schema and semantic checks of swagger-parser).
// Usage: node validate_openapi.mjs <openapi.yaml> [<node_modules dir>]
import { createRequire } from "node:module";
import path from "node:path";
import process from "node:process";

const [file, modules] = process.argv.slice(2);
if (!file) {
  console.error("usage: node validate_openapi.mjs <openapi.yaml> [<node_modules dir>]");
  process.exit(2);
}
// The validator lives in the repository's node_modules, not next to this script's caller.
const require = createRequire(path.join(path.resolve(modules ?? "node_modules"), "noop.js"));
let SwaggerParser;
try {
  SwaggerParser = require("@apidevtools/swagger-parser");
} catch (e) {
  console.error(`@apidevtools/swagger-parser is missing (run npm ci or scripts/bootstrap): ${e.message}`);
  process.exit(2);
}

try {
  const api = await SwaggerParser.validate(file);
  const operations = Object.values(api.paths).reduce(
    (n, item) => n + ["get", "put", "post", "patch", "delete", "head", "options"].filter((m) => item[m]).length,
    0,
  );
  console.log(`${file}: valid OpenAPI ${api.openapi}, ${operations} operations`);
} catch (e) {
  console.error(`${file} is not valid OpenAPI 3:\n${e.message}`);
  process.exit(1);
}
