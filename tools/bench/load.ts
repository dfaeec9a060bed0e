/**
 * One load run against one URL: autocannon generates the load (keep-alive connections, a fixed
 * request count or a duration, an optional overall rate); every response's latency goes into our own
 * HDR histogram in microseconds, so sub-millisecond latencies on a fast path keep their resolution.
 *
 * A paced run (`rate`) is a count, rate × duration, like `fortio -qps 100 -t 60s` sending 6000:
 * autocannon releases each connection's budget at the start of every second, so a plain duration
 * stop would catch one budget more or less. The run stops anyway a second after its window (a slow
 * target can't stretch it), and lasts at least its window, so requests/s is the rate it held.
 */
import autocannon from "autocannon";
import * as hdr from "hdr-histogram-js";

export interface LoadShape {
  /** Keep-alive connections (ab -c, fortio -c). */
  readonly concurrency: number;
  /** How long to run when `requests` is unset. */
  readonly durationMs: number;
  /** Overall requests per second across all connections (fortio -qps); unset = as fast as it goes. */
  readonly rate?: number | undefined;
  /** A fixed number of requests (ab -n) instead of a duration. */
  readonly requests?: number | undefined;
  /** A request without a response after this long counts as a `timeout` error. */
  readonly timeoutMs: number;
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
  readonly max: number;
}

export interface LoadStats {
  /** Responses received, whatever their status. */
  readonly responses: number;
  readonly durationSeconds: number;
  readonly requestsPerSecond: number;
  /** Over every response, errors included (a fast 503 is still a response the client waited for). */
  readonly latencyMs: LatencyMs;
  /** Every response by status code. */
  readonly statuses: Readonly<Record<string, number>>;
  /** Statuses ≥ 400 by code, and requests that got no response by cause (`timeout`, `ECONNRESET`, ...). */
  readonly errors: Readonly<Record<string, number>>;
  readonly errorCount: number;
}

export interface LoadRun {
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly shape: LoadShape;
  readonly onProgress?: (progress: LoadProgress) => void;
  /** Aborting ends the run early; what was measured so far is returned. */
  readonly signal?: AbortSignal;
}

const PROGRESS_EVERY_MS = 200;

export async function runLoad(run: LoadRun): Promise<LoadStats> {
  const { shape } = run;
  const latencyUs = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });
  const statuses = new Map<string, number>();
  const errors = new Map<string, number>();
  const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  let responses = 0;
  let errorCount = 0;
  let maxUs = 0;

  const amount =
    shape.requests ??
    (shape.rate === undefined ? undefined : Math.max(1, Math.round((shape.rate * shape.durationMs) / 1000)));
  const windowMs = shape.rate === undefined || amount === undefined ? 0 : (1000 * amount) / shape.rate;
  // autocannon refuses more connections than requests (it splits the count among them).
  const connections = amount === undefined ? shape.concurrency : Math.min(shape.concurrency, amount);
  const options: autocannon.Options = {
    url: run.url,
    connections,
    headers: { ...run.headers },
    timeout: Math.max(1, shape.timeoutMs / 1000),
    // How often autocannon checks whether to stop; its default (1s) idles up to a second after the last response.
    sampleInt: 50,
    ...(amount !== undefined ? { amount } : { duration: shape.durationMs / 1000 }),
    ...(shape.rate !== undefined && { overallRate: shape.rate }),
  };

  const started = performance.now();
  let finished: (error: unknown) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    finished = (error) => (error ? reject(error) : resolve());
  });
  const instance = autocannon(options, (error) => finished(error));
  let wakeEarly = () => {};
  const onAbort = () => {
    instance.stop();
    wakeEarly();
  };
  run.signal?.addEventListener("abort", onAbort, { once: true });
  if (run.signal?.aborted) instance.stop();
  const hardStop =
    shape.rate !== undefined && shape.requests === undefined
      ? setTimeout(() => instance.stop(), shape.durationMs + 1000)
      : undefined;

  instance.on("response", (_client, statusCode, _bytes, responseTimeMs) => {
    responses++;
    const us = Math.max(1, Math.round(responseTimeMs * 1000));
    latencyUs.recordValue(us);
    if (us > maxUs) maxUs = us;
    const status = String(statusCode);
    bump(statuses, status);
    if (statusCode >= 400) {
      bump(errors, status);
      errorCount++;
    }
  });
  instance.on("reqError", (error: NodeJS.ErrnoException) => {
    bump(errors, error.code ?? (error.message === "request timed out" ? "timeout" : "error"));
    errorCount++;
  });

  const ticker =
    run.onProgress &&
    setInterval(
      () => run.onProgress?.({ responses, errors: errorCount, elapsedMs: performance.now() - started }),
      PROGRESS_EVERY_MS,
    );
  try {
    await done;
    const idle = windowMs - (performance.now() - started);
    if (idle > 0 && !run.signal?.aborted) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, idle);
        wakeEarly = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    if (ticker) clearInterval(ticker);
    clearTimeout(hardStop);
    run.signal?.removeEventListener("abort", onAbort);
  }
  const durationSeconds = (performance.now() - started) / 1000;
  run.onProgress?.({ responses, errors: errorCount, elapsedMs: durationSeconds * 1000 });

  // A percentile is its bucket's upper edge, which can lie above the largest value actually seen.
  const ms = (us: number) => Math.round(Math.min(us, maxUs)) / 1000;
  const latencyMs: LatencyMs =
    responses === 0
      ? { mean: 0, p50: 0, p90: 0, p99: 0, max: 0 }
      : {
          mean: ms(latencyUs.mean),
          p50: ms(latencyUs.getValueAtPercentile(50)),
          p90: ms(latencyUs.getValueAtPercentile(90)),
          p99: ms(latencyUs.getValueAtPercentile(99)),
          max: ms(maxUs),
        };
  latencyUs.destroy();
  return {
    responses,
    durationSeconds: round(durationSeconds, 3),
    requestsPerSecond: round(responses / durationSeconds, 1),
    latencyMs,
    statuses: sortedRecord(statuses),
    errors: sortedRecord(errors),
    errorCount,
  };
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

function sortedRecord(map: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...map.entries()].sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true })));
}
