/**
 * `npm run bench -- --in-cluster [--dry-run]`: builds the plan from the flags and the stack, prints
 * the manifests (--dry-run, nothing applied) or runs them and prints the report. Exit codes as the
 * bench's: 0 measured, 1 could not measure, 130 interrupted (the namespace, and in the gateway-api cell
 * the HTTPRoute, are deleted either way).
 */
import { stringify } from "yaml";
import { injectionLabels } from "../../../components/controlPlane/revisions";
import { BACKEND_NAMESPACE } from "../../../config/defaults";
import { type KubectlSession, kubectlSession } from "../../lib/kubectl";
import type { Target } from "../../lib/target";
import type { BenchPlan } from "../args";
import {
  BENCH_PATHS,
  benchNamespace,
  cleanupCalls,
  FORTIO_IMAGE,
  type InClusterPlan,
  ingressRouteName,
  loadJob,
  serverManifests,
} from "./manifests";
import { formatInClusterReport } from "./report";
import { InClusterError, runInCluster } from "./run";

export interface InClusterIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Step lines go here only on a terminal. */
  readonly progressIsTTY: boolean;
}

export interface InClusterMainDeps {
  readonly io: InClusterIo;
  /** The kubectl binary (default: kubectl on PATH). */
  readonly kubectl?: string;
  readonly signal?: AbortSignal;
  readonly now?: () => number;
  readonly metricsLagMs?: number;
}

/** The in-cluster part of the bench's dependencies. */
export function inClusterDeps(deps: {
  readonly io: { stdout: (t: string) => void; stderr: (t: string) => void; progress: { isTTY?: boolean } };
  readonly kubectl?: string;
  readonly signal?: AbortSignal;
  readonly metricsLagMs?: number;
}): InClusterMainDeps {
  return {
    io: { stdout: deps.io.stdout, stderr: deps.io.stderr, progressIsTTY: deps.io.progress.isTTY === true },
    ...(deps.kubectl !== undefined && { kubectl: deps.kubectl }),
    ...(deps.signal && { signal: deps.signal }),
    ...(deps.metricsLagMs !== undefined && { metricsLagMs: deps.metricsLagMs }),
  };
}

export function inClusterPlan(plan: BenchPlan, target: Target, startedAtMs: number): InClusterPlan {
  return {
    namespace: benchNamespace(startedAtMs),
    gatewayNamespace: target.config?.backend.namespace ?? BACKEND_NAMESPACE,
    trafficApi: target.config?.cell.trafficApi ?? "istio",
    rate: plan.shape.rate ?? 1000,
    connections: plan.shape.concurrency,
    durationSeconds: Math.max(1, Math.round(plan.shape.durationMs / 1000)),
    image: FORTIO_IMAGE,
    dataplane: target.config?.cell.dataplane ?? "sidecar",
    injection: target.config ? injectionLabels(target.config) : { "istio-injection": "enabled" },
  };
}

/** Every manifest of a run, in the order it applies them, as one YAML stream. */
export function manifestsYaml(plan: InClusterPlan): string {
  const objects = [...serverManifests(plan), ...BENCH_PATHS.map((path) => loadJob(plan, path))];
  return objects.map((o) => stringify(o).trimEnd()).join("\n---\n");
}

/** What the clean-up removes, for the failure and interrupt lines. */
function cleanedUp(plan: InClusterPlan): string {
  const route =
    plan.trafficApi === "gateway-api" ? ` and HTTPRoute ${plan.gatewayNamespace}/${ingressRouteName(plan)}` : "";
  return `namespace ${plan.namespace}${route}`;
}

export async function benchInCluster(plan: BenchPlan, target: Target, deps: InClusterMainDeps): Promise<number> {
  const cluster = inClusterPlan(plan, target, (deps.now ?? Date.now)());
  if (plan.inCluster?.dryRun) {
    deps.io.stdout(manifestsYaml(cluster));
    return 0;
  }
  const session: KubectlSession = kubectlSession(target.cluster, deps.kubectl);
  // A second Ctrl-C exits at once (main.ts); what the run created still goes, synchronously, on the way out.
  const onExit = () => {
    for (const args of cleanupCalls(cluster)) session.runSync(args);
  };
  process.once("exit", onExit);
  try {
    const report = await runInCluster(cluster, {
      kubectl: session.run,
      ...(deps.signal && { signal: deps.signal }),
      ...(deps.metricsLagMs !== undefined && { metricsLagMs: deps.metricsLagMs }),
      progress: (line) => {
        if (deps.io.progressIsTTY) deps.io.stderr(line);
      },
    });
    deps.io.stdout(plan.json ? JSON.stringify(report, null, 2) : formatInClusterReport(report));
    return 0;
  } catch (error) {
    if (deps.signal?.aborted) {
      deps.io.stderr(`bench: interrupted; ${cleanedUp(cluster)} deleted`);
      return 130;
    }
    if (
      error instanceof InClusterError ||
      (error instanceof Error && /^(Kubectl|FortioOutput)Error$/.test(error.name))
    ) {
      deps.io.stderr(`bench --in-cluster: ${error.message} (${cleanedUp(cluster)} deleted)`);
      return 1;
    }
    throw error;
  } finally {
    process.removeListener("exit", onExit);
    session.close();
  }
}
