/**
 * The mesh graph as SVG: dagre (a maintained layout library, pure JS) places namespaces, nodes and
 * edge labels left to right; this file only draws boxes, text and paths at those coordinates.
 * Text is monospace so its width is known without a browser.
 */
import dagre from "@dagrejs/dagre";
import { CHANGE_COLOUR } from "./compare";
import type { Change, EdgeKind, GraphEdge, MeshGraph, NodeKind } from "./graph";

const FONT = 12;
const CHAR = 7.25;
const LINE = 16;
const LABEL_FONT = 11;
const LABEL_CHAR = 6.65;
const LABEL_LINE = 14;
const GROUP_TITLE = 2 * LINE;
const GROUP_PAD = 10;

const NODE_FILL: Readonly<Record<NodeKind, string>> = {
  client: "#f6f8fa",
  gateway: "#ddf4ff",
  service: "#dafbe1",
  probe: "#fff8c5",
  sidecars: "#f6f8fa",
  external: "#fbefff",
};

const EDGE_STYLE: Readonly<Record<EdgeKind, { colour: string; dash?: string; name: string }>> = {
  route: { colour: "#0969da", name: "route (ingress): match, split, fault, retries, breaker" },
  allow: { colour: "#1a7f37", dash: "6 3", name: "may call (AuthorizationPolicy, mTLS identity)" },
  denied: { colour: "#cf222e", dash: "2 3", name: "refused (no sidecar under STRICT mTLS)" },
  egress: { colour: "#9a6700", dash: "8 3 2 3", name: "egress to an external host" },
};

/** A drawing of a change (./compare.ts) highlights what differs, under the edge's own colour and dash. */
export const CHANGE_STYLE: Readonly<Record<Change, { colour: string; name: string }>> = {
  added: { colour: CHANGE_COLOUR.added, name: "added by the change (label: +)" },
  removed: { colour: CHANGE_COLOUR.removed, name: "removed by the change (label: −), drawn faded" },
  changed: { colour: CHANGE_COLOUR.changed, name: "changed (label: ~, and what it was)" },
};

const escapeXml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const n = (x: number) => Math.round(x * 10) / 10;
const widest = (lines: readonly string[], char: number) => Math.max(0, ...lines.map((l) => l.length)) * char;

interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Where dagre puts everything: boxes by id, edges as points plus the label's centre. */
export function layout(graph: MeshGraph) {
  const g = new dagre.graphlib.Graph({ compound: true, multigraph: true });
  g.setGraph({
    rankdir: "LR",
    nodesep: 2 * GROUP_PAD + GROUP_TITLE + 12,
    ranksep: 90,
    edgesep: 18,
    marginx: 16,
    marginy: 16 + GROUP_TITLE,
  });
  g.setDefaultEdgeLabel(() => ({}));
  for (const group of graph.groups) g.setNode(`group:${group.id}`, {});
  for (const node of graph.nodes) {
    g.setNode(node.id, { width: widest(node.lines, CHAR) + 24, height: node.lines.length * LINE + 14 });
    if (node.group !== undefined) g.setParent(node.id, `group:${node.group}`);
  }
  graph.edges.forEach((edge, i) => {
    const width = edge.lines.length === 0 ? 0 : widest(edge.lines, LABEL_CHAR) + 10;
    const height = edge.lines.length === 0 ? 0 : edge.lines.length * LABEL_LINE + 4;
    g.setEdge(edge.from, edge.to, { width, height, labelpos: "c" }, `e${i}`);
  });
  dagre.layout(g);
  const box = (id: string): Box => {
    const { x, y, width, height } = g.node(id);
    return { x: x - width / 2, y: y - height / 2, width, height };
  };
  return {
    graph: g.graph(),
    box,
    edge: (i: number, edge: GraphEdge) => g.edge({ v: edge.from, w: edge.to, name: `e${i}` }),
  };
}

function text(lines: readonly string[], x: number, y: number, size: number, lineHeight: number, anchor: string) {
  return lines
    .map((line, i) => {
      const weight = i === 0 && anchor === "middle" && size === FONT ? ' font-weight="bold"' : "";
      return `<text x="${n(x)}" y="${n(y + i * lineHeight)}" font-size="${size}" text-anchor="${anchor}"${weight}>${escapeXml(line)}</text>`;
    })
    .join("\n");
}

/** `title` is the picture's text alternative (screen readers, and a tooltip in browsers). */
export function toSvg(graph: MeshGraph, title: string): string {
  const placed = layout(graph);
  const out: string[] = [];
  let right = placed.graph.width ?? 0;
  let bottom = placed.graph.height ?? 0;

  for (const group of graph.groups) {
    // The members' bounds (dagre keeps them together), with room above for the group's title.
    const members = graph.nodes.filter((node) => node.group === group.id).map((node) => placed.box(node.id));
    const left = Math.min(...members.map((m) => m.x)) - GROUP_PAD;
    const top = Math.min(...members.map((m) => m.y)) - GROUP_PAD - GROUP_TITLE;
    const b = {
      x: left,
      y: top + GROUP_TITLE,
      width: Math.max(...members.map((m) => m.x + m.width)) + GROUP_PAD - left,
      height: Math.max(...members.map((m) => m.y + m.height)) + GROUP_PAD - top - GROUP_TITLE,
    };
    out.push(
      `<rect x="${n(b.x)}" y="${n(top)}" width="${n(b.width)}" height="${n(b.height + GROUP_TITLE)}" rx="8" fill="#ffffff" stroke="#8c959f" stroke-dasharray="4 3"/>`,
      text(group.lines, b.x + 8, top + 14, LABEL_FONT, LABEL_LINE, "start"),
    );
  }
  graph.edges.forEach((edge, i) => {
    const e = placed.edge(i, edge);
    const style = EDGE_STYLE[edge.kind];
    const points = (e.points ?? []).map((p: { x: number; y: number }) => `${n(p.x)},${n(p.y)}`).join(" ");
    const dash = style.dash ? ` stroke-dasharray="${style.dash}"` : "";
    if (edge.change) {
      out.push(
        `<polyline points="${points}" fill="none" stroke="${CHANGE_STYLE[edge.change].colour}" stroke-opacity="0.35" stroke-width="9" stroke-linecap="round"/>`,
      );
    }
    const faded = edge.change === "removed" ? ' stroke-opacity="0.5"' : "";
    out.push(
      `<polyline points="${points}" fill="none" stroke="${style.colour}" stroke-width="1.5"${faded}${dash} marker-end="url(#arrow-${edge.kind})"/>`,
    );
    if (edge.lines.length > 0 && e.x !== undefined && e.y !== undefined) {
      const width = (e.width ?? 0) as number;
      const height = (e.height ?? 0) as number;
      out.push(
        `<rect x="${n(e.x - width / 2)}" y="${n(e.y - height / 2)}" width="${n(width)}" height="${n(height)}" rx="3" fill="#ffffff" fill-opacity="0.9" stroke="${edge.change ? CHANGE_STYLE[edge.change].colour : style.colour}" stroke-width="${edge.change ? 2 : 0.5}"/>`,
        text(edge.lines, e.x, e.y - height / 2 + LABEL_LINE - 2, LABEL_FONT, LABEL_LINE, "middle").replace(
          /<text /g,
          `<text fill="${style.colour}" `,
        ),
      );
    }
  });
  for (const node of graph.nodes) {
    const b = placed.box(node.id);
    out.push(
      `<rect x="${n(b.x)}" y="${n(b.y)}" width="${n(b.width)}" height="${n(b.height)}" rx="6" fill="${NODE_FILL[node.kind]}"${
        node.change
          ? ` stroke="${CHANGE_STYLE[node.change].colour}" stroke-width="3"${node.change === "removed" ? ' fill-opacity="0.5"' : ""}`
          : ' stroke="#57606a"'
      }/>`,
      text(node.lines, b.x + b.width / 2, b.y + LINE + 2, FONT, LINE, "middle"),
    );
  }

  // A legend under the picture.
  const legendTop = bottom + 8;
  Object.entries(EDGE_STYLE).forEach(([kind, style], i) => {
    const y = legendTop + i * LABEL_LINE + 8;
    const dash = style.dash ? ` stroke-dasharray="${style.dash}"` : "";
    out.push(
      `<line x1="16" y1="${n(y - 4)}" x2="56" y2="${n(y - 4)}" stroke="${style.colour}" stroke-width="1.5"${dash} marker-end="url(#arrow-${kind})"/>`,
      text([style.name], 64, y, LABEL_FONT, LABEL_LINE, "start"),
    );
  });
  // On a drawing of a change, what its highlights mean.
  const marks = (Object.entries(CHANGE_STYLE) as [Change, (typeof CHANGE_STYLE)[Change]][]).filter(([change]) =>
    [...graph.nodes, ...graph.edges].some((item) => item.change === change),
  );
  marks.forEach(([, style], i) => {
    const y = legendTop + (Object.keys(EDGE_STYLE).length + i) * LABEL_LINE + 8;
    out.push(
      `<line x1="16" y1="${n(y - 4)}" x2="56" y2="${n(y - 4)}" stroke="${style.colour}" stroke-opacity="0.35" stroke-width="9" stroke-linecap="round"/>`,
      text([style.name], 64, y, LABEL_FONT, LABEL_LINE, "start"),
    );
  });
  bottom = legendTop + (Object.keys(EDGE_STYLE).length + marks.length) * LABEL_LINE + 16;
  right = Math.max(
    right,
    64 +
      widest(
        [...Object.values(EDGE_STYLE), ...marks.map(([, style]) => style)].map((s) => s.name),
        LABEL_CHAR,
      ) +
      16,
  );

  const markers = Object.entries(EDGE_STYLE).map(
    ([kind, style]) =>
      `<marker id="arrow-${kind}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${style.colour}"/></marker>`,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${n(right)}" height="${n(bottom)}" viewBox="0 0 ${n(right)} ${n(bottom)}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace">`,
    `<title>${escapeXml(title)}</title>`,
    `<defs>${markers.join("")}</defs>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...out,
    "</svg>",
    "",
  ].join("\n");
}
