import type { MeshConfig } from "../../config/types";
import { versionOf } from "../verify/checks/gateway";
import type { SplitSample } from "./gates";
import type { Weights } from "./plan";

/**
 * Requests per second that keep every user-service pod under its local rate limit at these weights,
 * so the sample sees no 429 (whose version nobody can tell) and the split estimate stays unbiased.
 * Undefined when there is no limit.
 */
export function safeRate(cfg: MeshConfig, weights: Weights): number | undefined {
  const limit = cfg.security.rateLimit;
  if (limit === false) return undefined;
  const perSecond = limit.requests / (durationSeconds(limit.per) || 1);
  const versions = cfg.backend.services.find((s) => s.name === "user-service")?.versions ?? [];
  const rates = versions
    .filter((v) => (weights[v.version] ?? 0) > 0)
    .map((v) => (perSecond * v.replicas) / ((weights[v.version] ?? 0) / 100));
  // Headroom, since the gateway's round robin is not perfectly even across pods.
  return rates.length === 0 ? undefined : 0.8 * Math.min(...rates);
}

function durationSeconds(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!match) return 0;
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 }[match[2] as "ms" | "s" | "m" | "h"];
  return Number(match[1]) * unit;
}

export interface ProbeOptions {
  readonly url: string;
  readonly token?: string | undefined;
  readonly requests: number;
  /** Extra request headers: the header stage sends the beta header. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Requests per second; undefined: as fast as one connection goes. */
  readonly rate?: number | undefined;
  readonly timeoutMs: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly onProgress?: (done: number) => void;
  /** Stops early (Ctrl-C); the sample so far is returned. */
  readonly stop?: AbortSignal;
}

/** A probe response that is not about the canary at all: reported as what it is, never as "no traffic". */
export class ProbeRefused extends Error {
  override name = "ProbeRefused";
}

const REFUSALS: Readonly<Record<number, string>> = {
  401: "401 Unauthorized: the gateway refused the token (expired, or not this stack's: `npm run token` makes a new one, or pass --token)",
  403: "403 Forbidden: an authorization policy denies the probe's requests to /users",
  429: "429 Too Many Requests: the probe was rate-limited (other traffic shares the budget; lower --requests or raise the limit)",
};

/** Sends `requests` GETs to `<url>/users`, one at a time, paced to `rate`. */
export async function probeUsers(options: ProbeOptions): Promise<SplitSample> {
  const counts: Record<string, number> = {};
  const latenciesMs: Record<string, number[]> = {};
  let serverErrors = 0;
  let total = 0;
  const gapMs = options.rate === undefined ? 0 : 1000 / options.rate;
  const headers: Record<string, string> = {
    ...options.headers,
    ...(options.token && { authorization: `Bearer ${options.token}` }),
  };
  for (let i = 0; i < options.requests && !options.stop?.aborted; i++) {
    const started = performance.now();
    let status: number | undefined;
    try {
      const response = await fetch(`${options.url}/users`, { headers, signal: AbortSignal.timeout(options.timeoutMs) });
      const body = await response.text();
      const elapsed = Math.round(performance.now() - started);
      status = response.status;
      total++;
      if (status >= 500) serverErrors++;
      else if (status === 200) {
        const version = versionOf(body);
        if (version !== undefined) {
          counts[version] = (counts[version] ?? 0) + 1;
          const seen = latenciesMs[version] ?? [];
          seen.push(elapsed);
          latenciesMs[version] = seen;
        }
      }
    } catch {
      // A timeout or reset is a failed request like a 5xx.
      total++;
      serverErrors++;
    }
    const refusal = status === undefined ? undefined : REFUSALS[status];
    if (refusal !== undefined) throw new ProbeRefused(`the probe got ${refusal}`);
    options.onProgress?.(i + 1);
    const wait = gapMs - (performance.now() - started);
    if (wait > 0 && i + 1 < options.requests) await options.sleep(wait);
  }
  return { counts, total, serverErrors, latenciesMs };
}
