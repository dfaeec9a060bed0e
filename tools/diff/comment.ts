/**
 * The pull request comment is the mesh diff plus what other tools found about the same change,
 * each as a section above the diff, in the order below. A tool contributes by writing a JSON report
 * that `npm run diff -- --markdown --<name>-report <file>` reads: add an entry here and the flag,
 * the reading and the section follow.
 */
import { readFileSync } from "node:fs";
import { formatFindingsMarkdown } from "../../analysis/format";
import type { Finding } from "../../analysis/model";
import type { AnalysisResult } from "../../analysis/run";
import { type PolicyReport, formatMarkdown as policyMarkdown } from "../policy/report";

export interface ReportSection {
  /** What the report holds, for error messages. */
  readonly what: string;
  /** The report (parsed JSON) as a Markdown section, starting with a `####` heading. */
  readonly format: (report: unknown) => string;
}

/** Sections by report name (`--<name>-report`), in the order they appear above the diff. */
export const REPORT_SECTIONS: Readonly<Record<string, ReportSection>> = {
  policy: { what: "`npm run policy -- --json` output", format: (report) => policyMarkdown(report as PolicyReport) },
  analysis: { what: "`npm run analyze -- --json` output", format: (report) => analysisMarkdown(report as AnalyzeJson) },
};

/** What `npm run analyze -- --json` prints (analysis/format.ts toJson). */
interface AnalyzeJson {
  readonly stack?: string;
  readonly files?: string;
  readonly counts: AnalysisResult["counts"];
  readonly findings: readonly Finding[];
  readonly suppressed: readonly (Finding & { readonly reason: string })[];
}

function analysisMarkdown(report: AnalyzeJson): string {
  if (!report.counts || !Array.isArray(report.findings)) throw new Error("no counts or findings");
  const result = {
    counts: report.counts,
    findings: report.findings,
    suppressed: (report.suppressed ?? []).map((finding) => ({ finding, by: { reason: finding.reason } })),
  } as unknown as AnalysisResult;
  return formatFindingsMarkdown(result, report.stack ?? report.files ?? "");
}

export const reportFlag = (name: string) => `${name}-report`;

export class ReportFileError extends Error {
  override name = "ReportFileError";
}

/** The sections for the report files given, `name → file`, in REPORT_SECTIONS order. */
export function reportSections(files: Readonly<Record<string, string | undefined>>): string[] {
  return Object.entries(REPORT_SECTIONS).flatMap(([name, section]) => {
    const file = files[name];
    if (file === undefined) return [];
    try {
      return [section.format(JSON.parse(readFileSync(file, "utf8")))];
    } catch (error) {
      throw new ReportFileError(
        `--${reportFlag(name)} ${file}: not ${section.what} (${(error as Error).message.split("\n")[0]})`,
      );
    }
  });
}
