/**
 * The pull request comment is the mesh diff plus what other tools found about the same change,
 * each as a section above the diff, in the order below. A tool contributes by writing a JSON report
 * that `npm run diff -- --markdown --<name>-report <file>` reads: add an entry here and the flag,
 * the reading and the section follow.
 *
 * Hook for the analyzer: its entry goes between `policy` and the diff, e.g.
 *   analyzer: { what: "the analyzer's findings", format: (report) => analyzerMarkdown(report as AnalyzerReport) },
 */
import { readFileSync } from "node:fs";
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
};

export const reportFlag = (name: string) => `${name}-report`;

export class ReportFileError extends Error {
  override name = "ReportFileError";
}

/** The sections for the report files given, `name → file`, in REPORT_SECTIONS order. */
export function reportSections(files: Readonly<Record<string, string | undefined>>): string[] {
  return Object.entries(REPORT_SECTIONS).flatMap(([name, section]) => {
    const file = files[name];
    if (file === undefined) return [];
    let report: unknown;
    try {
      report = JSON.parse(readFileSync(file, "utf8"));
    } catch (error) {
      throw new ReportFileError(
        `--${reportFlag(name)} ${file}: not ${section.what} (${(error as Error).message.split("\n")[0]})`,
      );
    }
    return [section.format(report)];
  });
}
