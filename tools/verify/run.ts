import { accessMatrixCheck, controlPlaneCheck, egressCheck, mtlsCheck, observabilityCheck } from "./checks/cluster";
import { betaHeader, canarySplit, circuitBreaker, faults, httpsCheck, jwtCheck, rateLimit } from "./checks/gateway";
import type { PlannedCheck } from "./plan";
import type { Check, CheckName, CheckRow, VerifyContext } from "./types";

export const CHECKS: Readonly<Record<CheckName, Check>> = {
  "control-plane": controlPlaneCheck,
  https: httpsCheck,
  "canary-split": canarySplit,
  "beta-header": betaHeader,
  faults,
  "circuit-breaker": circuitBreaker,
  jwt: jwtCheck,
  "access-matrix": accessMatrixCheck,
  mtls: mtlsCheck,
  egress: egressCheck,
  observability: observabilityCheck,
  "rate-limit": rateLimit,
};

/**
 * Runs the planned checks in plan order. A check that throws (API server down, pod missing) becomes
 * a failed row with the reason, so one broken dependency does not hide the other results.
 */
export async function runChecks(
  plan: readonly PlannedCheck[],
  ctx: VerifyContext,
  onStart: (name: CheckName) => void = () => {},
): Promise<CheckRow[]> {
  const rows: CheckRow[] = [];
  for (const step of plan) {
    if (step.skip !== undefined) {
      if (step.skip !== "not in --only") {
        rows.push({ check: step.name, subject: "", expected: "", observed: step.skip, verdict: "skip" });
      }
      continue;
    }
    onStart(step.name);
    try {
      rows.push(...(await CHECKS[step.name](ctx)));
    } catch (e) {
      rows.push({
        check: step.name,
        subject: "",
        expected: "",
        observed: `error: ${(e as Error).message}`,
        verdict: "fail",
      });
    }
  }
  return rows;
}
