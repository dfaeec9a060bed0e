/** The mesh graph as Mermaid flowchart text, which GitHub draws in Markdown. */
import { CHANGE_COLOUR } from "./compare";
import type { EdgeKind, MeshGraph } from "./graph";

const ARROW: Readonly<Record<EdgeKind, string>> = { route: "-->", allow: "-.->", denied: "-.-x", egress: "==>" };

/** Mermaid ids allow letters, digits and `_`; labels are quoted, with `"` as its entity. */
const id = (raw: string) => raw.replace(/[^A-Za-z0-9_]/g, "_");
const label = (lines: readonly string[]) => `"${lines.map((l) => l.replace(/"/g, "#quot;")).join("<br/>")}"`;

export function toMermaid(graph: MeshGraph): string {
  const lines = ["flowchart LR"];
  const node = (n: MeshGraph["nodes"][number]) => `${id(n.id)}[${label(n.lines)}]`;
  for (const group of graph.groups) {
    lines.push(`  subgraph ${id(`ns_${group.id}`)}[${label(group.lines)}]`);
    for (const n of graph.nodes.filter((x) => x.group === group.id)) lines.push(`    ${node(n)}`);
    lines.push("  end");
  }
  for (const n of graph.nodes.filter((x) => x.group === undefined)) lines.push(`  ${node(n)}`);
  for (const e of graph.edges) {
    const text = e.lines.length > 0 ? `|${label(e.lines)}|` : "";
    lines.push(`  ${id(e.from)} ${ARROW[e.kind]}${text} ${id(e.to)}`);
  }
  // Marks of a change: Mermaid styles links by their index, in the order they were declared.
  graph.edges.forEach((e, i) => {
    if (e.change) lines.push(`  linkStyle ${i} stroke:${CHANGE_COLOUR[e.change]},stroke-width:4px`);
  });
  for (const n of graph.nodes) {
    if (n.change) lines.push(`  style ${id(n.id)} stroke:${CHANGE_COLOUR[n.change]},stroke-width:3px`);
  }
  return lines.join("\n");
}
