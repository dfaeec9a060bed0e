/**
 * The `up` critical path: runs the program under Pulumi's mocks, builds the graph of what waits for
 * what (dependencies, plus each resource's provider), and prints the longest chain.
 *
 *   tsx scripts/dev/critical-path.ts [--stack dev]
 *
 * Two figures: the chain's length in resources (exact: it is the engine's own ordering) and its
 * length in seconds from typical durations on a laptop (an estimate, per resource type, below).
 */

import * as path from "node:path";
import { parseArgs } from "node:util";
import { deployMesh } from "../../components/mesh";
import { stackFileConfig } from "../../config/stackFile";
import type { MeshConfig } from "../../config/types";
import { type Registered, runWithMocks } from "../../tests/support/mockEngine";

/** Typical seconds to create one resource of a type on a kind cluster (a cold image pull included). */
const TYPICAL_SECONDS: ReadonlyArray<[RegExp, number]> = [
  [/^command:local:Command$/, 45],
  [/helm\.sh\/v3:Release$/, 30],
  [/apps\/v1:Deployment$/, 25],
  [/^pulumi:providers:/, 0],
  [/^kubernetes:/, 1],
];

export function typicalSeconds(type: string): number {
  return TYPICAL_SECONDS.find(([pattern]) => pattern.test(type))?.[1] ?? 0;
}

export interface Chain {
  readonly resources: readonly Registered[];
  readonly seconds: number;
}

/** Longest path through the wait graph, weighted by `weight`. */
export function criticalPath(resources: readonly Registered[], weight: (r: Registered) => number): Chain {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const waitsFor = (r: Registered) => {
    // A provider reference is `<provider urn>::<id>`.
    const provider = r.provider.slice(0, Math.max(0, r.provider.lastIndexOf("::")));
    return [...r.dependencies, ...(provider ? [provider] : [])].filter((u) => byUrn.has(u) && u !== r.urn);
  };
  const memo = new Map<string, Chain>();
  const longest = (r: Registered): Chain => {
    const known = memo.get(r.urn);
    if (known) return known;
    let best: Chain = { resources: [], seconds: 0 };
    for (const urn of waitsFor(r)) {
      const before = byUrn.get(urn);
      if (!before) continue;
      const chain = longest(before);
      if (
        chain.seconds > best.seconds ||
        (chain.seconds === best.seconds && chain.resources.length > best.resources.length)
      ) {
        best = chain;
      }
    }
    const chain = { resources: [...best.resources, r], seconds: best.seconds + weight(r) };
    memo.set(r.urn, chain);
    return chain;
  };
  let result: Chain = { resources: [], seconds: 0 };
  for (const r of resources) {
    const chain = longest(r);
    if (chain.seconds > result.seconds) result = chain;
  }
  return result;
}

/** What the engine registers for a stack, apart from components and the stack itself. */
export interface StackPath {
  readonly resources: readonly Registered[];
  readonly chain: Chain;
}

/** Runs the program for `cfg` under mocks and measures its critical path. */
export async function stackCriticalPath(cfg: MeshConfig): Promise<StackPath> {
  const run = await runWithMocks(() => deployMesh(cfg));
  if (run.error !== undefined) throw run.error;
  const resources = run.resources.filter((r) => !r.type.startsWith("istio-mesh:") && r.type !== "pulumi:pulumi:Stack");
  return { resources, chain: criticalPath(resources, (r) => typicalSeconds(r.type)) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { stack: { type: "string", default: "dev" } } });
  const { resources, chain } = await stackCriticalPath(
    stackFileConfig(path.resolve(__dirname, "..", ".."), values.stack),
  );
  console.log(
    `${resources.length} resources; critical path: ${chain.resources.length} resources, ~${chain.seconds}s typical`,
  );
  for (const r of chain.resources)
    console.log(`  ${String(typicalSeconds(r.type)).padStart(3)}s  ${r.type}  ${r.name}`);
}

if (require.main === module) void main();
