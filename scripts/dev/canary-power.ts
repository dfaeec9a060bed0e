/**
 * The canary-vs-stable comparison's false-alarm rate and power, by seeded simulation at the default
 * settings (tools/canary/compare.ts): a canary as good as stable, one 1 percentage point worse in
 * errors, one 20% slower at the median.
 *
 *   tsx scripts/dev/canary-power.ts [--runs 1000] [--seed 1]
 *
 * Stable fails 0.5% of attempts; latencies are log-normal (median 50 ms, σ of log 0.5), as request
 * latencies roughly are. docs/canary.md quotes the output; tests/canaryCompare.test.ts checks that
 * the page and this simulation agree.
 */
import { parseArgs } from "node:util";
import binomial from "@stdlib/random-base-binomial";
import mt19937 from "@stdlib/random-base-mt19937";
import { compareErrors, compareLatency, DEFAULT_COMPARISON } from "../../tools/canary/compare";

export const SIMULATION = {
  stableErrorRate: 0.005,
  worseErrorRate: 0.015,
  medianMs: 50,
  logSigma: 0.5,
  slowerFactor: 1.2,
  /** Requests per version in a step's window the figures are stated at. */
  perVersion: [500, 2000, 5000],
  /** The row the page and the test single out. */
  headline: 2000,
} as const;

export interface PowerRow {
  readonly perVersion: number;
  /** Share of runs where an as-good canary fails either test. */
  readonly falseAlarm: number;
  readonly errorPower: number;
  readonly latencyPower: number;
}

function generator(seed: number) {
  const next = mt19937.factory({ seed });
  const failures = binomial.factory({ seed: seed + 1 });
  const uniform = () => (next() + 0.5) / (mt19937.MAX + 1);
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return {
    failures: (n: number, p: number) => failures(n, p),
    // Whole milliseconds, as a probe measures them (ties and all).
    latencies: (n: number, medianMs: number) =>
      Array.from({ length: n }, () => Math.round(medianMs * Math.exp(SIMULATION.logSigma * normal()))),
  };
}

export function simulate(perVersion: number, runs: number, seed: number): PowerRow {
  const g = generator(seed);
  const s = SIMULATION;
  let falseAlarms = 0;
  let errorCaught = 0;
  let latencyCaught = 0;
  for (let r = 0; r < runs; r++) {
    const stable = { attempts: perVersion, failed: g.failures(perVersion, s.stableErrorRate) };
    const stableLatency = { kind: "samples", values: g.latencies(perVersion, s.medianMs) } as const;
    const same = { attempts: perVersion, failed: g.failures(perVersion, s.stableErrorRate) };
    const sameLatency = { kind: "samples", values: g.latencies(perVersion, s.medianMs) } as const;
    if (compareErrors(same, stable).verdict === "fail" || compareLatency(sameLatency, stableLatency).verdict === "fail")
      falseAlarms++;
    const worse = { attempts: perVersion, failed: g.failures(perVersion, s.worseErrorRate) };
    if (compareErrors(worse, stable).verdict === "fail") errorCaught++;
    const slower = { kind: "samples", values: g.latencies(perVersion, s.medianMs * s.slowerFactor) } as const;
    if (compareLatency(slower, stableLatency).verdict === "fail") latencyCaught++;
  }
  return {
    perVersion,
    falseAlarm: falseAlarms / runs,
    errorPower: errorCaught / runs,
    latencyPower: latencyCaught / runs,
  };
}

/** The table docs/canary.md prints. */
export function powerTable(runs: number, seed: number): string {
  const c = DEFAULT_COMPARISON;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const rows = SIMULATION.perVersion.map((n) => simulate(n, runs, seed));
  return [
    `canary vs stable at α = ${c.alpha} per test, minimum effects +${c.minErrorDiff * 100} pp errors and ×${c.minLatencyRatio} median; ${runs} seeded runs (seed ${seed})`,
    "requests per version | false alarm (either test) | power: +1 pp errors (0.5% → 1.5%) | power: median +20%",
    ...rows.map(
      (r) =>
        `${String(r.perVersion).padStart(20)} | ${pct(r.falseAlarm).padStart(25)} | ${pct(r.errorPower).padStart(36)} | ${pct(r.latencyPower).padStart(18)}`,
    ),
  ].join("\n");
}

/** Runs and seed docs/canary.md's table comes from. */
export const DOC_RUNS = 1000;
export const DOC_SEED = 1;

if (require.main === module) {
  const { values } = parseArgs({ options: { runs: { type: "string" }, seed: { type: "string" } } });
  console.log(powerTable(Number(values.runs ?? DOC_RUNS), Number(values.seed ?? DOC_SEED)));
}
