/** The diff as terminal text (one line per change) or as a Markdown PR comment. */
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

export function formatText(changes: readonly MeshChange[], header: DiffHeader): string {
  const lines = [`mesh diff, stack ${header.stack}: ${base(header)} → working tree`];
  if (header.note) lines.push(header.note);
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

export function formatMarkdown(changes: readonly MeshChange[], header: DiffHeader): string {
  const lines = [
    commentMarker(header.stack),
    `### Mesh diff: stack \`${header.stack}\``,
    "",
    `\`${cell(header.baseRef)}\` (${header.baseCommit.slice(0, 12)}) → this change: ${
      changes.length === 0 ? "**no mesh changes**" : counts(changes)
    }`,
  ];
  if (header.note) lines.push("", `> ${header.note}`);
  if (changes.length > 0) {
    lines.push("", "| | object | change |", "| --- | --- | --- |");
    for (const c of changes) {
      const code = (d: string) => (d.includes("`") ? cell(d) : `\`${cell(d)}\``);
      const what = c.details.length > 0 ? c.details.map(code).join("<br>") : c.change;
      lines.push(`| ${SIGN[c.change]} | ${cell(`${c.kind} ${c.id}`)} | ${what} |`);
    }
  }
  lines.push(
    "",
    "<sub>Rendered from the spec builders at both commits (`npm run diff`); no cluster or Pulumi state involved.</sub>",
  );
  return `${lines.join("\n")}\n`;
}
