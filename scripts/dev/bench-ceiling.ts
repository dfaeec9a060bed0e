/**
 * How fast can `npm run bench` go on this machine? Runs wrk and the bench's own load engine, in turn,
 * against the same stand-in server on 127.0.0.1 (a child process), and prints both rates and the CPU
 * each client spent per request. A measurement, not a test: nothing here asserts a figure.
 *
 *   npx tsx scripts/dev/bench-ceiling.ts [--concurrency 10] [--duration 5s] [--runs 3] [--wrk-threads 2]
 *
 * Needs wrk (`apt-get install wrk`). On a 2-core machine the stand-in (one Node thread) and the client
 * share the cores, so both clients may top out at the server's rate; the CPU per request is the
 * client's own cost and says how far each would go with a server to spare.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { durationMillis } from "../../config/readers";
import { runLoad } from "../../tools/bench/load";

interface Measured {
  readonly requestsPerSecond: number;
  /** User + system CPU of the client, per completed request. */
  readonly cpuMicrosPerRequest: number;
}

const { values } = parseArgs({
  options: {
    concurrency: { type: "string", default: "10" },
    duration: { type: "string", default: "5s" },
    runs: { type: "string", default: "3" },
    "wrk-threads": { type: "string", default: "2" },
  },
});
const concurrency = Number(values.concurrency);
const durationMs = durationMillis(values.duration) ?? 5000;
const runs = Number(values.runs);
const wrkThreads = Number(values["wrk-threads"]);

async function main(): Promise<void> {
  if (spawnSync("wrk", ["--version"]).error) {
    console.error("bench-ceiling: wrk is not installed (apt-get install wrk)");
    process.exitCode = 1;
    return;
  }
  const { child, url } = await startStandInProcess();
  try {
    const target = `${url}/users`;
    const wrk: Measured[] = [];
    const bench: Measured[] = [];
    for (let i = 0; i < runs; i++) {
      wrk.push(runWrk(target));
      bench.push(await runBench(target));
    }
    const w = median(wrk);
    const b = median(bench);
    const seconds = durationMs / 1000;
    console.log(`stand-in: ${url} (node:http, own process); route /users; median of ${runs} runs each`);
    console.log(
      `wrk   -t${wrkThreads} -c${concurrency} -d${seconds}s  ${fmt(w.requestsPerSecond)} req/s  ${w.cpuMicrosPerRequest.toFixed(1)} µs client CPU/request`,
    );
    console.log(
      `bench     -c${concurrency} ${seconds}s   ${fmt(b.requestsPerSecond)} req/s  ${b.cpuMicrosPerRequest.toFixed(1)} µs client CPU/request`,
    );
    console.log(
      `bench/wrk rate: ${(b.requestsPerSecond / w.requestsPerSecond).toFixed(2)}; ` +
        `one core of client CPU would drive ~${fmt(1e6 / b.cpuMicrosPerRequest)} req/s with bench, ` +
        `~${fmt(1e6 / w.cpuMicrosPerRequest)} with wrk`,
    );
  } finally {
    child.kill("SIGTERM");
  }
}

function runWrk(url: string): Measured {
  // bash's `time` reports wrk's own user+system CPU.
  const seconds = Math.max(1, Math.round(durationMs / 1000));
  const script = `TIMEFORMAT='cpu %U %S'; time wrk -t${wrkThreads} -c${concurrency} -d${seconds}s ${url}`;
  const result = spawnSync("bash", ["-c", script], { encoding: "utf8" });
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(result.stdout);
  const total = /(\d+) requests in/.exec(result.stdout);
  const cpu = /cpu ([\d.]+) ([\d.]+)/.exec(result.stderr);
  if (!rate || !total || !cpu) throw new Error(`unexpected wrk output:\n${result.stdout}\n${result.stderr}`);
  const cpuSeconds = Number(cpu[1]) + Number(cpu[2]);
  return { requestsPerSecond: Number(rate[1]), cpuMicrosPerRequest: (cpuSeconds * 1e6) / Number(total[1]) };
}

async function runBench(url: string): Promise<Measured> {
  const before = process.cpuUsage();
  const stats = await runLoad({ url, shape: { concurrency, durationMs, timeoutMs: 10_000 } });
  const cpu = process.cpuUsage(before);
  return { requestsPerSecond: stats.requestsPerSecond, cpuMicrosPerRequest: (cpu.user + cpu.system) / stats.responses };
}

function startStandInProcess(): Promise<{ child: ChildProcess; url: string }> {
  const script = path.join(__dirname, "standInBackend.ts");
  const child = spawn(process.execPath, ["--import", "tsx", script], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      const match = /listening (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match?.[1]) resolve({ child, url: match[1] });
    });
    child.on("exit", (code) => reject(new Error(`stand-in exited (${code}) before listening`)));
  });
}

function median(runs: Measured[]): Measured {
  const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  return {
    requestsPerSecond: mid(runs.map((r) => r.requestsPerSecond)),
    cpuMicrosPerRequest: mid(runs.map((r) => r.cpuMicrosPerRequest)),
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
