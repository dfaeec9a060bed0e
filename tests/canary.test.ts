import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { DEFAULT_COMPARISON } from "../tools/canary/compare";
import { humanLines, notificationBody } from "../tools/canary/events";
import { evaluateGates, percentile, type SplitSample, type SplitTest } from "../tools/canary/gates";
import { type CanaryPlan, planCanary, type Weights } from "../tools/canary/plan";
import { ProbeRefused, probeUsers, safeRate } from "../tools/canary/probe";
import { type PromSample, versionMetrics, versionQueries } from "../tools/canary/prometheus";
import { abandonedState, type CanaryDeps, type CanaryState, runCanary } from "../tools/canary/run";
import { ACK_GRACE_MS, CtrlC, DEBOUNCE_MS } from "../tools/lib/interrupt";
import { PLAIN } from "../tools/lib/style";
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

  test("--steps lists the shares, as Argo Rollouts' setWeight; a first share equal to now is no step", () => {
    const p = planCanary({
      current: { v1: 95, v2: 5 },
      stable: "v1",
      canary: "v2",
      to: undefined,
      step: 10,
      shares: [5, 10, 25, 50, 100],
      pauseMs: 60_000,
      gates,
    });
    assert.deepEqual(canaryPercents(p), [10, 25, 50, 100]);
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

const sample = (v1: number, v2: number, serverErrors = 0, v2Latency = 20): SplitSample => ({
  counts: { v1, v2 },
  total: v1 + v2 + serverErrors,
  serverErrors,
  latenciesMs: {
    v1: Array.from({ length: v1 }, (_, i) => 20 + (i % 5)),
    v2: Array.from({ length: v2 }, (_, i) => v2Latency + (i % 5)),
  },
});
/** A stand-in for the verifier's split test: passes within 5 points of the expected canary share. */
const nearSplit: SplitTest = (counts, weights) => {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const observed = total === 0 ? 0 : ((counts.v2 ?? 0) / total) * 100;
  return { pass: Math.abs(observed - (weights.v2 ?? 0)) <= 5, summary: `v2 ${observed.toFixed(1)}%` };
};
const verdicts = (results: { gate: string; verdict: string }[]) => results.map((r) => [r.gate, r.verdict]);

/** Prometheus's per-version figures as versionMetrics builds them. */
const promMetrics = (v2: { attempts: number; failed: number }, v1 = { attempts: 2000, failed: 2 }) => {
  const buckets = (n: number) => [
    { le: 25, count: n * 0.5 },
    { le: 50, count: n * 0.9 },
    { le: 100, count: n },
    { le: Number.POSITIVE_INFINITY, count: n },
  ];
  return {
    v1: { ...v1, latency: { kind: "histogram" as const, buckets: buckets(v1.attempts) } },
    v2: { ...v2, latency: { kind: "histogram" as const, buckets: buckets(v2.attempts) } },
  };
};

describe("gates", () => {
  const evidence = (
    s: SplitSample,
    metrics?: ReturnType<typeof promMetrics>,
    expected: Weights = { v1: 80, v2: 20 },
  ) => ({
    expected,
    stable: "v1",
    canary: "v2",
    sample: s,
    metrics,
  });

  test("without Prometheus: split, p99 and latency against stable from the probe's samples; no error gate", () => {
    const results = evaluateGates(
      evidence(sample(160, 40)),
      { ...gates, maxErrorRate: undefined },
      DEFAULT_COMPARISON,
      nearSplit,
    );
    assert.deepEqual(verdicts(results), [
      ["split", "pass"],
      ["canary p99", "pass"],
      ["latency vs stable", "pass"],
    ]);
  });

  test("with Prometheus the error gate counts failed attempts at the destination, retries included", () => {
    // 30% of attempts fail: the client would see 0.3^4 ≈ 0.8% after three retries, under a 1% gate.
    const results = evaluateGates(
      evidence(sample(160, 40), promMetrics({ attempts: 800, failed: 240 })),
      gates,
      DEFAULT_COMPARISON,
      nearSplit,
    );
    const errorGate = results.find((r) => r.gate === "canary error rate");
    assert.equal(errorGate?.verdict, "fail");
    assert.match(errorGate?.observed ?? "", /30\.00% of 800 attempts \(Prometheus, reporter=destination\)/);
    const vsStable = results.find((r) => r.gate === "errors vs stable");
    assert.equal(vsStable?.verdict, "fail");
    assert.match(vsStable?.observed ?? "", /Fisher p = .*detects ≥/);
  });

  test("a slow canary fails the p99 gate", () => {
    const results = evaluateGates(
      evidence(sample(160, 40, 0, 900)),
      { ...gates, maxErrorRate: undefined },
      DEFAULT_COMPARISON,
      nearSplit,
    );
    assert.equal(results.find((r) => r.gate === "canary p99")?.verdict, "fail");
  });

  test("a canary with traffic expected but none seen fails, rather than passing on no data", () => {
    const results = evaluateGates(
      evidence(sample(200, 0), promMetrics({ attempts: 0, failed: 0 })),
      gates,
      DEFAULT_COMPARISON,
      nearSplit,
    );
    assert.deepEqual(
      results
        .filter((r) => r.verdict === "fail")
        .map((r) => r.gate)
        .sort(),
      ["canary error rate", "canary p99", "split"],
    );
    assert.equal(results.find((r) => r.gate === "errors vs stable")?.verdict, "inconclusive");
  });

  test("at 0% the canary is not judged; with no stable traffic it is not compared", () => {
    const zero = evaluateGates(
      evidence(sample(200, 0), undefined, { v1: 100, v2: 0 }),
      gates,
      DEFAULT_COMPARISON,
      nearSplit,
    );
    assert.deepEqual(verdicts(zero), [["split", "pass"]]);
    const all = evaluateGates(
      evidence(sample(0, 200), promMetrics({ attempts: 500, failed: 0 }), { v2: 100 }),
      gates,
      DEFAULT_COMPARISON,
      () => ({ pass: true, summary: "" }),
    );
    assert.deepEqual(
      all.map((r) => r.gate),
      ["split", "canary error rate", "canary p99"],
    );
  });

  test("percentile is nearest-rank", () => {
    assert.equal(percentile([5, 1, 4, 2, 3], 99), 5);
    assert.equal(percentile([5, 1, 4, 2, 3], 50), 3);
    assert.equal(percentile([], 99), undefined);
  });
});

/** A workspace, prober and clock that record what the run did, with a scripted sample per interval. */
function fakes(samples: SplitSample[], options: { lastGood?: Weights; failUp?: number } = {}) {
  const events: string[] = [];
  let call = 0;
  let ups = 0;
  let tag = options.lastGood;
  const interrupt = new AbortController();
  const deps: CanaryDeps = {
    workspace: {
      stackName: "dev",
      setWeights: async (w) => void events.push(`set ${w.v1}/${w.v2}`),
      up: async () => {
        events.push("up");
        if (++ups === options.failUp) throw new Error("`pulumi up` failed: error: update failed");
      },
      lastGood: async () => tag,
      recordLastGood: async (w) => {
        tag = w;
        events.push(`good ${w.v1}/${w.v2}`);
      },
    },
    probe: async () => {
      const s = samples[call++];
      assert.ok(s, "probed more often than scripted");
      return s;
    },
    metrics: async () => undefined,
    splitTest: nearSplit,
    wait: async () => {},
    now: () => 0,
    emit: (e) => events.push(`event ${e.event}`),
    interrupt: interrupt.signal,
    guardedUp: (up) => up({}),
  };
  const state: CanaryState = { phase: "starting", step: undefined, configWeights: {}, lastGood: undefined };
  return { deps, events, state, interrupt, tag: () => tag };
}

const run = { threshold: 1, headerStage: false, onFail: "rollback" as const, comparison: DEFAULT_COMPARISON };
const noErrorGate = (p: CanaryPlan): CanaryPlan => ({ ...p, gates: { ...p.gates, maxErrorRate: undefined } });

describe("runCanary", () => {
  test("gates the deployed weights first, then sets, ups and gates every step, recording each pass", async () => {
    const { deps, events, state, tag } = fakes([sample(180, 20), sample(140, 60), sample(100, 100)]);
    const outcome = await runCanary(noErrorGate(plan({ v1: 90, v2: 10 }, 50, 20)), run, deps, state);
    assert.deepEqual(outcome, { status: "promoted", weights: { v1: 50, v2: 50 } });
    assert.deepEqual(
      events.filter((e) => !e.startsWith("event")),
      ["good 90/10", "set 70/30", "up", "good 70/30", "set 50/50", "up", "good 50/50"],
    );
    assert.deepEqual(tag(), { v1: 50, v2: 50 });
  });

  test("a failed gate rolls back to the last good weights and says why", async () => {
    const { deps, events, state } = fakes([sample(180, 20), sample(140, 60), sample(150, 50, 0, 900)]);
    const outcome = await runCanary(noErrorGate(plan({ v1: 90, v2: 10 }, 50, 20)), run, deps, state);
    if (outcome.status !== "rolled back") assert.fail(outcome.status);
    assert.deepEqual(outcome.weights, { v1: 70, v2: 30 });
    assert.ok(outcome.failures.some((f) => f.gate === "canary p99"));
    assert.deepEqual(events.filter((e) => !e.startsWith("event")).slice(-2), ["set 70/30", "up"]);
    assert.deepEqual(state.configWeights, { v1: 70, v2: 30 });
  });

  test("--threshold K: a step fails only after K failed checks", async () => {
    const slow = sample(150, 50, 0, 900);
    const { deps, state } = fakes([sample(180, 20), slow, sample(150, 50)]);
    const outcome = await runCanary(
      noErrorGate(plan({ v1: 90, v2: 10 }, 25, 15)),
      { ...run, threshold: 2 },
      deps,
      state,
    );
    assert.equal(outcome.status, "promoted");
  });

  test("a resumed run whose deployed weights fail their gate goes back to the recorded last good ones", async () => {
    const { deps, events, state } = fakes([sample(150, 50, 0, 900)], { lastGood: { v1: 80, v2: 20 } });
    const outcome = await runCanary(noErrorGate(plan({ v1: 60, v2: 40 }, 100, 20)), run, deps, state);
    assert.equal(outcome.status, "rolled back");
    assert.deepEqual(outcome.weights, { v1: 80, v2: 20 });
    assert.deepEqual(
      events.filter((e) => !e.startsWith("event")),
      ["set 80/20", "up"],
    );
  });

  test("a failing up restores the last good weights; --on-fail pause restores them too and pauses", async () => {
    const failing = fakes([sample(180, 20)], { failUp: 1 });
    const outcome = await runCanary(noErrorGate(plan({ v1: 90, v2: 10 }, 30, 10)), run, failing.deps, failing.state);
    assert.equal(outcome.status, "rolled back");
    assert.deepEqual(failing.events.filter((e) => !e.startsWith("event")).slice(-2), ["set 90/10", "up"]);
    const gate = fakes([sample(180, 20), sample(150, 50, 0, 900)]);
    const paused = await runCanary(
      noErrorGate(plan({ v1: 90, v2: 10 }, 30, 15)),
      { ...run, onFail: "pause" },
      gate.deps,
      gate.state,
    );
    assert.equal(paused.status, "paused");
    assert.deepEqual(paused.weights, { v1: 90, v2: 10 });
  });

  test("the header stage judges beta requests, all on the canary, before any weight moves", async () => {
    const { deps, events, state } = fakes([sample(200, 0), sample(0, 100), sample(180, 20)]);
    const intervals: boolean[] = [];
    const probe = deps.probe;
    const outcome = await runCanary(
      noErrorGate(plan({ v1: 100, v2: 0 }, 10, 10)),
      { ...run, headerStage: true },
      {
        ...deps,
        probe: (interval, stop) => {
          intervals.push(interval.beta);
          return probe(interval, stop);
        },
      },
      state,
    );
    assert.equal(outcome.status, "promoted");
    assert.deepEqual(intervals, [false, true, false]);
    assert.ok(events.indexOf("event passed") < events.indexOf("set 90/10"));
  });

  test("Ctrl-C restores the last good weights, even mid-step, and reports interrupted", async () => {
    const f = fakes([sample(180, 20)]);
    const deps: CanaryDeps = {
      ...f.deps,
      guardedUp: async (up) => {
        f.interrupt.abort();
        await up({});
      },
    };
    const outcome = await runCanary(noErrorGate(plan({ v1: 90, v2: 10 }, 30, 10)), run, deps, f.state);
    assert.equal(outcome.status, "interrupted");
    assert.deepEqual(f.events.filter((e) => !e.startsWith("event")).slice(-2), ["set 90/10", "up"]);
  });

  test("a second Ctrl-C names what the stack holds", () => {
    const text = abandonedState({
      phase: "up",
      step: { index: 2, weights: { v1: 50, v2: 50 } },
      configWeights: { v1: 50, v2: 50 },
      lastGood: { v1: 75, v2: 25 },
    });
    assert.match(text, /stopped at once while up \(step 2\)\. an `up` was in flight/);
    assert.match(text, /config holds canaryWeights v1 50% \/ v2 50%; last good weights: v1 75% \/ v2 25%/);
  });
});

describe("Ctrl-C reaches pulumi up exactly once", () => {
  /** A fake `up` that resolves when told, recording whether its signal was aborted. */
  function fakeUp() {
    let finish: () => void = () => {};
    const seen: { aborted: boolean; output?: (t: string) => void } = { aborted: false };
    const up = (o: { signal?: AbortSignal; onOutput?: (t: string) => void }) =>
      new Promise<void>((resolve) => {
        o.signal?.addEventListener("abort", () => {
          seen.aborted = true;
        });
        if (o.onOutput) seen.output = o.onOutput;
        finish = resolve;
      });
    return { up, seen, finish: () => finish() };
  }

  /** A CtrlC for one press: a second one fails the test; no terminal, no foreground group. */
  const onePressCtrlC = () =>
    new CtrlC(
      () => assert.fail("not a second press"),
      () => 0,
      () => false,
    );

  test("when the CLI acknowledges the signal (it got the terminal's), nothing more is sent", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const ctrlC = onePressCtrlC();
    const f = fakeUp();
    const running = ctrlC.guardedUp(f.up, () => {});
    ctrlC.received();
    f.seen.output?.("^C received; cancelling. If you would like to terminate immediately, press ^C again.\n");
    t.mock.timers.tick(ACK_GRACE_MS);
    f.finish();
    await running;
    assert.equal(f.seen.aborted, false);
    assert.equal(ctrlC.signal.aborted, true);
  });

  test("when only our process was signalled, exactly one SIGINT is forwarded after the grace period", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const ctrlC = onePressCtrlC();
    const f = fakeUp();
    const running = ctrlC.guardedUp(f.up, () => {});
    ctrlC.received();
    assert.equal(f.seen.aborted, false);
    t.mock.timers.tick(ACK_GRACE_MS);
    assert.equal(f.seen.aborted, true);
    f.finish();
    await running;
  });

  test("in the terminal's foreground group the terminal delivered it: nothing is forwarded", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const ctrlC = new CtrlC(
      () => {},
      () => 0,
      () => true,
    );
    const f = fakeUp();
    const running = ctrlC.guardedUp(f.up, () => {});
    ctrlC.received();
    t.mock.timers.tick(ACK_GRACE_MS);
    f.finish();
    await running;
    assert.equal(f.seen.aborted, false);
  });

  test("npm's and tsx's relays of the same press count once; a later press exits at once", () => {
    let now = 0;
    let seconds = 0;
    const ctrlC = new CtrlC(
      () => void seconds++,
      () => now,
      () => false,
    );
    ctrlC.received();
    now += DEBOUNCE_MS / 2;
    ctrlC.received();
    assert.equal(seconds, 0);
    now += DEBOUNCE_MS;
    ctrlC.received();
    assert.equal(seconds, 1);
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
    assert.equal(safeRate(cfg, { v1: 0, v2: 100 }), 0.8);
    assert.ok(Math.abs((safeRate(cfg, { v1: 90, v2: 10 }) ?? 0) - 0.8 * (3 / 0.9)) < 1e-9);
    assert.equal(safeRate(meshConfig({ rateLimit: false }), { v1: 50, v2: 50 }), undefined);
  });

  async function serve(status: (i: number) => number, bodies: readonly string[]) {
    let i = 0;
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      const n = i++;
      res.writeHead(status(n)).end(bodies[n % bodies.length]);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { server, seen, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  test("samples /users with the token, counting versions, their latencies and 5xx", async () => {
    const bodies = ["User Service v1 - stable", "User Service v2 - canary (NEW)", "", "User Service v1 - stable"];
    const { server, seen, url } = await serve((i) => (i % 4 === 2 ? 503 : 200), bodies);
    try {
      // A generous timeout: a loaded machine must not turn a slow answer into a failed request.
      const s = await probeUsers({ url, token: "t0k", requests: 8, timeoutMs: 60_000, sleep: async () => {} });
      assert.deepEqual(s.counts, { v1: 4, v2: 2 });
      assert.equal(s.serverErrors, 2);
      assert.equal(s.latenciesMs.v2?.length, 2);
      assert.ok(seen.every((h) => h === "Bearer t0k"));
    } finally {
      server.close();
    }
  });

  for (const [status, said] of [
    [401, /401 Unauthorized: the gateway refused the token/],
    [403, /403 Forbidden: an authorization policy denies/],
    [429, /429 Too Many Requests: the probe was rate-limited/],
  ] as const) {
    test(`a ${status} is reported as what it is, not as missing canary traffic`, async () => {
      const { server, url } = await serve(() => status, ["nope"]);
      try {
        await assert.rejects(
          probeUsers({ url, requests: 5, timeoutMs: 60_000, sleep: async () => {} }),
          (e: Error) => e instanceof ProbeRefused && said.test(e.message),
        );
      } finally {
        server.close();
      }
    });
  }
});

describe("Prometheus", () => {
  test("asks for each version's destination-side series over the interval, by version", async () => {
    const asked: string[] = [];
    const series = (v: string, value: number, le?: string): PromSample => ({
      metric: { destination_version: v, ...(le && { le }) },
      value,
    });
    const query = async (promql: string): Promise<PromSample[]> => {
      asked.push(promql);
      if (promql.includes("_bucket"))
        return [series("v2", 10, "50"), series("v2", 40, "+Inf"), series("v1", 400, "+Inf")];
      if (promql.includes("5..")) return [series("v2", 2)];
      return [series("v1", 400), series("v2", 40)];
    };
    const m = await versionMetrics(query, "user-service", 75_000);
    assert.equal(m.v2?.attempts, 40);
    assert.equal(m.v2?.failed, 2);
    assert.equal(m.v1?.failed, 0);
    assert.deepEqual(m.v2?.latency.buckets, [
      { le: 50, count: 10 },
      { le: Number.POSITIVE_INFINITY, count: 40 },
    ]);
    for (const q of asked) {
      assert.match(q, /reporter="destination",destination_service_name="user-service"/);
      assert.match(q, /\[75s\]/);
    }
    assert.deepEqual(Object.keys(versionQueries("s", 60_000)), ["attempts", "failed", "buckets"]);
  });
});

describe("events", () => {
  const event = {
    event: "rolled back" as const,
    reason: "step 2/3 failed canary p99",
    weights: { v1: 80, v2: 20 },
    restored: true,
  };

  test("Slack gets only the text it accepts; other URLs get the whole event with a text field", () => {
    assert.deepEqual(JSON.parse(notificationBody(event, "https://hooks.slack.com/services/T/B/x")), {
      text: "istio-mesh canary: rolled back: step 2/3 failed canary p99; the stack runs v1 80% / v2 20%",
    });
    const other = JSON.parse(notificationBody(event, "https://ci.example.com/hook"));
    assert.equal(other.event, "rolled back");
    assert.match(other.text, /^istio-mesh canary: rolled back/);
  });

  test("a check prints as a table row per gate", () => {
    const lines = humanLines(
      {
        event: "check",
        stage: "step 1/2",
        check: 1,
        of: 1,
        results: [
          { gate: "split", verdict: "pass", expected: "v1 80% / v2 20%", observed: "v2 20%" },
          { gate: "latency vs stable", verdict: "inconclusive", expected: "x", observed: "y" },
        ],
      },
      PLAIN,
    );
    assert.deepEqual(lines, [
      "step 1/2: gates",
      "  PASS split              expected v1 80% / v2 20%; observed v2 20%",
      "  N/A  latency vs stable  expected x; observed y",
    ]);
  });
});
