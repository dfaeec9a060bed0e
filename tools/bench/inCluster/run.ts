/**
 * `bench --in-cluster`: apply the servers, run each path's fortio Job in turn at the same rate and
 * connections, read fortio's JSON from the Job's log, read the mesh run's istio-proxy CPU and memory
 * from Prometheus, and delete the namespace (and in the gateway-api cell the HTTPRoute in the backend
 * namespace): after the run, on failure and on Ctrl-C.
 */
import { ISTIO_NAMESPACE } from "../../../components/meta";
import { PROMETHEUS } from "../../../components/observability/services";
import type { Kubectl } from "../../lib/kubectl";
import type { LatencyMs } from "../load";
import { type FortioResult, fortioJson, type PathFigures, pathFigures } from "./fortio";
import {
  BENCH_PATHS,
  type BenchPath,
  cleanupCalls,
  type InClusterPlan,
  jobName,
  loadJob,
  PAYLOAD_BYTES,
  SERVERS,
  serverManifests,
} from "./manifests";
import { ISTIO_PUBLISHED, type PublishedFigures } from "./published";

export interface ProxyUsage {
  readonly vcpu: number;
  readonly memoryMb: number;
  readonly vcpuPer1000Rps: number;
  readonly memoryMbPer1000Rps: number;
}

export interface AddedLatency {
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
}

export interface InClusterReport {
  readonly namespace: string;
  readonly image: string;
  readonly load: {
    readonly rate: number;
    readonly connections: number;
    readonly durationSeconds: number;
    readonly payloadBytes: number;
  };
  readonly paths: Readonly<Record<BenchPath, PathFigures>>;
  /** Over the baseline: what two sidecars (mesh) or the gateway and one sidecar (ingress) add. */
  readonly added: { readonly mesh: AddedLatency; readonly ingress: AddedLatency };
  /** The mesh run's client and server istio-proxy containers, or why they could not be read. */
  readonly proxies:
    | {
        readonly windowEnd: string;
        readonly windowSeconds: number;
        readonly client: ProxyUsage;
        readonly server: ProxyUsage;
      }
    | { readonly unavailable: string };
  readonly published: PublishedFigures;
  readonly warnings: readonly string[];
}

export interface InClusterDeps {
  readonly kubectl: Kubectl;
  readonly signal?: AbortSignal;
  /** One line per step, for the progress display (stderr on a terminal). */
  readonly progress?: (line: string) => void;
  /** How long to wait after the mesh run before asking Prometheus (one scrape interval and then some). */
  readonly metricsLagMs?: number;
}

export class InClusterError extends Error {
  override name = "InClusterError";
}

const list = (items: object[]) => JSON.stringify({ apiVersion: "v1", kind: "List", items });

export async function runInCluster(plan: InClusterPlan, deps: InClusterDeps): Promise<InClusterReport> {
  const { kubectl, signal } = deps;
  const say = deps.progress ?? (() => {});
  const ns = plan.namespace;
  const opts = signal ? { signal } : {};
  const checkAbort = () => {
    if (signal?.aborted) throw new InClusterError("interrupted");
  };
  try {
    say(`applying servers in namespace ${ns}`);
    await kubectl(["apply", "-f", "-"], { stdin: list(serverManifests(plan)), ...opts });
    checkAbort();
    await kubectl(
      [
        "wait",
        "--namespace",
        ns,
        "--for=condition=Available",
        `deployment/${SERVERS.plain}`,
        `deployment/${SERVERS.mesh}`,
        "--timeout=180s",
      ],
      opts,
    );
    const results = {} as Record<BenchPath, FortioResult>;
    let meshWindowEnd: string | undefined;
    for (const path of BENCH_PATHS) {
      checkAbort();
      say(`${path}: fortio ${plan.rate} req/s, ${plan.connections} connections, ${plan.durationSeconds}s`);
      await kubectl(["apply", "-f", "-"], { stdin: list([loadJob(plan, path)]), ...opts });
      await kubectl(
        [
          "wait",
          "--namespace",
          ns,
          "--for=condition=Complete",
          `job/${jobName(path)}`,
          `--timeout=${plan.durationSeconds + 180}s`,
        ],
        opts,
      );
      results[path] = fortioJson(
        await kubectl(["logs", "--namespace", ns, `job/${jobName(path)}`, "-c", "fortio"], opts),
      );
      if (path === "mesh") {
        meshWindowEnd = (
          await kubectl(
            ["get", "job", jobName(path), "--namespace", ns, "-o", "jsonpath={.status.completionTime}"],
            opts,
          )
        ).trim();
      }
    }
    const paths = {
      baseline: pathFigures(results.baseline),
      mesh: pathFigures(results.mesh),
      ingress: pathFigures(results.ingress),
    };
    checkAbort();
    const proxies = await proxyUsage(plan, paths.mesh.achievedRate, meshWindowEnd, deps);
    return {
      namespace: ns,
      image: plan.image,
      load: {
        rate: plan.rate,
        connections: plan.connections,
        durationSeconds: plan.durationSeconds,
        payloadBytes: PAYLOAD_BYTES,
      },
      paths,
      added: {
        mesh: added(paths.mesh.latencyMs, paths.baseline.latencyMs),
        ingress: added(paths.ingress.latencyMs, paths.baseline.latencyMs),
      },
      proxies,
      published: ISTIO_PUBLISHED,
      warnings: loadWarnings(plan, paths),
    };
  } finally {
    say(`deleting namespace ${ns}`);
    // Not aborted by the signal: the clean-up must run after Ctrl-C too; one failed call does not
    // stop the next.
    for (const args of cleanupCalls(plan)) await kubectl(args).catch(() => {});
  }
}

export function added(mesh: LatencyMs, baseline: LatencyMs): AddedLatency {
  const diff = (a: number, b: number) => Math.round((a - b) * 1000) / 1000;
  return {
    p50Ms: diff(mesh.p50, baseline.p50),
    p90Ms: diff(mesh.p90, baseline.p90),
    p99Ms: diff(mesh.p99, baseline.p99),
  };
}

/** Paths that did not hold the asked rate, or answered mostly errors, are not comparable. */
export function loadWarnings(plan: InClusterPlan, paths: Record<BenchPath, PathFigures>): string[] {
  const warnings: string[] = [];
  for (const path of BENCH_PATHS) {
    const p = paths[path];
    if (p.achievedRate < 0.95 * plan.rate) {
      warnings.push(`${path}: ${p.achievedRate} req/s of ${plan.rate} asked: the paths ran at different loads`);
    }
    const ok = Object.entries(p.statuses).reduce((n, [code, count]) => n + (code.startsWith("2") ? count : 0), 0);
    if (p.requests > 0 && ok / p.requests < 0.5) {
      warnings.push(`${path}: ${ok} of ${p.requests} answers were 2xx: this measured the errors, not the mesh`);
    }
  }
  return warnings;
}

/** PromQL for one pod family's istio-proxy container over the window: CPU cores, and peak working-set bytes. */
export function proxyQueries(
  namespace: string,
  podPrefix: string,
  windowSeconds: number,
): { cpu: string; memory: string } {
  const selector = `namespace="${namespace}",pod=~"${podPrefix}-.*",container="istio-proxy"`;
  return {
    cpu: `sum(rate(container_cpu_usage_seconds_total{${selector}}[${windowSeconds}s]))`,
    memory: `max(max_over_time(container_memory_working_set_bytes{${selector}}[${windowSeconds}s]))`,
  };
}

/** The API server's proxy to the Prometheus Service: no port-forward needed. */
export function prometheusQueryPath(query: string, timeIso: string): string {
  const params = new URLSearchParams({ query, time: timeIso });
  return `/api/v1/namespaces/${ISTIO_NAMESPACE}/services/${PROMETHEUS.name}:${PROMETHEUS.port}/proxy/api/v1/query?${params}`;
}

async function proxyUsage(
  plan: InClusterPlan,
  rate: number,
  windowEnd: string | undefined,
  deps: InClusterDeps,
): Promise<InClusterReport["proxies"]> {
  if (!windowEnd) return { unavailable: "the mesh Job has no completion time" };
  if (plan.dataplane === "ambient") {
    return {
      unavailable:
        "ambient has no istio-proxy in the pods: the mesh path's cost is ztunnel's, one per node and shared by every pod on it",
    };
  }
  const lag = deps.metricsLagMs ?? 20_000;
  if (lag > 0) await new Promise((resolve) => setTimeout(resolve, lag));
  const query = async (promql: string): Promise<number> => {
    const text = await deps.kubectl(
      ["get", "--raw", prometheusQueryPath(promql, windowEnd)],
      deps.signal ? { signal: deps.signal } : {},
    );
    const body = JSON.parse(text) as { status: string; data?: { result?: { value?: [number, string] }[] } };
    const value = body.data?.result?.[0]?.value?.[1];
    if (body.status !== "success" || value === undefined) throw new InClusterError(`no data for ${promql}`);
    return Number(value);
  };
  const usage = async (podPrefix: string): Promise<ProxyUsage> => {
    const q = proxyQueries(plan.namespace, podPrefix, plan.durationSeconds);
    const vcpu = await query(q.cpu);
    const memoryMb = (await query(q.memory)) / 1e6;
    const per1000 = rate > 0 ? 1000 / rate : Number.NaN;
    const r = (n: number, d: number) => Math.round(n * 10 ** d) / 10 ** d;
    return {
      vcpu: r(vcpu, 3),
      memoryMb: r(memoryMb, 1),
      vcpuPer1000Rps: r(vcpu * per1000, 3),
      memoryMbPer1000Rps: r(memoryMb * per1000, 1),
    };
  };
  try {
    return {
      windowEnd,
      windowSeconds: plan.durationSeconds,
      client: await usage(jobName("mesh")),
      server: await usage(SERVERS.mesh),
    };
  } catch (error) {
    return {
      unavailable:
        `Prometheus (${ISTIO_NAMESPACE}/${PROMETHEUS.name}) did not answer with container metrics: ${(error as Error).message}. ` +
        "Enable the observability stack (istio-mesh:observability.enabled: true)",
    };
  }
}
