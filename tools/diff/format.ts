/** The diff as terminal text (one line per change) or as a Markdown PR comment. */
import { PLAIN, type Style } from "../lib/style";
import type { MeshChange } from "./semanticDiff";

const SIGN = { added: "+", removed: "-", changed: "~" } as const;

export interface DiffHeader {
  readonly stack: string;
  /** What the user asked for (`main`, `HEAD~1`) and the commit it is. */
  readonly baseRef: string;
  readonly baseCommit: string;
  readonly note?: string;
}

function counts(changes: readonly MeshChange[]): string {
  const n = (c: MeshChange["change"]) => changes.filter((x) => x.change === c).length;
  return `${n("changed")} changed, ${n("added")} added, ${n("removed")} removed`;
}

const base = (h: DiffHeader) => `${h.baseRef} (${h.baseCommit.slice(0, 12)})`;

const replacements = (changes: readonly MeshChange[]) => changes.filter((c) => c.replaces !== undefined);

export function formatText(changes: readonly MeshChange[], header: DiffHeader, style: Style = PLAIN): string {
  const lines = [`mesh diff, stack ${header.stack}: ${base(header)} → working tree`];
  if (header.note) lines.push(header.note);
  for (const c of replacements(changes)) {
    lines.push(style.fail(style.bold(`!! ${c.kind} ${c.id}: ${(c.replaces ?? "").toUpperCase()}`)));
  }
  for (const c of changes) {
    const object = `${SIGN[c.change]} ${c.kind} ${c.id}`;
    if (c.details.length === 0) lines.push(object);
    for (const d of c.details) lines.push(`${object}: ${d}`);
  }
  lines.push(changes.length === 0 ? "no mesh changes" : counts(changes));
  return `${lines.join("\n")}\n`;
}

/** A hidden marker so CI can find and update its own comment instead of adding one per push. */
export const commentMarker = (stack: string) => `<!-- istio-mesh:mesh-diff stack=${stack} -->`;

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/**
 * The PR comment: marker, title, the sections other tools' reports contribute (policy verdicts
 * first; see comment.ts), then the diff, with anything `up` would replace called out on top.
 */
export function formatMarkdown(
  changes: readonly MeshChange[],
  header: DiffHeader,
  sections: readonly string[] = [],
): string {
  const lines = [commentMarker(header.stack), `### Mesh diff: stack \`${header.stack}\``];
  for (const section of sections) lines.push("", section.trimEnd());
  if (sections.length > 0) lines.push("", "#### Mesh changes");
  lines.push(
    "",
    `\`${cell(header.baseRef)}\` (${header.baseCommit.slice(0, 12)}) → this change: ${
      changes.length === 0 ? "**no mesh changes**" : counts(changes)
    }`,
  );
  if (header.note) lines.push("", `> ${header.note}`);
  const replaced = replacements(changes);
  if (replaced.length > 0) {
    lines.push("", "> [!CAUTION]", "> **`pulumi up` would delete and recreate, not update:**");
    for (const c of replaced) lines.push(`> - **${cell(`${c.kind} ${c.id}`)}**: ${cell(c.replaces ?? "")}`);
  }
  if (changes.length > 0) {
    lines.push("", "| | object | change |", "| --- | --- | --- |");
    for (const c of changes) {
      const code = (d: string) => (d.includes("`") ? cell(d) : `\`${cell(d)}\``);
      const what = [
        ...(c.replaces ? [`**${cell(c.replaces)}**`] : []),
        ...(c.details.length > 0 ? c.details.map(code) : [c.change]),
      ].join("<br>");
      lines.push(`| ${SIGN[c.change]} | ${cell(`${c.kind} ${c.id}`)} | ${what} |`);
    }
  }
  lines.push(
    "",
    "<sub>Rendered from the spec builders at both commits (`npm run diff`); policies evaluated over the " +
      "program's resources (`npm run policy`); no cluster or Pulumi state involved.</sub>",
  );
  return `${lines.join("\n")}\n`;
}
