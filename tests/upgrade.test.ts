/**
 * `npm run upgrade`: the plan (pure, step by step), then tools/upgrade/main.ts in-process against the
 * strict stand-ins: tools/lib/stackWorkspace.ts on the stub `pulumi` (tests/support/pulumiCli.ts,
 * a DIY backend with passphrase secrets) and the stub `kubectl` (tests/support/stubKubectl.ts: rollout
 * restart and status as kubernetes/kubectl does them). `verify` is a function the test gives, which
 * records what the stack and the cluster held when it ran. Each run asserts where the stack's config
 * (Pulumi.dev.yaml, written by the stub), its `up`s and the restarted Deployments end up.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import YAML from "yaml";
import { buildMeshSpec, installedControlPlane } from "../components/meshSpec";
import { parseMeshConfig } from "../config/parse";
import { EXIT, runCli } from "../tools/lib/cli";
import { CtrlC } from "../tools/lib/interrupt";
import { kubectlSession } from "../tools/lib/kubectl";
import { main } from "../tools/upgrade/main";
import { changeBetween, formatPlan, planUpgrade, type UpgradeStep, upgradeRefusal } from "../tools/upgrade/plan";
import type { VerifyResult } from "../tools/upgrade/run";
import { meshConfig, PROJECT_ROOT } from "./support/configs";
import { scratchDir } from "./support/scratchDir";
import { type StubKubectl, writeStubKubectl } from "./support/stubKubectl";
import { PulumiStub, type StubProgram, toolProject } from "./support/stubPulumi";

const ON = { revisions: { enabled: true } };
const titles = (steps: readonly UpgradeStep[]) => steps.map((s) => `${s.n} ${s.kind}: ${s.title}`);

describe("the upgrade plan (pure)", () => {
  test("seven steps, in Istio's canary-upgrade order, each config step's change and resulting state", () => {
    const plan = planUpgrade(meshConfig(ON), "1.30.4", 2);
    assert.deepEqual(titles(plan.steps), [
      "1 config: install revision 1-30-4 (istiod 1.30.4) beside 1-30-3; istio-base to 1.30.4",
      "2 config: move prod-canary to 1-30-4",
      "3 restart: restart the canary (prod-canary)",
      "4 verify: npm run verify against the stack",
      "5 config: move prod-stable to 1-30-4",
      "6 restart: restart the rest (prod-stable) in batches of 2",
      "7 config: remove revision 1-30-3: istioVersion 1.30.4",
    ]);
    const configSteps = plan.steps.flatMap((s) => (s.kind === "config" ? [[s.change, s.after]] : []));
    assert.deepEqual(configSteps[0], [
      { set: { "revisions.upgradeTo": "1.30.4" }, remove: [] },
      { istioVersion: "1.30.3", upgradeTo: "1.30.4", stableVersion: "1.30.3", canaryVersion: "1.30.3" },
    ]);
    assert.deepEqual(configSteps[3], [
      {
        set: { istioVersion: "1.30.4" },
        remove: ["revisions.upgradeTo", "revisions.stableVersion", "revisions.canaryVersion"],
      },
      { istioVersion: "1.30.4", upgradeTo: undefined, stableVersion: "1.30.4", canaryVersion: "1.30.4" },
    ]);
    const restarts = plan.steps.flatMap((s) =>
      s.kind === "restart" ? [s.batches.map((b) => b.map((w) => `${w.namespace}/${w.deployment}`))] : [],
    );
    assert.deepEqual(restarts, [
      [["istio-ingress/istio-ingressgateway"]],
      [
        ["backend/user-service-v1", "backend/user-service-v2"],
        ["backend/product-service-v1", "backend/order-service-v1"],
        ["backend/mesh-client", "istio-egress/istio-egressgateway"],
      ],
    ]);
  });

  test("every step's config is one the program accepts, and renders the revisions it says", () => {
    let raw: Record<string, unknown> = { ...ON };
    for (const step of planUpgrade(meshConfig(ON), "1.30.4", 3).steps) {
      if (step.kind !== "config") continue;
      raw = applyChange(raw, step.change);
      const cfg = parseMeshConfig(raw);
      assert.deepEqual(cfg.revisions.stableVersion, step.after.stableVersion);
      const installed = installedControlPlane(buildMeshSpec(cfg));
      const names = [installed?.istiod, ...(installed?.revisions?.otherIstiods ?? [])].map((r) => r?.name).sort();
      assert.deepEqual(names, step.after.upgradeTo ? ["istiod-1-30-3", "istiod-1-30-4"] : ["istiod-1-30-4"]);
    }
    assert.deepEqual(raw, { istioVersion: "1.30.4", revisions: { enabled: true } });
  });

  test("a stopped run resumes: what the config records is skipped, restarts and verify run again", () => {
    const cfg = meshConfig({ revisions: { enabled: true, upgradeTo: "1.30.4", canaryVersion: "1.30.4" } });
    assert.deepEqual(
      titles(planUpgrade(cfg, "1.30.4", 2).steps).map((t) => t.split(":")[0]),
      ["1 restart", "2 verify", "3 config", "4 restart", "5 config"],
    );
    assert.deepEqual(
      changeBetween(planUpgrade(cfg, "1.30.4", 2).before, {
        ...planUpgrade(cfg, "1.30.4", 2).before,
        canaryVersion: "1.30.3",
        upgradeTo: undefined,
      }),
      { set: {}, remove: ["revisions.upgradeTo", "revisions.stableVersion", "revisions.canaryVersion"] },
    );
  });

  test("what stops it before any change", () => {
    assert.match(upgradeRefusal(meshConfig(), "1.30.4") ?? "", /revisions are off/);
    assert.match(upgradeRefusal(meshConfig(ON), "1.30.3") ?? "", /already runs 1.30.3/);
    assert.match(upgradeRefusal(meshConfig(ON), "1.33.0") ?? "", /at most two minor releases/);
    const pending = meshConfig({ revisions: { enabled: true, upgradeTo: "1.30.4" } });
    assert.match(upgradeRefusal(pending, "1.31.0") ?? "", /an upgrade to 1.30.4 is under way/);
    assert.equal(upgradeRefusal(meshConfig(ON), "1.31.0"), undefined);
    const adopted = meshConfig({ clusterMode: "existing", existingIstio: { revision: "prod-stable" } });
    assert.match(
      upgradeRefusal(adopted, "1.30.4") ?? "",
      /^this stack uses the cluster's istiod \(istio-mesh:existingIstio, revision prod-stable\), not one of its own/,
    );
  });

  test("the printed plan names every step, workload and the way back", () => {
    const text = formatPlan(planUpgrade(meshConfig(ON), "1.30.4", 2));
    assert.match(text, /^upgrade plan: Istio 1\.30\.3 → 1\.30\.4/);
    assert.match(text, /batch 3: backend\/mesh-client, istio-egress\/istio-egressgateway/);
    assert.match(text, /on any failure or Ctrl-C before step 7: both tags back on 1-30-3/);
  });
});

describe("npm run upgrade as a CLI", () => {
  const cli = async (argv: readonly string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const io = {
      stdout: (l: string) => out.push(l),
      stderr: (l: string) => err.push(l),
      progress: () => {},
      isTTY: false,
    };
    const code = await runCli(
      "upgrade",
      () => main(argv, { projectRoot: PROJECT_ROOT, io, env: {} }),
      (l) => err.push(l),
    );
    return { code, out: out.join("\n"), err };
  };

  test("--help: exit 0, the seven steps and the exit codes", async () => {
    const r = await cli(["--help"]);
    assert.equal(r.code, EXIT.ok);
    assert.match(r.out, /^usage: npm run upgrade -- --to VERSION/);
    assert.match(r.out, /7\. remove the old revision/);
    assert.match(r.out, /exit codes: 0 upgraded .*2 could not start .*130 interrupted/s);
  });

  test("bad flags: one line each, exit 2, nothing run", async () => {
    assert.deepEqual(await cli(["--bogus"]), {
      code: EXIT.usage,
      out: "",
      err: ["upgrade: Unknown option '--bogus' (see npm run upgrade -- --help)"],
    });
    const r = await cli(["--to", "latest", "--batch", "0"]);
    assert.equal(r.code, EXIT.usage);
    assert.deepEqual(r.err, [
      'upgrade: --to "latest": an exact Istio release such as 1.30.4\n--batch "0": an integer from 1 to 50\n(see npm run upgrade -- --help)',
    ]);
    const real = await cli(["--to", "1.30.4", "--config", "Pulumi.dev.yaml"]);
    assert.match(real.err.join(""), /--config reads a stack file for --dry-run/);
  });

  test("--dry-run --config on a stack that uses the cluster's istiod: one line, exit 2", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "upgrade-existing-"));
    const file = path.join(dir, "Pulumi.platform.yaml");
    const config = { "istio-mesh:clusterMode": "existing", "istio-mesh:existingIstio": { revision: "prod-stable" } };
    fs.writeFileSync(file, YAML.stringify({ config }));
    try {
      const r = await cli(["--to", "1.30.4", "--dry-run", "--config", file]);
      assert.equal(r.code, EXIT.usage);
      assert.equal(r.err.length, 1);
      assert.match(r.err[0] ?? "", /^upgrade: this stack uses the cluster's istiod .*\(nothing was changed\)$/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("--dry-run --config on a stack without revisions: refused, nothing changed", async () => {
    const r = await cli(["--to", "1.30.4", "--dry-run", "--config", path.join(PROJECT_ROOT, "Pulumi.dev.yaml")]);
    assert.equal(r.code, EXIT.usage);
    assert.match(r.err.join(""), /revisions are off on this stack .*\(nothing was changed\)$/);
  });
});

/** `pulumi config set --path` semantics on a raw config map, for the plan's own changes. */
function applyChange(raw: Record<string, unknown>, change: { set: Record<string, string>; remove: readonly string[] }) {
  const next = structuredClone(raw) as Record<string, Record<string, unknown> | unknown>;
  for (const [key, value] of Object.entries(change.set)) {
    const [head, field] = key.split(".") as [string, string | undefined];
    if (field === undefined) next[head] = value;
    else next[head] = { ...(next[head] as object), [field]: value };
  }
  for (const key of change.remove) {
    const [head, field] = key.split(".") as [string, string];
    delete (next[head] as Record<string, unknown>)[field];
  }
  return next;
}

// ---------------------------------------------------------------------------------------------
// Against the stub pulumi and kubectl

const PASSPHRASE = "test";

interface World {
  readonly project: string;
  readonly pulumi: PulumiStub;
  readonly kubectl: StubKubectl;
  /** The project's config keys in Pulumi.dev.yaml now. */
  config(): Record<string, unknown>;
  /** `up`s the stub ran, in order, with the revisions config each deployed. */
  ups(): unknown[];
}

const saved: Record<string, string | undefined> = {};
before(() => {
  for (const k of [
    "PATH",
    "PULUMI_HOME",
    "PULUMI_CONFIG_PASSPHRASE",
    "PULUMI_CONFIG_PASSPHRASE_FILE",
    "PULUMI_BACKEND_URL",
    "STACK",
  ]) {
    saved[k] = process.env[k];
  }
});
after(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

/** A deployed stack with revisions on, and a cluster holding every Deployment the plan restarts. */
async function world(program: StubProgram = {}, kubectlBehaviour = {}): Promise<World> {
  const dir = scratchDir("upgrade-stack-");
  const project = toolProject(path.join(dir, "project"));
  const config = { "istio-mesh:revisions": { enabled: true }, "istio-mesh:observability": { enabled: false } };
  fs.writeFileSync(path.join(project, "Pulumi.dev.yaml"), YAML.stringify({ config }));
  const pulumi = new PulumiStub(path.join(dir, "pulumi"));
  const outputs = { gatewayUrls: { http: "http://127.0.0.1:9", https: "https://127.0.0.1:9" } };
  pulumi.seedStack(project, "dev", { passphrase: PASSPHRASE, outputs });
  pulumi.program({ outputs, ...program });
  Object.assign(process.env, {
    PATH: `${pulumi.bin}${path.delimiter}${saved.PATH}`,
    PULUMI_HOME: path.join(dir, "pulumi-home"),
    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
  });
  for (const k of ["PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_BACKEND_URL", "STACK"]) delete process.env[k];

  const kubectl = writeStubKubectl(path.join(dir, "kubectl"));
  kubectl.behave(kubectlBehaviour);
  const plan = planUpgrade(meshConfig(ON), "1.30.4", 2);
  const workloads = [...plan.canary, ...plan.rest];
  const items = [
    ...[...new Set(workloads.map((w) => w.namespace))].map((name) => ({ kind: "Namespace", metadata: { name } })),
    ...workloads.map((w) => ({
      kind: "Deployment",
      metadata: { name: w.deployment, namespace: w.namespace },
      spec: { template: { metadata: { labels: { app: w.deployment } } } },
    })),
  ];
  await kubectlSession({}, kubectl.bin).run(["apply", "-f", "-"], { stdin: JSON.stringify({ kind: "List", items }) });
  return {
    project,
    pulumi,
    kubectl,
    config: () => {
      const all = pulumi.config(project, "dev");
      return Object.fromEntries(
        Object.entries(all).flatMap(([k, v]) =>
          k.startsWith("istio-mesh:") ? [[k.slice("istio-mesh:".length), v]] : [],
        ),
      );
    },
    ups: () =>
      pulumi
        .history(project, "dev")
        .filter((h) => h.kind === "update")
        .reverse()
        .map((h) => ({
          result: h.result,
          revisions: JSON.parse(h.config["istio-mesh:revisions"]?.value ?? "null"),
          istioVersion: h.config["istio-mesh:istioVersion"]?.value,
        })),
  };
}

interface Seen {
  readonly config: Record<string, unknown>;
  readonly restarts: Record<string, number>;
}

async function upgrade(
  w: World,
  verify: (seen: Seen, ctrlC: CtrlC) => VerifyResult = () => ({ passed: true, summary: "every check passed" }),
  args: readonly string[] = [],
  ctrlC = new CtrlC(
    () => {},
    Date.now,
    () => false,
    "moving the tags back",
  ),
): Promise<{ code: number; out: string[]; err: string[]; seen: Seen[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const seen: Seen[] = [];
  const code = await runCli(
    "upgrade",
    () =>
      main(["--to", "1.30.4", "--stack", "dev", ...args], {
        projectRoot: w.project,
        io: { stdout: (l) => out.push(l), stderr: (l) => err.push(l), progress: () => {}, isTTY: false },
        kubectl: kubectlSession({}, w.kubectl.bin).run,
        verify: async () => {
          const now = { config: w.config(), restarts: w.kubectl.restarts() };
          seen.push(now);
          return verify(now, ctrlC);
        },
        ctrlC,
      }),
    (l) => err.push(l),
  );
  return { code, out, err, seen };
}

const ALL_RESTARTED_ONCE = {
  "istio-ingress/istio-ingressgateway": 1,
  "backend/user-service-v1": 1,
  "backend/user-service-v2": 1,
  "backend/product-service-v1": 1,
  "backend/order-service-v1": 1,
  "backend/mesh-client": 1,
  "istio-egress/istio-egressgateway": 1,
};

describe("npm run upgrade against the stub pulumi and kubectl", { concurrency: false }, () => {
  test("success: one revision left, both tags on it, every workload restarted once after its tag moved", async () => {
    const w = await world();
    const { code, out, err, seen } = await upgrade(w);
    assert.equal(code, EXIT.ok, err.join("\n"));
    assert.deepEqual(w.config(), {
      revisions: { enabled: true },
      observability: { enabled: false },
      istioVersion: "1.30.4",
    });
    assert.deepEqual(w.ups(), [
      { result: "succeeded", revisions: { enabled: true, upgradeTo: "1.30.4" }, istioVersion: undefined },
      {
        result: "succeeded",
        revisions: { enabled: true, upgradeTo: "1.30.4", canaryVersion: "1.30.4" },
        istioVersion: undefined,
      },
      {
        result: "succeeded",
        revisions: { enabled: true, upgradeTo: "1.30.4", canaryVersion: "1.30.4", stableVersion: "1.30.4" },
        istioVersion: undefined,
      },
      { result: "succeeded", revisions: { enabled: true }, istioVersion: "1.30.4" },
    ]);
    // verify ran with the canary on the new revision and restarted, the rest untouched.
    assert.deepEqual(seen, [
      {
        config: {
          revisions: { enabled: true, upgradeTo: "1.30.4", canaryVersion: "1.30.4" },
          observability: { enabled: false },
        },
        restarts: { "istio-ingress/istio-ingressgateway": 1 },
      },
    ]);
    assert.deepEqual(w.kubectl.restarts(), ALL_RESTARTED_ONCE);
    assert.ok(out.includes("upgraded: Istio 1.30.4, one revision, both tags on it"));
  });

  test("verify fails: tags back, the canary restarted again, the new revision removed; exit 1", async () => {
    const w = await world();
    const { code, out, err } = await upgrade(w, () => ({ passed: false, summary: "canary-split failed" }));
    assert.equal(code, EXIT.failed);
    assert.match(err.join("\n"), /verify failed: canary-split failed/);
    assert.deepEqual(w.config(), { revisions: { enabled: true }, observability: { enabled: false } });
    const ups = w.ups() as { revisions: unknown }[];
    assert.deepEqual(
      ups.map((u) => u.revisions),
      [
        { enabled: true, upgradeTo: "1.30.4" },
        { enabled: true, upgradeTo: "1.30.4", canaryVersion: "1.30.4" },
        { enabled: true, upgradeTo: "1.30.4" },
        { enabled: true },
      ],
    );
    assert.deepEqual(w.kubectl.restarts(), { "istio-ingress/istio-ingressgateway": 2 });
    assert.ok(out.some((l) => l.startsWith("rolled back: verify failed")));
  });

  test("the up that moves prod-stable fails: the same restore; nothing of the rest was restarted", async () => {
    const outputs = { gatewayUrls: { http: "http://127.0.0.1:9", https: "https://127.0.0.1:9" } };
    const w = await world({
      next: { outputs, next: { outputs, fail: { up: "helm: release istiod-1-30-4 failed" }, next: { outputs } } },
    });
    const { code, err } = await upgrade(w);
    assert.equal(code, EXIT.failed);
    assert.match(err.join("\n"), /pulumi up.*failed.*istiod-1-30-4/);
    assert.deepEqual(w.config(), { revisions: { enabled: true }, observability: { enabled: false } });
    // The stub records no history entry for an `up` it fails (pulumiCli.ts fails it before its engine runs).
    assert.equal(w.pulumi.calls().filter((c) => c.argv[0] === "up").length, 5);
    assert.deepEqual(
      (w.ups() as { revisions: unknown }[]).map((u) => u.revisions),
      [
        { enabled: true, upgradeTo: "1.30.4" },
        { enabled: true, upgradeTo: "1.30.4", canaryVersion: "1.30.4" },
        { enabled: true, upgradeTo: "1.30.4" },
        { enabled: true },
      ],
    );
    assert.deepEqual(w.kubectl.restarts(), { "istio-ingress/istio-ingressgateway": 2 });
  });

  test("a batch's rollout never completes: every workload restarted so far is restarted again", async () => {
    const w = await world({}, { failRollout: "user-service-v2" });
    const { code, err } = await upgrade(w);
    assert.equal(code, EXIT.failed);
    assert.match(err.join("\n"), /deployment "user-service-v2" exceeded its progress deadline/);
    assert.deepEqual(w.config(), { revisions: { enabled: true }, observability: { enabled: false } });
    // The restore's own rollout of user-service-v2 fails as well: the message says so.
    assert.match(err.join("\n"), /restoring failed too/);
    assert.deepEqual(w.kubectl.restarts(), {
      "istio-ingress/istio-ingressgateway": 2,
      "backend/user-service-v1": 2,
      "backend/user-service-v2": 2,
    });
  });

  test("Ctrl-C while verifying: exit 130, restored as after a failure", async () => {
    const w = await world();
    const { code, out } = await upgrade(w, (_seen, ctrlC) => {
      ctrlC.received();
      return { passed: true, summary: "every check passed" };
    });
    assert.equal(code, EXIT.interrupted);
    assert.deepEqual(w.config(), { revisions: { enabled: true }, observability: { enabled: false } });
    assert.deepEqual(w.kubectl.restarts(), { "istio-ingress/istio-ingressgateway": 2 });
    assert.ok(out.some((l) => l.startsWith("interrupted: interrupted (Ctrl-C)")));
  });

  test("Ctrl-C during the up that moves prod-canary: the up gets one SIGINT and cancels, then the restore", async () => {
    const outputs = { gatewayUrls: { http: "http://127.0.0.1:9", https: "https://127.0.0.1:9" } };
    const w = await world({ next: { outputs, waitForSignal: ["up"], next: { outputs } } });
    const ctrlC = new CtrlC(
      () => {},
      Date.now,
      () => false,
      "moving the tags back",
    );
    const run = upgrade(w, undefined, [], ctrlC);
    // A bound for a loaded machine, not a timing assertion.
    for (let i = 0; i < 2400 && !w.pulumi.waiting().includes("up"); i++) await delay(50);
    ctrlC.received();
    const { code } = await run;
    assert.equal(code, EXIT.interrupted);
    assert.deepEqual(w.pulumi.signals(), ["SIGINT"]);
    assert.deepEqual(w.config(), { revisions: { enabled: true }, observability: { enabled: false } });
    assert.deepEqual(w.kubectl.restarts(), {});
  });

  test("checks before changing: a stack that does not exist; one line, nothing changed, exit 2", async () => {
    const w = await world();
    // The later --stack wins (node:util parseArgs), as `npm run upgrade -- --stack nope` would give.
    const { code, err } = await upgrade(w, undefined, ["--stack", "nope"]);
    assert.equal(code, EXIT.usage);
    assert.deepEqual(err, [
      "upgrade: `pulumi stack select --stack nope` failed: error: no stack named 'nope' found (nothing was changed)",
    ]);
    assert.deepEqual(w.config(), { revisions: { enabled: true }, observability: { enabled: false } });
    assert.deepEqual(w.ups(), []);
    assert.deepEqual(w.kubectl.restarts(), {});
  });

  test("checks before changing: a Deployment it would restart is missing; nothing changed, exit 2", async () => {
    const w = await world();
    await kubectlSession({}, w.kubectl.bin).run(["delete", "namespace", "istio-egress"]);
    const { code, err } = await upgrade(w);
    assert.equal(code, EXIT.usage);
    assert.match(err.join("\n"), /cannot restart istio-egress\/istio-egressgateway: .*NotFound.*nothing was changed/);
    assert.deepEqual(w.config(), { revisions: { enabled: true }, observability: { enabled: false } });
    assert.deepEqual(w.ups(), []);
  });
});
