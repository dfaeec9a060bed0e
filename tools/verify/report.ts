import { PLAIN, type Style } from "../lib/style";
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

/**
 * A text table: check, subject, expected, observed, verdict. `style` marks the verdicts and the
 * outcome (colour on a TTY, see tools/lib/style.ts); with PLAIN the text is the same, uncoloured.
 */
export function formatTable(report: Report, style: Style = PLAIN): string {
  const header = ["check", "subject", "expected", "observed", "verdict"];
  const cells = report.rows.map((r) => [r.check, r.subject, r.expected, r.observed, VERDICT[r.verdict]]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
  const line = (c: readonly string[]) =>
    c
      .map((s, i) => s.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  // The verdict is the last column: coloured after padding, so colour codes never shift the columns.
  const row = (r: CheckRow, c: readonly string[]) =>
    [...c.slice(0, -1).map((s, i) => s.padEnd(widths[i] ?? 0)), style[r.verdict](VERDICT[r.verdict])].join("  ");
  const failed = report.rows.filter((r) => r.verdict === "fail").length;
  return [
    `verify: ${report.source}, gateway ${report.gateway}, seed ${report.seed}`,
    "",
    style.bold(line(header)),
    line(widths.map((w) => "-".repeat(w))),
    ...report.rows.map((r, i) => row(r, cells[i] ?? [])),
    "",
    `${report.statisticalChecks} statistical checks at alpha ${report.alpha} each: a correct mesh fails one of them ` +
      `with probability ≤ ${(report.familyWiseFalseAlarm * 100).toFixed(1)}% (Bonferroni).`,
    report.passed ? style.pass("All checks passed.") : style.fail(`${failed} check(s) FAILED.`),
  ].join("\n");
}
