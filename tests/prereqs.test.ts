/**
 * Runs scripts/check-prereqs.sh and scripts/pulumi.sh for real, against stub docker/kind/kubectl/pulumi
 * on a private PATH (tests/support/stubTools.ts): kind and docker keep cluster state, pulumi logs its
 * calls and answers `stack export` / `stack output` from the test's environment.
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { kindClusterSpec, kindCommands, ownerLabelValue } from "../components/cluster/kindConfig";
import { devConfig } from "./support/configs";
import { KindWorld, systemDir } from "./support/stubTools";

const SCRIPTS = path.resolve(__dirname, "..", "scripts");
const PROJECT_ROOT = path.resolve(__dirname, "..");
const CHECK = path.join(SCRIPTS, "check-prereqs.sh");
const WRAPPER = path.join(SCRIPTS, "pulumi.sh");

type Tool = "docker" | "kind" | "kubectl" | "pulumi";
const ALL: readonly Tool[] = ["docker", "kind", "kubectl", "pulumi"];

let root = "";
let sys = { dir: "", bash: "", sh: "" };
let worldCount = 0;

const STUBS: Record<"kubectl" | "pulumi", string> = {
  kubectl: `echo "Client Version: v1.35.0-stub"; echo "Kustomize Version: v5.0.0-stub"`,
  pulumi: `
printf '%s\t%s\t%s\n' "$PWD" "\${PULUMI_K8S_DELETE_UNREACHABLE:-}" "$*" >> "$PULUMI_LOG"
if [ "$1" = config ] && [ "$2" = get ] && [ "$3" = clusterMode ]; then
  if [ -n "\${STUB_CLUSTER_MODE:-}" ]; then echo "$STUB_CLUSTER_MODE"; exit 0; fi
  echo "error: configuration key 'istio-mesh:clusterMode' not found for stack" >&2
  exit 1
fi
if [ "$1" = stack ] && [ "$2" = export ]; then
  printf '%s\n' "\${STUB_STATE_EXPORT:-{"version": 3, "deployment": {}}}"
  exit 0
fi
if [ "$1" = stack ] && [ "$2" = output ] && [ "$3" = clusterName ]; then
  if [ -n "\${STUB_OUTPUT_CLUSTER:-}" ]; then echo "$STUB_OUTPUT_CLUSTER"; exit 0; fi
  echo "error: current stack does not have output property 'clusterName'" >&2
  exit 1
fi
if [ "$1" = version ]; then echo "v3.270.0-stub"; fi
exit 0`,
};

/** A fresh world whose stub dir holds exactly `tools`. */
function world(tools: readonly Tool[]): KindWorld {
  const w = new KindWorld(
    path.join(root, `world-${worldCount++}`),
    sys.bash,
    tools.filter((t): t is "kind" | "docker" => t === "kind" || t === "docker"),
  );
  for (const tool of tools) if (tool === "kubectl" || tool === "pulumi") w.stub(tool, STUBS[tool]);
  return w;
}

interface Run {
  readonly status: number | null;
  readonly out: string;
  /** Arguments of each pulumi stub call, in order. */
  readonly pulumiCalls: readonly string[];
  /** Working directories of the pulumi stub calls. */
  readonly pulumiCwds: readonly string[];
  /** PULUMI_K8S_DELETE_UNREACHABLE as each pulumi call saw it. */
  readonly deleteUnreachable: readonly string[];
  readonly world: KindWorld;
}

function run(
  script: string,
  args: readonly string[],
  tools: readonly Tool[],
  env: Record<string, string> = {},
  setup: (w: KindWorld) => void = () => {},
): Run {
  const w = world(tools);
  setup(w);
  const log = path.join(w.state, "pulumi.log");
  const res = spawnSync("bash", [script, ...args], {
    cwd: root, // not the project root: pulumi.sh must find its own way there
    env: { PATH: `${w.stubs}:${sys.dir}`, HOME: root, PULUMI_LOG: log, STUB_STATE: w.state, ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
  if (res.error) throw res.error;
  const lines = fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\n").filter(Boolean) : [];
  const fields = lines.map((l) => l.split("\t"));
  return {
    status: res.status,
    out: res.stdout + res.stderr,
    pulumiCalls: fields.map((f) => f.slice(2).join("\t")),
    pulumiCwds: fields.map((f) => f[0] ?? ""),
    deleteUnreachable: fields.map((f) => f[1] ?? ""),
    world: w,
  };
}

/** Calls other than the `version` probe check-prereqs.sh makes and the cluster check's reads. */
const commands = (r: Run) =>
  r.pulumiCalls.filter((c) => c !== "version" && !c.startsWith("stack export") && !c.startsWith("stack output"));

before(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "prereqs-test-")));
  sys = systemDir(root);
});

after(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

test("the scripts' PATH hides the machine's real tools", () => {
  const w = world([]);
  const res = spawnSync("bash", ["-c", "for t in docker kind kubectl pulumi; do command -v $t || true; done"], {
    env: { PATH: `${w.stubs}:${sys.dir}` },
    encoding: "utf8",
  });
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.stdout, "", `real tools leaked into the test PATH: ${res.stdout}`);
  for (const entry of fs.readdirSync(sys.dir)) assert.ok(["bash", "sh", "timeout"].includes(entry), entry);
});

describe("check-prereqs.sh", () => {
  test("all present: exit 0, a version line for each tool", () => {
    const r = run(CHECK, [], ALL);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /OK\s+docker\s+Docker version 28\.0\.0-stub/);
    assert.match(r.out, /OK\s+kind\s+kind v0\.33\.0 go1\.24\.0/);
    assert.match(r.out, /OK\s+kubectl\s+Client Version: v1\.35\.0-stub/);
    assert.doesNotMatch(r.out, /Kustomize/, "only the first version line");
    assert.match(r.out, /OK\s+pulumi\s+v3\.270\.0-stub/);
    assert.match(r.out, /prerequisites: all present\s*$/);
  });

  test("kind and kubectl missing: exit 1, both named with install hints, 2 missing", () => {
    const r = run(CHECK, [], ["docker", "pulumi"]);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /MISSING\s+kind\s.*https:\/\/kind\.sigs\.k8s\.io\/docs\/user\/quick-start\/#installation/);
    assert.match(r.out, /MISSING\s+kind\s.*v0\.33\.0 or newer/);
    assert.match(r.out, /MISSING\s+kubectl\s.*https:\/\/kubernetes\.io\/docs\/tasks\/tools\//);
    assert.match(r.out, /OK\s+docker/);
    assert.match(r.out, /OK\s+pulumi/);
    assert.match(r.out, /prerequisites: 2 to fix\s*$/);
  });

  test("docker and pulumi missing: their install hints", () => {
    const r = run(CHECK, [], ["kind", "kubectl"]);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /MISSING\s+docker\s.*https:\/\/docs\.docker\.com\/get-docker\//);
    assert.match(r.out, /MISSING\s+pulumi\s.*https:\/\/www\.pulumi\.com\/docs\/iac\/download-install\//);
    assert.match(r.out, /prerequisites: 2 to fix/);
  });

  test("docker present but `docker info` failing: the daemon isn't running", () => {
    const r = run(CHECK, [], ALL, { STUB_DOCKER_INFO_FAIL: "1" });
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /OK\s+docker/);
    assert.match(r.out, /Docker daemon isn't running/);
    assert.match(r.out, /prerequisites: 1 to fix/);
  });

  test("--existing-cluster needs only kubectl and pulumi", () => {
    const r = run(CHECK, ["--existing-cluster"], ["kubectl", "pulumi"]);
    assert.equal(r.status, 0, r.out);
    assert.doesNotMatch(r.out, /docker|kind/i);
    assert.match(r.out, /prerequisites: all present/);
  });

  test("--existing-cluster still requires kubectl", () => {
    const r = run(CHECK, ["--existing-cluster"], ["pulumi"]);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /MISSING\s+kubectl/);
    assert.match(r.out, /prerequisites: 1 to fix/);
  });

  test("a failing version probe of kubectl is reported, not fatal", () => {
    const r = run(CHECK, [], ALL, {}, (w) => w.stub("kubectl", "exit 3"));
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /OK\s+kubectl\s+version unknown/);
  });

  test("kind v0.29 is refused, naming v0.33.0", () => {
    const r = run(CHECK, [], ALL, { STUB_KIND_VERSION: "v0.29.0" });
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /TOO-OLD\s+kind\s+kind v0\.29\.0 go1\.24\.0 linux\/amd64: install kind v0\.33\.0 or newer/);
    assert.match(r.out, /prerequisites: 1 to fix/);
  });

  test("kind versions are compared as numbers; a pre-release counts by its release", () => {
    for (const [version, ok] of [
      ["v0.33.0", true],
      ["v0.33.1", true],
      ["v0.34.0-alpha+5c1c3d6e", true],
      ["v1.0.0", true],
      ["v0.32.9", false],
      ["v0.4.0", false],
    ] as const) {
      const r = run(CHECK, [], ALL, { STUB_KIND_VERSION: version });
      assert.equal(r.status, ok ? 0 : 1, `${version}: ${r.out}`);
    }
  });

  test("a kind whose version can't be read is not taken on trust", () => {
    const r = run(CHECK, [], ALL, {}, (w) => w.stub("kind", "exit 3"));
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /UNKNOWN\s+kind\s+version unknown: can't tell the version; install kind v0\.33\.0 or newer/);
  });

  test("Docker on cgroup v1: says so before kind fails with a kubelet error", () => {
    const r = run(CHECK, [], ALL, { STUB_DOCKER_CGROUP: "1" });
    assert.equal(r.status, 1, r.out);
    assert.match(
      r.out,
      /CGROUP-1\s+docker\s+containers run on cgroup v1, which Kubernetes 1\.35 .* refuses by default/,
    );
    assert.match(r.out, /systemd\.unified_cgroup_hierarchy=1/);
    assert.match(r.out, /cgroup_no_v1=all/);
    assert.ok(r.world.calls().includes("docker info --format {{.CgroupVersion}}"), r.world.calls().join("\n"));
  });

  test("Docker that doesn't report its cgroup version: the host's hierarchy decides", () => {
    const v1 = path.join(root, "cgroup-v1");
    const v2 = path.join(root, "cgroup-v2");
    fs.mkdirSync(v1, { recursive: true });
    fs.mkdirSync(v2, { recursive: true });
    fs.writeFileSync(path.join(v2, "cgroup.controllers"), "cpuset cpu io memory pids\n");
    const old = run(CHECK, [], ALL, { STUB_DOCKER_CGROUP: "", ISTIO_MESH_CGROUP_ROOT: v1 });
    assert.equal(old.status, 1, old.out);
    assert.match(old.out, /CGROUP-1\s+docker/);
    const unified = run(CHECK, [], ALL, { STUB_DOCKER_CGROUP: "", ISTIO_MESH_CGROUP_ROOT: v2 });
    assert.equal(unified.status, 0, unified.out);
    // No hierarchy to look at (macOS, Docker Desktop's VM): no claim either way.
    const none = run(CHECK, [], ALL, { STUB_DOCKER_CGROUP: "", ISTIO_MESH_CGROUP_ROOT: path.join(root, "absent") });
    assert.equal(none.status, 0, none.out);
  });

  test("unknown flag: usage, exit 2", () => {
    const r = run(CHECK, ["--bogus"], ALL);
    assert.equal(r.status, 2, r.out);
    assert.match(r.out, /usage:/);
  });
});

describe("pulumi.sh", () => {
  test("up: selects/creates dev, then runs pulumi up from the project root", () => {
    const r = run(WRAPPER, ["up", "--yes"], ALL);
    assert.equal(r.status, 0, r.out);
    assert.deepEqual(commands(r), [
      "stack select --create dev",
      "config get clusterMode --stack dev",
      "up --stack dev --yes",
    ]);
    assert.ok(r.pulumiCalls.includes("version"), "prerequisites were checked");
    assert.ok(
      r.pulumiCwds.every((cwd) => cwd === PROJECT_ROOT),
      r.pulumiCwds.join(", "),
    );
  });

  test("STACK=ci uses the ci stack", () => {
    const r = run(WRAPPER, ["preview"], ALL, { STACK: "ci" });
    assert.equal(r.status, 0, r.out);
    assert.deepEqual(commands(r), [
      "stack select --create ci",
      "config get clusterMode --stack ci",
      "preview --stack ci",
    ]);
  });

  test("clusterMode existing: proceeds without docker or kind", () => {
    const r = run(WRAPPER, ["up"], ["kubectl", "pulumi"], { STUB_CLUSTER_MODE: "existing" });
    assert.equal(r.status, 0, r.out);
    assert.equal(commands(r).at(-1), "up --stack dev");
  });

  test("clusterMode kind (explicit): missing kind aborts before pulumi up", () => {
    const r = run(WRAPPER, ["up"], ["docker", "kubectl", "pulumi"], { STUB_CLUSTER_MODE: "kind" });
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /MISSING\s+kind/);
    assert.ok(!r.pulumiCalls.some((c) => c.startsWith("up")), r.pulumiCalls.join("\n"));
  });

  test("clusterMode unset (defaults to kind): missing kind aborts before pulumi up", () => {
    const r = run(WRAPPER, ["up"], ["docker", "kubectl", "pulumi"]);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /MISSING\s+kind/);
    assert.ok(!r.pulumiCalls.some((c) => c.startsWith("up")), r.pulumiCalls.join("\n"));
  });

  test("destroy skips the prerequisite check", () => {
    const r = run(WRAPPER, ["destroy", "--yes"], ["pulumi"]);
    assert.equal(r.status, 0, r.out);
    assert.deepEqual(r.pulumiCalls, ["stack select --create dev", "destroy --stack dev --yes"]);
  });

  test("pulumi missing: prints the hints, exit 1", () => {
    const r = run(WRAPPER, ["up"], ["docker", "kind", "kubectl"]);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /MISSING\s+pulumi\s.*download-install/);
  });

  test("unknown verb: usage, exit 2, pulumi never called", () => {
    const r = run(WRAPPER, ["refresh"], ALL);
    assert.equal(r.status, 2, r.out);
    assert.match(r.out, /usage:/);
    assert.deepEqual(r.pulumiCalls, []);
  });

  test("no verb: usage, exit 2", () => {
    const r = run(WRAPPER, [], ALL);
    assert.equal(r.status, 2, r.out);
    assert.match(r.out, /usage:/);
  });
});

describe("pulumi.sh: a kind cluster changed outside Pulumi", () => {
  const KIND_URN = "urn:pulumi:dev::istio-mesh::istio-mesh:cluster:MeshCluster$command:local:Command::kind-cluster";
  const cfg = devConfig();
  if (cfg.cluster.mode !== "kind") throw new Error("the dev stack is a kind stack");
  const ours = kindCommands(kindClusterSpec(cfg.cluster, cfg.ingress), ownerLabelValue("istio-mesh", "dev"));
  /** `pulumi stack export` of a deployed dev stack (what matters of it), as the CLI prints it. */
  const exported = (environment?: Record<string, string>) =>
    JSON.stringify(
      {
        version: 3,
        deployment: {
          resources: [
            { urn: "urn:pulumi:dev::istio-mesh::pulumi:pulumi:Stack::istio-mesh-dev", custom: false },
            {
              urn: KIND_URN,
              custom: true,
              type: "command:local:Command",
              inputs: { ...(environment && { environment }), create: "…", delete: "…" },
            },
          ],
        },
      },
      null,
      4,
    );
  const STATE = { STUB_STATE_EXPORT: exported(ours.environment), STUB_OUTPUT_CLUSTER: "lab-cluster" };
  const withOurCluster = (w: KindWorld) => w.addCluster("lab-cluster", ours.stdin);
  const withLabCluster = (w: KindWorld) => w.addCluster("lab-cluster", JSON.stringify({ name: "lab-cluster" }));

  test("deleted by hand, up: forgets the cluster and what ran in it, then the up recreates them", () => {
    const r = run(WRAPPER, ["up", "--yes"], ALL, STATE);
    assert.equal(r.status, 0, r.out);
    assert.deepEqual(commands(r), [
      "stack select --create dev",
      "config get clusterMode --stack dev",
      `state delete --stack dev --target-dependents --yes ${KIND_URN}`,
      "up --stack dev --yes",
    ]);
    assert.match(
      r.out,
      /kind cluster "lab-cluster" of stack dev is gone: kind does not list it \(deleted outside Pulumi\)/,
    );
    assert.ok(
      r.deleteUnreachable.every((v) => v === ""),
      "up never drops unreachable objects",
    );
  });

  test("deleted by hand, preview: says what up will do, changes nothing", () => {
    const r = run(WRAPPER, ["preview"], ALL, STATE);
    assert.equal(r.status, 0, r.out);
    assert.deepEqual(commands(r).slice(2), ["preview --stack dev"]);
    assert.match(r.out, /npm run up will forget it and everything that ran in it/);
  });

  test("deleted by hand, destroy: one refresh with deleteUnreachable on, then destroy", () => {
    const r = run(WRAPPER, ["destroy", "--yes"], ALL, STATE);
    assert.equal(r.status, 0, r.out);
    const calls = commands(r);
    assert.deepEqual(calls, ["stack select --create dev", "refresh --stack dev --yes", "destroy --stack dev --yes"]);
    const unreachable = r.pulumiCalls.map((c, i) => [c, r.deleteUnreachable[i]]);
    assert.deepEqual(
      unreachable.filter(([, v]) => v !== ""),
      [["refresh --stack dev --yes", "true"]],
    );
  });

  test("present and ours: up runs as usual", () => {
    const r = run(WRAPPER, ["up"], ALL, STATE, withOurCluster);
    assert.equal(r.status, 0, r.out);
    assert.deepEqual(commands(r).slice(2), ["up --stack dev"]);
    assert.doesNotMatch(r.out, /outside Pulumi/);
  });

  test("replaced by a same-named cluster this stack didn't create: up forgets its own, then stops with how to proceed", () => {
    const r = run(WRAPPER, ["up"], ALL, STATE, withLabCluster);
    assert.equal(r.status, 1, r.out);
    assert.deepEqual(commands(r).slice(2), [`state delete --stack dev --target-dependents --yes ${KIND_URN}`]);
    assert.match(r.out, /kind cluster "lab-cluster" is not the one stack dev created/);
    assert.match(r.out, /kind delete cluster --name lab-cluster/);
    assert.match(r.out, /pulumi config set clusterName <another-name>/);
    assert.deepEqual(r.world.clusters(), ["lab-cluster"], "the foreign cluster is untouched");
    assert.ok(!r.world.calls().some((c) => c.startsWith("kind delete")));
  });

  test("replaced by a foreign cluster, preview: explains and stops, changes nothing", () => {
    const r = run(WRAPPER, ["preview"], ALL, STATE, withLabCluster);
    assert.equal(r.status, 1, r.out);
    assert.deepEqual(commands(r).slice(2), []);
    assert.match(r.out, /To proceed, either/);
  });

  test("replaced by a foreign cluster, destroy: drops the stack's objects from state; the foreign cluster stays", () => {
    const r = run(WRAPPER, ["destroy", "--yes"], ALL, STATE, withLabCluster);
    assert.equal(r.status, 0, r.out);
    assert.deepEqual(commands(r).slice(1), ["refresh --stack dev --yes", "destroy --stack dev --yes"]);
    assert.deepEqual(r.world.clusters(), ["lab-cluster"]);
  });

  test("kind can't answer (Docker stopped): nothing is assumed", () => {
    const r = run(WRAPPER, ["destroy"], ALL, { ...STATE, STUB_KIND_FAIL: "1" });
    assert.equal(r.status, 0, r.out);
    assert.deepEqual(commands(r).slice(1), ["destroy --stack dev"]);
  });

  test("state from before the owner label: the name comes from the stack output, ownership isn't checked", () => {
    const old = { STUB_STATE_EXPORT: exported(), STUB_OUTPUT_CLUSTER: "lab-cluster" };
    const present = run(WRAPPER, ["up"], ALL, old, withLabCluster);
    assert.equal(present.status, 0, present.out);
    assert.deepEqual(commands(present).slice(2), ["up --stack dev"]);
    const gone = run(WRAPPER, ["up"], ALL, old);
    assert.deepEqual(commands(gone).slice(2), [
      `state delete --stack dev --target-dependents --yes ${KIND_URN}`,
      "up --stack dev",
    ]);
  });

  test("no kind cluster in state (a new stack, or existing mode): no check", () => {
    const r = run(WRAPPER, ["up"], ALL, { STUB_OUTPUT_CLUSTER: "lab-cluster" });
    assert.equal(r.status, 0, r.out);
    assert.deepEqual(commands(r).slice(2), ["up --stack dev"]);
    assert.ok(!r.world.calls().some((c) => c.startsWith("kind get clusters")), "kind isn't asked");
  });
});
