/**
 * `npm run canary` end to end: the entry point (tools/canary/main.ts as its own process), the
 * Automation API's LocalWorkspace and Stack, and a stub `pulumi` on PATH that behaves like the real
 * CLI (tests/support/stubPulumi.ts names the upstream files it follows). A stand-in gateway on
 * 127.0.0.1 answers /users with exact proportions of the weights the stub last deployed. Every test
 * asserts where the stack's config (Pulumi.<stack>.yaml, written by the stub) ends up.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import YAML from "yaml";
import { LAST_GOOD_TAG } from "../tools/canary/workspace";
import { type StubPulumi, type StubState, stubPulumi } from "./support/canaryPulumiStub";
import { PROJECT_ROOT } from "./support/configs";

const MAIN = path.join(PROJECT_ROOT, "tools", "canary", "main.ts");
/** tsx's loader by file URL: the child runs in the stack's own project directory, outside this repo. */
const TSX = pathToFileURL(path.join(PROJECT_ROOT, "node_modules", "tsx", "dist", "loader.mjs")).href;
const START = { v1: 90, v2: 10 };

/** A gateway stand-in serving exact proportions of the weights `stub` last deployed; beta requests go to v2. */
async function gatewayFor(deployed: () => Record<string, number>): Promise<{ server: Server; url: string }> {
  let served = 0;
  const server = createServer((req, res) => {
    const share = deployed().v2 ?? 0;
    const i = served++;
    const isCanary =
      req.headers["x-user-type"] === "beta" || Math.floor(((i + 1) * share) / 100) > Math.floor((i * share) / 100);
    res.writeHead(200).end(isCanary ? "User Service v2 - canary (NEW)\n" : "User Service v1 - stable\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

interface World {
  readonly project: string;
  readonly stub: StubPulumi;
  /** canaryWeights in Pulumi.dev.yaml now. */
  weights(): Record<string, number>;
  setWeightCalls(): string[][];
}

async function world(
  options: { observability?: boolean; passphrase?: boolean; current?: string | null } = {},
): Promise<World> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-stack-"));
  const project = path.join(dir, "project");
  fs.mkdirSync(path.join(project, "policies", "config"), { recursive: true });
  fs.copyFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
  fs.writeFileSync(path.join(project, "policies", "config", "dev.json"), "{}\n");
  const stackFile = {
    ...(options.passphrase && { encryptionsalt: "v1:c2FsdA==:v1:AAAA:BBBB" }),
    config: {
      "istio-mesh:canaryWeights": START,
      "istio-mesh:observability": { enabled: options.observability === true },
      "istio-mesh:rateLimit": false,
    },
  };
  fs.writeFileSync(path.join(project, "Pulumi.dev.yaml"), YAML.stringify(stackFile));
  let stub: StubPulumi | undefined;
  const gateway = await gatewayFor(() => stub?.state().stacks.dev?.deployed ?? {});
  servers.push(gateway.server);
  const gatewayUrl = gateway.url;
  const initial: StubState = {
    current: options.current === undefined ? "dev" : options.current,
    stacks: {
      dev: {
        outputs: { gatewayUrls: { http: gatewayUrl, https: gatewayUrl }, demoToken: "demo-token" },
        secretOutputs: ["demoToken"],
        tags: {},
        deployed: { ...START },
        updates: 1,
      },
    },
    knobs: {},
  };
  stub = stubPulumi(dir, initial);
  const created = stub;
  return {
    project,
    stub: created,
    weights: () =>
      YAML.parse(fs.readFileSync(path.join(project, "Pulumi.dev.yaml"), "utf8")).config["istio-mesh:canaryWeights"],
    setWeightCalls: () => created.calls().filter((c) => c[0] === "config" && c[1] === "set-all"),
  };
}

interface Run {
  readonly child: ChildProcess;
  readonly done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function canary(w: World, args: readonly string[], env: Record<string, string | undefined> = {}): Run {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${w.stub.bin}${path.delimiter}${process.env.PATH}`,
    ...w.stub.env,
    PULUMI_CONFIG_PASSPHRASE: undefined,
    PULUMI_CONFIG_PASSPHRASE_FILE: undefined,
    STACK: undefined,
    NO_COLOR: "1",
    ...env,
  };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  // Its own process group, as a terminal's foreground job: a group signal reaches it and `pulumi`.
  const child = spawn(process.execPath, ["--import", TSX, MAIN, ...args], {
    cwd: w.project,
    env: childEnv,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done };
}

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
    if (w.stub.callRecords().some((r) => r.event === "up started")) return;
    await delay(50);
  }
  throw new Error("the stub never started an up");
}

// Each test is its own project, stub and gateway, so they run side by side.
describe("npm run canary against a stub pulumi, through the Automation API", { concurrency: 4 }, () => {
  test("without --stack it uses the stack pulumi has selected, never an empty --stack", async () => {
    const w = await world();
    const { code, stdout, stderr } = await canary(w, ["--steps", "20,30", ...FAST]).done;
    assert.equal(code, 0, stderr);
    const calls = w.stub.calls();
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
    assert.equal(w.stub.state().stacks.dev?.tags[LAST_GOOD_TAG], JSON.stringify({ v1: 70, v2: 30 }));
  });

  test("--header-stage judges beta requests on the canary before the first weight moves", async () => {
    const w = await world({ current: null });
    const run = canary(w, ["--stack", "dev", "--header-stage", "--steps", "20", ...FAST]);
    const { code, stdout, stderr } = await run.done;
    assert.equal(code, 0, stderr);
    const header = stdout.indexOf("header stage: gates");
    assert.ok(header > 0 && header < stdout.indexOf("\nstep 1/1: v1 80% / v2 20%\n"), stdout);
    assert.match(stdout, /header stage: gates\n {2}PASS split\s+expected v2 100%; observed v2 100\.0%/);
    assert.deepEqual(w.weights(), { v1: 80, v2: 20 });
  });

  test("with no stack selected and no --stack it refuses before changing anything, as the CLI would", async () => {
    const w = await world({ current: null });
    const { code, stderr } = await canary(w, ["--to", "30", ...FAST]).done;
    assert.equal(code, 2);
    assert.match(stderr, /canary: no stack selected: pass --stack NAME, set STACK, or `pulumi stack select NAME`/);
    assert.deepEqual(w.setWeightCalls(), []);
    assert.deepEqual(w.weights(), START);
  });

  test("STACK picks the stack when --stack is absent", async () => {
    const w = await world({ current: null });
    const { code, stderr } = await canary(w, ["--steps", "20", ...FAST], { STACK: "dev" }).done;
    assert.equal(code, 0, stderr);
    assert.deepEqual(w.weights(), { v1: 80, v2: 20 });
  });

  test("a passphrase stack without PULUMI_CONFIG_PASSPHRASE is refused before the config changes", async () => {
    const w = await world({ passphrase: true });
    const { code, stderr } = await canary(w, ["--to", "30", ...FAST]).done;
    assert.equal(code, 2);
    assert.match(stderr, /encrypts its secrets with a passphrase: set PULUMI_CONFIG_PASSPHRASE/);
    assert.deepEqual(w.setWeightCalls(), []);
    assert.ok(!w.stub.calls().some((c) => c[0] === "up"));
    assert.deepEqual(w.weights(), START);
  });

  test("with the passphrase set, the same stack runs", async () => {
    const w = await world({ passphrase: true });
    const { code, stderr } = await canary(w, ["--steps", "20", ...FAST], { PULUMI_CONFIG_PASSPHRASE: "s3cret" }).done;
    assert.equal(code, 0, stderr);
    assert.deepEqual(w.weights(), { v1: 80, v2: 20 });
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
    w.stub.update((s) => {
      s.knobs.failUps = 1;
    });
    const { code, stderr } = await canary(w, ["--steps", "20,30", ...FAST]).done;
    assert.equal(code, 1);
    assert.match(stderr, /rolled back to v1 90% \/ v2 10%: `pulumi up` failed: error: update failed/);
    assert.deepEqual(w.weights(), START);
    assert.deepEqual(w.stub.state().stacks.dev?.deployed, START);
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
    w.stub.update((s) => {
      s.knobs.policyMaxCanary = 30;
    });
    const { code, stderr } = await canary(w, ["--steps", "20,30,50", ...FAST]).done;
    assert.equal(code, 1);
    assert.match(
      stderr,
      /rolled back to v1 80% \/ v2 20%: `pulumi up \(policy violation: \[mandatory\]\s+canary-weight-limit/,
    );
    assert.deepEqual(w.weights(), { v1: 80, v2: 20 });
    assert.deepEqual(w.stub.state().stacks.dev?.deployed, { v1: 80, v2: 20 });
    assert.equal(w.stub.state().stacks.dev?.tags[LAST_GOOD_TAG], JSON.stringify({ v1: 80, v2: 20 }));
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

  for (const target of ["the process group, as a terminal does", "our process alone"] as const) {
    test(`Ctrl-C during up, sent to ${target}: pulumi sees exactly one SIGINT, the run restores and exits 130`, async () => {
      const w = await world();
      w.stub.update((s) => {
        s.knobs.slowUps = 1;
        s.knobs.upMs = 60_000;
      });
      const run = canary(w, ["--steps", "20,30", ...FAST]);
      await untilUpStarted(w);
      const pid = run.child.pid ?? 0;
      process.kill(target === "our process alone" ? pid : -pid, "SIGINT");
      const { code, stderr } = await run.done;
      assert.equal(code, 130, stderr);
      assert.deepEqual(w.stub.signals(), ["SIGINT"]);
      assert.deepEqual(w.weights(), START);
      assert.deepEqual(w.stub.state().stacks.dev?.deployed, START);
      assert.equal(w.stub.calls().filter((c) => c[0] === "up").length, 2, "the cancelled up, then the restoring one");
    });
  }
});
