/**
 * `npm run diff -- --graph DIR`: the mesh before and after, as `npm run graph` draws it (tools/graph),
 * and one drawing of both with what changed marked. Both sides are drawn by this checkout's graph
 * builders from each side's stack file: a change to the stack's config shows in the pictures; a
 * change to the builders' code shows in the object diff, which each side renders with its own code.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { changeCount, compareGraphs } from "../graph/compare";
import { type MeshGraph, meshGraph, meshTitle } from "../graph/graph";
import { toMermaid } from "../graph/mermaid";
import { toSvg } from "../graph/svg";

export interface Drawing {
  /** File name without extension: written as `.svg` and `.mmd`. */
  readonly name: string;
  readonly graph: MeshGraph;
  readonly title: string;
}

const EMPTY: MeshGraph = { groups: [], nodes: [], edges: [] };

/** The three drawings of a diff: base, head, and both with the changes marked. No file is written. */
export function diffDrawings(
  stack: string,
  baseRef: string,
  baseConfig: Readonly<Record<string, unknown>> | undefined,
  headConfig: Readonly<Record<string, unknown>>,
): Drawing[] {
  const base = baseConfig === undefined ? EMPTY : meshGraph(baseConfig);
  const head = meshGraph(headConfig);
  return [
    { name: `mesh-${stack}-base`, graph: base, title: `${meshTitle(stack)}, at ${baseRef}` },
    { name: `mesh-${stack}-head`, graph: head, title: `${meshTitle(stack)}, in the working tree` },
    {
      name: `mesh-${stack}-changes`,
      graph: compareGraphs(base, head),
      title: `${meshTitle(stack)}: what the change from ${baseRef} to the working tree adds, removes and changes`,
    },
  ];
}

/** Writes each drawing as SVG and Mermaid into `dir`; returns one line that says what it wrote. */
export function writeDrawings(dir: string, drawings: readonly Drawing[], relativeTo: string): string {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const drawing of drawings) {
    const svg = path.join(dir, `${drawing.name}.svg`);
    const mermaid = path.join(dir, `${drawing.name}.mmd`);
    writeFileSync(svg, toSvg(drawing.graph, drawing.title));
    writeFileSync(mermaid, `${toMermaid(drawing.graph)}\n`);
    written.push(path.relative(relativeTo, svg), path.relative(relativeTo, mermaid));
  }
  const changes = drawings.at(-1);
  const marked = changes ? changeCount(changes.graph) : 0;
  return `graph: ${marked} node(s) and edge(s) marked as changed; wrote ${written.join(", ")}`;
}
