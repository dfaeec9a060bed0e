/**
 * Before and after in one picture: the union of two mesh graphs (the base's and the head's), with
 * every node and edge that differs marked. `npm run diff -- --graph DIR` draws it (tools/diff/main.ts).
 */
import type { Change, GraphEdge, GraphNode, MeshGraph } from "./graph";

const edgeKey = (e: GraphEdge) => `${e.from}\u0000${e.to}\u0000${e.kind}`;
const sameLines = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((line, i) => line === b[i]);

/** The highlight of each mark, in the SVG and in Mermaid. */
export const CHANGE_COLOUR: Readonly<Record<Change, string>> = {
  added: "#2da44e",
  removed: "#cf222e",
  changed: "#bf8700",
};

/** What a mark adds in front of an edge's label, so the change reads in Mermaid and in the SVG alike. */
export const CHANGE_PREFIX: Readonly<Record<Change, string>> = { added: "+ ", removed: "− ", changed: "~ " };

function marked(edge: GraphEdge, change: Change, was?: readonly string[]): GraphEdge {
  const lines = edge.lines.length > 0 ? edge.lines : [change];
  const [first = "", ...rest] = lines;
  // Only what the label lost: the lines it kept or gained are already in it.
  const lost = (was ?? []).filter((line) => !edge.lines.includes(line));
  const before = lost.length > 0 ? [`was: ${lost.join("; ")}`] : [];
  return { ...edge, change, lines: [`${CHANGE_PREFIX[change]}${first}`, ...rest, ...before] };
}

/**
 * The head's graph with the base's removed nodes and edges added back, and marks on what changed.
 * Edges are matched by (from, to, kind); several edges with the same ends (a header route and the
 * default split) match by label first, then pair in order as changed.
 */
export function compareGraphs(base: MeshGraph, head: MeshGraph): MeshGraph {
  const baseNodes = new Map(base.nodes.map((node) => [node.id, node]));
  const headIds = new Set(head.nodes.map((node) => node.id));
  const nodes: GraphNode[] = head.nodes.map((node) => {
    const before = baseNodes.get(node.id);
    if (!before) return { ...node, change: "added" };
    return sameLines(before.lines, node.lines) ? node : { ...node, change: "changed" };
  });
  for (const node of base.nodes) if (!headIds.has(node.id)) nodes.push({ ...node, change: "removed" });

  const unmatchedBase = new Map<string, GraphEdge[]>();
  for (const edge of base.edges) unmatchedBase.set(edgeKey(edge), [...(unmatchedBase.get(edgeKey(edge)) ?? []), edge]);
  const pending: GraphEdge[] = [];
  const edges: (GraphEdge | undefined)[] = head.edges.map((edge) => {
    const candidates = unmatchedBase.get(edgeKey(edge)) ?? [];
    const same = candidates.findIndex((b) => sameLines(b.lines, edge.lines));
    if (same < 0) {
      pending.push(edge);
      return undefined;
    }
    candidates.splice(same, 1);
    return edge;
  });
  // Head edges with no identical base edge: a leftover base edge with the same ends is its old form.
  for (const edge of pending) {
    const candidates = unmatchedBase.get(edgeKey(edge)) ?? [];
    const before = candidates.shift();
    edges[head.edges.indexOf(edge)] = before ? marked(edge, "changed", before.lines) : marked(edge, "added");
  }
  const removed = [...unmatchedBase.values()].flat().map((edge) => marked(edge, "removed"));

  const groups = [...head.groups];
  for (const group of base.groups) if (!groups.some((g) => g.id === group.id)) groups.push(group);
  return { groups, nodes, edges: [...(edges as GraphEdge[]), ...removed] };
}

/** How many nodes and edges a compared graph marks. */
export function changeCount(graph: MeshGraph): number {
  return [...graph.nodes, ...graph.edges].filter((item) => item.change !== undefined).length;
}
