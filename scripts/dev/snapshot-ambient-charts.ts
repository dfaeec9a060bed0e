/**
 * Developer tool: records what Istio's ambient charts create, as the real charts render with the
 * program's values, so tests can check the waypoint and the ambient labels against them offline.
 * Source: each release's manifest as a real helm renders Istio's chart at the pinned version with
 * `npm run render`'s values (the first line of each values file names the chart and namespace):
 *
 *   npm run render -- --stack ambient
 *   helm template istio-cni istio/cni --version 1.30.3 -n istio-system \
 *     -f rendered/ambient/helm/istio-cni.values.yaml > rendered/ambient/helm/istio-cni.manifest.yaml
 *   (the same for ztunnel and istiod)
 *   npx tsx scripts/dev/snapshot-ambient-charts.ts rendered/ambient/helm
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

interface K8sObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
  spec?: {
    template?: {
      spec?: {
        serviceAccountName?: string;
        containers?: { image?: string; env?: { name: string; value?: string }[] }[];
      };
    };
  };
}

function objects(dir: string, release: string): K8sObject[] {
  const text = readFileSync(join(dir, `${release}.manifest.yaml`), "utf8");
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

function named(list: K8sObject[], kind: string, name?: string): K8sObject {
  const found = list.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (!found) throw new Error(`no ${kind} ${name ?? ""} in the rendered chart`);
  return found;
}

const daemonSet = (list: K8sObject[]) => {
  const ds = named(list, "DaemonSet");
  const pod = ds.spec?.template?.spec;
  return { name: ds.metadata.name, serviceAccount: pod?.serviceAccountName, image: pod?.containers?.[0]?.image };
};

const [dir] = process.argv.slice(2);
if (!dir) {
  console.error("usage: snapshot-ambient-charts.ts <rendered helm dir>");
  process.exit(2);
}
const cni = objects(dir, "istio-cni");
const ztunnel = objects(dir, "ztunnel");
const istiod = objects(dir, "istiod");
const cniConfig = named(cni, "ConfigMap", "istio-cni-config").data ?? {};
const istiodEnv = named(istiod, "Deployment", "istiod").spec?.template?.spec?.containers?.[0]?.env ?? [];
const env = (name: string) => istiodEnv.find((e) => e.name === name)?.value;
const injector = named(istiod, "ConfigMap", "istio-sidecar-injector").data?.config ?? "";
const injectorConfig = (parseAllDocuments(injector)[0]?.toJS() ?? {}) as { templates?: Record<string, unknown> };
const templates = injectorConfig.templates ?? {};

const snapshot = {
  source: "chart-render of Istio 1.30.3's cni, ztunnel and istiod charts with the ambient stack's values",
  cni: {
    daemonSet: daemonSet(cni),
    ambientEnabled: cniConfig.AMBIENT_ENABLED,
    // Which pods the node agent hands to ztunnel: a YAML list of pod/namespace selectors.
    enablementSelectors: parseAllDocuments(cniConfig.AMBIENT_ENABLEMENT_SELECTOR ?? "")[0]?.toJS(),
  },
  ztunnel: { daemonSet: daemonSet(ztunnel) },
  istiod: {
    pilotEnableAmbient: env("PILOT_ENABLE_AMBIENT"),
    // The ztunnel identities istiod's CA issues certificates on behalf of.
    trustedNodeAccounts: env("CA_TRUSTED_NODE_ACCOUNTS"),
    injectionTemplates: Object.keys(templates).sort(),
  },
};
const target = join(__dirname, "..", "..", "tests", "fixtures", "ambient-chart-objects.json");
writeFileSync(target, `${JSON.stringify(snapshot, null, 2)}\n`);
console.log(`wrote ${target}`);
