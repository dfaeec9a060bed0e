/**
 * Developer tool: records the key paths the observability charts accept, so the tests can check
 * our values offline. Re-run when bumping a chart (see components/observability/charts.ts):
 *
 *   npx tsx scripts/dev/snapshot-addon-chart-keys.ts <dir>
 *
 * <dir> holds each chart's values.yaml at the pinned version, from the charts' own repositories:
 *   prometheus.values.yaml    prometheus-community/helm-charts, tag prometheus-<version>, charts/prometheus/values.yaml
 *   grafana.values.yaml       grafana/helm-charts, tag grafana-<version>, charts/grafana/values.yaml
 *   kiali-server.values.yaml  kiali/helm-charts, tag v<version>, kiali-server/values.yaml
 *   kiali-crd.yaml            kiali/helm-charts, tag v<version>, kiali-operator/crds/crds.yaml
 * The kiali-server chart copies its values into Kiali's config, which is the Kiali CR's spec, so
 * Kiali's keys are the union of the chart's values and that CRD's spec schema.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { ADDON_CHARTS } from "../../components/observability/pins";
import { keyPaths } from "./keyPaths";

interface Schema {
  properties?: Record<string, Schema>;
  additionalProperties?: unknown;
  type?: string;
}

/** Leaf paths of an OpenAPI schema; maps with free keys are recorded as `path.*`. */
function schemaPaths(schema: Schema, prefix: string, out: string[]): string[] {
  if (schema.properties) {
    for (const [k, v] of Object.entries(schema.properties)) schemaPaths(v, prefix ? `${prefix}.${k}` : k, out);
    if (schema.additionalProperties) out.push(`${prefix}.*`);
  } else if (schema.type === "object") {
    out.push(`${prefix}.*`);
  } else if (prefix) {
    out.push(prefix);
  }
  return out;
}

/** Top-level maps a values.yaml documents only as a comment, e.g. Grafana's `# podLabels: {}`. */
const COMMENTED_MAP = /^# ?([A-Za-z][\w-]*): \{\}$/gm;

function valuesKeys(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const commented = [...text.matchAll(COMMENTED_MAP)].map((m) => `${m[1]}.*`);
  return [...keyPaths(parse(text), "", []), ...commented];
}

function kialiCrdKeys(file: string): string[] {
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    const crd = doc.toJS() as {
      metadata?: { name?: string };
      spec?: { versions?: { schema?: { openAPIV3Schema?: Schema } }[] };
    } | null;
    if (crd?.metadata?.name !== "kialis.kiali.io") continue;
    const spec = crd.spec?.versions?.[0]?.schema?.openAPIV3Schema?.properties?.spec;
    if (spec) return schemaPaths(spec, "", []);
  }
  throw new Error(`${file}: no kialis.kiali.io CRD with a spec schema`);
}

const [dir] = process.argv.slice(2);
if (!dir) {
  console.error("usage: snapshot-addon-chart-keys.ts <dir with the charts' values.yaml files>");
  process.exit(2);
}
const unique = (keys: string[]) => [...new Set(keys)].sort();
const snapshot = {
  charts: {
    prometheus: {
      version: ADDON_CHARTS.prometheus.version,
      keys: unique(valuesKeys(join(dir, "prometheus.values.yaml"))),
    },
    grafana: { version: ADDON_CHARTS.grafana.version, keys: unique(valuesKeys(join(dir, "grafana.values.yaml"))) },
    "kiali-server": {
      version: ADDON_CHARTS["kiali-server"].version,
      keys: unique([
        ...valuesKeys(join(dir, "kiali-server.values.yaml")),
        ...kialiCrdKeys(join(dir, "kiali-crd.yaml")),
      ]),
    },
  },
};
const target = join(__dirname, "..", "..", "tests", "fixtures", "observability-chart-keys.json");
writeFileSync(target, `${JSON.stringify(snapshot, null, 2)}\n`);
console.log(`wrote ${target}`);
