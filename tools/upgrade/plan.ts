/**
 * The upgrade's plan: pure, from the stack's parsed config and the target release to the steps, so
 * `--dry-run` prints exactly what a real run does and tests check it step by step. It follows Istio's
 * canary upgrade with revision tags: a new revision beside the old, `prod-canary` moved and its workloads
 * restarted and verified, then `prod-stable` moved and the rest restarted, then the old revision removed.
 */
import { REVISION_TAGS, revisionName } from "../../components/controlPlane/revisions";
import { EGRESS_GATEWAY_RELEASE } from "../../components/egress/egressGateway";
import { buildMeshSpec } from "../../components/meshSpec";
import { EGRESS_NAMESPACE, INGRESS_NAMESPACE } from "../../components/meta";
import type { MeshConfig } from "../../config/types";
import { CliError, EXIT } from "../lib/cli";

/** A Deployment `kubectl rollout restart` recreates, so its pods are injected by their tag's revision now. */
export interface Workload {
  readonly namespace: string;
  readonly deployment: string;
}

/** What the stack's config says about Istio: the release, the one being added, and where each tag points. */
export interface RevisionState {
  readonly istioVersion: string;
  readonly upgradeTo: string | undefined;
  readonly stableVersion: string;
  readonly canaryVersion: string;
}

/** Config keys (without the project prefix) set and removed by one step, then one `pulumi up`. */
export interface ConfigChange {
  readonly set: Readonly<Record<string, string>>;
  readonly remove: readonly string[];
}

export type UpgradeStep =
  | {
      readonly kind: "config";
      readonly n: number;
      readonly title: string;
      readonly change: ConfigChange;
      readonly after: RevisionState;
    }
  | {
      readonly kind: "restart";
      readonly n: number;
      readonly title: string;
      readonly batches: readonly (readonly Workload[])[];
    }
  | { readonly kind: "verify"; readonly n: number; readonly title: string };

export interface UpgradePlan {
  readonly from: string;
  readonly to: string;
  readonly before: RevisionState;
  /** Where the ingress gateway (the canary) and everything else run. */
  readonly canary: readonly Workload[];
  readonly rest: readonly Workload[];
  readonly steps: readonly UpgradeStep[];
}

const KEYS = {
  istioVersion: "istioVersion",
  upgradeTo: "revisions.upgradeTo",
  stable: "revisions.stableVersion",
  canary: "revisions.canaryVersion",
} as const;

export function revisionState(cfg: MeshConfig): RevisionState {
  return {
    istioVersion: cfg.istio.version,
    upgradeTo: cfg.revisions.upgradeTo,
    stableVersion: cfg.revisions.stableVersion,
    canaryVersion: cfg.revisions.canaryVersion,
  };
}

/** The Deployments each tag's webhook injects: the ingress gateway is the canary, the rest follow `prod-stable`. */
export function taggedWorkloads(cfg: MeshConfig): { canary: Workload[]; rest: Workload[] } {
  const spec = buildMeshSpec(cfg);
  const backend = cfg.backend.namespace;
  const clients = spec.security.probeClients;
  return {
    canary: [{ namespace: INGRESS_NAMESPACE, deployment: spec.ingressGateway.name }],
    rest: [
      ...spec.backends.deployments.map((d) => ({ namespace: backend, deployment: d.metadata.name })),
      // mesh-client has a sidecar; outside-client's namespace has injection off.
      ...(clients ? [{ namespace: backend, deployment: clients.deployments[0].metadata.name }] : []),
      ...(spec.egress.gateway ? [{ namespace: EGRESS_NAMESPACE, deployment: EGRESS_GATEWAY_RELEASE }] : []),
    ],
  };
}

const EXACT = /^(\d+)\.(\d+)\.(\d+)$/;

/**
 * What stops an upgrade before any change: a control plane that is the cluster's, not the stack's
 * (`existingIstio`), revisions off, a malformed or identical target, another
 * upgrade under way, or a jump Istio does not support (revisions may differ by at most two minor
 * releases: istio.io/latest/docs/setup/upgrade/canary).
 */
export function upgradeRefusal(cfg: MeshConfig, to: string): string | undefined {
  const from = cfg.istio.version;
  const existing = cfg.profile.existingIstio;
  if (existing) {
    return `this stack uses the cluster's istiod (istio-mesh:existingIstio, revision ${existing.revision}), not one of its own: upgrade Istio where it is installed, then set istioVersion to its release and \`npm run up\` (see docs/production.md)`;
  }
  if (!cfg.revisions.enabled) {
    return "revisions are off on this stack (istio-mesh:revisions.enabled): an upgrade would replace istiod in place; turn them on and `npm run up` first (see docs/upgrade.md)";
  }
  const [, fromMajor, fromMinor] = EXACT.exec(from) ?? [];
  const [, toMajor, toMinor] = EXACT.exec(to) ?? [];
  if (toMajor === undefined) return `--to ${JSON.stringify(to)}: an exact Istio release such as 1.30.4`;
  const pending = cfg.revisions.upgradeTo;
  if (pending !== undefined && pending !== to) {
    return `an upgrade to ${pending} is under way on this stack (revisions.upgradeTo): finish it with --to ${pending}`;
  }
  if (to === from) return `the stack already runs ${from}: nothing to do`;
  if (toMajor !== fromMajor || Math.abs(Number(toMinor) - Number(fromMinor)) > 2) {
    return `${from} → ${to}: Istio supports revisions at most two minor releases apart`;
  }
  return undefined;
}

/**
 * The seven steps, minus those the config already records (a run that stopped after moving a tag
 * resumes there); restarts and the verification always run, since they record nothing.
 */
export function planUpgrade(cfg: MeshConfig, to: string, batchSize: number): UpgradePlan {
  const refusal = upgradeRefusal(cfg, to);
  if (refusal !== undefined) throw new CliError(`${refusal} (nothing was changed)`, EXIT.usage);
  const before = revisionState(cfg);
  const from = before.istioVersion;
  const { canary, rest } = taggedWorkloads(cfg);
  const [oldRev, newRev] = [revisionName(from), revisionName(to)];
  const steps: UpgradeStep[] = [];
  let state = before;
  const configStep = (title: string, change: ConfigChange, after: RevisionState) => {
    steps.push({ kind: "config", n: steps.length + 1, title, change, after });
    state = after;
  };
  if (state.upgradeTo !== to) {
    configStep(
      `install revision ${newRev} (istiod ${to}) beside ${oldRev}; istio-base to ${to}`,
      { set: { [KEYS.upgradeTo]: to }, remove: [] },
      { ...state, upgradeTo: to },
    );
  }
  if (state.canaryVersion !== to) {
    configStep(
      `move ${REVISION_TAGS.canary} to ${newRev}`,
      { set: { [KEYS.canary]: to }, remove: [] },
      { ...state, canaryVersion: to },
    );
  }
  steps.push({
    kind: "restart",
    n: steps.length + 1,
    title: `restart the canary (${REVISION_TAGS.canary})`,
    batches: [canary],
  });
  steps.push({ kind: "verify", n: steps.length + 1, title: "npm run verify against the stack" });
  if (state.stableVersion !== to) {
    configStep(
      `move ${REVISION_TAGS.stable} to ${newRev}`,
      { set: { [KEYS.stable]: to }, remove: [] },
      { ...state, stableVersion: to },
    );
  }
  const batches: Workload[][] = [];
  for (let i = 0; i < rest.length; i += batchSize) batches.push(rest.slice(i, i + batchSize));
  steps.push({
    kind: "restart",
    n: steps.length + 1,
    title: `restart the rest (${REVISION_TAGS.stable}) in batches of ${batchSize}`,
    batches,
  });
  configStep(
    `remove revision ${oldRev}: istioVersion ${to}`,
    { set: { [KEYS.istioVersion]: to }, remove: [KEYS.upgradeTo, KEYS.stable, KEYS.canary] },
    { istioVersion: to, upgradeTo: undefined, stableVersion: to, canaryVersion: to },
  );
  return { from, to, before, canary, rest, steps };
}

/** The config change that puts `now` back to `target` (tags first, then the installed revisions). */
export function changeBetween(now: RevisionState, target: RevisionState): ConfigChange {
  const set: Record<string, string> = {};
  const remove: string[] = [];
  if (now.istioVersion !== target.istioVersion) set[KEYS.istioVersion] = target.istioVersion;
  const entry = (key: string, value: string | undefined, defaultValue: string | undefined) => {
    if (value === undefined || value === defaultValue) remove.push(key);
    else set[key] = value;
  };
  entry(KEYS.upgradeTo, target.upgradeTo, undefined);
  entry(KEYS.stable, target.stableVersion, target.istioVersion);
  entry(KEYS.canary, target.canaryVersion, target.istioVersion);
  return { set, remove };
}

/** `state` with both tags back on `version`: the first restore of a failed upgrade. */
export function tagsOn(state: RevisionState, version: string): RevisionState {
  return { ...state, stableVersion: version, canaryVersion: version };
}

export const workloadText = (w: Workload) => `${w.namespace}/${w.deployment}`;

export function formatChange(change: ConfigChange): string {
  return [...Object.entries(change.set).map(([k, v]) => `${k}=${v}`), ...change.remove.map((k) => `-${k}`)].join(", ");
}

export function formatPlan(plan: UpgradePlan): string {
  const installed = plan.before.upgradeTo === undefined ? plan.from : `${plan.from} and ${plan.before.upgradeTo}`;
  return [
    `upgrade plan: Istio ${plan.from} → ${plan.to} (installed now: ${installed}; ${REVISION_TAGS.stable} → ${plan.before.stableVersion}, ${REVISION_TAGS.canary} → ${plan.before.canaryVersion})`,
    ...plan.steps.flatMap((s) => {
      const head = `  ${s.n}. ${s.title}`;
      if (s.kind === "config") return [`${head}: config ${formatChange(s.change)}; pulumi up`];
      if (s.kind === "verify") return [`${head}: every check must pass`];
      return [
        `${head}: kubectl rollout restart, then rollout status`,
        ...s.batches.map((b, i) => `       batch ${i + 1}: ${b.map(workloadText).join(", ")}`),
      ];
    }),
    `on any failure or Ctrl-C before step ${plan.steps.length}: both tags back on ${revisionName(plan.from)} (pulumi up), the restarted workloads restarted again, then the revisions as found (pulumi up)`,
  ].join("\n");
}
