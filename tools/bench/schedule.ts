/**
 * When each request of an open-model run is meant to start: the schedule is fixed before the run,
 * whatever the server does (wrk2's constant throughput, k6's constant-arrival-rate). Times are
 * milliseconds from the start of the run.
 *
 * - constant: request i at i / rate, evenly spaced;
 * - poisson: exponential gaps with mean 1 / rate (a Poisson process), seeded, so a run can be repeated.
 *
 * With T worker threads each thread takes its own share: constant arrivals interleave (thread k
 * sends requests k, k + T, k + 2T, ...), Poisson arrivals are T independent processes at rate / T,
 * whose union is a Poisson process at the full rate.
 */
import mt19937 from "@stdlib/random-base-mt19937";

export type Arrivals = "constant" | "poisson";

export interface ScheduleShare {
  readonly arrivals: Arrivals;
  /** Requests per second over all threads. */
  readonly rate: number;
  /** The run's window: no request is scheduled at or after it. */
  readonly windowMs: number;
  readonly thread: number;
  readonly threads: number;
  readonly seed: number;
}

/** The intended start times of one thread's share, in order; finite (ends at the window). */
export function* intendedTimes(share: ScheduleShare): Generator<number, void, void> {
  if (share.arrivals === "constant") {
    const gap = 1000 / share.rate;
    for (let i = share.thread; i * gap < share.windowMs; i += share.threads) yield i * gap;
    return;
  }
  // stdlib's Mersenne Twister directly: this module loads in every worker thread, so it stays light.
  const next = mt19937.factory({ seed: share.seed + share.thread + 1 });
  const random = () => next() / 2 ** 32;
  const meanGap = (1000 * share.threads) / share.rate;
  for (let t = -Math.log(1 - random()) * meanGap; t < share.windowMs; t += -Math.log(1 - random()) * meanGap) {
    yield t;
  }
}
