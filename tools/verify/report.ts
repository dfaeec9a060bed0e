import { familyWiseBound } from "./stats";
import type { CheckRow } from "./types";

export interface Report {
  readonly source: string;
  readonly gateway: string;
  readonly seed: number;
  readonly alpha: number;
  /** Statistical rows in this run, and the Bonferroni bound on a false alarm among them. */
  readonly statisticalChecks: number;
  readonly familyWiseFalseAlarm: number;
  readonly passed: boolean;
  readonly rows: readonly CheckRow[];
}

export function buildReport(
  rows: readonly CheckRow[],
  meta: { source: string; gateway: string; seed: number; alpha: number },
): Report {
  const statisticalChecks = rows.filter((r) => r.stats !== undefined && r.verdict !== "skip").length;
  return {
    ...meta,
    statisticalChecks,
    familyWiseFalseAlarm: familyWiseBound(statisticalChecks, meta.alpha),
    passed: rows.every((r) => r.verdict !== "fail"),
    rows,
  };
}

const VERDICT = { pass: "PASS", fail: "FAIL", skip: "skip" } as const;

/** A plain-text table: check, subject, expected, observed, verdict. */
export function formatTable(report: Report): string {
  const header = ["check", "subject", "expected", "observed", "verdict"];
  const cells = report.rows.map((r) => [r.check, r.subject, r.expected, r.observed, VERDICT[r.verdict]]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
  const line = (c: readonly string[]) =>
    c
      .map((s, i) => s.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  const failed = report.rows.filter((r) => r.verdict === "fail").length;
  return [
    `verify: ${report.source}, gateway ${report.gateway}, seed ${report.seed}`,
    "",
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...cells.map(line),
    "",
    `${report.statisticalChecks} statistical checks at alpha ${report.alpha} each: a correct mesh fails one of them ` +
      `with probability ≤ ${(report.familyWiseFalseAlarm * 100).toFixed(1)}% (Bonferroni).`,
    report.passed ? "All checks passed." : `${failed} check(s) FAILED.`,
  ].join("\n");
}
