/**
 * Suppressions in `istioctl analyze --suppress` syntax: `CODE=Kind name` or `CODE=Kind namespace/name`,
 * `*` as a wildcard in code or resource (istioctl analyze.go). Each one carries a reason: on the
 * command line after a `#` (`IST0102=Namespace istio-egress # the chart injects gateways by label`),
 * in a suppressions file as `reason:`.
 */
import type { Finding } from "./model";

export interface Suppression {
  readonly code: string;
  readonly resource: string;
  readonly reason: string;
}

export class SuppressionError extends Error {
  override name = "SuppressionError";
}

/** istioctl's suppression wildcards: `*` matches anything, the rest literally. */
export const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split("*")
      .map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, "\\$&"))
      .join(".*")}$`,
  );

/** `CODE=Kind ns/name # reason`. A suppression without a reason is refused: nobody can tell later why it is there. */
export function parseSuppression(arg: string): Suppression {
  const [rule = "", ...why] = arg.split("#");
  const reason = why.join("#").trim();
  const eq = rule.indexOf("=");
  if (eq < 1) throw new SuppressionError(`suppression "${arg}" is not CODE=Kind name (istioctl's --suppress syntax)`);
  const code = rule.slice(0, eq).trim();
  const resource = rule.slice(eq + 1).trim();
  if (!/^(?:[A-Z]{3,4}\d{4}|\*)$/.test(code) && !code.includes("*")) {
    throw new SuppressionError(`suppression "${arg}": "${code}" is not a message code (IST0102, KIA1301, MESH0004, *)`);
  }
  if (!resource.includes(" ") && resource !== "*")
    throw new SuppressionError(`suppression "${arg}": "${resource}" is not "Kind name"`);
  if (!reason) throw new SuppressionError(`suppression "${arg}" has no reason: add " # why" after it`);
  return { code, resource, reason };
}

export function suppressedBy(f: Finding, suppressions: readonly Suppression[]): Suppression | undefined {
  return suppressions.find((s) => glob(s.code).test(f.code) && glob(s.resource).test(f.origin));
}
