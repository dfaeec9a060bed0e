/** `npm run bench` flags → a checked plan. Every bad flag is reported at once, like config issues. */
import { parseArgs } from "node:util";
import { durationMillis } from "../../config/readers";
import { TARGET_OPTIONS, TARGET_USAGE, type TargetFlags, targetFlags } from "../lib/target";
import type { LoadShape } from "./load";
import type { Arrivals } from "./schedule";

export const USAGE = `usage: npm run bench -- [target] [load] [--path /users ...] [--direct] [--json]
       npm run bench -- --in-cluster [--dry-run] [--rate N] [--concurrency N] [--duration 30s] [--json]

${TARGET_USAGE}

load, run once per route, one route after another
  --concurrency N            keep-alive connections (default 10, like ab -c 10)
  --duration 10s             how long per route (default 10s; ms, s, m, h)
  --requests N               a fixed number of requests per route instead (like ab -n 1000)
  --rate N                   open model: N requests per second, each at its own intended time, latency
                             from that time (coordinated omission corrected, like wrk2 -R, fortio -qps);
                             default: closed loop, as fast as it goes
  --arrivals constant        with --rate: evenly spaced (default), or poisson (random, seeded)
  --seed N                   the Poisson schedule's seed (default 1)
  --threads N                worker threads generating the load, connections split among them (wrk -t;
                             default 1)
  --timeout 10s              a request without a response after this counts as a timeout error
  --repeat K                 run each route K times: median and a confidence interval of each figure
  --html FILE / --svg FILE   write the latency percentile plot of every run (log scale, as HdrHistogram's)

in-cluster (Istio's performance table on your cluster; needs kubectl and the stack's kubeconfig)
  --in-cluster               fortio as a Job inside the cluster: no sidecar → no sidecar (baseline),
                             sidecar → sidecar (STRICT mTLS), and through the ingress gateway, 1 kB
                             payloads, --rate (default 1000), --concurrency (default 16), --duration
                             (default 30s) each; reports the latency the mesh adds and istio-proxy's
                             vCPU and MB per 1000 req/s. Its namespace is deleted afterwards.
  --dry-run                  with --in-cluster: print the manifests, apply nothing

  --path /users              a route to load; repeat for more (default /users, /products, /orders)
  --direct                   also load each route's backend through kubectl port-forward, bypassing
                             the gateway and the sidecar, and report the difference (the mesh's cost)
  --json                     print the report as JSON`;

export interface BenchPlan {
  readonly target: TargetFlags;
  /** Empty: the mesh's own routes. */
  readonly paths: readonly string[];
  readonly shape: LoadShape;
  readonly direct: boolean;
  readonly json: boolean;
  readonly help: boolean;
  /** Runs per route (--repeat). */
  readonly repeat: number;
  readonly html?: string;
  readonly svg?: string;
  /** --in-cluster: fortio inside the cluster; `shape` then has its defaults (1000 req/s, 16 connections, 30s). */
  readonly inCluster?: { readonly dryRun: boolean };
}

/** Bad flags; the message lists every one of them and ends with the usage. */
export class ArgsError extends Error {
  override name = "ArgsError";
}

const DEFAULTS = { concurrency: 10, duration: "10s", timeout: "10s" } as const;
/** Istio's own latency runs: 1000 req/s, 16 connections (istio.io performance page). */
const IN_CLUSTER_DEFAULTS = { concurrency: 16, duration: "30s", rate: 1000 } as const;

export function parseBenchArgs(argv: readonly string[]): BenchPlan {
  let values: ReturnType<typeof parse>["values"];
  try {
    ({ values } = parse(argv));
  } catch (error) {
    throw new ArgsError(`${(error as Error).message}\n\n${USAGE}`);
  }
  const issues: string[] = [];
  const int = (flag: string, text: string | undefined, min: number, max: number) => {
    if (text === undefined) return undefined;
    if (/^\d+$/.test(text) && Number(text) >= min && Number(text) <= max) return Number(text);
    issues.push(`--${flag} ${JSON.stringify(text)}: an integer from ${min} to ${max}`);
    return undefined;
  };
  const duration = (flag: string, text: string) => {
    const ms = durationMillis(text);
    if (ms === undefined) issues.push(`--${flag} ${JSON.stringify(text)}: a duration such as 500ms, 30s or 2m`);
    return ms ?? 0;
  };

  const inCluster = values["in-cluster"] ?? false;
  const defaults = inCluster ? { ...DEFAULTS, ...IN_CLUSTER_DEFAULTS } : DEFAULTS;
  const concurrency = int("concurrency", values.concurrency, 1, 10_000) ?? defaults.concurrency;
  const requests = int("requests", values.requests, 1, 100_000_000);
  const rate = int("rate", values.rate, 1, 1_000_000) ?? (inCluster ? IN_CLUSTER_DEFAULTS.rate : undefined);
  const durationMs = duration("duration", values.duration ?? defaults.duration);
  const threads = int("threads", values.threads, 1, 64);
  const repeat = int("repeat", values.repeat, 1, 100) ?? 1;
  const seed = int("seed", values.seed, 0, 2 ** 31);
  const arrivals = values.arrivals;
  if (arrivals !== undefined && arrivals !== "constant" && arrivals !== "poisson") {
    issues.push(`--arrivals ${JSON.stringify(arrivals)}: constant or poisson`);
  }
  if ((arrivals !== undefined || seed !== undefined) && rate === undefined) {
    issues.push("--arrivals and --seed: only with --rate (they shape the open model's schedule)");
  }
  if (rate !== undefined && values.requests !== undefined) {
    issues.push("--rate and --requests: with --rate a run is --duration long, rate × duration requests");
  }
  if (values["dry-run"] && !inCluster) issues.push("--dry-run: only with --in-cluster");
  if (inCluster) {
    for (const flag of ["direct", "html", "svg", "requests", "threads", "arrivals", "repeat"] as const) {
      if (values[flag] !== undefined) issues.push(`--${flag}: not with --in-cluster (fortio runs the load there)`);
    }
  }
  const timeoutMs = duration("timeout", values.timeout ?? DEFAULTS.timeout);
  if (values.timeout !== undefined && timeoutMs > 0 && timeoutMs < 1000) {
    issues.push(`--timeout ${JSON.stringify(values.timeout)}: at least 1s`);
  }
  if (values.duration !== undefined && values.requests !== undefined) {
    issues.push("--duration and --requests: use one (a run ends after a time or after a count)");
  }
  const paths = values.path ?? [];
  for (const p of paths) {
    if (!/^\/[^\s?#]*$/.test(p)) issues.push(`--path ${JSON.stringify(p)}: a path starting with "/", e.g. /users`);
  }
  if (new Set(paths).size !== paths.length) issues.push("--path: each route once");
  if (issues.length > 0) throw new ArgsError(`bench: ${issues.join("\n       ")}\n\n${USAGE}`);

  return {
    target: targetFlags(values),
    paths,
    shape: {
      concurrency,
      durationMs,
      timeoutMs,
      ...(rate !== undefined && { rate }),
      ...(requests !== undefined && { requests }),
      ...(rate !== undefined && arrivals !== undefined && { arrivals: arrivals as Arrivals }),
      ...(seed !== undefined && { seed }),
      ...(threads !== undefined && { threads }),
    },
    direct: values.direct ?? false,
    json: values.json ?? false,
    help: values.help ?? false,
    repeat,
    ...(values.html !== undefined && { html: values.html }),
    ...(values.svg !== undefined && { svg: values.svg }),
    ...(inCluster && { inCluster: { dryRun: values["dry-run"] ?? false } }),
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      ...TARGET_OPTIONS,
      path: { type: "string", multiple: true },
      concurrency: { type: "string" },
      duration: { type: "string" },
      requests: { type: "string" },
      rate: { type: "string" },
      timeout: { type: "string" },
      arrivals: { type: "string" },
      seed: { type: "string" },
      threads: { type: "string" },
      repeat: { type: "string" },
      html: { type: "string" },
      svg: { type: "string" },
      "in-cluster": { type: "boolean" },
      "dry-run": { type: "boolean" },
      direct: { type: "boolean" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}
