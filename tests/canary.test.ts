import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { evaluateGates, percentile, type SplitSample, type SplitTest, sampledHealth } from "../tools/canary/gates";
import { type CanaryPlan, planCanary, type Weights } from "../tools/canary/plan";
import { probeUsers, safeRate } from "../tools/canary/probe";
import { prometheusHealth } from "../tools/canary/prometheus";
import { type CanaryDeps, type CanaryState, interruptionAdvice, runCanary } from "../tools/canary/run";
import { versionOf } from "../tools/verify/checks/gateway";
import { meshConfig } from "./support/configs";

const gates = { maxErrorRate: 0.01, maxP99Ms: 500, requests: 200 };
const plan = (current: Weights, to: number, step: number) =>
  planCanary({ current, stable: "v1", canary: "v2", to, step, pauseMs: 60_000, gates });
const canaryPercents = (p: CanaryPlan) => p.steps.map((s) => s.weights.v2);

describe("canary plan", () => {
  test("moves toward the target in steps, landing exactly on it", () => {
    assert.deepEqual(canaryPercents(plan({ v1: 90, v2: 10 }, 100, 25)), [35, 60, 85, 100]);
    assert.deepEqual(plan({ v1: 90, v2: 10 }, 30, 10).steps, [
      { index: 1, weights: { v1: 80, v2: 20 } },
      { index: 2, weights: { v1: 70, v2: 30 } },
    ]);
  });

  test("moves back toward the stable version too", () => {
    assert.deepEqual(canaryPercents(plan({ v1: 40, v2: 60 }, 0, 30)), [30, 0]);
  });

  test("a run already at the target has no steps", () => {
    assert.deepEqual(plan({ v1: 90, v2: 10 }, 10, 5).steps, []);
  });

  test("every step's weights are integers summing to 100", () => {
    for (const s of plan({ v1: 100, v2: 0 }, 100, 7).steps) {
      assert.equal(
        Object.values(s.weights).reduce((a, b) => a + b, 0),
        100,
      );
      assert.ok(Object.values(s.weights).every(Number.isInteger));
    }
  });
});

const sample = (v1: number, v2: number, serverErrors = 0, latency = 20): SplitSample => ({
  counts: { v1, v2 },
  total: v1 + v2 + serverErrors,
  serverErrors,
  canaryLatenciesMs: Array.from({ length: v2 }, (_, i) => latency + (i % 5)),
});
/** A stand-in for the verifier's split test: passes within 5 points of the expected canary share. */
const nearSplit: SplitTest = (counts, weights) => {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const observed = total === 0 ? 0 : ((counts.v2 ?? 0) / total) * 100;
  return { pass: Math.abs(observed - (weights.v2 ?? 0)) <= 5, summary: `v2 ${observed.toFixed(1)}%` };
};

describe("gates", () => {
  const step = { index: 1, weights: { v1: 80, v2: 20 } };

  test("a healthy step passes split, error rate and p99", () => {
    const s = sample(160, 40);
    const results = evaluateGates(step, { canary: "v2", gates }, s, sampledHealth(s, "v2"), nearSplit);
    assert.deepEqual(
      results.map((r) => [r.gate, r.pass]),
      [
        ["split", true],
        ["canary error rate", true],
        ["canary p99", true],
      ],
    );
  });

  test("without Prometheus every 5xx counts against the canary", () => {
    const health = sampledHealth(sample(150, 40, 10), "v2");
    assert.equal(health.errorRate, 10 / 50);
    const results = evaluateGates(step, { canary: "v2", gates }, sample(150, 40, 10), health, nearSplit);
    assert.equal(results.find((r) => r.gate === "canary error rate")?.pass, false);
  });

  test("a slow canary fails the p99 gate", () => {
    const s = sample(160, 40, 0, 900);
    const results = evaluateGates(step, { canary: "v2", gates }, s, sampledHealth(s, "v2"), nearSplit);
    assert.deepEqual(
      results.filter((r) => !r.pass).map((r) => r.gate),
      ["canary p99"],
    );
  });

  test("a canary with traffic expected but none seen fails, rather than passing on no data", () => {
    const s = sample(200, 0);
    const results = evaluateGates(step, { canary: "v2", gates }, s, sampledHealth(s, "v2"), nearSplit);
    assert.deepEqual(
      results
        .filter((r) => !r.pass)
        .map((r) => r.gate)
        .sort(),
      ["canary error rate", "canary p99", "split"],
    );
  });

  test("at 0% the canary is not judged by health", () => {
    const zero = { index: 1, weights: { v1: 100, v2: 0 } };
    const s = sample(200, 0);
    assert.deepEqual(
      evaluateGates(zero, { canary: "v2", gates }, s, sampledHealth(s, "v2"), nearSplit).map((r) => r.gate),
      ["split"],
    );
  });

  test("percentile is nearest-rank", () => {
    assert.equal(percentile([5, 1, 4, 2, 3], 99), 5);
    assert.equal(percentile([5, 1, 4, 2, 3], 50), 3);
    assert.equal(percentile([], 99), undefined);
  });
});

/** A workspace, prober and clock that record what the run did, with a scripted sample per step. */
function fakes(samples: SplitSample[]) {
  const events: string[] = [];
  let call = 0;
  const deps: CanaryDeps = {
    workspace: {
      setWeights: async (w) => void events.push(`set ${w.v1}/${w.v2}`),
      up: async () => void events.push("up"),
    },
    probe: async () => {
      const s = samples[call++];
      assert.ok(s, "probed more often than scripted");
      return s;
    },
    health: async (_window, s) => sampledHealth(s, "v2"),
    splitTest: nearSplit,
    sleep: async (ms, onTick) => {
      onTick(ms);
      events.push(`wait ${ms}`);
    },
    log: () => {},
    progress: () => {},
  };
  const state: CanaryState = {
    phase: "idle",
    step: undefined,
    configWeights: { v1: 90, v2: 10 },
    lastGood: { v1: 90, v2: 10 },
  };
  return { deps, events, state };
}

describe("runCanary", () => {
  test("sets the config, runs up, waits and gates at every step, then reports promotion", async () => {
    const { deps, events, state } = fakes([sample(140, 60), sample(100, 100)]);
    const outcome = await runCanary(plan({ v1: 90, v2: 10 }, 50, 20), deps, state);
    assert.deepEqual(outcome, { status: "promoted", weights: { v1: 50, v2: 50 } });
    assert.deepEqual(events, ["set 70/30", "up", "wait 60000", "set 50/50", "up", "wait 60000"]);
  });

  test("a failed gate rolls back to the last good weights and says why", async () => {
    const { deps, events, state } = fakes([sample(140, 60), sample(100, 90, 10)]);
    const outcome = await runCanary(plan({ v1: 90, v2: 10 }, 50, 20), deps, state);
    assert.ok(outcome.status === "rolled back");
    assert.deepEqual(outcome.weights, { v1: 70, v2: 30 });
    assert.equal(outcome.failedStep.index, 2);
    assert.deepEqual(
      outcome.failures.map((f) => f.gate),
      ["canary error rate"],
    );
    assert.deepEqual(events.slice(-2), ["set 70/30", "up"]);
    assert.deepEqual(state.configWeights, { v1: 70, v2: 30 });
  });

  test("an interruption names the config's weights and how to resume", () => {
    const state: CanaryState = {
      phase: "up",
      step: { index: 2, weights: { v1: 50, v2: 50 } },
      configWeights: { v1: 50, v2: 50 },
      lastGood: { v1: 75, v2: 25 },
    };
    const advice = interruptionAdvice(state, "npm run canary -- --to 100 --step 25");
    assert.match(advice, /interrupted while up \(step 2\)/);
    assert.match(advice, /config holds canaryWeights v1 50% \/ v2 50%; an `up` was in progress/);
    assert.match(advice, /passed their gates: v1 75% \/ v2 25%/);
    assert.match(advice, /Resume with: npm run canary -- --to 100 --step 25/);
  });
});

describe("probe", () => {
  test("classifies by the first v<digits> token, not the v of Service", () => {
    assert.equal(versionOf("User Service v2 - canary (NEW)"), "v2");
    assert.equal(versionOf("User Service v1 - stable"), "v1");
    assert.equal(versionOf("Service unavailable"), undefined);
  });

  test("paces below every pod's rate-limit budget at the step's weights", () => {
    const cfg = meshConfig({ rateLimit: { requests: 60, per: "60s" } });
    // v2 has one pod: at 100% it alone takes everything, 1 request/s, with 20% headroom.
    assert.equal(safeRate(cfg, { v1: 0, v2: 100 }), 0.8);
    // At 90/10, v1's three pods get 0.9 of the traffic: 3/0.9 = 3.33/s; v2: 1/0.1 = 10/s.
    assert.ok(Math.abs((safeRate(cfg, { v1: 90, v2: 10 }) ?? 0) - 0.8 * (3 / 0.9)) < 1e-9);
    assert.equal(safeRate(meshConfig({ rateLimit: false }), { v1: 50, v2: 50 }), undefined);
  });

  test("samples /users through a gateway stand-in, with the token, counting versions and 5xx", async () => {
    const bodies = ["User Service v1 - stable", "User Service v2 - canary (NEW)", "", "User Service v1 - stable"];
    let i = 0;
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      const body = bodies[i++ % bodies.length] ?? "";
      res.writeHead(body === "" ? 503 : 200).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const sample = await probeUsers({
        url: `http://127.0.0.1:${port}`,
        token: "t0k",
        requests: 8,
        canary: "v2",
        timeoutMs: 2000,
        sleep: async () => {},
      });
      assert.deepEqual(sample.counts, { v1: 4, v2: 2 });
      assert.equal(sample.serverErrors, 2);
      assert.equal(sample.total, 8);
      assert.equal(sample.canaryLatenciesMs.length, 2);
      assert.ok(seen.every((h) => h === "Bearer t0k"));
    } finally {
      server.close();
    }
  });
});

describe("canary health from Prometheus", () => {
  test("queries the canary's own server-side series over the step's window", async () => {
    const asked: string[] = [];
    const answers: Record<string, number> = { increase: 400, "5..": 2, histogram_quantile: 123.4 };
    const query = async (promql: string) => {
      asked.push(promql);
      if (promql.includes("5..")) return answers["5.."];
      return promql.startsWith("histogram_quantile") ? answers.histogram_quantile : answers.increase;
    };
    const health = await prometheusHealth(query, "user-service", "v2", 60_000);
    assert.deepEqual(health, { source: "prometheus", requests: 400, errorRate: 2 / 400, p99Ms: 123.4 });
    for (const q of asked) {
      assert.match(q, /reporter="destination",destination_service_name="user-service",destination_version="v2"/);
      assert.match(q, /\[60s\]/);
    }
  });

  test("no series means no canary traffic, which the gates refuse", async () => {
    const health = await prometheusHealth(async () => undefined, "user-service", "v2", 30_000);
    assert.deepEqual(health, { source: "prometheus", requests: 0, errorRate: 0, p99Ms: undefined });
  });
});
