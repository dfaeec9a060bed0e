/**
 * Developer tool: records the key paths each Istio chart's values.yaml defines, so the tests can
 * check our Helm values without a network or the chart sources. Re-run when bumping Istio:
 *
 *   npx tsx scripts/dev/snapshot-chart-keys.ts <dir with base/istiod/gateway .values.yaml> <version>
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { keyPaths } from "./keyPaths";

function chartKeys(file: string): string[] {
  const values = parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  // Istio nests chart defaults under this key; users set the same keys at the top level.
  const defaults = values._internal_defaults_do_not_set ?? values;
  return keyPaths(defaults, "", []).sort();
}

const [dir, version] = process.argv.slice(2);
if (!dir || !version) {
  console.error("usage: snapshot-chart-keys.ts <values dir> <istio version>");
  process.exit(2);
}
const snapshot = {
  istioVersion: version,
  charts: {
    base: chartKeys(join(dir, "base.values.yaml")),
    istiod: chartKeys(join(dir, "istiod.values.yaml")),
    gateway: chartKeys(join(dir, "gateway.values.yaml")),
  },
};
const target = join(__dirname, "..", "..", "tests", "fixtures", `istio-${version}-chart-keys.json`);
writeFileSync(target, `${JSON.stringify(snapshot, null, 2)}\n`);
console.log(`wrote ${target}`);
