/**
 * Where `npm test`'s time goes: runs each test file alone, one after the other, the way `npm run
 * test:unit` runs it (`node --import tsx --test <file>`), and prints CPU (user+sys, child processes
 * included) and wall seconds per file, most CPU first, with the totals.
 *
 *   tsx scripts/dev/test-profile.ts [--json] [tests/a.test.ts …]
 *
 * CPU is the figure to compare: wall time on a shared 2-core machine moves with everyone else's load,
 * CPU much less. The CPU comes from /usr/bin/time (GNU time), whose wait4() rusage covers the test
 * runner and every child it waited for (ts-node program loads, stub CLIs).
 */

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";

interface FileCost {
  readonly file: string;
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
  readonly passed: boolean;
  readonly tests: number;
}

const root = path.resolve(__dirname, "../..");

function profile(file: string): FileCost {
  const marker = "test-profile:";
  const run = spawnSync(
    "/usr/bin/time",
    ["-f", `${marker}%e %U %S`, process.execPath, "--import", "tsx", "--test", file],
    { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  );
  const timing = run.stderr
    .split("\n")
    .filter((line) => line.startsWith(marker))
    .pop();
  if (!timing) throw new Error(`no timing for ${file}: ${run.stderr.slice(-500)}`);
  const [wall = 0, user = 0, sys = 0] = timing.slice(marker.length).split(" ").map(Number);
  const tests = Number(/^# tests (\d+)/m.exec(run.stdout)?.[1] ?? 0);
  return { file, cpuSeconds: user + sys, wallSeconds: wall, passed: run.status === 0, tests };
}

function main(): void {
  const { values, positionals } = parseArgs({ options: { json: { type: "boolean" } }, allowPositionals: true });
  const files =
    positionals.length > 0
      ? positionals
      : fs
          .readdirSync(path.join(root, "tests"))
          .filter((name) => name.endsWith(".test.ts"))
          .map((name) => `tests/${name}`);
  const costs: FileCost[] = [];
  for (const file of files) {
    costs.push(profile(file));
    if (!values.json) process.stderr.write(".");
  }
  costs.sort((a, b) => b.cpuSeconds - a.cpuSeconds);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(costs, null, 2)}\n`);
    return;
  }
  process.stderr.write("\n");
  const sum = (pick: (c: FileCost) => number) => costs.reduce((total, c) => total + pick(c), 0);
  for (const c of costs) {
    const verdict = c.passed ? "" : "  FAILED";
    console.log(
      `${c.cpuSeconds.toFixed(1).padStart(6)} s CPU ${c.wallSeconds.toFixed(1).padStart(6)} s wall ${String(c.tests).padStart(4)} tests  ${c.file}${verdict}`,
    );
  }
  console.log(
    `${sum((c) => c.cpuSeconds)
      .toFixed(1)
      .padStart(6)} s CPU ${sum((c) => c.wallSeconds)
      .toFixed(1)
      .padStart(6)} s wall ${String(sum((c) => c.tests)).padStart(4)} tests  total over ${costs.length} files`,
  );
}

main();
