/**
 * The analysis as people and machines read it: istioctl's log lines (`Error [IST0101] (VirtualService
 * backend/app-routes) Referenced host not found: "user-svc"`), a JSON document whose findings carry
 * istioctl's `-o json` fields, and a Markdown section for the pull request's mesh-diff comment.
 */
import type { Style } from "../tools/lib/style";
import type { Finding } from "./model";
import type { AnalysisResult } from "./run";

/** istioctl's documentation URL for an IST code (diag/message.go); our own codes point at docs/analyze.md. */
export const documentationUrl = (code: string): string =>
  code.startsWith("IST")
    ? `https://istio.io/v1.30/docs/reference/config/analysis/${code.toLowerCase()}/`
    : `docs/analyze.md#${code.toLowerCase()}`;

export function findingLine(f: Finding, style: Style): string {
  const level =
    f.level === "Error" ? style.fail(f.level) : f.level === "Warning" ? style.warn(f.level) : style.skip(f.level);
  return `${level} [${f.code}] (${f.origin}) ${f.message}`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

export function summaryLine(result: AnalysisResult, subject: string): string {
  const { Error: errors, Warning: warnings, Info: infos } = result.counts;
  const parts = [plural(errors, "error"), plural(warnings, "warning"), `${infos} info`];
  const hidden = result.suppressed.length > 0 ? ` (${result.suppressed.length} suppressed)` : "";
  return `analyze: ${subject}: ${parts.join(", ")}${hidden}`;
}

export function formatText(result: AnalysisResult, subject: string, style: Style): string {
  const lines = result.findings.map((f) => findingLine(f, style));
  if (result.findings.length === 0) lines.push(style.pass("✔ No validation issues found."));
  lines.push(summaryLine(result, subject));
  return `${lines.join("\n")}\n`;
}

export function toJson(result: AnalysisResult, subject: Record<string, unknown>) {
  const withUrl = (f: Finding) => ({ ...f, documentationUrl: documentationUrl(f.code) });
  return {
    ...subject,
    counts: result.counts,
    findings: result.findings.map(withUrl),
    suppressed: result.suppressed.map((s) => ({ ...withUrl(s.finding), reason: s.by.reason })),
  };
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The findings as a Markdown section, for the mesh-diff comment on a pull request. */
export function formatFindingsMarkdown(result: AnalysisResult, stack: string): string {
  const { Error: errors, Warning: warnings, Info: infos } = result.counts;
  const lines = [
    `### Mesh analysis (stack ${stack})`,
    "",
    `${plural(errors, "error")}, ${plural(warnings, "warning")}, ${infos} info` +
      (result.suppressed.length > 0 ? `, ${result.suppressed.length} suppressed` : "") +
      " — `npm run analyze` (istioctl analyze and Kiali checks, offline; see docs/analyze.md)",
  ];
  if (result.findings.length > 0) {
    lines.push("", "| Level | Code | Object | Message |", "| --- | --- | --- | --- |");
    for (const f of result.findings) lines.push(`| ${f.level} | ${f.code} | ${cell(f.origin)} | ${cell(f.message)} |`);
  }
  if (result.suppressed.length > 0) {
    lines.push("", "<details><summary>Suppressed</summary>", "");
    for (const s of result.suppressed)
      lines.push(`- ${s.finding.code} ${cell(s.finding.origin)}: ${cell(s.by.reason)}`);
    lines.push("", "</details>");
  }
  return `${lines.join("\n")}\n`;
}
