/**
 * The verdict of a policy run, one entry per policy of the pack (so a policy added to the pack is
 * listed with no change here), as terminal text, JSON, or a section of the pull request comment.
 */
import type { EnforcementLevel, Policies } from "@pulumi/policy";
import { PLAIN, type Style } from "../lib/style";
import type { PackRun } from "./evaluate";

export type Verdict = "pass" | "fail" | "warn" | "disabled";

export interface PolicyVerdict {
  readonly name: string;
  readonly enforcementLevel: EnforcementLevel;
  readonly verdict: Verdict;
  readonly violations: readonly { readonly enforcementLevel: EnforcementLevel; readonly message: string }[];
}

/** What `npm run policy -- --json` writes; `error` instead of `policies` when the run could not happen. */
export interface PolicyReport {
  readonly stack: string;
  readonly ok: boolean;
  readonly policies?: readonly PolicyVerdict[];
  readonly error?: string;
}

export function policyReport(
  stack: string,
  policies: Policies,
  run: PackRun,
  levels: ReadonlyMap<string, EnforcementLevel>,
): PolicyReport {
  const verdicts = policies.map((p): PolicyVerdict => {
    const enforcementLevel = levels.get(p.name) ?? "advisory";
    const violations = run.diagnostics
      .filter((d) => d.policyName === p.name)
      .map((d) => ({ enforcementLevel: d.enforcementLevel, message: d.message }));
    const verdict: Verdict =
      enforcementLevel === "disabled"
        ? "disabled"
        : violations.some((v) => v.enforcementLevel === "mandatory")
          ? "fail"
          : violations.length > 0
            ? "warn"
            : "pass";
    return { name: p.name, enforcementLevel, verdict, violations };
  });
  return { stack, ok: verdicts.every((v) => v.verdict !== "fail"), policies: verdicts };
}

const count = (report: PolicyReport, verdict: Verdict) =>
  (report.policies ?? []).filter((p) => p.verdict === verdict).length;

export function summaryLine(report: PolicyReport): string {
  const n = report.policies?.length ?? 0;
  return `${n} policies: ${count(report, "pass")} passed, ${count(report, "fail")} failed, ${count(report, "warn")} with warnings${
    count(report, "disabled") > 0 ? `, ${count(report, "disabled")} disabled` : ""
  }`;
}

const MARK: Record<EnforcementLevel, string> = { mandatory: "✗", remediate: "✗", advisory: "!", disabled: "-" };

export function formatText(report: PolicyReport, style: Style = PLAIN): string {
  const lines = [`policy run, stack ${report.stack}: the program's resources, no engine, state or cluster`];
  for (const p of report.policies ?? []) {
    for (const v of p.violations) {
      const paint = v.enforcementLevel === "advisory" ? style.warn : style.fail;
      lines.push(`${paint(`${MARK[v.enforcementLevel]} ${v.enforcementLevel}`)} ${p.name}: ${v.message}`);
    }
  }
  const summary = summaryLine(report);
  lines.push(report.ok ? style.pass(summary) : style.fail(summary));
  return `${lines.join("\n")}\n`;
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The PR comment's policy section: the verdict first, then one row per violation. */
export function formatMarkdown(report: PolicyReport): string {
  const lines = ["#### Policies (state-free run of `policies/`)", ""];
  if (report.error !== undefined) {
    lines.push(`:x: **The policy run could not run:** ${cell(report.error)}`);
    return `${lines.join("\n")}\n`;
  }
  const failed = (report.policies ?? []).filter((p) => p.verdict === "fail");
  lines.push(
    report.ok
      ? `:white_check_mark: ${summaryLine(report)}`
      : `:x: **${failed.length} mandatory ${failed.length === 1 ? "policy fails" : "policies fail"}** (${failed
          .map((p) => `\`${p.name}\``)
          .join(", ")}): \`pulumi up\` would stop. ${summaryLine(report)}`,
  );
  const rows = (report.policies ?? []).flatMap((p) => p.violations.map((v) => ({ policy: p.name, ...v })));
  if (rows.length > 0) {
    lines.push("", "| | policy | violation |", "| --- | --- | --- |");
    for (const r of rows) {
      const mark = r.enforcementLevel === "advisory" ? ":warning:" : ":x:";
      lines.push(`| ${mark} | \`${r.policy}\` | ${cell(r.message)} |`);
    }
  }
  return `${lines.join("\n")}\n`;
}
