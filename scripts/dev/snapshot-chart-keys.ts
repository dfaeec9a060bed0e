/**
 * Developer tool: records the key paths each Istio chart's values.yaml defines, so the tests can
 * check our Helm values without a network or the chart sources. Re-run when bumping Istio:
 *
 *   npx tsx scripts/dev/snapshot-chart-keys.ts <reference dir> <version>
 *
 * The reference dir holds `<chart>.values.yaml` or `charts/<chart>/values.yaml` for base, istiod and
 * gateway, and `charts/<chart>/` for the ambient charts cni and ztunnel (Istio's manifests/charts
 * istio-cni and ztunnel at the tag). `profile` is recorded for a chart whose templates/zzz_profile.yaml
 * reads it: that template, not values.yaml, gives the key its meaning.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { keyPaths } from "./keyPaths";

const CHARTS = ["base", "istiod", "gateway", "cni", "ztunnel"] as const;

function chartKeys(dir: string, chart: string): string[] {
  const flat = join(dir, `${chart}.values.yaml`);
  const chartDir = join(dir, "charts", chart);
  const values = parse(readFileSync(existsSync(flat) ? flat : join(chartDir, "values.yaml"), "utf8")) as Record<
    string,
    unknown
  >;
  // Istio nests chart defaults under this key; users set the same keys at the top level.
  const defaults = values._internal_defaults_do_not_set ?? values;
  const profileTemplate = join(chartDir, "templates", "zzz_profile.yaml");
  const readsProfile =
    existsSync(profileTemplate) && readFileSync(profileTemplate, "utf8").includes(".Values).profile");
  return [...keyPaths(defaults, "", []), ...(readsProfile ? ["profile"] : [])].sort();
}

const [dir, version] = process.argv.slice(2);
if (!dir || !version) {
  console.error("usage: snapshot-chart-keys.ts <values dir> <istio version>");
  process.exit(2);
}
const snapshot = {
  istioVersion: version,
  charts: Object.fromEntries(CHARTS.map((chart) => [chart, chartKeys(dir, chart)])),
};
const target = join(__dirname, "..", "..", "tests", "fixtures", `istio-${version}-chart-keys.json`);
writeFileSync(target, `${JSON.stringify(snapshot, null, 2)}\n`);
console.log(`wrote ${target}`);
