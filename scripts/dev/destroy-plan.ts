/**
 * What `pulumi destroy` of a stack would do to its cluster, measured from the resources the program
 * registers under Pulumi's mocks (no CLI, no cluster):
 *
 *   tsx scripts/dev/destroy-plan.ts [--existing] [--root <project dir>]
 *
 * The engine gives every custom resource in state a delete step, in reverse dependency order, and
 * skips the provider's Delete call when the resource is `deletedWith` another resource the same
 * operation deletes (pulumi/pulumi pkg/resource/deploy/step.go, isDeletedWith). A destroy deletes
 * everything, so that is every deletedWith resource. Counted here: the Delete calls that reach the
 * cluster (Kubernetes objects, Helm uninstalls, which wait for their objects to go), and the longest
 * chain of them that must run one after another (a resource is deleted after everything that depends
 * on it). --root measures another checkout, e.g. the commit before a change.
 */
import * as path from "node:path";
import { parseArgs } from "node:util";

interface Resource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly parent: string;
  readonly provider: string;
  readonly dependencies: readonly string[];
  readonly deletedWith?: string;
}

export interface DestroyPlan {
  readonly customResources: number;
  /** Provider Delete calls against the cluster (kubernetes:*), Helm releases included. */
  readonly clusterDeletes: number;
  readonly helmUninstalls: number;
  /** Delete calls skipped because the cluster goes with them. */
  readonly skipped: number;
  /** Commands that delete a cluster (the kind command). */
  readonly clusterCommands: number;
  /** The longest sequence of Delete calls that must run one after another, as `type::name`. */
  readonly criticalPath: readonly string[];
  /** For comparison, `up`: the longest sequence of creates, each waiting for its dependencies. */
  readonly createPath: readonly string[];
}

/** This program's components are `istio-mesh:<area>:<Name>`; everything else is a custom resource. */
const isCustom = (r: Resource) => !r.type.startsWith("istio-mesh:") && r.type !== "pulumi:pulumi:Stack";

export function destroyPlan(resources: readonly Resource[]): DestroyPlan {
  const custom = resources.filter(isCustom);
  const deleting = new Set(resources.map((r) => r.urn));
  const skips = (r: Resource) => !!r.deletedWith && deleting.has(r.deletedWith);
  // A Delete call that does work: providers and components delete nothing outside state.
  const works = (r: Resource) => !skips(r) && !r.type.startsWith("pulumi:providers:");
  const reachesCluster = (r: Resource) => r.type.startsWith("kubernetes:") && works(r);

  // Who must be deleted before `r`: everything that depends on it, by dependency, provider or parent.
  const before = new Map<string, Resource[]>(resources.map((r) => [r.urn, []]));
  for (const r of resources) {
    const providerUrn = r.provider.split("::").slice(0, -1).join("::");
    for (const target of new Set([...r.dependencies, providerUrn, r.parent])) before.get(target)?.push(r);
  }
  const memo = new Map<string, readonly string[]>();
  const chain = (r: Resource): readonly string[] => {
    const known = memo.get(r.urn);
    if (known) return known;
    const longest = (before.get(r.urn) ?? [])
      .map(chain)
      .reduce<readonly string[]>((a, b) => (b.length > a.length ? b : a), []);
    const result = works(r) && isCustom(r) ? [...longest, `${r.type}::${r.name}`] : longest;
    memo.set(r.urn, result);
    return result;
  };

  return {
    customResources: custom.length,
    clusterDeletes: custom.filter(reachesCluster).length,
    helmUninstalls: custom.filter((r) => reachesCluster(r) && r.type.startsWith("kubernetes:helm.sh/")).length,
    skipped: custom.filter(skips).length,
    clusterCommands: custom.filter((r) => r.type === "command:local:Command" && works(r)).length,
    criticalPath: resources.map(chain).reduce<readonly string[]>((a, b) => (b.length > a.length ? b : a), []),
    createPath: createPath(resources),
  };
}

function createPath(resources: readonly Resource[]): readonly string[] {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const memo = new Map<string, readonly string[]>();
  const chain = (r: Resource): readonly string[] => {
    const known = memo.get(r.urn);
    if (known) return known;
    const providerUrn = r.provider.split("::").slice(0, -1).join("::");
    const longest = [...r.dependencies, providerUrn]
      .flatMap((urn) => byUrn.get(urn) ?? [])
      .map(chain)
      .reduce<readonly string[]>((a, b) => (b.length > a.length ? b : a), []);
    const result =
      isCustom(r) && !r.type.startsWith("pulumi:providers:") ? [...longest, `${r.type}::${r.name}`] : longest;
    memo.set(r.urn, result);
    return result;
  };
  return resources.map(chain).reduce<readonly string[]>((a, b) => (b.length > a.length ? b : a), []);
}

async function main() {
  const { values } = parseArgs({ options: { existing: { type: "boolean" }, root: { type: "string" } } });
  const root = path.resolve(values.root ?? path.join(__dirname, "..", ".."));
  const { deployMesh } = require(path.join(root, "components/mesh"));
  const { devStackConfig, meshConfig } = require(path.join(root, "tests/support/configs"));
  // Older trees (the "before" figure) kept projectConfig in config/load.
  const { projectConfig } =
    require(path.join(root, "config/readers")).projectConfig !== undefined
      ? require(path.join(root, "config/readers"))
      : require(path.join(root, "config/load"));
  const { runWithMocks } = require(path.join(root, "tests/support/mockEngine"));
  // The dev stack's routes and faults; in existing mode without the kind-only clusterName, and with an
  // ingressHost (a key older trees know too), so the production profile reads no load balancer under mocks.
  const { clusterName, ...shared } = projectConfig(devStackConfig());
  const existing = { ...shared, clusterMode: "existing", ingressHost: "mesh.example.com" };
  const config = meshConfig(values.existing ? existing : { ...shared, clusterName });
  const run = await runWithMocks(() => deployMesh(config));
  const plan = destroyPlan(run.resources);
  console.log(`${root} (${values.existing ? "existing cluster" : "kind"}, dev stack):`);
  console.log(`  custom resources in state       ${plan.customResources}`);
  console.log(`  Delete calls reaching cluster   ${plan.clusterDeletes} (Helm uninstalls: ${plan.helmUninstalls})`);
  console.log(`  Delete calls skipped            ${plan.skipped} (deletedWith the kind cluster)`);
  console.log(`  kind cluster deletes            ${plan.clusterCommands}`);
  console.log(`  longest sequential chain        ${plan.criticalPath.length}: ${plan.criticalPath.join(" → ")}`);
  console.log(`  up: longest chain of creates    ${plan.createPath.length}: ${plan.createPath.join(" → ")}`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
