/**
 * The bench run: each route loaded through the gateway, one route after another, each with the full
 * concurrency (like running `ab -c 10` or `fortio load -c 8` per URL), so one route's faults or
 * circuit breaker don't hide another's figures. With `direct`, the same load then goes to the route's
 * backend through a port-forward, and the report holds the difference.
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { SERVICE_PORT } from "../../components/backends/workloads";
import { BACKEND_NAMESPACE, BACKEND_SERVICES } from "../../config/defaults";
import type { BackendService } from "../../config/types";
import type { PortForward, PortForwarder } from "../lib/portForward";
import type { Target } from "../lib/target";
import { answerWarnings, configWarnings } from "./honesty";
import { type LoadShape, type LoadStats, runLoad } from "./load";
import type { ProgressDisplay } from "./progress";
import { type RepeatSummary, summarizeRuns } from "./repeat";
import type { Arrivals } from "./schedule";

export interface DirectRun {
  /** The Service whose pod was forwarded to. */
  readonly service: string;
  readonly url: string;
  readonly stats: LoadStats;
}

/** Gateway minus direct: what the ingress gateway and the sidecars add on this route. */
export interface MeshCost {
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  /** Negative when the gateway path serves fewer requests per second. */
  readonly requestsPerSecond: number;
}

export interface RouteReport {
  readonly path: string;
  readonly url: string;
  /** The run through the gateway; with --repeat, the run whose requests/s is the median. */
  readonly gateway: LoadStats;
  /** --repeat K: every run, and the median and confidence interval of each figure. */
  readonly repeat?: { readonly runs: readonly LoadStats[]; readonly summary: RepeatSummary };
  /** What the figures really measured: a rate limit, a fault, requests that could not be sent on time. */
  readonly warnings: readonly string[];
  readonly direct?: DirectRun;
  readonly meshCost?: MeshCost;
}

/** The load each route got: a count or a duration, never both. */
export interface ReportedLoad {
  readonly per: "route";
  /** closed: as fast as it goes; open: --rate, latency from each request's intended start. */
  readonly model: "closed" | "open";
  readonly concurrency: number;
  readonly requests?: number;
  readonly durationMs?: number;
  readonly rate?: number;
  readonly arrivals?: Arrivals;
  readonly threads: number;
  readonly repeat: number;
  readonly timeoutMs: number;
}

export interface BenchReport {
  readonly target: { readonly url: string; readonly source: string };
  readonly load: ReportedLoad;
  readonly routes: readonly RouteReport[];
  /** True when the run was stopped (Ctrl-C) before every route was measured. */
  readonly interrupted: boolean;
}

/** The bench can't start: the target doesn't answer, or a route has no backend for --direct. */
export class BenchError extends Error {
  override name = "BenchError";
}

export interface BenchDeps {
  readonly target: Target;
  readonly forwarder: PortForwarder;
  readonly progress: ProgressDisplay;
  readonly signal?: AbortSignal;
}

export interface BenchOptions {
  readonly paths: readonly string[];
  readonly shape: LoadShape;
  readonly direct: boolean;
  /** Runs per route (default 1). */
  readonly repeat?: number;
}

export async function runBench(options: BenchOptions, deps: BenchDeps): Promise<BenchReport> {
  const { target } = deps;
  const services = target.config?.backend.services ?? BACKEND_SERVICES;
  const namespace = target.config?.backend.namespace ?? BACKEND_NAMESPACE;
  const paths = options.paths.length > 0 ? options.paths : services.map((s) => s.pathPrefix);
  const headers: Record<string, string> = target.token ? { authorization: `Bearer ${target.token}` } : {};
  const backendOf = (path: string) => {
    const service = serviceFor(path, services);
    if (!service) {
      const known = services.map((s) => s.pathPrefix).join(", ");
      throw new BenchError(`--direct: no backend serves ${path}; routes under ${known} have one`);
    }
    return service;
  };
  if (options.direct) paths.forEach(backendOf);

  // Seconds, not a whole run, to learn that the gateway is down or the certificate is not trusted.
  const { timeoutMs } = options.shape;
  for (const path of paths) await preflight(`${target.url}${path}`, headers, target.caCert, timeoutMs);

  const forwards = new Map<string, PortForward>();
  const routes: RouteReport[] = [];
  const run = async (label: string, url: string) => {
    deps.progress.start(label, options.shape);
    try {
      return await runLoad({
        url,
        headers,
        shape: options.shape,
        onProgress: (p) => deps.progress.update(p),
        ...(deps.signal && { signal: deps.signal }),
      });
    } finally {
      deps.progress.end();
    }
  };
  const repeat = options.repeat ?? 1;
  try {
    for (const path of paths) {
      if (deps.signal?.aborted) break;
      const url = `${target.url}${path}`;
      const runs: LoadStats[] = [];
      for (let i = 1; i <= repeat && !(deps.signal?.aborted && runs.length > 0); i++) {
        runs.push(await run(repeat > 1 ? `${path} gateway ${i}/${repeat}` : `${path} gateway`, url));
      }
      const gateway = medianRun(runs);
      const warnings = [...configWarnings(path, serviceFor(path, services), target.config), ...answerWarnings(gateway)];
      const measured = {
        path,
        url,
        gateway,
        ...(repeat > 1 && { repeat: { runs, summary: summarizeRuns(runs) } }),
        warnings,
      };
      if (!options.direct || deps.signal?.aborted) {
        routes.push(measured);
        continue;
      }
      const service = backendOf(path).name;
      let forward = forwards.get(service);
      if (!forward) {
        forward = await deps.forwarder({ namespace, service, port: SERVICE_PORT, cluster: target.cluster });
        forwards.set(service, forward);
      }
      const directUrl = `${forward.url}${path}`;
      await preflight(directUrl, headers, undefined, timeoutMs);
      const stats = await run(`${path} direct (${service})`, directUrl);
      routes.push({
        ...measured,
        direct: { service, url: directUrl, stats },
        meshCost: meshCost(gateway, stats),
      });
    }
  } finally {
    await Promise.all([...forwards.values()].map((f) => f.close()));
  }
  return {
    target: { url: target.url, source: target.source },
    load: reportedLoad(options.shape, repeat),
    routes,
    interrupted: routes.length < paths.length || deps.signal?.aborted === true,
  };
}

function reportedLoad(shape: LoadShape, repeat: number): ReportedLoad {
  return {
    per: "route",
    model: shape.rate === undefined ? "closed" : "open",
    concurrency: shape.concurrency,
    ...(shape.requests !== undefined ? { requests: shape.requests } : { durationMs: shape.durationMs }),
    ...(shape.rate !== undefined && { rate: shape.rate, arrivals: shape.arrivals ?? "constant" }),
    threads: shape.threads ?? 1,
    repeat,
    timeoutMs: shape.timeoutMs,
  };
}

/** The run whose requests/s is the median (the lower one of the middle two for an even count). */
export function medianRun(runs: readonly LoadStats[]): LoadStats {
  const sorted = [...runs].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
  return sorted[Math.floor((sorted.length - 1) / 2)] as LoadStats;
}

/** The backend an ingress route leads to: the service whose prefix the path falls under. */
export function serviceFor(path: string, services: readonly BackendService[]): BackendService | undefined {
  return services.find((s) => path === s.pathPrefix || path.startsWith(`${s.pathPrefix}/`));
}

export function meshCost(gateway: LoadStats, direct: LoadStats): MeshCost {
  const diff = (a: number, b: number, digits: number) => Math.round((a - b) * 10 ** digits) / 10 ** digits;
  return {
    p50Ms: diff(gateway.latencyMs.p50, direct.latencyMs.p50, 3),
    p90Ms: diff(gateway.latencyMs.p90, direct.latencyMs.p90, 3),
    p99Ms: diff(gateway.latencyMs.p99, direct.latencyMs.p99, 3),
    requestsPerSecond: diff(gateway.requestsPerSecond, direct.requestsPerSecond, 1),
  };
}

/**
 * One request before the load: any HTTP status is an answer (a 500 from a fault is a figure to
 * measure), but no answer stops the bench. It also verifies https against `caCert`, which the load
 * generator does not do.
 */
export function preflight(
  url: string,
  headers: Record<string, string>,
  caCert: string | undefined,
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const secure = url.startsWith("https:");
    const send = secure ? httpsRequest : httpRequest;
    const req = send(url, { headers, timeout: timeoutMs, ...(secure && caCert && { ca: caCert }) }, (res) => {
      res.resume();
      res.on("end", () => resolve());
      res.on("error", () => resolve());
    });
    req.on("timeout", () => req.destroy(Object.assign(new Error("no answer"), { code: "TIMEOUT" })));
    req.on("error", (error: NodeJS.ErrnoException) => {
      const hint = secure && /CERT|SIGNATURE|ISSUER|SELF_SIGNED/i.test(error.code ?? "") ? " (pass --ca-cert)" : "";
      reject(
        new BenchError(
          `cannot reach ${url}: ${error.code ?? error.message}${hint}\n` +
            "Is the stack up (`npm run up`)? Another gateway: --url.",
        ),
      );
    });
    req.end();
  });
}
