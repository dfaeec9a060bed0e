/**
 * `npm run canary` end to end: the entry point (tools/canary/main.ts as its own process), its
 * `pulumi` calls (tools/lib/stackWorkspace.ts), and the strict stub `pulumi` on PATH (tests/support/
 * pulumiCli.ts names the upstream files it follows; a DIY file backend with passphrase secrets, as
 * every stack of this project has). A stand-in gateway on 127.0.0.1 answers /users with exact
 * proportions of the weights the stub's last successful update recorded. Every test asserts where
 * the stack's config (Pulumi.<stack>.yaml, written by the stub) ends up.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { LAST_GOOD_TAG } from "../tools/canary/workspace";
import { canary, closeGateways, PASSPHRASE, START, type World, world } from "./support/canaryWorld";

after(closeGateways);

/**
 * Short intervals, and no gate that reads the wall clock: the stand-in answers every version alike, and
 * a loaded test machine must not turn its latencies into a verdict (p99 and the latency comparison are
 * tested on fixed samples in canary.test.ts and canaryCompare.test.ts).
 */
const FAST = [
  "--pause",
  "100ms",
  "--requests",
  "40",
  "--max-error-rate",
  "none",
  "--max-p99",
  "60s",
  "--min-slowdown",
  "1000%",
];

async function untilUpStarted(w: World): Promise<void> {
  // A bound for a loaded machine, not a timing assertion.
  for (let i = 0; i < 3600; i++) {
    if (w.pulumi.waiting().includes("up")) return;
    await delay(50);
  }
  throw new Error("the stub never started waiting in an up");
}

/**
 * One run that four tests read, each for its own claim: one step to 20% on a stack nobody selected,
 * named by STACK alone (no --stack), unlocked by PULUMI_CONFIG_PASSPHRASE_FILE (no
 * PULUMI_CONFIG_PASSPHRASE), with the header stage first; `--require` of a preload that lists, as the
 * process exits, every module it loaded (`require.cache`: the bundle's packages are CommonJS, loaded
 * through `require` even where the source says `import()`). A canary process and its dozen `pulumi`
 * calls cost seconds of CPU; none of these claims needs a run of its own to be shown.
 */
const oneStepRun = once(async () => {
  const w = await world({ selected: false });
  const file = path.join(w.project, "..", "passphrase");
  fs.writeFileSync(file, `${PASSPHRASE}\n`);
  const loadedList = path.join(w.project, "..", "loaded-modules.json");
  const preload = path.join(w.project, "..", "list-loaded-modules.cjs");
  fs.writeFileSync(
    preload,
    `process.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(loadedList)}, JSON.stringify(Object.keys(require.cache))));\n`,
  );
  const result = await canary(w, ["--header-stage", "--steps", "20", ...FAST], {
    STACK: "dev",
    PULUMI_CONFIG_PASSPHRASE: undefined,
    PULUMI_CONFIG_PASSPHRASE_FILE: file,
    NODE_OPTIONS: `--require ${preload}`,
  }).done;
  const loaded: string[] = JSON.parse(fs.readFileSync(loadedList, "utf8"));
  return { w, loaded, ...result };
});

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    made ??= make();
    return made;
  };
}

// Each test (or shared run) is its own project, stub and gateway, so they run side by side.
describe("npm run canary against a stub pulumi", { concurrency: 4 }, () => {
  test("without --stack it uses the stack pulumi has selected, never an empty --stack", async () => {
    const w = await world();
    const { code, stdout, stderr } = await canary(w, ["--steps", "20,30", ...FAST]).done;
    assert.equal(code, 0, stderr);
    const calls = w.calls();
    assert.ok(
      calls.some((c) => c.join(" ") === "stack ls --json --non-interactive"),
      "asks which stack is selected",
    );
    assert.ok(calls.some((c) => c.join(" ") === "stack select --stack dev --non-interactive"));
    assert.ok(!calls.some((c) => c.includes("--stack") && c[c.indexOf("--stack") + 1] === ""), "no empty --stack");
    const ups = calls.filter((c) => c[0] === "up");
    assert.equal(ups.length, 2);
    for (const up of ups) {
      assert.ok(up.includes("--skip-preview") && up.includes("--non-interactive"));
      assert.equal(up[up.indexOf("--policy-pack-config") + 1], path.join(w.project, "policies", "config", "dev.json"));
    }
    assert.match(stdout, /promoted: canaryWeights v1 70% \/ v2 30%/);
    assert.deepEqual(w.weights(), { v1: 70, v2: 30 });
    assert.equal(w.pulumi.tags(w.project, "dev")[LAST_GOOD_TAG], JSON.stringify({ v1: 70, v2: 30 }));
  });

  test("--header-stage judges beta requests on the canary before the first weight moves", async () => {
    const { w, code, stdout, stderr } = await oneStepRun();
    assert.equal(code, 0, stderr);
    const header = stdout.indexOf("header stage: gates");
    assert.ok(header > 0 && header < stdout.indexOf("\nstep 1/1: v1 80% / v2 20%\n"), stdout);
    assert.match(stdout, /header stage: gates\n {2}PASS split\s+expected v2 100%; observed v2 100\.0%/);
    assert.deepEqual(w.weights(), { v1: 80, v2: 20 });
  });

  test("with no stack selected and no --stack it refuses before changing anything, as the CLI would", async () => {
    const w = await world({ selected: false });
    const { code, stderr } = await canary(w, ["--to", "30", ...FAST]).done;
    assert.equal(code, 2);
    assert.match(stderr, /canary: no stack selected: pass --stack NAME, set STACK, or `pulumi stack select NAME`/);
    assert.deepEqual(w.setWeightCalls(), []);
    assert.deepEqual(w.weights(), START);
  });

  test("STACK picks the stack when --stack is absent", async () => {
    const { w, code, stderr } = await oneStepRun();
    assert.equal(code, 0, stderr);
    const ups = w.calls().filter((c) => c[0] === "up");
    assert.ok(ups.length > 0 && ups.every((c) => c[c.indexOf("--stack") + 1] === "dev"), JSON.stringify(ups));
    assert.ok(!w.calls().some((c) => c.join(" ").startsWith("stack ls")), "STACK named it: no selected-stack lookup");
    assert.deepEqual(w.weights(), { v1: 80, v2: 20 });
  });

  test("a passphrase stack without PULUMI_CONFIG_PASSPHRASE is refused before the config changes", async () => {
    const w = await world();
    const { code, stderr } = await canary(w, ["--to", "30", ...FAST], { PULUMI_CONFIG_PASSPHRASE: undefined }).done;
    assert.equal(code, 2);
    assert.match(stderr, /encrypts its secrets with a passphrase: set PULUMI_CONFIG_PASSPHRASE/);
    assert.deepEqual(w.setWeightCalls(), []);
    assert.ok(!w.calls().some((c) => c[0] === "up"));
    assert.deepEqual(w.weights(), START);
  });

  test("a run drives the stack with the pulumi CLI alone: @pulumi/pulumi is never loaded", async () => {
    const { w, code, stderr, loaded } = await oneStepRun();
    assert.equal(code, 0, stderr);
    assert.ok(loaded.includes(w.main), `the preload saw the run's own modules: ${loaded.join(", ")}`);
    const calls = w.calls().map((c) => c.slice(0, 3).join(" "));
    for (const call of [
      "stack select --stack",
      "config set-all --stack",
      "stack tag ls",
      "stack tag set",
      "up --yes --skip-preview",
    ]) {
      assert.ok(calls.includes(call), `the run made \`pulumi ${call} …\`: ${JSON.stringify(calls)}`);
    }
    const sdk = loaded.filter((m) =>
      m.includes(`${path.sep}node_modules${path.sep}@pulumi${path.sep}pulumi${path.sep}`),
    );
    assert.deepEqual(sdk, []);
  });

  test("with PULUMI_CONFIG_PASSPHRASE_FILE instead, the same stack runs", async () => {
    const { w, code, stderr } = await oneStepRun();
    assert.equal(code, 0, stderr);
    assert.deepEqual(w.weights(), { v1: 80, v2: 20 });
    assert.deepEqual(w.deployed(), { v1: 80, v2: 20 });
  });

  test("a lock held by another update (file backend) is refused before the config changes", async () => {
    const w = await world();
    // pkg/backend/diy/lock.go: .pulumi/locks/<org>/<project>/<stack>/<lock id>.json under the state dir.
    const locks = path.join(w.project, ".pulumi-state", ".pulumi", "locks", "organization", "istio-mesh", "dev");
    fs.mkdirSync(locks, { recursive: true });
    fs.writeFileSync(path.join(locks, "0b5f.json"), JSON.stringify({ pid: 4242, username: "ci", hostname: "runner" }));
    const { code, stderr } = await canary(w, ["--to", "30", ...FAST]).done;
    assert.equal(code, 2);
    assert.match(
      stderr,
      /stack dev is locked by another update \(\.pulumi-state\/\.pulumi\/locks\/organization\/istio-mesh\/dev\/0b5f\.json\)/,
    );
    assert.deepEqual(w.setWeightCalls(), []);
    assert.deepEqual(w.weights(), START);
  });

  test("a failing up restores the last good weights, applies them and says what happened (exit 1)", async () => {
    const w = await world();
    // Only the first up fails; the restoring one succeeds.
    w.pulumi.program({ ...w.program, fail: { up: "update failed" }, next: w.program });
    const { code, stderr } = await canary(w, ["--steps", "20,30", ...FAST]).done;
    assert.equal(code, 1);
    assert.match(stderr, /rolled back to v1 90% \/ v2 10%: `pulumi up` failed: error: update failed/);
    assert.deepEqual(w.weights(), START);
    assert.deepEqual(w.deployed(), START);
    assert.deepEqual(
      w.setWeightCalls().map((c) => c.filter((a) => a.includes("="))),
      [
        ["istio-mesh:canaryWeights.v1=80", "istio-mesh:canaryWeights.v2=20"],
        ["istio-mesh:canaryWeights.v1=90", "istio-mesh:canaryWeights.v2=10"],
      ],
    );
  });

  test("a policy violation at a step restores the step before it", async () => {
    const w = await world();
    // The guardrails pass 20%, reject 30% (the second up), pass the restored 20%.
    const violation = {
      pack: "istio-mesh-guardrails@v0.1.0",
      policy: "canary-weight-limit",
      resource: "urn:pulumi:dev::istio-mesh::kubernetes:networking.istio.io/v1:VirtualService::app-routes",
      message: "canary share 30% is above 25%",
    };
    w.pulumi.program({ ...w.program, next: { ...w.program, policyViolations: [violation], next: w.program } });
    const { code, stderr } = await canary(w, ["--steps", "20,30,50", ...FAST]).done;
    assert.equal(code, 1);
    assert.match(
      stderr,
      /rolled back to v1 80% \/ v2 20%: `pulumi up \(policy violation: \[mandatory\]\s+canary-weight-limit/,
    );
    assert.deepEqual(w.weights(), { v1: 80, v2: 20 });
    assert.deepEqual(w.deployed(), { v1: 80, v2: 20 });
    assert.equal(w.pulumi.tags(w.project, "dev")[LAST_GOOD_TAG], JSON.stringify({ v1: 80, v2: 20 }));
  });

  test("a short --pause is refused with the minimum when Prometheus gates the step", async () => {
    const w = await world({ observability: true });
    const { code, stderr } = await canary(w, ["--to", "30", "--pause", "20s"]).done;
    assert.equal(code, 2);
    assert.match(stderr, /--pause 20s is too short for the metrics window: at least 60s \(4 scrape intervals\)/);
    assert.deepEqual(w.setWeightCalls(), []);
    assert.deepEqual(w.weights(), START);
  });

  test("the error gate is refused without observability rather than judged from what retries leave", async () => {
    const w = await world();
    const { code, stderr } = await canary(w, ["--to", "30", "--pause", "100ms"]).done;
    assert.equal(code, 2);
    assert.match(stderr, /the error-rate gate needs Prometheus/);
    assert.deepEqual(w.weights(), START);
  });

  test("a last-good tag that is not a weights map: exit 2 before any change, as --help says", async () => {
    const w = await world();
    // A file backend stores any value (diy/stack_tags.go saveStackTags), so a hand-set tag can be anything.
    w.cli(["stack", "tag", "set", LAST_GOOD_TAG, "not json", "--stack", "dev", "--non-interactive"]);
    const { code, stderr } = await canary(w, ["--to", "30", ...FAST]).done;
    assert.equal(code, 2, stderr);
    assert.match(
      stderr,
      /^canary: stack tag istio-mesh:canary-last-good is not a weights map: not json \(nothing was changed\)$/m,
    );
    assert.deepEqual(w.setWeightCalls(), []);
    assert.ok(!w.calls().some((c) => c[0] === "up"));
    assert.deepEqual(w.weights(), START);
  });

  test("a Pulumi CLI older than 3.211 (no stack tags on a file backend): exit 2, naming the minimum", async () => {
    const w = await world();
    const { code, stderr } = await canary(w, ["--to", "30", ...FAST], { STUB_PULUMI_VERSION: "v3.210.0" }).done;
    assert.equal(code, 2, stderr);
    assert.match(
      stderr,
      /^canary: the Pulumi CLI is older than 3\.211, which stack tags on a file backend need: .*does not support stack tags\)$/m,
    );
    assert.deepEqual(w.setWeightCalls(), []);
    assert.deepEqual(w.weights(), START);
  });

  for (const target of ["the process group, as a terminal does", "our process alone"] as const) {
    test(`Ctrl-C during up, sent to ${target}: pulumi sees exactly one SIGINT, the run restores and exits 130`, async () => {
      const w = await world();
      // The first up waits on the engine until a signal; the restoring one does not.
      w.pulumi.program({ ...w.program, waitForSignal: ["up"], next: w.program });
      const run = canary(w, ["--steps", "20,30", ...FAST]);
      await untilUpStarted(w);
      const pid = run.child.pid ?? 0;
      process.kill(target === "our process alone" ? pid : -pid, "SIGINT");
      const { code, stderr } = await run.done;
      assert.equal(code, 130, stderr);
      assert.deepEqual(w.pulumi.signals(), ["SIGINT"]);
      assert.deepEqual(w.weights(), START);
      assert.deepEqual(w.deployed(), START);
      assert.equal(w.calls().filter((c) => c[0] === "up").length, 2, "the cancelled up, then the restoring one");
    });
  }
});
