/**
 * istioctl analyze and Kiali's validations, offline and state-free, over a stack's objects (the
 * program's, and the ones its charts create) or a folder of YAML manifests:
 *
 *   npm run analyze -- [--stack dev | --files DIR] [--json | --markdown] [--strict]
 *                      [--suppress "CODE=Kind ns/name # reason"]... [--suppressions FILE] [--list-analyzers]
 *
 * Exit codes: 0 no Error (Warnings and Info allowed unless --strict), 1 an Error (or, with --strict,
 * a Warning), 2 could not run (bad flag, stack file, config, folder or suppression).
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { ANALYZERS } from "../../analysis/all";
import { formatFindingsMarkdown, formatText, toJson } from "../../analysis/format";
import { filesInput, InputError, stackInput } from "../../analysis/input";
import type { AnalysisInput } from "../../analysis/model";
import { analyze } from "../../analysis/run";
import { parseSuppression, type Suppression, SuppressionError } from "../../analysis/suppressions";
import { parseSuppressionsFile } from "../../analysis/suppressionsFile";
import { ConfigError } from "../../config/issues";
import { parseMeshConfig } from "../../config/parse";
import { projectConfig } from "../../config/readers";
import { readStackFile, StackFileError, secretProjectKeys } from "../../config/stackFile";
import { CliError, EXIT, parseCli, runCli, stackChoice } from "../lib/cli";
import { PLAIN, type Style, styleFor } from "../lib/style";

const TOOL = "analyze";

export const HELP = `Usage: npm run analyze -- [options]

Runs istioctl analyze's and Kiali's checks (and a few only this project can make) with no cluster.

Input (one of):
  --stack <name>          the stack's objects, as render builds them, plus the objects the Istio
                          charts create from the program's values (default: $STACK, else dev)
  --files <dir>           the YAML manifests directly in <dir> (render's output, or your own);
                          objects it needs but the files lack are reported, not guessed

Output:
  --json                  one JSON document (findings carry istioctl -o json's fields)
  --markdown              a Markdown section for the pull request comment
  --list-analyzers        the analyzers, what each mirrors, and the codes it reports

Policy:
  --strict                exit 1 on Warnings too
  --suppress <rule>       hide a finding: "CODE=Kind namespace/name # reason" (istioctl --suppress
                          syntax, * wildcards; the reason is required); repeatable
  --suppressions <file>   a YAML file of { code, resource, reason } under "suppressions:"

Exit codes: 0 no Error, 1 an Error (with --strict: or a Warning), 2 could not run.
See docs/analyze.md.
`;

export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (line: string) => void;
  readonly style: Style;
}

const OPTIONS = {
  stack: { type: "string" },
  files: { type: "string" },
  json: { type: "boolean" },
  markdown: { type: "boolean" },
  strict: { type: "boolean" },
  suppress: { type: "string", multiple: true },
  suppressions: { type: "string" },
  "list-analyzers": { type: "boolean" },
} as const;

function stackInputFor(projectRoot: string, stack: string): AnalysisInput {
  const file = path.join(projectRoot, `Pulumi.${stack}.yaml`);
  try {
    const stackConfig = readStackFile(file);
    const secret = secretProjectKeys(stackConfig);
    if (secret.length > 0) {
      throw new CliError(
        `analyze cannot decrypt secrets; stack ${stack} sets ${secret.join(", ")} (use --files on a render)`,
      );
    }
    return stackInput(parseMeshConfig(projectConfig(stackConfig)));
  } catch (error) {
    if (error instanceof StackFileError || error instanceof ConfigError) throw new CliError(error.message, EXIT.usage);
    throw error;
  }
}

function suppressionsFrom(rules: readonly string[], file: string | undefined): Suppression[] {
  try {
    const fromFile = file === undefined ? [] : parseSuppressionsFile(readFile(file), file);
    return [...fromFile, ...rules.map(parseSuppression)];
  } catch (error) {
    if (error instanceof SuppressionError) throw new CliError(error.message, EXIT.usage);
    throw error;
  }
}

function readFile(file: string): string {
  if (!existsSync(file)) throw new CliError(`no such suppressions file: ${file}`, EXIT.usage);
  return readFileSync(file, "utf8");
}

function listAnalyzers(): string {
  return `${ANALYZERS.map((a) => `${a.name} [${a.codes.join(", ")}]\n    ${a.description}\n    mirrors: ${a.mirrors}`).join("\n")}\n`;
}

export function main(argv: readonly string[], projectRoot: string, io: Io): number {
  const parsed = parseCli(TOOL, argv, OPTIONS);
  if (!parsed) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  const { values } = parsed;
  if (values["list-analyzers"]) {
    io.stdout(listAnalyzers());
    return EXIT.ok;
  }
  if (values.files !== undefined && values.stack !== undefined) {
    throw new CliError("give --stack or --files, not both (see npm run analyze -- --help)");
  }
  if (values.json && values.markdown) throw new CliError("give --json or --markdown, not both");
  const suppressions = suppressionsFrom(values.suppress ?? [], values.suppressions);
  let input: AnalysisInput;
  let subject: Record<string, unknown>;
  if (values.files !== undefined) {
    try {
      input = filesInput(values.files);
    } catch (error) {
      if (error instanceof InputError) throw new CliError(error.message, EXIT.usage);
      throw error;
    }
    subject = { files: values.files };
  } else {
    const stack = stackChoice(values.stack) ?? "dev";
    input = stackInputFor(projectRoot, stack);
    subject = { stack };
  }
  const result = analyze(input, suppressions);
  const label = `${"stack" in subject ? `stack ${String(subject.stack)}` : `files in ${String(subject.files)}`}, ${input.resources.length} objects`;
  if (values.json)
    io.stdout(`${JSON.stringify({ ...toJson(result, subject), objects: input.resources.length }, null, 2)}\n`);
  else if (values.markdown) io.stdout(formatFindingsMarkdown(result, String(subject.stack ?? subject.files)));
  else io.stdout(formatText(result, label, values.json ? PLAIN : io.style));
  const failing = result.counts.Error > 0 || (values.strict === true && result.counts.Warning > 0);
  return failing ? EXIT.failed : EXIT.ok;
}

if (require.main === module) {
  const io: Io = {
    stdout: (text) => process.stdout.write(text),
    stderr: (line) => process.stderr.write(`${line}\n`),
    style: styleFor(process.stdout),
  };
  void runCli(TOOL, () => main(process.argv.slice(2), path.resolve(__dirname, "..", ".."), io), io.stderr).then(
    (code) => {
      process.exitCode = code;
    },
  );
}
