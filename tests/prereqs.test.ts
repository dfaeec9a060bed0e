/**
 * Runs scripts/check-prereqs.sh and scripts/pulumi.sh for real, from a fresh copy of the repository
 * (stubPulumi.ts freshClone), against stub docker/kind/kubectl (stubTools.ts) and the strict stub
 * pulumi (stubPulumi.ts) on a private PATH: kind and docker keep cluster state, pulumi keeps the
 * clone's file-backend state and refuses what the real CLI refuses.
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { Document, parseDocument } from "yaml";
import { kindClusterSpec, kindCommands, stackLabelValue } from "../components/cluster/kindConfig";
import { devConfig } from "./support/configs";
import { quietPorts } from "./support/quietPorts";
import { freshClone, PulumiStub, type StubResource } from "./support/stubPulumi";
import { KindWorld, systemDir } from "./support/stubTools";

type Tool = "docker" | "kind" | "kubectl" | "pulumi" | "node" | "istioctl";
const ALL: readonly Tool[] = ["node", "docker", "kind", "kubectl", "pulumi"];
/** The passphrase the runs hand the stub pulumi, as CI does (the stub refuses to run without one). */
const PASSPHRASE = "test-passphrase";

let root = "";
let sys = { dir: "", bash: "", sh: "" };
let worldCount = 0;
/** Two ports nothing listens on, for the clones' gateway (8080/8443 may be taken on a shared machine), nor will. */
let freePorts: readonly [number, number] = [0, 0];
/** A port something listens on for the whole file. */
let busy: net.Server | undefined;
let busyPort = 0;

async function listening(): Promise<net.Server> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}
const portOf = (server: net.Server) => (server.address() as net.AddressInfo).port;

/**
 * Node: `--version` prints `v<major>.<minor>.<patch>` (nodejs/node doc/api/cli.md, -v/--version).
 * `--import tsx tools/preflight/main.ts` is node running the project's own pre-flight, which
 * tests/preflight.test.ts runs for real against stub kubectl; here it answers as that tool does
 * (its last line, exit 0 or 1), STUB_PREFLIGHT_EXIT choosing which.
 */
const NODE = `
if [ "$1 \${2:-} \${3:-} \${4:-}" = "--import tsx tools/preflight/main.ts --stack" ]; then
  if [ "\${STUB_PREFLIGHT_EXIT:-0}" = 0 ]; then echo "preflight: stack $5 (Pulumi CLI): nothing stops the install"; exit 0; fi
  echo "✗ kubernetes-version: Kubernetes v1.31.9 is outside Istio 1.30's supported range 1.32–1.36"
  echo "preflight: stack $5 (Pulumi CLI): 1 check(s) failed; nothing was created"; exit 1
fi
if [ "$1" != --version ]; then echo "node stub: unexpected $*" >&2; exit 2; fi
echo "\${STUB_NODE_VERSION:-v24.11.1}"`;

/** istioctl 1.30: `version --remote=false` prints "client version: <version>" (istio/istio istioctl/pkg/version). */
const ISTIOCTL = `
if [ "$1 \${2:-}" != "version --remote=false" ]; then echo "istioctl stub: unexpected $*" >&2; exit 2; fi
echo "client version: 1.30.3"`;

/**
 * `pulumi version`: `v<version>` and a newline (pulumi/pulumi pkg/cmd/pulumi/version/version.go), no
 * arguments taken. It is the one call check-prereqs.sh makes, so its runs get this shell stand-in
 * (a few ms) instead of the stateful node one (stubPulumi.ts, ~0.13 s of CPU a call), which answers
 * `version` the same way, STUB_PULUMI_VERSION included; pulumi.sh's runs use that one.
 */
const PULUMI_VERSION_ONLY = `
if [ "$*" != version ]; then echo "pulumi stub: unexpected $*" >&2; exit 2; fi
echo "\${STUB_PULUMI_VERSION:-v3.270.0}"`;

/**
 * What each script reads of the repository, so a run clones just that (a file left out fails the
 * script, never passes it; the one existence test, pulumi.sh's policies/config/<stack>.json, sees the
 * whole directory). check-prereqs.sh: package.json's engines, the stack file's ports, config/defaults.ts.
 * pulumi.sh: that, itself, kind-cluster.sh, Pulumi.yaml's state directory and the policy pack's
 * PulumiPolicy.yaml and config, all the stub pulumi reads.
 */
const CLONED: Record<"check-prereqs.sh" | "pulumi.sh", readonly string[]> = {
  "check-prereqs.sh": ["package.json", "Pulumi.", "scripts/check-prereqs.sh", "config/defaults.ts"],
  "pulumi.sh": [
    "package.json",
    "Pulumi.",
    ".pulumi-state/",
    "scripts/check-prereqs.sh",
    "scripts/pulumi.sh",
    "config/defaults.ts",
    "components/cluster/kind-cluster.sh",
    "policies/PulumiPolicy.yaml",
    "policies/config/",
  ],
};

/** kubectl's `version --client` output (kubernetes/kubectl pkg/cmd/version: client line, then Kustomize). */
const KUBECTL = `
if [ "$1 \${2:-}" != "version --client" ]; then echo "kubectl stub: unexpected $*" >&2; exit 2; fi
echo "Client Version: v1.35.0"
echo "Kustomize Version: v5.7.1"`;

interface World {
  readonly kind: KindWorld;
  readonly pulumi: PulumiStub;
  /** The fresh clone the scripts run from. */
  readonly project: string;
  readonly path: string;
}

/**
 * A fresh world: a clone of the repository (what `script` reads, else freshClone's default set) and a
 * stub dir holding exactly `tools`. For check-prereqs.sh, `pulumi` is the shell stand-in for `pulumi version`.
 */
function world(tools: readonly Tool[], script?: keyof typeof CLONED): World {
  const prereqsOnly = script === "check-prereqs.sh";
  const dir = path.join(root, `world-${worldCount++}`);
  const kind = new KindWorld(
    dir,
    sys.bash,
    tools.filter((t): t is "kind" | "docker" => t === "kind" || t === "docker"),
  );
  if (tools.includes("kubectl")) kind.stub("kubectl", KUBECTL);
  if (tools.includes("node")) kind.stub("node", NODE);
  if (tools.includes("istioctl")) kind.stub("istioctl", ISTIOCTL);
  if (prereqsOnly && tools.includes("pulumi")) kind.stub("pulumi", PULUMI_VERSION_ONLY);
  const pulumi = new PulumiStub(path.join(dir, "pulumi"));
  const project = script ? freshClone(path.join(dir, "clone"), CLONED[script]) : freshClone(path.join(dir, "clone"));
  const w = { kind, pulumi, project, path: "" };
  setConfig(w, "dev", "hostHttpPort", freePorts[0]);
  setConfig(w, "dev", "hostHttpsPort", freePorts[1]);
  const dirs = [kind.stubs, ...(tools.includes("pulumi") && !prereqsOnly ? [pulumi.bin] : []), sys.dir];
  return { ...w, path: dirs.join(":") };
}

/** Sets (undefined: removes) `istio-mesh:<key>` in the clone's Pulumi.<stack>.yaml, as `pulumi config set` would. */
function setConfig(w: Pick<World, "project">, stack: string, key: string, value: unknown): void {
  const file = path.join(w.project, `Pulumi.${stack}.yaml`);
  const doc = fs.existsSync(file) ? parseDocument(fs.readFileSync(file, "utf8")) : new Document({ config: {} });
  if (value === undefined) doc.deleteIn(["config", `istio-mesh:${key}`]);
  else doc.setIn(["config", `istio-mesh:${key}`], value);
  fs.writeFileSync(file, doc.toString());
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
  readonly world: World;
}

function run(
  script: "check-prereqs.sh" | "pulumi.sh",
  args: readonly string[],
  tools: readonly Tool[],
  env: Record<string, string | undefined> = {},
  setup: (w: World) => void = () => {},
): Run {
  const w = world(tools, script);
  setup(w);
  const fullEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({
    PATH: w.path,
    HOME: path.dirname(w.project),
    PULUMI_HOME: path.join(path.dirname(w.project), ".pulumi"),
    STUB_STATE: w.kind.state,
    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
    ...env,
  }))
    if (v !== undefined) fullEnv[k] = v;
  const res = spawnSync("bash", [path.join(w.project, "scripts", script), ...args], {
    cwd: root, // not the project root: pulumi.sh must find its own way there
    env: fullEnv,
    encoding: "utf8",
    timeout: 60_000,
  });
  if (res.error) throw res.error;
  const calls = w.pulumi.calls();
  return {
    status: res.status,
    out: res.stdout + res.stderr,
    pulumiCalls: calls.map((c) => c.argv.join(" ")),
    pulumiCwds: calls.map((c) => c.cwd),
    deleteUnreachable: calls.map((c) => c.env.PULUMI_K8S_DELETE_UNREACHABLE ?? ""),
    world: w,
  };
}

/** Calls other than the `version` probe check-prereqs.sh makes and the cluster check's reads. */
const commands = (r: Run) =>
  r.pulumiCalls.filter((c) => c !== "version" && !c.startsWith("stack export") && !c.startsWith("stack output"));

const CHECK = "check-prereqs.sh";
const WRAPPER = "pulumi.sh";

before(async () => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "prereqs-test-")));
  sys = systemDir(root);
  const [http = 0, https = 0] = await quietPorts(2);
  freePorts = [http, https];
  busy = await listening();
  busyPort = portOf(busy);
});

after(() => {
  busy?.close();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

test("the scripts' PATH hides the machine's real tools", () => {
  const w = world([]);
  const res = spawnSync(
    "bash",
    ["-c", "for t in docker kind kubectl pulumi node istioctl; do command -v $t || true; done"],
    {
      env: { PATH: w.path },
      encoding: "utf8",
    },
  );
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.stdout, "", `real tools leaked into the test PATH: ${res.stdout}`);
  for (const entry of fs.readdirSync(sys.dir)) assert.ok(["bash", "sh", "mkdir", "timeout"].includes(entry), entry);
});

describe("check-prereqs.sh", () => {
  test("all present: exit 0, a version line for each tool", () => {
    const r = run(CHECK, [], [...ALL, "istioctl"]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /OK\s+node\s+v24\.11\.1/);
    assert.match(r.out, /OK\s+istioctl\s+client version: 1\.30\.3/);
    assert.match(
      r.out,
      new RegExp(`OK\\s+ports\\s+127\\.0\\.0\\.1:${freePorts[0]} and 127\\.0\\.0\\.1:${freePorts[1]} are free`),
    );
    assert.match(r.out, /OK\s+docker\s+Docker version 28\.0\.0, build/);
    assert.match(r.out, /OK\s+kind\s+kind v0\.33\.0 go1\.24\.0/);
    assert.match(r.out, /OK\s+kubectl\s+Client Version: v1\.35\.0/);
    assert.doesNotMatch(r.out, /Kustomize/, "only the first version line");
    assert.match(r.out, /OK\s+pulumi\s+v3\.270\.0/);
    assert.match(r.out, /prerequisites: all present\s*$/);
  });

  test("kind and kubectl missing: exit 1, both named with install hints, 2 missing", () => {
    const r = run(CHECK, [], ["node", "docker", "pulumi"]);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /MISSING\s+kind\s.*https:\/\/kind\.sigs\.k8s\.io\/docs\/user\/quick-start\/#installation/);
    assert.match(r.out, /MISSING\s+kind\s.*v0\.33\.0 or newer/);
    assert.match(r.out, /MISSING\s+kubectl\s.*https:\/\/kubernetes\.io\/docs\/tasks\/tools\//);
    assert.match(r.out, /OK\s+docker/);
    assert.match(r.out, /OK\s+pulumi/);
    assert.match(r.out, /prerequisites: 2 to fix\s*$/);
  });

  test("docker and pulumi missing: their install hints", () => {
    const r = run(CHECK, [], ["node", "kind", "kubectl"]);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /MISSING\s+docker\s.*https:\/\/docs\.docker\.com\/get-docker\//);
    assert.match(r.out, /MISSING\s+pulumi\s.*https:\/\/www\.pulumi\.com\/docs\/iac\/download-install\//);
    assert.match(r.out, /prerequisites: 2 to fix/);
  });

  test("Node older than package.json's engines (node >=22, what @pulumi/pulumi 3.270 needs): TOO-OLD", () => {
    const r = run(CHECK, [], ALL, { STUB_NODE_VERSION: "v20.19.5" });
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /TOO-OLD\s+node\s+v20\.19\.5: the dependencies need node >=22 \(package\.json engines\)/);
    assert.match(r.out, /https:\/\/nodejs\.org\/en\/download/);
    assert.match(r.out, /prerequisites: 1 to fix/);
    for (const ok of ["v22.0.0", "v24.11.1", "v25.2.0"])
      assert.equal(run(CHECK, [], ALL, { STUB_NODE_VERSION: ok }).status, 0, ok);
  });

  test("a Pulumi CLI before 3.211 (no stack tags on a file backend, which npm run canary needs): TOO-OLD", () => {
    const r = run(CHECK, [], ALL, { STUB_PULUMI_VERSION: "v3.210.0" });
    assert.equal(r.status, 1, r.out);
    assert.match(
      r.out,
      /TOO-OLD\s+pulumi\s+v3\.210\.0: npm run canary keeps its last good weights in a stack tag, which a file backend has from Pulumi CLI 3\.211\.0/,
    );
    assert.match(r.out, /https:\/\/www\.pulumi\.com\/docs\/iac\/download-install\//);
    assert.match(r.out, /prerequisites: 1 to fix/);
    for (const ok of ["v3.211.0", "v3.271.0-alpha.1764000000+abcdef0", "v4.0.0"])
      assert.equal(run(CHECK, [], ALL, { STUB_PULUMI_VERSION: ok }).status, 0, ok);
  });

  test("Node missing: named with its install hint", () => {
    const r = run(CHECK, [], ["docker", "kind", "kubectl", "pulumi"]);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /MISSING\s+node\s+install Node\.js 22 or newer/);
  });

  test("istioctl missing: listed as optional with the install hint, not counted", () => {
    const r = run(CHECK, [], ALL);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /OPTIONAL\s+istioctl\s+optional, for the checks in docs\/verify\.md/);
    assert.match(r.out, /download-istio-release/);
    assert.match(r.out, /prerequisites: all present/);
  });

  test("a gateway host port in use: IN-USE, naming it and how to move the gateway", () => {
    const r = run(CHECK, [], ALL, {}, (w) => setConfig(w, "dev", "hostHttpsPort", busyPort));
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, new RegExp(`IN-USE\\s+ports\\s+127\\.0\\.0\\.1:${busyPort} already in use`));
    assert.match(r.out, /pulumi config set hostHttpPort \/ hostHttpsPort/);
  });

  test("the ports of the stack named by STACK; a stack without a file has the defaults", () => {
    const r = run(CHECK, [], ALL, { STACK: "ci" }, (w) => setConfig(w, "ci", "hostHttpPort", busyPort));
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, new RegExp(`127\\.0\\.0\\.1:${busyPort} already in use; kind maps stack ci's gateway`));
    const defaults = run(CHECK, [], ALL, { STACK: "nofile" });
    assert.match(defaults.out, /ports\s+127\.0\.0\.1:8080\b.*8443\b.*stack nofile's gateway/);
    const bad = run(CHECK, [], ALL, {}, (w) => setConfig(w, "dev", "hostHttpPort", "eighty"));
    assert.equal(bad.status, 1, bad.out);
    assert.match(bad.out, /CONFIG\s+ports\s+stack dev: hostHttpPort eighty \/ hostHttpsPort \d+ are not port numbers/);
  });

  test("the stack's kind cluster exists: its ports are its own, not checked", () => {
    const r = run(CHECK, [], ALL, {}, (w) => {
      setConfig(w, "dev", "hostHttpPort", busyPort);
      w.kind.addCluster("lab-cluster", "{}");
    });
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /OK\s+ports\s+.*mapped by kind cluster lab-cluster already/);
  });

  test("--existing-cluster: no port check", () => {
    const r = run(CHECK, ["--existing-cluster"], ["node", "kubectl", "pulumi"], {}, (w) =>
      setConfig(w, "dev", "hostHttpPort", busyPort),
    );
    assert.equal(r.status, 0, r.out);
    assert.doesNotMatch(r.out, /ports/);
  });

  test("docker present but `docker info` failing: the daemon isn't running", () => {
    const r = run(CHECK, [], ALL, { STUB_DOCKER_INFO_FAIL: "1" });
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /OK\s+docker/);
    assert.match(r.out, /Docker daemon isn't running/);
    assert.match(r.out, /prerequisites: 1 to fix/);
  });

  test("--existing-cluster needs only node, kubectl and pulumi", () => {
    const r = run(CHECK, ["--existing-cluster"], ["node", "kubectl", "pulumi"]);
    assert.equal(r.status, 0, r.out);
    assert.doesNotMatch(r.out, /docker|kind/i);
    assert.match(r.out, /prerequisites: all present/);
  });

  test("--existing-cluster still requires kubectl", () => {
    const r = run(CHECK, ["--existing-cluster"], ["node", "pulumi"]);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /MISSING\s+kubectl/);
    assert.match(r.out, /prerequisites: 1 to fix/);
  });

  test("a failing version probe of kubectl is reported, not fatal", () => {
    const r = run(CHECK, [], ALL, {}, (w) => w.kind.stub("kubectl", "exit 3"));
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
    const r = run(CHECK, [], ALL, {}, (w) => w.kind.stub("kind", "exit 3"));
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
    assert.ok(
      r.world.kind.calls().includes("docker info --format {{.CgroupVersion}}"),
      r.world.kind.calls().join("\n"),
    );
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

/** What pulumi.sh says when creating the stack wrote the salt into the clone's tracked stack file. */
const SALT_NOTICE =
  /^pulumi\.sh: Pulumi added this clone's encryptionsalt to Pulumi\.dev\.yaml, so git shows the file modified\.$/m;
const UP_DEV = "up --stack dev --policy-pack policies --policy-pack-config policies/config/dev.json";

describe("pulumi.sh", () => {
  test("up: selects/creates dev in the clone's state directory, then runs pulumi up from the project root", () => {
    const r = run(WRAPPER, ["up", "--yes"], ALL);
    assert.equal(r.status, 0, r.out);
    assert.deepEqual(commands(r), [
      "stack select --create dev",
      "config get clusterMode --stack dev",
      `${UP_DEV} --yes`,
    ]);
    assert.ok(r.pulumiCalls.includes("version"), "prerequisites were checked");
    assert.ok(
      r.pulumiCwds.every((cwd) => cwd === r.world.project),
      r.pulumiCwds.join(", "),
    );
    assert.deepEqual(r.world.pulumi.stacks(r.world.project), ["dev"]);
    assert.equal(r.world.pulumi.stateDir(r.world.project), path.join(r.world.project, ".pulumi-state"));
    // Creating the stack appended the clone's salt to the tracked Pulumi.dev.yaml: said once, here.
    assert.match(r.out, SALT_NOTICE);
    assert.match(fs.readFileSync(path.join(r.world.project, "Pulumi.dev.yaml"), "utf8"), /\nencryptionsalt: v1:\S+\n$/);
  });

  test("the state directory was deleted (rm -rf .pulumi-state): the wrapper makes it again", () => {
    const r = run(WRAPPER, ["preview"], ALL, {}, (w) =>
      fs.rmSync(path.join(w.project, ".pulumi-state"), { recursive: true }),
    );
    assert.equal(r.status, 0, r.out);
    assert.deepEqual(r.world.pulumi.stacks(r.world.project), ["dev"]);
  });

  test("PULUMI_BACKEND_URL naming a directory elsewhere: the wrapper leaves it to the user, the CLI's error stands", () => {
    const r = run(WRAPPER, ["preview"], ALL, { PULUMI_BACKEND_URL: `file://${root}/no-such-state` });
    assert.equal(r.status, 1, r.out);
    assert.match(
      r.out,
      /unable to open state directory "file:\/\/.*\/no-such-state": stat .*: no such file or directory/,
    );
    assert.ok(!fs.existsSync(path.join(root, "no-such-state")));
  });

  test("no terminal and no PULUMI_CONFIG_PASSPHRASE: stops at stack creation with the CLI's message", () => {
    const r = run(WRAPPER, ["up", "--yes"], ALL, { PULUMI_CONFIG_PASSPHRASE: undefined });
    assert.equal(r.status, 1, r.out);
    assert.match(
      r.out,
      /could not create secrets manager for new stack: passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE/,
    );
    assert.deepEqual(commands(r), ["stack select --create dev"]);
  });

  test("up without --yes and no terminal: the CLI refuses, as it does for a real user's script", () => {
    const r = run(WRAPPER, ["up"], ALL);
    // NoConfirmationInNonInteractiveError → ExitConfigurationError (pkg/cmd/pulumi/cmd/exit_codes.go).
    assert.equal(r.status, 2, r.out);
    assert.match(r.out, /--yes or --skip-preview or --preview-only must be passed in to proceed/);
  });

  test("STACK=ci uses the ci stack", () => {
    const r = run(WRAPPER, ["preview"], ALL, { STACK: "ci" }, (w) => {
      setConfig(w, "ci", "hostHttpPort", freePorts[0]);
      setConfig(w, "ci", "hostHttpsPort", freePorts[1]);
    });
    assert.equal(r.status, 0, r.out);
    assert.deepEqual(commands(r), [
      "stack select --create ci",
      "config get clusterMode --stack ci",
      // No policies/config/ci.json: the pack runs with its defaults (the strictest).
      "preview --stack ci --policy-pack policies",
    ]);
  });

  test("an empty STACK means dev, never an empty --stack", () => {
    const r = run(WRAPPER, ["preview"], ALL, { STACK: "" });
    assert.equal(r.status, 0, r.out);
    assert.equal(commands(r)[0], "stack select --create dev");
  });

  test("clusterMode existing: proceeds without docker or kind", () => {
    const r = run(WRAPPER, ["up", "--yes"], ["node", "kubectl", "pulumi"], {}, (w) => {
      // The kind-only keys go too: the program refuses them with clusterMode existing.
      for (const key of ["clusterName", "hostHttpPort", "hostHttpsPort"]) setConfig(w, "dev", key, undefined);
      setConfig(w, "dev", "clusterMode", "existing");
    });
    assert.equal(r.status, 0, r.out);
    assert.equal(commands(r).at(-1), `${UP_DEV} --yes`);
    assert.match(r.out, /preflight: stack dev \(Pulumi CLI\): nothing stops the install/);
  });

  test("clusterMode existing: a failed pre-flight aborts before pulumi up", () => {
    const r = run(WRAPPER, ["up", "--yes"], ["node", "kubectl", "pulumi"], { STUB_PREFLIGHT_EXIT: "1" }, (w) => {
      for (const key of ["clusterName", "hostHttpPort", "hostHttpsPort"]) setConfig(w, "dev", key, undefined);
      setConfig(w, "dev", "clusterMode", "existing");
    });
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /aborting up: the pre-flight checks of the existing cluster failed/);
    assert.ok(!r.pulumiCalls.some((c) => c.startsWith("up")), r.pulumiCalls.join("\n"));
  });

  test("clusterMode kind (explicit): missing kind aborts before pulumi up", () => {
    const r = run(WRAPPER, ["up", "--yes"], ["node", "docker", "kubectl", "pulumi"], {}, (w) =>
      setConfig(w, "dev", "clusterMode", "kind"),
    );
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /MISSING\s+kind/);
    assert.ok(!r.pulumiCalls.some((c) => c.startsWith("up")), r.pulumiCalls.join("\n"));
  });

  test("clusterMode unset (defaults to kind): missing kind aborts before pulumi up", () => {
    const r = run(WRAPPER, ["up", "--yes"], ["node", "docker", "kubectl", "pulumi"]);
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
    const r = run(WRAPPER, ["up"], ["node", "docker", "kind", "kubectl"]);
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
  const PROVIDER_URN = "urn:pulumi:dev::istio-mesh::istio-mesh:cluster:MeshCluster$pulumi:providers:kubernetes::kind";
  const NAMESPACE_URN = "urn:pulumi:dev::istio-mesh::kubernetes:core/v1:Namespace::istio-system";
  const cfg = devConfig();
  if (cfg.cluster.mode !== "kind") throw new Error("the dev stack is a kind stack");
  const spec = kindClusterSpec(cfg.cluster, cfg.ingress);
  const ours = kindCommands(spec, {
    stack: stackLabelValue("istio-mesh", "dev"),
    id: "5eed0f15a1b2c3d4",
  });
  /**
   * A deployed dev stack (what matters of it): the cluster Command, the provider on it, one object
   * in it, deletedWith the cluster unless the state predates deletedWith.
   */
  const deployed = (environment?: Record<string, string>, legacy = false): StubResource[] => [
    {
      urn: KIND_URN,
      custom: true,
      type: "command:local:Command",
      inputs: { ...(environment && { environment }), create: "…", delete: "…" },
    },
    { urn: PROVIDER_URN, custom: true, type: "pulumi:providers:kubernetes", dependencies: [KIND_URN] },
    {
      urn: NAMESPACE_URN,
      custom: true,
      type: "kubernetes:core/v1:Namespace",
      provider: `${PROVIDER_URN}::id`,
      ...(!legacy && { deletedWith: KIND_URN }),
    },
  ];
  const seeded =
    (environment: Record<string, string> | undefined, cluster?: string, legacy = false) =>
    (w: World): void => {
      w.pulumi.seedStack(w.project, "dev", {
        passphrase: PASSPHRASE,
        resources: deployed(environment, legacy),
        outputs: { clusterName: "lab-cluster" },
      });
      if (cluster) w.kind.addCluster("lab-cluster", cluster);
    };
  const LAB_CLUSTER = JSON.stringify({ kind: "Cluster", apiVersion: "kind.x-k8s.io/v1alpha4", name: "lab-cluster" });
  const gone = seeded(ours.environment);
  const present = seeded(ours.environment, ours.stdin);
  const foreign = seeded(ours.environment, LAB_CLUSTER);
  const resourcesLeft = (r: Run) =>
    (r.world.pulumi.deployment(r.world.project, "dev").resources ?? []).map((x) => x.urn);

  test("deleted by hand, up: forgets the cluster and what ran in it, then the up recreates them", () => {
    const r = run(WRAPPER, ["up", "--yes"], ALL, {}, gone);
    assert.equal(r.status, 0, r.out);
    assert.deepEqual(commands(r), [
      "stack select --create dev",
      "config get clusterMode --stack dev",
      `state delete --stack dev --target-dependents --yes ${KIND_URN}`,
      `${UP_DEV} --yes`,
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

  test("state delete --target-dependents drops the cluster, its provider and everything on it", () => {
    const w = world(ALL);
    gone(w);
    const res = spawnSync(
      path.join(w.pulumi.bin, "pulumi"),
      ["state", "delete", "--stack", "dev", "--target-dependents", "--yes", KIND_URN],
      {
        cwd: w.project,
        env: {
          PATH: w.path,
          HOME: path.dirname(w.project),
          PULUMI_HOME: path.join(path.dirname(w.project), ".pulumi"),
          PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
        },
        encoding: "utf8",
      },
    );
    assert.equal(res.status, 0, res.stderr);
    assert.deepEqual(
      (w.pulumi.deployment(w.project, "dev").resources ?? []).map((x) => x.type),
      ["pulumi:pulumi:Stack"],
    );
  });

  test("deleted by hand, preview: says what up will do, changes nothing", () => {
    const r = run(WRAPPER, ["preview"], ALL, {}, gone);
    assert.equal(r.status, 0, r.out);
    assert.deepEqual(commands(r).slice(2), [UP_DEV.replace(/^up/, "preview")]);
    assert.match(r.out, /npm run up will forget it and everything that ran in it/);
    assert.ok(resourcesLeft(r).includes(KIND_URN));
  });

  test("deleted by hand, destroy: a plain destroy (every object is deletedWith the cluster), no refresh", () => {
    const r = run(WRAPPER, ["destroy", "--yes"], ALL, {}, gone);
    assert.equal(r.status, 0, r.out);
    assert.deepEqual(commands(r), ["stack select --create dev", "destroy --stack dev --yes"]);
    assert.match(r.out, /deletedWith it: destroy skips those deletes and empties the state/);
    assert.ok(r.deleteUnreachable.every((v) => v === ""));
    assert.deepEqual(resourcesLeft(r), []);
  });

  test("deleted by hand, destroy, state from before deletedWith: one refresh with deleteUnreachable on, then destroy", () => {
    const r = run(WRAPPER, ["destroy", "--yes"], ALL, {}, seeded(ours.environment, undefined, true));
    assert.match(r.out, /predates deletedWith/);
    assert.equal(r.status, 0, r.out);
    const calls = commands(r);
    assert.deepEqual(calls, ["stack select --create dev", "refresh --stack dev --yes", "destroy --stack dev --yes"]);
    const unreachable = r.pulumiCalls.map((c, i) => [c, r.deleteUnreachable[i]]);
    assert.deepEqual(
      unreachable.filter(([, v]) => v !== ""),
      [["refresh --stack dev --yes", "true"]],
    );
    assert.deepEqual(resourcesLeft(r), []);
  });

  test("present and ours: up runs as usual", () => {
    const r = run(WRAPPER, ["up", "--yes"], ALL, {}, present);
    assert.equal(r.status, 0, r.out);
    assert.deepEqual(commands(r).slice(2), [`${UP_DEV} --yes`]);
    assert.doesNotMatch(r.out, /outside Pulumi/);
  });

  test("present, but made by another state of a same-named stack: treated as foreign, never adopted", () => {
    const twin = kindCommands(spec, {
      stack: stackLabelValue("istio-mesh", "dev"),
      id: "0ddba11c0ffee000",
    });
    const r = run(WRAPPER, ["up", "--yes"], ALL, {}, seeded(ours.environment, twin.stdin));
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /kind cluster "lab-cluster" is not the one stack dev created/);
    assert.deepEqual(r.world.kind.clusters(), ["lab-cluster"], "the other state's cluster is untouched");
  });

  test("replaced by a same-named cluster this stack didn't create: up forgets its own, then stops with how to proceed", () => {
    const r = run(WRAPPER, ["up", "--yes"], ALL, {}, foreign);
    assert.equal(r.status, 1, r.out);
    assert.deepEqual(commands(r).slice(2), [`state delete --stack dev --target-dependents --yes ${KIND_URN}`]);
    assert.match(r.out, /kind cluster "lab-cluster" is not the one stack dev created/);
    assert.match(r.out, /kind delete cluster --name lab-cluster/);
    assert.match(r.out, /pulumi config set clusterName <another-name>/);
    assert.deepEqual(r.world.kind.clusters(), ["lab-cluster"], "the foreign cluster is untouched");
    assert.ok(!r.world.kind.calls().some((c) => c.startsWith("kind delete")));
  });

  test("replaced by a foreign cluster, preview: explains and stops, changes nothing", () => {
    const r = run(WRAPPER, ["preview"], ALL, {}, foreign);
    assert.equal(r.status, 1, r.out);
    assert.deepEqual(commands(r).slice(2), []);
    assert.match(r.out, /To proceed, either/);
  });

  test("replaced by a foreign cluster, destroy: empties the stack's state; the foreign cluster stays", () => {
    const r = run(WRAPPER, ["destroy", "--yes"], ALL, {}, foreign);
    assert.equal(r.status, 0, r.out);
    assert.deepEqual(commands(r).slice(1), ["destroy --stack dev --yes"]);
    assert.deepEqual(r.world.kind.clusters(), ["lab-cluster"]);
    const legacy = run(WRAPPER, ["destroy", "--yes"], ALL, {}, seeded(ours.environment, LAB_CLUSTER, true));
    assert.deepEqual(commands(legacy).slice(1), ["refresh --stack dev --yes", "destroy --stack dev --yes"]);
  });

  test("kind can't answer (Docker stopped): nothing is assumed", () => {
    const r = run(WRAPPER, ["destroy"], ALL, { STUB_KIND_FAIL: "1" }, gone);
    assert.equal(r.status, 2, r.out); // no --yes without a terminal: ExitConfigurationError
    assert.deepEqual(commands(r).slice(1), ["destroy --stack dev"]);
    assert.match(r.out, /--yes or --skip-preview or --preview-only must be passed/);
  });

  test("state from before the owner label: the name comes from the stack output, ownership isn't checked", () => {
    const presentOld = run(WRAPPER, ["up", "--yes"], ALL, {}, seeded(undefined, LAB_CLUSTER));
    assert.equal(presentOld.status, 0, presentOld.out);
    assert.deepEqual(commands(presentOld).slice(2), [`${UP_DEV} --yes`]);
    const goneOld = run(WRAPPER, ["up", "--yes"], ALL, {}, seeded(undefined));
    assert.deepEqual(commands(goneOld).slice(2), [
      `state delete --stack dev --target-dependents --yes ${KIND_URN}`,
      `${UP_DEV} --yes`,
    ]);
  });

  test("no kind cluster in state (a new stack, or existing mode): no check", () => {
    const r = run(WRAPPER, ["up", "--yes"], ALL, {}, (w) =>
      w.pulumi.seedStack(w.project, "dev", { passphrase: PASSPHRASE, outputs: { clusterName: "lab-cluster" } }),
    );
    assert.equal(r.status, 0, r.out);
    assert.deepEqual(commands(r).slice(2), [`${UP_DEV} --yes`]);
    assert.doesNotMatch(r.out, SALT_NOTICE, "the stack and its salt were there: nothing to say");
    // Once, by the prerequisites' port check; the cluster check never asks.
    assert.equal(r.world.kind.calls().filter((c) => c.startsWith("kind get clusters")).length, 1, "kind isn't asked");
  });
});
