/**
 * fortio's JSON result (`fortio load -json -`), the part the bench reads: fields as fortio's
 * periodic.RunnerResults, fhttp.HTTPRunnerResults and stats.HistogramData name them (fortio v1.75.2),
 * durations in seconds. `kubectl logs` interleaves fortio's log lines (stderr) with the JSON
 * (stdout), which fortio prints indented from a line holding only "{" to one holding only "}".
 */
import type { LatencyMs } from "../load";

export interface FortioResult {
  readonly Labels: string;
  readonly RequestedQPS: string;
  readonly ActualQPS: number;
  readonly NumThreads: number;
  readonly DurationHistogram: {
    readonly Count: number;
    readonly Avg: number;
    readonly Max: number;
    readonly Percentiles?: readonly { readonly Percentile: number; readonly Value: number }[];
  };
  readonly RetCodes?: Readonly<Record<string, number>>;
}

export interface PathFigures {
  readonly requestedRate: number;
  readonly achievedRate: number;
  readonly connections: number;
  readonly requests: number;
  readonly latencyMs: LatencyMs;
  readonly statuses: Readonly<Record<string, number>>;
}

export class FortioOutputError extends Error {
  override name = "FortioOutputError";
}

/** The JSON object in a Job's log. */
export function fortioJson(log: string): FortioResult {
  const lines = log.split("\n");
  const start = lines.indexOf("{");
  const end = lines.lastIndexOf("}");
  if (start < 0 || end <= start) throw new FortioOutputError("no fortio JSON result in the Job's log");
  try {
    return JSON.parse(lines.slice(start, end + 1).join("\n")) as FortioResult;
  } catch (error) {
    throw new FortioOutputError(`fortio's JSON result does not parse: ${(error as Error).message}`);
  }
}

export function pathFigures(result: FortioResult): PathFigures {
  const h = result.DurationHistogram;
  const at = (p: number) => {
    const found = h.Percentiles?.find((x) => x.Percentile === p);
    if (!found) throw new FortioOutputError(`fortio's result has no p${p} (the Job passes -p 50,90,99,99.9)`);
    return ms(found.Value);
  };
  return {
    requestedRate: Number(result.RequestedQPS),
    achievedRate: Math.round(result.ActualQPS * 10) / 10,
    connections: result.NumThreads,
    requests: h.Count,
    latencyMs: { mean: ms(h.Avg), p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: ms(h.Max) },
    statuses: { ...result.RetCodes },
  };
}

const ms = (seconds: number) => Math.round(seconds * 1e6) / 1000;
