/**
 * Runs scripts/check-prereqs.sh and scripts/pulumi.sh for real, against stub docker/kind/kubectl/pulumi.
 *
 * Isolation: this machine has real tools on the usual PATH (docker in /usr/local/bin, kubectl in
 * /usr/bin), so the scripts never see /usr/bin or /bin. Their PATH is a per-case stub dir plus a
 * "sys" dir holding symlinks to just bash and timeout; the scripts use nothing else.
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";

const SCRIPTS = path.resolve(__dirname, "..", "scripts");
const PROJECT_ROOT = path.resolve(__dirname, "..");
const CHECK = path.join(SCRIPTS, "check-prereqs.sh");
const WRAPPER = path.join(SCRIPTS, "pulumi.sh");

type Tool = "docker" | "kind" | "kubectl" | "pulumi";
const ALL: readonly Tool[] = ["docker", "kind", "kubectl", "pulumi"];

/** Resolves `name` on the test process's own PATH, like `command -v`. */
function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

let root = "";
let sysDir = "";
let bashPath = "";
let stubCount = 0;

function stubSource(tool: Tool): string {
  const body: Record<Tool, string> = {
    docker: `
if [ "$1" = info ]; then
  if [ -n "\${STUB_DOCKER_INFO_FAIL:-}" ]; then
    echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock" >&2
    exit 1
  fi
  echo "Server Version: 28.0.0-stub"
  exit 0
fi
echo "Docker version 28.0.0-stub, build stub"`,
    kind: `echo "kind v0.33.0-stub go1.24.0 linux/amd64"`,
    kubectl: `echo "Client Version: v1.35.0-stub"; echo "Kustomize Version: v5.0.0-stub"`,
    pulumi: `
printf '%s\\t%s\\n' "$PWD" "$*" >> "$PULUMI_LOG"
if [ "$1" = config ] && [ "$2" = get ] && [ "$3" = clusterMode ]; then
  if [ -n "\${STUB_CLUSTER_MODE:-}" ]; then echo "$STUB_CLUSTER_MODE"; exit 0; fi
  echo "error: configuration key 'istio-mesh:clusterMode' not found for stack" >&2
  exit 1
fi
if [ "$1" = version ]; then echo "v3.270.0-stub"; fi
exit 0`,
  };
  return `#!${bashPath}\n${body[tool]}\n`;
}

/** A fresh directory holding stubs for exactly `tools`. */
function stubDir(tools: readonly Tool[]): string {
  const dir = path.join(root, `stubs-${stubCount++}`);
  fs.mkdirSync(dir);
  for (const tool of tools) fs.writeFileSync(path.join(dir, tool), stubSource(tool), { mode: 0o755 });
  return dir;
}

interface Run {
  readonly status: number | null;
  readonly out: string;
  /** Arguments of each pulumi stub call, in order. */
  readonly pulumiCalls: readonly string[];
  /** Working directories of the pulumi stub calls. */
  readonly pulumiCwds: readonly string[];
}

function run(script: string, args: readonly string[], tools: readonly Tool[], env: Record<string, string> = {}): Run {
  const stubs = stubDir(tools);
  const log = path.join(stubs, "pulumi.log");
  const res = spawnSync("bash", [script, ...args], {
    cwd: root, // not the project root: pulumi.sh must find its own way there
    env: { PATH: `${stubs}:${sysDir}`, HOME: root, PULUMI_LOG: log, ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
  if (res.error) throw res.error;
  const lines = fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\n").filter(Boolean) : [];
  return {
    status: res.status,
    out: res.stdout + res.stderr,
    pulumiCalls: lines.map((l) => l.slice(l.indexOf("\t") + 1)),
    pulumiCwds: lines.map((l) => l.slice(0, l.indexOf("\t"))),
  };
}

/** Calls other than the `version` probe check-prereqs.sh makes. */
const commands = (r: Run) => r.pulumiCalls.filter((c) => c !== "version");

before(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "prereqs-test-")));
  sysDir = path.join(root, "sys");
  fs.mkdirSync(sysDir);
  const bash = which("bash");
  assert.ok(bash, "bash must be installed to run these tests");
  bashPath = fs.realpathSync(bash);
  fs.symlinkSync(bashPath, path.join(sysDir, "bash"));
  const timeout = which("timeout");
  if (timeout) fs.symlinkSync(fs.realpathSync(timeout), path.join(sysDir, "timeout"));
});

after(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

test("the scripts' PATH hides the machine's real tools", () => {
  const stubs = stubDir([]);
  const res = spawnSync("bash", ["-c", "for t in docker kind kubectl pulumi; do command -v $t || true; done"], {
    env: { PATH: `${stubs}:${sysDir}` },
    encoding: "utf8",
  });
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.stdout, "", `real tools leaked into the test PATH: ${res.stdout}`);
  for (const entry of fs.readdirSync(sysDir)) assert.ok(["bash", "timeout"].includes(entry), entry);
});

describe("check-prereqs.sh", () => {
  test("all present: exit 0, a version line for each tool", () => {
    const r = run(CHECK, [], ALL);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /OK\s+docker\s+Docker version 28\.0\.0-stub/);
    assert.match(r.out, /OK\s+kind\s+kind v0\.33\.0-stub/);
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
    assert.match(r.out, /prerequisites: 2 missing\s*$/);
  });

  test("docker and pulumi missing: their install hints", () => {
    const r = run(CHECK, [], ["kind", "kubectl"]);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /MISSING\s+docker\s.*https:\/\/docs\.docker\.com\/get-docker\//);
    assert.match(r.out, /MISSING\s+pulumi\s.*https:\/\/www\.pulumi\.com\/docs\/iac\/download-install\//);
    assert.match(r.out, /prerequisites: 2 missing/);
  });

  test("docker present but `docker info` failing: the daemon isn't running", () => {
    const r = run(CHECK, [], ALL, { STUB_DOCKER_INFO_FAIL: "1" });
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /OK\s+docker/);
    assert.match(r.out, /Docker daemon isn't running/);
    assert.match(r.out, /prerequisites: 1 missing/);
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
    assert.match(r.out, /prerequisites: 1 missing/);
  });

  test("a failing version probe is reported, not fatal", () => {
    const stubs = stubDir(ALL);
    fs.writeFileSync(path.join(stubs, "kind"), `#!${bashPath}\nexit 3\n`, { mode: 0o755 });
    const res = spawnSync("bash", [CHECK], {
      env: { PATH: `${stubs}:${sysDir}`, HOME: root, PULUMI_LOG: path.join(stubs, "pulumi.log") },
      encoding: "utf8",
    });
    assert.equal(res.status, 0, res.stdout + res.stderr);
    assert.match(res.stdout, /OK\s+kind\s+version unknown/);
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
      "up --stack dev --policy-pack policies --policy-pack-config policies/config/dev.json --yes",
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
      // No policies/config/ci.json: the pack runs with its defaults (the strictest).
      "preview --stack ci --policy-pack policies",
    ]);
  });

  test("clusterMode existing: proceeds without docker or kind", () => {
    const r = run(WRAPPER, ["up"], ["kubectl", "pulumi"], { STUB_CLUSTER_MODE: "existing" });
    assert.equal(r.status, 0, r.out);
    assert.equal(
      commands(r).at(-1),
      "up --stack dev --policy-pack policies --policy-pack-config policies/config/dev.json",
    );
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
