/**
 * `npm run bench -- --in-cluster [--dry-run]`: builds the plan from the flags and the stack, prints
 * the manifests (--dry-run, nothing applied) or runs them and prints the report. Exit codes as the
 * bench's: 0 measured, 1 could not measure, 130 interrupted (the namespace is deleted either way).
 */
import { stringify } from "yaml";
import { injectionLabels } from "../../../components/controlPlane/revisions";
import { BACKEND_NAMESPACE } from "../../../config/defaults";
import { CliError, EXIT } from "../../lib/cli";
import { type KubectlSession, kubectlSession } from "../../lib/kubectl";
import type { Target } from "../../lib/target";
import type { BenchPlan } from "../args";
import { BENCH_PATHS, benchNamespace, FORTIO_IMAGE, type InClusterPlan, loadJob, serverManifests } from "./manifests";
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

export async function benchInCluster(plan: BenchPlan, target: Target, deps: InClusterMainDeps): Promise<number> {
  if (target.config?.cell.trafficApi === "gateway-api") {
    // The run's own ingress route is an Istio VirtualService on the Istio Gateway; that cell's Gateway
    // API Gateway admits routes from the backend namespace only, so there is nothing to bind it to.
    throw new CliError(
      "--in-cluster is not available with trafficApi=gateway-api (its ingress Gateway admits HTTPRoutes from the backend namespace only, and the run's route lives in its own namespace); bench through the gateway without --in-cluster",
      EXIT.usage,
    );
  }
  const cluster = inClusterPlan(plan, target, (deps.now ?? Date.now)());
  if (plan.inCluster?.dryRun) {
    deps.io.stdout(manifestsYaml(cluster));
    return 0;
  }
  const session: KubectlSession = kubectlSession(target.cluster, deps.kubectl);
  // A second Ctrl-C exits at once (main.ts); the namespace still goes, synchronously, on the way out.
  const onExit = () =>
    session.runSync(["delete", "namespace", cluster.namespace, "--ignore-not-found", "--wait=false"]);
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
      deps.io.stderr(`bench: interrupted; namespace ${cluster.namespace} deleted`);
      return 130;
    }
    if (
      error instanceof InClusterError ||
      (error instanceof Error && /^(Kubectl|FortioOutput)Error$/.test(error.name))
    ) {
      deps.io.stderr(`bench --in-cluster: ${error.message} (namespace ${cluster.namespace} deleted)`);
      return 1;
    }
    throw error;
  } finally {
    process.removeListener("exit", onExit);
    session.close();
  }
}
