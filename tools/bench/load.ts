/**
 * One load run against one URL: the engine (./engine.ts) on this thread, or on `threads` worker
 * threads (./worker.ts), each with its share of the connections and of the schedule, their HDR
 * histograms merged here. Figures are over every answer, errors included (a fast 503 is still an
 * answer the client waited for).
 */
import { Worker } from "node:worker_threads";
import * as hdr from "hdr-histogram-js";
import {
  Engine,
  type EngineModel,
  type EngineOptions,
  type EngineResult,
  newHistogram,
  type SendProbe,
} from "./engine";
import type { Arrivals } from "./schedule";

export interface LoadShape {
  /** Keep-alive connections over all threads (wrk -c, fortio -c). */
  readonly concurrency: number;
  /** How long to run when `requests` is unset; with `rate`, the window of the schedule. */
  readonly durationMs: number;
  /** Open model: requests per second, each at its own intended time (fortio -qps, wrk2 -R). */
  readonly rate?: number | undefined;
  /** How the open model spaces requests (default constant). */
  readonly arrivals?: Arrivals | undefined;
  /** Seed of the Poisson schedule. */
  readonly seed?: number | undefined;
  /** Closed model: a fixed number of requests (ab -n) instead of a duration. */
  readonly requests?: number | undefined;
  /** A request without an answer after this long counts as a `timeout` error. */
  readonly timeoutMs: number;
  /** Worker threads generating the load (wrk -t); default 1, on the main thread. */
  readonly threads?: number | undefined;
}

export interface LoadProgress {
  readonly responses: number;
  readonly errors: number;
  readonly elapsedMs: number;
}

export interface LatencyMs {
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/** The open model's bookkeeping, as k6 reports a constant-arrival-rate scenario. */
export interface OpenModelStats {
  readonly arrivals: Arrivals;
  readonly offeredRate: number;
  readonly achievedRate: number;
  readonly scheduled: number;
  readonly sent: number;
  /** Scheduled but never sent: every connection stayed busy past the timeout or the window. */
  readonly dropped: number;
  /** How late requests left after their intended start (queueing for a connection, a busy client). */
  readonly sendLagMs: Pick<LatencyMs, "p50" | "p99" | "max">;
  /** From the actual send to the answer: what a tool without coordinated-omission correction reports. */
  readonly serviceTimeMs: LatencyMs;
}

export interface LoadStats {
  readonly responses: number;
  readonly durationSeconds: number;
  readonly requestsPerSecond: number;
  /** Closed model: from send to answer. Open model: from the intended start to the answer. */
  readonly latencyMs: LatencyMs;
  readonly statuses: Readonly<Record<string, number>>;
  readonly errors: Readonly<Record<string, number>>;
  readonly errorCount: number;
  /** Answers Envoy made itself: local rate limit, fault abort, overflow (./http1.ts). */
  readonly localReplies: number;
  readonly open?: OpenModelStats;
  /** `latencyMs`'s histogram in microseconds, HdrHistogram's compressed base64 (for its plotter, and ours). */
  readonly histogram: string;
}

export interface LoadRun {
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly shape: LoadShape;
  readonly onProgress?: (progress: LoadProgress) => void;
  /** Aborting ends the run early; what was measured so far is returned. */
  readonly signal?: AbortSignal;
  /** Sees every send (single thread only): tests check the schedule against what the server saw. */
  readonly probe?: SendProbe;
}

const PROGRESS_EVERY_MS = 200;

export async function runLoad(run: LoadRun): Promise<LoadStats> {
  const { shape } = run;
  const threads = Math.max(1, Math.min(shape.threads ?? 1, shape.concurrency));
  const shares = Array.from({ length: threads }, (_, thread) => engineOptions(run, thread, threads));
  const started = performance.now();
  const results =
    threads === 1 && shares[0] ? [await inThisThread(shares[0], run, started)] : await inWorkers(shares, run, started);
  const stats = merge(results, shape);
  run.onProgress?.({ responses: stats.responses, errors: stats.errorCount, elapsedMs: stats.durationSeconds * 1000 });
  return stats;
}

/** Thread `thread`'s share: its connections, its requests or its part of the schedule. */
export function engineOptions(run: LoadRun, thread: number, threads: number): EngineOptions {
  const { shape } = run;
  const split = (n: number) => Math.floor(n / threads) + (thread < n % threads ? 1 : 0);
  const model: EngineModel =
    shape.rate !== undefined
      ? {
          kind: "open",
          schedule: {
            arrivals: shape.arrivals ?? "constant",
            rate: shape.rate,
            windowMs: shape.durationMs,
            thread,
            threads,
            seed: shape.seed ?? 1,
          },
        }
      : {
          kind: "closed",
          durationMs: shape.durationMs,
          ...(shape.requests !== undefined && { requests: split(shape.requests) }),
        };
  return {
    url: run.url,
    headers: { ...run.headers },
    connections: split(shape.concurrency),
    timeoutMs: shape.timeoutMs,
    model,
  };
}

async function inThisThread(options: EngineOptions, run: LoadRun, started: number): Promise<EngineResult> {
  const engine = new Engine(options, run.probe);
  const onAbort = () => engine.stop();
  run.signal?.addEventListener("abort", onAbort, { once: true });
  const ticker =
    run.onProgress &&
    setInterval(
      () => run.onProgress?.({ ...engine.counters, elapsedMs: performance.now() - started }),
      PROGRESS_EVERY_MS,
    );
  try {
    const result = engine.run();
    if (run.signal?.aborted) engine.stop();
    return await result;
  } finally {
    clearInterval(ticker);
    run.signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * One worker per share. A worker does not get the TypeScript loader that `--import tsx` gave this
 * thread (the ESM hooks stay with the thread that registered them), so each one registers tsx's
 * CommonJS hook before it loads ./worker.ts.
 */
async function inWorkers(shares: EngineOptions[], run: LoadRun, started: number): Promise<EngineResult[]> {
  const counters = shares.map(() => ({ responses: 0, errors: 0 }));
  const bootstrap = `require(${JSON.stringify(require.resolve("tsx/cjs"))}); require(${JSON.stringify(require.resolve("./worker"))});`;
  const workers = shares.map((options) => new Worker(bootstrap, { eval: true, workerData: options }));
  const onAbort = () => {
    for (const w of workers) w.postMessage("stop");
  };
  run.signal?.addEventListener("abort", onAbort, { once: true });
  if (run.signal?.aborted) onAbort();
  const ticker =
    run.onProgress &&
    setInterval(() => {
      const responses = counters.reduce((n, c) => n + c.responses, 0);
      const errors = counters.reduce((n, c) => n + c.errors, 0);
      run.onProgress?.({ responses, errors, elapsedMs: performance.now() - started });
    }, PROGRESS_EVERY_MS);
  try {
    return await Promise.all(
      workers.map(
        (worker, i) =>
          new Promise<EngineResult>((resolve, reject) => {
            worker.on(
              "message",
              (message: { progress?: { responses: number; errors: number }; result?: EngineResult }) => {
                if (message.progress) counters[i] = message.progress;
                if (message.result) resolve(message.result);
              },
            );
            worker.on("error", reject);
            worker.on("exit", (code) => reject(new Error(`load worker ${i} exited (${code}) before its result`)));
          }),
      ),
    );
  } finally {
    clearInterval(ticker);
    run.signal?.removeEventListener("abort", onAbort);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function merge(results: EngineResult[], shape: LoadShape): LoadStats {
  const latency = hdrSum(results.map((r) => r.latency));
  const service = hdrSum(results.map((r) => r.serviceTime));
  const lag = hdrSum(results.map((r) => r.sendLag));
  const sum = (pick: (r: EngineResult) => number) => results.reduce((n, r) => n + pick(r), 0);
  const records = (pick: (r: EngineResult) => Record<string, number>) => {
    const total = new Map<string, number>();
    for (const r of results) for (const [k, v] of Object.entries(pick(r))) total.set(k, (total.get(k) ?? 0) + v);
    return Object.fromEntries([...total.entries()].sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true })));
  };
  const seconds = Math.max(...results.map((r) => r.elapsedMs)) / 1000;
  const responses = sum((r) => r.responses);
  const achieved = round(responses / Math.max(seconds, 1e-3), 1);
  const stats: LoadStats = {
    responses,
    durationSeconds: round(seconds, 3),
    requestsPerSecond: achieved,
    latencyMs: latencyOf(latency),
    statuses: records((r) => r.statuses),
    errors: records((r) => r.errors),
    errorCount: sum((r) => r.errorCount),
    localReplies: sum((r) => r.localReplies),
    ...(shape.rate !== undefined && {
      open: {
        arrivals: shape.arrivals ?? "constant",
        offeredRate: shape.rate,
        achievedRate: achieved,
        scheduled: sum((r) => r.scheduled),
        sent: sum((r) => r.sent),
        dropped: sum((r) => r.dropped),
        sendLagMs: (({ p50, p99, max }) => ({ p50, p99, max }))(latencyOf(lag)),
        serviceTimeMs: latencyOf(service),
      },
    }),
    histogram: hdr.encodeIntoCompressedBase64(latency),
  };
  for (const h of [latency, service, lag]) h.destroy();
  return stats;
}

function hdrSum(encoded: string[]): hdr.Histogram {
  const total = newHistogram();
  for (const text of encoded) {
    const part = hdr.decodeFromCompressedBase64(text);
    total.add(part);
    part.destroy();
  }
  return total;
}

/** Percentiles in ms; a percentile is its bucket's upper edge, so it is capped at the largest value seen. */
export function latencyOf(h: hdr.Histogram): LatencyMs {
  if (h.totalCount === 0) return { mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  const max = h.maxValue;
  const ms = (us: number) => Math.round(Math.min(us, max)) / 1000;
  return {
    mean: ms(h.mean),
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(max),
  };
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;
