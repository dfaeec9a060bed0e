/**
 * Measures the verifier's false-alarm and detection rates by simulation: many seeded runs of each
 * statistical check against a correct mesh and against wrong ones, at the default sample sizes.
 *
 *   tsx scripts/dev/verify-power.ts [--runs 100000] [--seed 1]
 *
 * Outcomes are drawn with stdlib's seeded binomial generator; the checks' own test functions
 * (tools/verify/stats.ts) decide each run. README.md "Verify" quotes the output.
 */
import { parseArgs } from "node:util";
import binomial from "@stdlib/random-base-binomial";
import { DEFAULT_REQUESTS, delaySample } from "../../tools/verify/plan";
import { DEFAULT_ALPHA, detectableRange, power, proportionTest, splitTest } from "../../tools/verify/stats";

interface Scenario {
  readonly name: string;
  readonly n: number;
  /** Expected proportion (v2 share or fault rate). */
  readonly expected: number;
  /** True proportion the simulated mesh produces. */
  readonly actual: number;
  /** Which sampled outcomes the check cannot see (429s): returns [seen successes, seen total, censored]. */
  readonly censor?: (successes: number, n: number) => [number, number, number];
  /** Use the censoring-blind test that simply drops the 429s (to show why the verifier does not). */
  readonly naive?: boolean;
}

/**
 * A split run against a rate limit that bites: 90/10 over 3 v1 pods and 1 v2 pod with 100 tokens
 * each, 1000 requests sent unpaced. v1 pods (30% of traffic each) run dry after ~333 requests, so 429s
 * fall mostly on v1 and the answered sample over-represents v2.
 */
const unpacedRateLimit: Scenario["censor"] = (v2, n) => {
  const perV1Pod = (n - v2) / 3;
  const throttledV1 = 3 * Math.max(0, Math.round(perV1Pod) - 100);
  const throttledV2 = Math.max(0, v2 - 100);
  const censored = throttledV1 + throttledV2;
  return [v2 - throttledV2, n - censored, censored];
};

function scenarios(requests: number): Scenario[] {
  const delayN = delaySample(requests);
  const [splitLo, splitHi] = detectableRange(requests, 0.1);
  const [abortLo, abortHi] = detectableRange(requests, 0.3);
  const [delayLo, delayHi] = detectableRange(delayN, 0.5);
  return [
    { name: "split 90/10, correct", n: requests, expected: 0.1, actual: 0.1 },
    { name: "split 90/10, mesh at 85/15", n: requests, expected: 0.1, actual: 0.15 },
    { name: `split 90/10, mesh at v2 ${(splitHi * 100).toFixed(1)}%`, n: requests, expected: 0.1, actual: splitHi },
    { name: `split 90/10, mesh at v2 ${(splitLo * 100).toFixed(1)}%`, n: requests, expected: 0.1, actual: splitLo },
    { name: "abort 30%, correct", n: requests, expected: 0.3, actual: 0.3 },
    { name: `abort 30%, mesh at ${(abortHi * 100).toFixed(1)}%`, n: requests, expected: 0.3, actual: abortHi },
    { name: `abort 30%, mesh at ${(abortLo * 100).toFixed(1)}%`, n: requests, expected: 0.3, actual: abortLo },
    { name: "delay 50%, correct", n: delayN, expected: 0.5, actual: 0.5 },
    { name: `delay 50%, mesh at ${(delayHi * 100).toFixed(1)}%`, n: delayN, expected: 0.5, actual: delayHi },
    { name: `delay 50%, mesh at ${(delayLo * 100).toFixed(1)}%`, n: delayN, expected: 0.5, actual: delayLo },
    {
      name: "split 90/10, correct, unpaced into rate limit, 429s censored",
      n: requests,
      expected: 0.1,
      actual: 0.1,
      censor: unpacedRateLimit,
    },
    {
      name: "split 90/10, correct, unpaced into rate limit, 429s dropped (naive)",
      n: requests,
      expected: 0.1,
      actual: 0.1,
      censor: unpacedRateLimit,
      naive: true,
    },
  ];
}

export function simulate(s: Scenario, runs: number, seed: number): number {
  const draw = binomial.factory({ seed });
  let failures = 0;
  for (let run = 0; run < runs; run++) {
    const successes = draw(s.n, s.actual);
    const [seen, total, censored] = s.censor ? s.censor(successes, s.n) : [successes, s.n, 0];
    const verdict = s.name.startsWith("split")
      ? splitTest({ v1: total - seen, v2: seen }, { v1: 90, v2: 10 }, { censored: s.naive ? 0 : censored }).verdict
      : proportionTest(seen, total, s.expected).verdict;
    if (verdict === "fail") failures++;
  }
  return failures / runs;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "100000" },
      seed: { type: "string", default: "1" },
      requests: { type: "string" },
    },
  });
  const runs = Number(values.runs);
  const seed = Number(values.seed);
  const requests = Number(values.requests ?? DEFAULT_REQUESTS);
  console.log(
    `verify-power: ${runs} seeded runs per scenario (seed ${seed}), alpha ${DEFAULT_ALPHA}, --requests ${requests}\n`,
  );
  console.log(`${"scenario".padEnd(70)}  ${"n".padStart(5)}  fail rate  exact`);
  for (const [i, s] of scenarios(requests).entries()) {
    const rate = simulate(s, runs, seed + i);
    const exact = s.censor ? "" : power(s.n, s.expected, s.actual, DEFAULT_ALPHA);
    const exactText = typeof exact === "number" ? `${(exact * 100).toFixed(2)}%` : "–";
    console.log(
      `${s.name.padEnd(70)}  ${String(s.n).padStart(5)}  ${`${(rate * 100).toFixed(3)}%`.padStart(9)}  ${exactText}`,
    );
  }
}

if (require.main === module) main();
