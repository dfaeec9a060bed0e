/**
 * How fast does `npm run bench` go against `wrk -t1` on the same server and the same core budget?
 * A measurement, not a test: nothing here asserts a figure.
 *
 *   npm run bench:ceiling -- [--rounds 3] [--duration 10s] [--concurrency 10] [--threads 1] [--json]
 *                            [--url http://127.0.0.1:8081/]   another server instead (e.g. nginx; pin it yourself)
 *
 * The stand-in server (scripts/dev/standInBackend.ts, its own process) is pinned to CPU 0; wrk -t1
 * and the bench's engine (in this process, `--threads` worker threads) are pinned to CPU 1 in turn,
 * with `taskset`, so each client has exactly one core and the server the other. Rounds interleave
 * (wrk first in odd rounds, bench first in even ones), so a change in the machine's load hits both
 * alike; every round's raw figures and the load average are printed, then the median ratio.
 *
 * Needs wrk (`apt-get install wrk`) and taskset (util-linux; without it nothing is pinned, and it says so).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { durationMillis } from "../../config/readers";
import { runLoad } from "../../tools/bench/load";

interface Measured {
  readonly requestsPerSecond: number;
  /** User + system CPU of the client, per completed request. */
  readonly cpuMicrosPerRequest: number;
}

interface Round {
  readonly round: number;
  readonly order: "wrk first" | "bench first";
  readonly loadAverage1m: number;
  readonly wrk: Measured;
  readonly bench: Measured;
  readonly ratio: number;
}

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    // The bench's own default run length, so the JIT's warm-up weighs on a round as it does on a run.
    duration: { type: "string", default: "10s" },
    concurrency: { type: "string", default: "10" },
    threads: { type: "string", default: "1" },
    json: { type: "boolean", default: false },
    url: { type: "string" },
  },
});
const rounds = Number(values.rounds);
const durationMs = durationMillis(values.duration) ?? 10_000;
const concurrency = Number(values.concurrency);
const threads = Number(values.threads);
const seconds = Math.max(1, Math.round(durationMs / 1000));
const pinnable = !spawnSync("taskset", ["--version"]).error && cpus().length >= 2;
const SERVER_CPU = "0";
const CLIENT_CPU = "1";

async function main(): Promise<void> {
  if (spawnSync("wrk", ["--version"]).error) {
    console.error("bench-ceiling: wrk is not installed (apt-get install wrk)");
    process.exitCode = 2;
    return;
  }
  // This process (and the worker threads it starts) runs the bench's engine: its core is CLIENT_CPU.
  if (pinnable) spawnSync("taskset", ["-a", "-p", "-c", CLIENT_CPU, String(process.pid)], { stdio: "ignore" });
  const { child, url } = values.url ? { child: undefined, url: values.url } : await startStandInProcess();
  const target = values.url ?? `${url}/users`;
  const results: Round[] = [];
  try {
    await runLoad({ url: target, shape: { concurrency, durationMs: 500, timeoutMs: 10_000, threads } }); // warm-up
    for (let round = 1; round <= rounds; round++) {
      const loadAverage1m = Math.round((loadavg()[0] ?? 0) * 100) / 100;
      const wrkFirst = round % 2 === 1;
      let wrk: Measured;
      let bench: Measured;
      if (wrkFirst) {
        wrk = runWrk(target);
        bench = await runBench(target);
      } else {
        bench = await runBench(target);
        wrk = runWrk(target);
      }
      const ratio = Math.round((bench.requestsPerSecond / wrk.requestsPerSecond) * 100) / 100;
      results.push({ round, order: wrkFirst ? "wrk first" : "bench first", loadAverage1m, wrk, bench, ratio });
    }
  } finally {
    child?.kill("SIGTERM");
  }
  const ratios = results.map((r) => r.ratio).sort((a, b) => a - b);
  const median = ratios[Math.floor(ratios.length / 2)] ?? 0;
  const setup = {
    server: values.url
      ? `${values.url} (given; not pinned by this script)`
      : `${url} (node:http stand-in, own process${pinnable ? `, CPU ${SERVER_CPU}` : ""})`,
    clients: pinnable ? `CPU ${CLIENT_CPU}, one at a time` : "not pinned (no taskset)",
    wrk: `wrk -t1 -c${concurrency} -d${seconds}s`,
    bench: `bench engine, closed loop, -c${concurrency}, ${threads} thread${threads === 1 ? "" : "s"}, ${seconds}s`,
    cpus: cpus().length,
  };
  if (values.json) {
    console.log(JSON.stringify({ setup, rounds: results, medianRatio: median }, null, 2));
    return;
  }
  console.log(`server:  ${setup.server}\nclients: ${setup.clients}\nwrk:     ${setup.wrk}\nbench:   ${setup.bench}\n`);
  console.log("round  order        load(1m)  wrk req/s  bench req/s  bench/wrk  client CPU µs/req (wrk · bench)");
  for (const r of results) {
    console.log(
      `${String(r.round).padStart(5)}  ${r.order.padEnd(11)}  ${r.loadAverage1m.toFixed(2).padStart(8)}  ` +
        `${fmt(r.wrk.requestsPerSecond).padStart(9)}  ${fmt(r.bench.requestsPerSecond).padStart(11)}  ` +
        `${r.ratio.toFixed(2).padStart(9)}  ${r.wrk.cpuMicrosPerRequest.toFixed(1)} · ${r.bench.cpuMicrosPerRequest.toFixed(1)}`,
    );
  }
  console.log(`\nbench/wrk throughput ratio, median of ${results.length} interleaved rounds: ${median.toFixed(2)}`);
}

function runWrk(url: string): Measured {
  // bash's `time` reports wrk's own user+system CPU.
  const pin = pinnable ? `taskset -c ${CLIENT_CPU} ` : "";
  const script = `TIMEFORMAT='cpu %U %S'; time ${pin}wrk -t1 -c${concurrency} -d${seconds}s ${url}`;
  const result = spawnSync("bash", ["-c", script], { encoding: "utf8" });
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(result.stdout);
  const total = /(\d+) requests in/.exec(result.stdout);
  const cpu = /cpu ([\d.]+) ([\d.]+)/.exec(result.stderr);
  if (!rate || !total || !cpu) throw new Error(`unexpected wrk output:\n${result.stdout}\n${result.stderr}`);
  const cpuSeconds = Number(cpu[1]) + Number(cpu[2]);
  return { requestsPerSecond: Number(rate[1]), cpuMicrosPerRequest: (cpuSeconds * 1e6) / Number(total[1]) };
}

async function runBench(url: string): Promise<Measured> {
  // process.cpuUsage covers every thread of the process, worker threads included.
  const before = process.cpuUsage();
  const stats = await runLoad({ url, shape: { concurrency, durationMs: seconds * 1000, timeoutMs: 10_000, threads } });
  const cpu = process.cpuUsage(before);
  return {
    requestsPerSecond: stats.requestsPerSecond,
    cpuMicrosPerRequest: (cpu.user + cpu.system) / Math.max(1, stats.responses),
  };
}

function startStandInProcess(): Promise<{ child: ChildProcess; url: string }> {
  const script = path.join(__dirname, "standInBackend.ts");
  const node = [process.execPath, "--import", "tsx", script];
  const [command, ...args] = pinnable ? ["taskset", "-c", SERVER_CPU, ...node] : node;
  const child = spawn(command as string, args, { stdio: ["ignore", "pipe", "inherit"] });
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

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

main().catch((error) => {
  console.error(`bench-ceiling: ${(error as Error).message}`);
  process.exitCode = 1;
});
