/**
 * `npm test` runs the test files in a few processes ("shards") instead of one process per file.
 *
 * Each node process spends ~2.5 s of CPU before its first test: tsx, @pulumi/pulumi and the program's
 * modules. With one process per file that was ~130 s of a ~450 s CPU run (scripts/dev/test-profile.ts).
 * A shard loads the files it runs into one process, one after the other; the shards run side by side
 * (`--test-concurrency`).
 *
 * Which shard runs which file is settled while they run, not beforehand: each shard takes the costliest
 * file no shard has taken yet, runs its suites, then takes the next. A split made beforehand left one
 * shard running alone for the last ~20–30 s of a run whenever a file's cost moved (load, a cold cache,
 * a new test), with a core idle on this 2-core machine. A shard takes a file by creating its entry in
 * the run's queue directory (mkdir: exactly one process succeeds), which scripts/test.sh creates for
 * each run and names in ISTIO_MESH_TEST_QUEUE. Without it (the shard files run by hand) each shard runs
 * a fixed share, the costliest files spread first.
 *
 * A file's suites run inside a suite named after it (`tests/<file>.test.ts`), so its top-level hooks
 * run when its own tests are done, and the report groups by file. Every tests/*.test.ts is found at run
 * time, so a new file needs no entry here. One file alone: `node --import tsx --test tests/<file>.test.ts`.
 */
import { AsyncResource } from "node:async_hooks";
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";

const TESTS_DIR = join(__dirname, "..");
/**
 * The shard files in tests/shards/, all run at once (scripts/test.sh): four, one more than the cores of
 * the 2-core machine `npm test` is measured on, since some tests wait on a clock (a load at a fixed
 * rate, a canary pause, a stub's cancel window) and a fourth process fills that idle time. `npm test`
 * with 4: 62.8 and 59.4 s; with 3: 63.9 and 63.5 s (alternating runs, 2026-12-02).
 */
const SHARD_COUNT = readdirSync(join(TESTS_DIR, "shards")).filter((f) => f.endsWith(".test.ts")).length;

/**
 * Measured CPU seconds of the costliest files run alone (scripts/dev/test-profile.ts, every file,
 * 2026-12-02 08:18 UTC, on the shared 2-core machine; meshDiff and docsExamples after i15trim); a file
 * not listed counts DEFAULT_COST. They only order the files, costliest first, so that the last ones
 * taken are short: a stale figure costs a little balance, never a test.
 */
const COST: Readonly<Record<string, number>> = {
  "entrypoint.test.ts": 24,
  "policyPack.test.ts": 15,
  "canaryStack.test.ts": 15,
  "docsExamples.test.ts": 13,
  "meshDiff.test.ts": 10,
  "prereqs.test.ts": 8,
  "upgrade.test.ts": 6,
  "verify.gateway.test.ts": 6,
};
/** About what the other files cost alone (1–5 s, ~2.3 s of it the process start a shard pays once). */
const DEFAULT_COST = 4;

const cost = (file: string) => COST[file] ?? DEFAULT_COST;

/** The files, costliest first (ties by name). */
function byCost(files: readonly string[]): string[] {
  return [...files].sort((a, b) => cost(b) - cost(a) || a.localeCompare(b));
}

/** A fixed split for shards that share no queue: costliest first, each to the shard with the least so far. */
function shards(files: readonly string[], count: number): string[][] {
  const groups = Array.from({ length: count }, () => ({ files: [] as string[], cost: 0 }));
  for (const file of byCost(files)) {
    const lightest = groups.reduce((min, g) => (g.cost < min.cost ? g : min));
    lightest.files.push(file);
    lightest.cost += cost(file);
  }
  return groups.map((g) => g.files.sort());
}

const testFiles = (): string[] =>
  readdirSync(TESTS_DIR)
    .filter((name) => name.endsWith(".test.ts"))
    .sort();

/** Takes `file` for this shard: true for exactly one of the processes sharing `queue`. */
function take(queue: string, file: string): boolean {
  try {
    mkdirSync(join(queue, file));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

/**
 * Registers `file` as one top-level suite that loads it; the promise settles once its tests are done
 * (filtered out by --test-name-pattern or not, which an `after` hook is not on Node 24). A file that
 * throws while loading is one failed test: a suite that throws is reported but, on Node 24.11, does not
 * fail the run (nodejs/node#58687; scripts/test.sh also fails a run whose report has a `not ok`).
 */
function runFile(file: string): Promise<void> {
  return describe(`tests/${file}`, () => {
    try {
      require(join(TESTS_DIR, file));
    } catch (error) {
      test("loads", () => {
        throw error;
      });
    }
  });
}

/** Runs shard `index` (1-based): files taken from the run's queue, else its fixed share. */
export function runShard(index: number): void {
  const queue = process.env.ISTIO_MESH_TEST_QUEUE;
  if (!queue) {
    for (const file of shards(testFiles(), SHARD_COUNT)[index - 1] ?? []) void runFile(file);
    return;
  }
  const order = byCost(testFiles());
  let last: string | undefined;
  let drained = false;
  // Bound to this top-level context: called once the previous file's suite is done, it registers the
  // next file as a top-level suite of this process (without the binding, Node 20 refuses it and Node 24
  // drops it).
  const takeNext = AsyncResource.bind((): void => {
    last = order.find((f) => take(queue, f));
    if (last) runFile(last).then(takeNext, takeNext);
    else drained = true;
  });
  takeNext();
  // The files this shard would have taken next must not go unrun in silence: if the chain ever stops
  // early, the run fails saying so.
  process.on("exit", () => {
    if (drained) return;
    process.stderr.write(`shard ${index} stopped taking test files after tests/${last}: some files may not have run\n`);
    process.exitCode = 1;
  });
}
