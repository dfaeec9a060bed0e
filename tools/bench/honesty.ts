/**
 * What a run really measured. A benchmark of the mesh that mostly timed a rate limit's 429s or a
 * fault's aborts measured the policy, not the mesh; the report says so, from the answers themselves
 * and, when the stack's config is known, from the policies on the route before any load.
 */
import type { BackendService, MeshConfig } from "../../config/types";
import type { LoadStats } from "./load";

/** More than this share of answers being 429 or Envoy's own replies makes the run a policy measurement. */
export const POLICY_SHARE = 0.5;

/** Warnings about a route's figures, drawn from what came back. */
export function answerWarnings(stats: LoadStats): string[] {
  const warnings: string[] = [];
  const answers = stats.responses;
  if (answers > 0) {
    const limited = stats.statuses["429"] ?? 0;
    const share = (n: number) => `${((100 * n) / answers).toFixed(0)}%`;
    if (limited / answers > POLICY_SHARE) {
      warnings.push(
        `${share(limited)} of the answers were 429: this measured the rate limit, not the mesh ` +
          "(bench a route without one, or set istio-mesh:rateLimit: false for the benchmark)",
      );
    } else if (stats.localReplies / answers > POLICY_SHARE) {
      warnings.push(
        `${share(stats.localReplies)} of the answers were Envoy's own replies (a fault, a limit, an overflow), ` +
          "not the app's: this measured the fault or the limit, not the mesh",
      );
    }
  }
  const open = stats.open;
  if (open && open.dropped > 0) {
    warnings.push(
      `${open.dropped} of ${open.scheduled} requests could not be sent on time (every connection busy): ` +
        `${open.achievedRate} req/s achieved of ${open.offeredRate} offered; add --concurrency or lower --rate`,
    );
  }
  return warnings;
}

/** Warnings from the stack's config: the policies that stand between this route and the mesh's own cost. */
export function configWarnings(
  path: string,
  service: BackendService | undefined,
  cfg: MeshConfig | undefined,
): string[] {
  if (!cfg || !service) return [];
  const warnings: string[] = [];
  const limit = cfg.security.rateLimit;
  if (service.name === "user-service" && limit !== false) {
    warnings.push(
      `${path} is rate-limited to ${limit.requests} requests per ${limit.per} per pod: past that budget it ` +
        "measures the limit's 429s; set istio-mesh:rateLimit: false in the stack you benchmark",
    );
  }
  const fault = cfg.faults[service.name];
  if (fault) {
    const what = [fault.delay && `${fault.delay} delay`, fault.status && `${fault.status} abort`]
      .filter(Boolean)
      .join(" and ");
    warnings.push(`${path} has a fault: ${what} on ${fault.percent}% of requests (istio-mesh:faults.${service.name})`);
  }
  return warnings;
}
