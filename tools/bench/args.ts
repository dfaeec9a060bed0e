/** `npm run bench` flags → a checked plan. Every bad flag is reported at once, like config issues. */
import { parseArgs } from "node:util";
import { durationMillis } from "../../config/readers";
import { TARGET_OPTIONS, TARGET_USAGE, type TargetFlags, targetFlags } from "../lib/target";
import type { LoadShape } from "./load";

export const USAGE = `usage: npm run bench -- [target] [load] [--path /users ...] [--direct] [--json]

${TARGET_USAGE}

load, run once per route, one route after another
  --concurrency N            keep-alive connections (default 10, like ab -c 10)
  --duration 10s             how long per route (default 10s; ms, s, m, h)
  --requests N               a fixed number of requests per route instead (like ab -n 1000)
  --rate N                   overall requests per second (like fortio -qps 100); default: as fast as it goes
  --timeout 10s              a request without a response after this counts as a timeout error

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
}

/** Bad flags; the message lists every one of them and ends with the usage. */
export class ArgsError extends Error {
  override name = "ArgsError";
}

const DEFAULTS = { concurrency: 10, duration: "10s", timeout: "10s" } as const;

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

  const concurrency = int("concurrency", values.concurrency, 1, 10_000) ?? DEFAULTS.concurrency;
  const requests = int("requests", values.requests, 1, 100_000_000);
  const rate = int("rate", values.rate, 1, 1_000_000);
  const durationMs = duration("duration", values.duration ?? DEFAULTS.duration);
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
    },
    direct: values.direct ?? false,
    json: values.json ?? false,
    help: values.help ?? false,
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
      direct: { type: "boolean" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}
