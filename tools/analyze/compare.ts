/**
 * Our analyzer against the real one, for the e2e workflow:
 *
 *   npm run -s analyze:compare -- --ours ours.json --istioctl istioctl.json --mode files|live [--json]
 *
 * `ours.json` is `npm run analyze -- --json`; `istioctl.json` is `istioctl analyze -o json` (an array of
 * { code, level, message, origin, reference?, documentationUrl }, diag/message.go Unstructured). It fails
 * on a finding istioctl reports that ours does not (same code and object), and on an IST finding of
 * ours that istioctl, having run the same analyzer over the same object, does not report. Differences
 * with a known cause are listed, with the cause, in tools/analyze/istioctl-divergences.yaml.
 *
 * Exit codes: 0 the two agree (up to listed divergences), 1 they disagree, 2 could not run.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { glob } from "../../analysis/suppressions";
import { list, record, text } from "../../policies/lib/kube";
import { CliError, EXIT, parseCli, runCli } from "../lib/cli";

const TOOL = "analyze:compare";

export const HELP = `Usage: npm run analyze:compare -- --ours <file> --istioctl <file> --mode files|live [--json]

Compares \`npm run analyze -- --json\` with \`istioctl analyze -o json\` over the same objects.
Fails on a finding istioctl reports that ours does not, and on an IST finding of ours istioctl
does not report; known, explained differences are in tools/analyze/istioctl-divergences.yaml
(--divergences <file> to use another list).

Exit codes: 0 agree, 1 disagree, 2 could not run.
`;

export type Mode = "files" | "live";

export interface Message {
  readonly code: string;
  readonly level: string;
  readonly origin: string;
  readonly message: string;
}

export interface Divergence {
  readonly mode: Mode | "any";
  /** Who reports the finding the other lacks. */
  readonly side: "istioctl" | "ours";
  readonly code: string;
  /** `Kind namespace/name`, `*` wildcards. */
  readonly origin: string;
  readonly reason: string;
}

export interface Comparison {
  /** istioctl reports it, ours does not. */
  readonly missing: readonly Message[];
  /** Ours reports it (IST code), istioctl does not. */
  readonly contradicted: readonly Message[];
  /** Both report the code on the object, with different text. */
  readonly differing: readonly { ours: Message; istioctl: Message }[];
  /** Differences a listed divergence explains. */
  readonly explained: readonly { message: Message; divergence: Divergence }[];
  readonly agreed: number;
}

const key = (m: Message) => `${m.code} ${m.origin}`;

export function compare(
  ours: readonly Message[],
  istioctl: readonly Message[],
  mode: Mode,
  divergences: readonly Divergence[],
): Comparison {
  const explainedBy = (m: Message, side: Divergence["side"]) =>
    divergences.find(
      (d) =>
        d.side === side &&
        (d.mode === "any" || d.mode === mode) &&
        glob(d.code).test(m.code) &&
        glob(d.origin).test(m.origin),
    );
  const missing: Message[] = [];
  const contradicted: Message[] = [];
  const differing: { ours: Message; istioctl: Message }[] = [];
  const explained: { message: Message; divergence: Divergence }[] = [];
  let agreed = 0;
  const oursIst = ours.filter((m) => m.code.startsWith("IST"));
  for (const theirs of istioctl) {
    const same = oursIst.filter((m) => key(m) === key(theirs));
    if (same.some((m) => m.message === theirs.message)) {
      agreed++;
      continue;
    }
    const divergence = explainedBy(theirs, "istioctl");
    if (divergence) explained.push({ message: theirs, divergence });
    else if (same[0]) differing.push({ ours: same[0], istioctl: theirs });
    else missing.push(theirs);
  }
  for (const mine of oursIst) {
    if (istioctl.some((m) => key(m) === key(mine))) continue;
    const divergence = explainedBy(mine, "ours");
    if (divergence) explained.push({ message: mine, divergence });
    else contradicted.push(mine);
  }
  return { missing, contradicted, differing, explained, agreed };
}

export const disagrees = (c: Comparison) => c.missing.length + c.contradicted.length + c.differing.length > 0;

const line = (m: Message) => `${m.level} [${m.code}] (${m.origin}) ${m.message}`;

export function formatComparison(c: Comparison): string {
  const out: string[] = [];
  for (const m of c.missing) out.push(`missing (istioctl reports it, ours does not): ${line(m)}`);
  for (const m of c.contradicted) out.push(`contradicted (ours reports it, istioctl does not): ${line(m)}`);
  for (const d of c.differing) out.push(`differs: istioctl: ${line(d.istioctl)}\n         ours:     ${line(d.ours)}`);
  for (const e of c.explained)
    out.push(`explained (${e.divergence.side} only): ${line(e.message)}\n    because ${e.divergence.reason}`);
  const verdict = disagrees(c) ? "DISAGREE" : "agree";
  out.push(
    `analyze:compare: ${verdict}: ${c.agreed} agreed, ${c.missing.length} missing, ${c.contradicted.length} contradicted, ` +
      `${c.differing.length} differing, ${c.explained.length} explained`,
  );
  return `${out.join("\n")}\n`;
}

function messagesOf(value: unknown, what: string): Message[] {
  const items = Array.isArray(value) ? value : list(record(value).findings);
  return items.map((item, i) => {
    const m = record(item);
    const [code, level, origin, message] = [text(m.code), text(m.level), text(m.origin), text(m.message)];
    if (!code || !level || !message) throw new CliError(`${what}: entry ${i} lacks code, level or message`);
    return { code, level, origin: origin ?? "", message };
  });
}

function readJson(file: string, what: string): unknown {
  if (!existsSync(file)) throw new CliError(`no such file: ${file} (${what})`);
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new CliError(`${file} is not JSON (${what}): ${(error as Error).message}`);
  }
}

export function parseDivergences(content: string, file: string): Divergence[] {
  return list(record(YAML.parse(content)).divergences).map((entry, i) => {
    const d = record(entry);
    const [mode, side, code, origin, reason] = [
      text(d.mode),
      text(d.side),
      text(d.code),
      text(d.origin),
      text(d.reason),
    ];
    if (
      (mode !== "files" && mode !== "live" && mode !== "any") ||
      (side !== "istioctl" && side !== "ours") ||
      !code ||
      !origin ||
      !reason?.trim()
    ) {
      throw new CliError(
        `${file}: divergences[${i}] needs mode (files|live|any), side (istioctl|ours), code, origin and reason`,
      );
    }
    return { mode, side, code, origin, reason };
  });
}

export function main(argv: readonly string[], io: { stdout: (t: string) => void }): number {
  const parsed = parseCli(TOOL, argv, {
    ours: { type: "string" },
    istioctl: { type: "string" },
    mode: { type: "string" },
    divergences: { type: "string" },
    json: { type: "boolean" },
  });
  if (!parsed) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  const { values } = parsed;
  if (!values.ours || !values.istioctl) throw new CliError("--ours and --istioctl are required (see --help)");
  if (values.mode !== "files" && values.mode !== "live") throw new CliError("--mode must be files or live");
  const divergencesFile = values.divergences ?? path.join(__dirname, "istioctl-divergences.yaml");
  if (!existsSync(divergencesFile)) throw new CliError(`no such divergences file: ${divergencesFile}`);
  const divergences = parseDivergences(readFileSync(divergencesFile, "utf8"), divergencesFile);
  const result = compare(
    messagesOf(readJson(values.ours, "npm run analyze -- --json"), values.ours),
    messagesOf(readJson(values.istioctl, "istioctl analyze -o json"), values.istioctl),
    values.mode,
    divergences,
  );
  io.stdout(values.json ? `${JSON.stringify(result, null, 2)}\n` : formatComparison(result));
  return disagrees(result) ? EXIT.failed : EXIT.ok;
}

if (require.main === module) {
  void runCli(TOOL, () => main(process.argv.slice(2), { stdout: (t) => process.stdout.write(t) })).then((code) => {
    process.exitCode = code;
  });
}
