import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { DOC_RUNS, DOC_SEED, SIMULATION, simulate } from "../scripts/dev/canary-power";
import {
  compareErrors,
  compareLatency,
  DEFAULT_COMPARISON,
  fisherGreater,
  histogramQuantile,
  mannWhitneyGreater,
  median,
} from "../tools/canary/compare";
import { PROJECT_ROOT } from "./support/configs";

const close = (a: number, b: number, tolerance = 1e-6) => assert.ok(Math.abs(a - b) < tolerance, `${a} ≉ ${b}`);

describe("Fisher's exact test, one-sided", () => {
  test("is the hypergeometric upper tail", () => {
    // 3 of 10 canary attempts failed, none of 10 stable: P(X ≥ 3), X ~ Hypergeometric(20, 3, 10) = C(10,3)/C(20,3).
    close(fisherGreater({ attempts: 10, failed: 3 }, { attempts: 10, failed: 0 }), 120 / 1140);
    // No canary failures: the tail is everything.
    close(fisherGreater({ attempts: 10, failed: 0 }, { attempts: 10, failed: 3 }), 1);
  });

  test("a canary as good as stable passes; a clearly worse one fails; a tiny excess is not worth failing for", () => {
    assert.equal(compareErrors({ attempts: 2000, failed: 10 }, { attempts: 2000, failed: 10 }).verdict, "pass");
    assert.equal(compareErrors({ attempts: 2000, failed: 60 }, { attempts: 2000, failed: 10 }).verdict, "fail");
    // Significant but under the 0.5 pp minimum effect.
    const tiny = compareErrors({ attempts: 200_000, failed: 1_600 }, { attempts: 200_000, failed: 1_200 });
    assert.ok((tiny.pValue ?? 1) < DEFAULT_COMPARISON.alpha);
    assert.equal(tiny.verdict, "pass");
  });

  test("prints the p-value and the smallest canary error rate this sample detects", () => {
    const r = compareErrors({ attempts: 2000, failed: 10 }, { attempts: 2000, failed: 10 });
    assert.match(
      r.summary,
      /canary 0\.50% of 2000 vs stable 0\.50% of 2000 attempts, Fisher p = 0\.\d+ \(α 0\.01\); detects ≥ 1\.\d+% at 80% power/,
    );
  });
});

describe("Mann–Whitney U, one-sided", () => {
  test("counts pairs where the canary is slower, ties half, with the normal approximation", () => {
    const r = mannWhitneyGreater({ kind: "samples", values: [4, 5, 6] }, { kind: "samples", values: [1, 2, 3] });
    assert.equal(r.superiority, 1);
    // U = 9, mean 4.5, variance 9/12·7 = 5.25, continuity 0.5: z = 4/√5.25.
    close(r.pValue, 0.5 * (1 - erf(4 / Math.sqrt(5.25) / Math.SQRT2)), 1e-4);
    const tied = mannWhitneyGreater({ kind: "samples", values: [1, 1] }, { kind: "samples", values: [1, 1] });
    assert.equal(tied.superiority, 0.5);
  });

  test("Prometheus buckets are ordered categories: the same data binned per value gives the same test", () => {
    const canary = [10, 20, 20, 30, 40, 40, 40];
    const stable = [10, 10, 20, 30, 30];
    const cumulative = (xs: number[]) =>
      [10, 20, 30, 40, Number.POSITIVE_INFINITY].map((le) => ({ le, count: xs.filter((x) => x <= le).length }));
    const fromSamples = mannWhitneyGreater({ kind: "samples", values: canary }, { kind: "samples", values: stable });
    const fromBuckets = mannWhitneyGreater(
      { kind: "histogram", buckets: cumulative(canary) },
      { kind: "histogram", buckets: cumulative(stable) },
    );
    close(fromBuckets.pValue, fromSamples.pValue);
    close(fromBuckets.superiority, fromSamples.superiority);
  });

  test("medians: exact for samples, histogram_quantile's interpolation for buckets", () => {
    assert.equal(median({ kind: "samples", values: [3, 1, 2, 10] }), 2.5);
    const buckets = [
      { le: 10, count: 20 },
      { le: 50, count: 80 },
      { le: Number.POSITIVE_INFINITY, count: 100 },
    ];
    // Rank 50 of 100 lies 30/60 of the way through the (10, 50] bucket.
    assert.equal(histogramQuantile({ kind: "histogram", buckets }, 0.5), 30);
  });

  test("too few latencies are inconclusive, not a pass or a fail", () => {
    const r = compareLatency({ kind: "samples", values: [900, 950] }, { kind: "samples", values: [10, 20, 30] });
    assert.equal(r.verdict, "inconclusive");
    assert.match(r.summary, /needs ≥ 10 of each/);
  });
});

/** erf through its series, for the expected value above (independent of the code under test). */
function erf(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 60; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

describe("false-alarm rate and power, by seeded simulation at the defaults", () => {
  const page = readFileSync(path.join(PROJECT_ROOT, "docs", "canary.md"), "utf8");
  const headline = SIMULATION.headline;
  const row = new RegExp(`^\\s*${headline} \\|\\s*([\\d.]+)% \\|\\s*([\\d.]+)% \\|\\s*([\\d.]+)%$`, "m").exec(page);

  test("docs/canary.md prints the script's table (scripts/dev/canary-power.ts)", () => {
    assert.ok(row, `docs/canary.md has the ${headline}-per-version row of the power table`);
    assert.match(page, new RegExp(`${DOC_RUNS} seeded runs \\(seed ${DOC_SEED}\\)`));
    assert.match(page, /α = 0\.01 per test, minimum effects \+0\.5 pp errors and ×1\.1 median/);
  });

  test(`at ${headline} requests per version: false alarms ≤ 2α; +1 pp errors and +20% median caught as the page states`, () => {
    const runs = 200;
    const r = simulate(headline, runs, 7);
    const se = (p: number) => Math.sqrt(Math.max(p * (1 - p), 0.01) / runs);
    // Two tests at α each: an as-good canary fails either with probability ≤ 2α.
    assert.ok(r.falseAlarm <= 2 * DEFAULT_COMPARISON.alpha + 3 * se(2 * DEFAULT_COMPARISON.alpha), `${r.falseAlarm}`);
    const [falseAlarm, errorPower, latencyPower] = (row ?? []).slice(1).map((x) => Number(x) / 100);
    assert.ok(
      Math.abs(r.errorPower - (errorPower ?? 0)) <= 4 * se(errorPower ?? 0),
      `error power ${r.errorPower} vs page ${errorPower}`,
    );
    assert.ok(
      Math.abs(r.latencyPower - (latencyPower ?? 0)) <= 4 * se(latencyPower ?? 0),
      `latency power ${r.latencyPower} vs page ${latencyPower}`,
    );
    assert.ok((falseAlarm ?? 1) <= 2 * DEFAULT_COMPARISON.alpha);
  });
});
