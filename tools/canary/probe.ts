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
  readonly canary: string;
  /** Requests per second; undefined: as fast as one connection goes. */
  readonly rate?: number | undefined;
  readonly timeoutMs: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly onProgress?: (done: number) => void;
}

/** Sends `requests` GETs to `<url>/users`, one at a time, paced to `rate`. */
export async function probeUsers(options: ProbeOptions): Promise<SplitSample> {
  const counts: Record<string, number> = {};
  const canaryLatenciesMs: number[] = [];
  let serverErrors = 0;
  let total = 0;
  const gapMs = options.rate === undefined ? 0 : 1000 / options.rate;
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  for (let i = 0; i < options.requests; i++) {
    const started = performance.now();
    try {
      const response = await fetch(`${options.url}/users`, { headers, signal: AbortSignal.timeout(options.timeoutMs) });
      const body = await response.text();
      const elapsed = performance.now() - started;
      total++;
      if (response.status >= 500) serverErrors++;
      else if (response.status === 200) {
        const version = versionOf(body);
        if (version !== undefined) {
          counts[version] = (counts[version] ?? 0) + 1;
          if (version === options.canary) canaryLatenciesMs.push(elapsed);
        }
      }
    } catch {
      // A timeout or reset is a failed request like a 5xx.
      total++;
      serverErrors++;
    }
    options.onProgress?.(i + 1);
    const wait = gapMs - (performance.now() - started);
    if (wait > 0 && i + 1 < options.requests) await options.sleep(wait);
  }
  return { counts, total, serverErrors, canaryLatenciesMs };
}
