/**
 * Developer tool: records the fields the analyzer reads (analysis/chartObjects.ts) of the objects Istio's
 * charts create, as a real helm renders them with the program's values, so tests/analysisCli.test.ts can
 * compare the analyzer's derived chart objects with them offline. Source: each release's manifest, from
 * `npm run render`'s values rendered by a real helm with Istio's charts at the pinned version (the first
 * line of each values file names the chart and namespace), for example:
 *
 *   npm run render -- --stack <stack>
 *   helm template istiod istio/istiod --version 1.30.3 -n istio-system \
 *     -f rendered/<stack>/helm/istiod.values.yaml > rendered/<stack>/helm/istiod.manifest.yaml
 *   (the same for every *.values.yaml there)
 *   npx tsx scripts/dev/snapshot-chart-objects.ts rendered/<stack>/helm <name> "<source text>"
 *
 * writes tests/fixtures/analysis/chart-objects.<name>.json.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are read field by field
type K8s = Record<string, any>;

const READ = ["ServiceAccount", "Service", "Deployment", "MutatingWebhookConfiguration"];

function snapshot(release: string, objects: K8s[]): K8s[] {
  const hpa = (name: string) =>
    objects.find((o) => o.kind === "HorizontalPodAutoscaler" && o.spec?.scaleTargetRef?.name === name);
  return objects
    .filter((o) => READ.includes(o.kind))
    .map((o) => {
      const base = { release, kind: o.kind, ...(o.metadata.namespace && { namespace: o.metadata.namespace }) };
      const named = { ...base, name: o.metadata.name };
      switch (o.kind) {
        case "Service":
          return {
            ...named,
            labels: o.metadata.labels,
            type: o.spec.type ?? "ClusterIP",
            selector: o.spec.selector,
            ports: o.spec.ports.map(({ nodePort: _n, ...p }: K8s) => p),
          };
        case "Deployment": {
          const pod = o.spec.template;
          const scaler = hpa(o.metadata.name);
          return {
            ...named,
            labels: o.metadata.labels,
            ...(o.spec.replicas !== undefined && { replicas: o.spec.replicas }),
            ...(scaler && { hpaMinReplicas: scaler.spec.minReplicas }),
            podLabels: pod.metadata.labels,
            serviceAccountName: pod.spec.serviceAccountName,
            containers: pod.spec.containers.map((c: K8s) => ({
              name: c.name,
              image: c.image,
              env: (c.env ?? []).map((e: K8s) => e.name),
            })),
          };
        }
        case "MutatingWebhookConfiguration":
          return {
            ...named,
            webhooks: o.webhooks.map((w: K8s) => ({
              name: w.name,
              namespaceSelector: w.namespaceSelector,
              objectSelector: w.objectSelector,
            })),
          };
        default:
          return named;
      }
    });
}

const [dir, name, source] = process.argv.slice(2);
if (!dir || !name || !source) {
  console.error('usage: snapshot-chart-objects.ts <rendered helm dir> <name> "<source text>"');
  process.exit(2);
}
const manifests = readdirSync(dir)
  .filter((f) => f.endsWith(".manifest.yaml"))
  .sort();
const objects = manifests.flatMap((f) => {
  const docs = parseAllDocuments(readFileSync(join(dir, f), "utf8"))
    .map((d) => d.toJS() as K8s | null)
    .filter((o): o is K8s => o !== null);
  return snapshot(f.replace(/\.manifest\.yaml$/, ""), docs);
});
const target = join(__dirname, "..", "..", "tests", "fixtures", "analysis", `chart-objects.${name}.json`);
writeFileSync(target, `${JSON.stringify({ source, objects }, null, 2)}\n`);
console.log(`wrote ${target}: ${objects.length} objects`);
