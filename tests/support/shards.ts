/**
 * `npm test` runs the test files in a few processes ("shards") instead of one process per file.
 *
 * Each node process spends ~2.5 s of CPU before its first test: tsx, @pulumi/pulumi and the program's
 * modules. With one process per file that was ~130 s of a ~450 s CPU run (scripts/dev/test-profile.ts).
 * A shard loads every file it runs into one process, so node:test runs their suites one after the
 * other there; the shards run side by side (`--test-concurrency`).
 *
 * Every tests/*.test.ts is in exactly one shard, found at run time, so a new file needs no entry
 * here. Run one file alone as before: `node --import tsx --test tests/<file>.test.ts`.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";

const TESTS_DIR = join(__dirname, "..");
export const SHARD_COUNT = 3;

/**
 * Measured CPU seconds of the costliest files run alone (scripts/dev/test-profile.ts, every file,
 * 2026-12-02, on the shared 2-core machine); a file not listed counts DEFAULT_COST. Only used to
 * balance the shards: a stale figure costs balance, never a test. The files of the stub pulumi and
 * kubectl were measured again once their calls went to a server thread (stubServer.ts; medians of two
 * runs before, three after): canaryStack 28 → 17 s, upgrade 23 → 7, prereqs 16 → 9, workflows 9 → 7;
 * benchInCluster (4) is no longer among the costliest. By this table (the other files at DEFAULT_COST)
 * the shards come to ~133, ~135 and ~131 s.
 */
const COST: Readonly<Record<string, number>> = {
  "entrypoint.test.ts": 39,
  "policyPack.test.ts": 30,
  "docsExamples.test.ts": 23,
  "meshDiff.test.ts": 18,
  "canaryStack.test.ts": 17,
  "verify.gateway.test.ts": 11,
  "gatewayApiCell.test.ts": 10,
  "prereqs.test.ts": 9,
  "ambient.test.ts": 8,
  "analysisCli.test.ts": 8,
  "policies.test.ts": 8,
  "policyRun.test.ts": 8,
  "production.test.ts": 8,
  "upgrade.test.ts": 7,
  "workflows.test.ts": 7,
};
/** About what the other files cost alone (1–7 s, ~2.5 s of it the process start a shard pays once). */
const DEFAULT_COST = 4;

/** The files of each shard: costliest first, each to the shard with the least so far. */
export function shards(files: readonly string[], count: number): string[][] {
  const cost = (file: string) => COST[file] ?? DEFAULT_COST;
  const byCost = [...files].sort((a, b) => cost(b) - cost(a) || a.localeCompare(b));
  const groups = Array.from({ length: count }, () => ({ files: [] as string[], cost: 0 }));
  for (const file of byCost) {
    const lightest = groups.reduce((min, g) => (g.cost < min.cost ? g : min));
    lightest.files.push(file);
    lightest.cost += cost(file);
  }
  return groups.map((g) => g.files.sort());
}

export const testFiles = (): string[] =>
  readdirSync(TESTS_DIR)
    .filter((name) => name.endsWith(".test.ts"))
    .sort();

/** Loads the test files of shard `index` (1-based); node:test then runs what they declared. */
export function runShard(index: number): void {
  for (const file of shards(testFiles(), SHARD_COUNT)[index - 1] ?? []) require(join(TESTS_DIR, file));
}
