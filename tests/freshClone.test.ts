/**
 * A fresh clone and the Pulumi CLI, run as a new user would, against the strict stub pulumi
 * (tests/support/stubPulumi.ts; the rules and their pulumi/pulumi sources are in pulumiCli.ts).
 */
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { PROJECT_ROOT } from "./support/configs";
import { quietPorts } from "./support/quietPorts";
import { freshClone, PulumiStub } from "./support/stubPulumi";

let root = "";
let count = 0;
before(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "fresh-clone-")));
});
after(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

interface Setup {
  readonly pulumi: PulumiStub;
  readonly project: string;
  readonly home: string;
}

function setup(): Setup {
  const dir = path.join(root, `case-${count++}`);
  const home = path.join(dir, "home");
  fs.mkdirSync(home, { recursive: true });
  return { pulumi: new PulumiStub(path.join(dir, "pulumi")), project: freshClone(path.join(dir, "clone")), home };
}

/** A bare shell's environment for the clone's user: a system PATH, the home directory, Pulumi's home in it. */
function userEnv(s: Setup, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: "/usr/bin:/bin", HOME: s.home, PULUMI_HOME: path.join(s.home, ".pulumi"), ...extra };
}

/** `pulumi <args>` in the clone, without a terminal (as CI and every script run it). */
function pulumi(s: Setup, args: readonly string[], env: Record<string, string> = {}) {
  const res = spawnSync(path.join(s.pulumi.bin, "pulumi"), args, {
    cwd: s.project,
    env: userEnv(s, { PULUMI_CONFIG_PASSPHRASE: "pass", ...env }),
    encoding: "utf8",
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

describe("the state directory on a fresh clone", () => {
  test("plain `pulumi stack select --create dev` works: the clone has .pulumi-state", () => {
    const s = setup();
    const r = pulumi(s, ["stack", "select", "--create", "dev"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Created stack 'dev'/);
    assert.deepEqual(s.pulumi.stacks(s.project), ["dev"]);
    // Then a plain `pulumi up` in the project needs nothing else.
    const up = pulumi(s, ["up", "--yes", "--non-interactive"]);
    assert.equal(up.status, 0, up.stderr);
  });

  test("without the shipped directory (the clone before the fix) the same command fails as the CLI does", () => {
    const s = setup();
    fs.rmSync(path.join(s.project, ".pulumi-state"), { recursive: true });
    const r = pulumi(s, ["stack", "select", "--create", "dev"]);
    assert.equal(r.status, 1); // a generic error (pkg/cmd/pulumi/cmd/exit_codes.go ExitCodeError)
    const dir = path.join(s.project, ".pulumi-state");
    assert.equal(
      r.stderr,
      `error: unable to open state directory "file://./.pulumi-state" (resolved to "file://${dir}"): ` +
        `stat ${dir}: no such file or directory\n`,
    );
    for (const cmd of [["up", "--yes"], ["preview"], ["destroy", "--yes"]]) {
      assert.equal(pulumi(s, [...cmd, "--stack", "dev"]).status, 1, cmd.join(" "));
    }
  });

  test("git keeps the directory and its .gitignore, and ignores whatever state is written there", () => {
    const git = (...args: string[]) => spawnSync("git", args, { cwd: PROJECT_ROOT, encoding: "utf8" });
    const ls = (...flags: string[]) =>
      execFileSync("git", ["ls-files", ...flags, ".pulumi-state"], { cwd: PROJECT_ROOT, encoding: "utf8" });
    // Committed, so a clone has it: tracked files only (freshClone's list also takes untracked ones).
    assert.equal(ls("--cached"), ".pulumi-state/.gitignore\n");
    // Nothing there that `git add -A` would commit: every other file in the directory is ignored.
    assert.equal(ls("--others", "--exclude-standard"), "");
    for (const file of [".pulumi-state/.pulumi/meta.yaml", ".pulumi-state/.pulumi/stacks/istio-mesh/dev.json"]) {
      assert.equal(git("check-ignore", "-q", "--no-index", file).status, 0, `${file} must be ignored`);
    }
    assert.equal(git("check-ignore", "-q", "--no-index", ".pulumi-state/.gitignore").status, 1);
  });
});

describe("the stack file's encryptionsalt", () => {
  test("stack init appends this clone's salt to the tracked Pulumi.dev.yaml and changes nothing else", () => {
    const s = setup();
    const file = path.join(s.project, "Pulumi.dev.yaml");
    const tracked = fs.readFileSync(file, "utf8");
    assert.doesNotMatch(tracked, /encryptionsalt/, "the repository's stack file carries no salt");
    assert.equal(pulumi(s, ["stack", "select", "--create", "dev"]).status, 0);
    const written = fs.readFileSync(file, "utf8");
    // yamlutil/edit.go: comments and order kept, the key the file lacked appended (pulumi/pulumi#14860).
    assert.ok(written.startsWith(tracked), written);
    assert.match(written.slice(tracked.length), /^encryptionsalt: v1:[A-Za-z0-9+/=]+:v1:\S+\n$/);
    // Another select neither changes nor repeats it.
    assert.equal(pulumi(s, ["stack", "select", "--create", "dev"]).status, 0);
    assert.equal(fs.readFileSync(file, "utf8"), written);
  });

  test("a lost salt line: the state's comes back with PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER (as pulumi.sh sets it), else a new one", () => {
    const s = setup();
    const file = path.join(s.project, "Pulumi.dev.yaml");
    const tracked = fs.readFileSync(file, "utf8");
    assert.equal(pulumi(s, ["stack", "select", "--create", "dev"]).status, 0);
    const salted = fs.readFileSync(file, "utf8");
    const lose = () => fs.writeFileSync(file, tracked);
    lose();
    const restored = pulumi(s, ["up", "--yes"], { PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER: "true" });
    assert.equal(restored.status, 0, restored.stderr);
    assert.equal(fs.readFileSync(file, "utf8"), salted, "the state's salt, written back");
    lose();
    assert.equal(pulumi(s, ["destroy", "--yes"]).status, 0, "destroy always falls back");
    assert.equal(fs.readFileSync(file, "utf8"), salted);
    lose();
    const fresh = pulumi(s, ["up", "--yes"]);
    assert.equal(fresh.status, 0, fresh.stderr);
    const written = fs.readFileSync(file, "utf8");
    assert.match(written.slice(tracked.length), /^encryptionsalt: v1:\S+\n$/);
    assert.notEqual(written, salted, "without the variable the CLI makes a new salt");
  });

  test("a committed salt binds every clone to its passphrase: another clone's stack init then fails", () => {
    const first = setup();
    assert.equal(pulumi(first, ["stack", "select", "--create", "dev"]).status, 0);
    const other = setup();
    fs.copyFileSync(path.join(first.project, "Pulumi.dev.yaml"), path.join(other.project, "Pulumi.dev.yaml"));
    const r = pulumi(other, ["stack", "select", "--create", "dev"], { PULUMI_CONFIG_PASSPHRASE: "another" });
    assert.equal(r.status, 1);
    assert.equal(r.stderr, "error: could not create secrets manager for new stack: incorrect passphrase\n");
    assert.deepEqual(other.pulumi.stacks(other.project), []);
  });
});

describe("the stub is as strict as the CLI", () => {
  test("an empty --stack with no stack selected, non-interactive: no stack selected", () => {
    const s = setup();
    const up = pulumi(s, ["up", "--stack", "", "--yes", "--non-interactive"]);
    // RequireStack's error is a plain errors.New (exit 1); stack select's is NoStackSelectedError (exit 6).
    assert.equal(up.status, 1);
    assert.equal(
      up.stderr,
      "error: no stack selected; please use `pulumi stack select` or `pulumi stack init` to choose one\n",
    );
    const sel = pulumi(s, ["stack", "select", "--stack", "", "--non-interactive"]);
    assert.equal(sel.status, 6);
    assert.equal(sel.stderr, "error: no stack selected; specify a stack name with --stack\n");
    const out = pulumi(s, ["stack", "output", "--stack", ""]);
    assert.equal(out.stderr, "error: no stack selected; please use `pulumi stack select` to choose one\n");
  });

  test("a named stack that does not exist is not created by up", () => {
    const s = setup();
    const r = pulumi(s, ["up", "--stack", "ci", "--yes"]);
    assert.equal(r.status, 6); // StackNotFoundError → ExitStackNotFound
    assert.equal(r.stderr, "error: no stack named 'ci' found\n");
  });

  test("passphrase: needed to create a stack and to run up, not to read plaintext config or masked outputs", () => {
    const s = setup();
    const none = { PULUMI_CONFIG_PASSPHRASE: "" };
    assert.equal(pulumi(s, ["stack", "select", "--create", "dev"]).status, 0);
    const noPass = (args: string[]) => {
      const res = spawnSync(path.join(s.pulumi.bin, "pulumi"), args, {
        cwd: s.project,
        env: userEnv(s),
        encoding: "utf8",
      });
      return { status: res.status, stderr: res.stderr, stdout: res.stdout };
    };
    const up = noPass(["up", "--stack", "dev", "--yes"]);
    assert.equal(up.status, 1);
    assert.equal(
      up.stderr,
      "error: getting stack configuration: get stack secrets manager: passphrase must be set with " +
        "PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables\n",
    );
    assert.equal(noPass(["config", "get", "clusterName", "--stack", "dev"]).stdout, "lab-cluster\n");
    assert.equal(noPass(["stack", "output", "--stack", "dev", "--json"]).status, 0);
    assert.equal(noPass(["stack", "output", "--stack", "dev", "--show-secrets"]).status, 1);
    // An empty passphrase is a passphrase (the CLI checks that the variable is set), but not this one.
    assert.match(pulumi(s, ["up", "--stack", "dev", "--yes"], none).stderr, /incorrect passphrase/);
    const file = path.join(s.home, "passphrase");
    fs.writeFileSync(file, "pass\n");
    assert.equal(noPass(["up", "--stack", "dev", "--yes"]).status, 1);
    const viaFile = spawnSync(path.join(s.pulumi.bin, "pulumi"), ["up", "--stack", "dev", "--yes"], {
      cwd: s.project,
      env: userEnv(s, { PULUMI_CONFIG_PASSPHRASE_FILE: file }),
      encoding: "utf8",
    });
    assert.equal(viaFile.status, 0, viaFile.stderr);
  });

  test("secret outputs: masked without --show-secrets, decrypted with it", () => {
    const s = setup();
    s.pulumi.program({ outputs: { clusterName: "lab-cluster", demoToken: "t0k3n" }, secretOutputs: ["demoToken"] });
    assert.equal(pulumi(s, ["stack", "select", "--create", "dev"]).status, 0);
    assert.equal(pulumi(s, ["up", "--yes"]).status, 0);
    assert.deepEqual(JSON.parse(pulumi(s, ["stack", "output", "--json"]).stdout), {
      clusterName: "lab-cluster",
      demoToken: "[secret]",
    });
    assert.equal(pulumi(s, ["stack", "output", "demoToken", "--show-secrets"]).stdout, "t0k3n\n");
    assert.doesNotMatch(pulumi(s, ["stack", "export"]).stdout, /t0k3n/);
    assert.deepEqual(s.pulumi.outputs(s.project, "dev"), { clusterName: "lab-cluster", demoToken: "t0k3n" });
  });

  test("config set-all --path keeps the stack file's comments and types numbers", () => {
    const s = setup();
    assert.equal(pulumi(s, ["stack", "select", "--create", "dev"]).status, 0);
    const r = pulumi(s, [
      "config",
      "set-all",
      "--stack",
      "dev",
      "--path",
      "--plaintext",
      "istio-mesh:canaryWeights.v1=70",
      "--plaintext",
      "istio-mesh:canaryWeights.v2=30",
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(s.pulumi.config(s.project, "dev")["istio-mesh:canaryWeights"], { v1: 70, v2: 30 });
    const text = fs.readFileSync(path.join(s.project, "Pulumi.dev.yaml"), "utf8");
    assert.match(text, /\nencryptionsalt: v1:\S+\n$/, "the salt stays after the keys the file had");
    assert.match(text, /# The lab's stack/);
  });

  test("a command the stub does not reproduce fails loudly (exit 2), never passes", () => {
    const s = setup();
    const r = pulumi(s, ["stack", "rename", "prod"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /pulumi stub: `pulumi stack rename` is not reproduced/);
    assert.equal(pulumi(s, ["up", "--bogus"]).stderr, "error: unknown flag: --bogus\n");
  });

  test("stack tags live in the DIY backend, unvalidated, from CLI 3.211; a lock file of another update stops up", () => {
    const s = setup();
    assert.equal(pulumi(s, ["stack", "select", "--create", "dev"]).status, 0);
    assert.equal(pulumi(s, ["stack", "tag", "set", "istio-mesh:last", '{"v1":90}']).status, 0);
    assert.equal(pulumi(s, ["stack", "tag", "get", "istio-mesh:last"]).stdout, '{"v1":90}\n');
    assert.deepEqual(JSON.parse(pulumi(s, ["stack", "tag", "ls", "--json"]).stdout), {
      "istio-mesh:last": '{"v1":90}',
    });
    assert.deepEqual(s.pulumi.tags(s.project, "dev"), { "istio-mesh:last": '{"v1":90}' });
    // pkg/cmd/pulumi/stack/stack_tag.go
    assert.equal(
      pulumi(s, ["stack", "tag", "get", "nope"]).stderr,
      "error: stack tag 'nope' not found for stack 'dev'\n",
    );
    // Only Pulumi Cloud validates names and values (pkg/util/validation/stack.go from
    // httpstate/client/client.go); the DIY backend saves them as given (diy/stack_tags.go saveStackTags).
    assert.equal(pulumi(s, ["stack", "tag", "set", "a b", "x".repeat(300)]).status, 0);
    assert.equal(s.pulumi.tags(s.project, "dev")["a b"], "x".repeat(300));
    // Before 3.211 a DIY backend had no stack tags (0bfe911381e5^: stack_tag.go, diy/backend.go SupportsTags).
    const old = pulumi(s, ["stack", "tag", "ls", "--json"], { STUB_PULUMI_VERSION: "v3.210.0" });
    assert.equal(old.status, 1);
    assert.equal(old.stderr, `error: the current backend (${os.hostname()}) does not support stack tags\n`);
    // A tags file the CLI cannot load: `null` (diy/stack.go Tags), and `up` fails (diy/state.go getTarget).
    fs.writeFileSync(s.pulumi.tagsFile(s.project, "dev"), JSON.stringify({ version: 2, tags: {} }));
    assert.equal(pulumi(s, ["stack", "tag", "ls", "--json"]).stdout, "null\n");
    assert.equal(
      pulumi(s, ["up", "--yes"]).stderr,
      "error: failed to load stack tags: unsupported stack tags version: 2 (expected 1)\n",
    );
    fs.rmSync(s.pulumi.tagsFile(s.project, "dev"));
    // pkg/backend/diy/lock.go checkForLock
    const locks = path.join(s.pulumi.stateDir(s.project), ".pulumi", "locks", "organization", "istio-mesh", "dev");
    fs.mkdirSync(locks, { recursive: true });
    const lock = { pid: 42, username: "ci", hostname: "runner", timestamp: "2026-01-01T00:00:00Z" };
    fs.writeFileSync(path.join(locks, "abc.json"), JSON.stringify(lock));
    const up = pulumi(s, ["up", "--yes"]);
    assert.equal(up.status, 1);
    assert.match(
      up.stderr,
      /^error: the stack is currently locked by 1 lock\(s\)\. Either wait for the other process\(es\) to end or delete the lock file with `pulumi cancel`\.\n {2}file:\/\/.*abc\.json: created by ci@runner \(pid 42\)/,
    );
  });

  test("a mandatory policy violation: the Policies section on stdout, no summary, exit 1, nothing deployed", () => {
    const s = setup();
    assert.equal(pulumi(s, ["stack", "select", "--create", "dev"]).status, 0);
    s.pulumi.program({
      outputs: { a: 1 },
      policyViolations: [{ pack: "istio-mesh-guardrails@v0.1.0", policy: "limit", message: "too much" }],
    });
    const up = pulumi(s, ["up", "--yes", "--policy-pack", "policies"]);
    assert.equal(up.status, 1);
    assert.equal(up.stderr, "");
    assert.match(
      up.stdout,
      /Policies:\n {4}❌ istio-mesh-guardrails@v0\.1\.0 \(local: .*policies\)\n {8}- \[mandatory\] {2}limit\n {10}too much\n/,
    );
    assert.deepEqual(s.pulumi.outputs(s.project, "dev"), {});
  });

  test("a second SIGINT terminates at once (pkg/backend/cancellation_scope.go)", async () => {
    const s = setup();
    assert.equal(pulumi(s, ["stack", "select", "--create", "dev"]).status, 0);
    s.pulumi.program({ waitForSignal: ["up"] });
    const child = spawn(path.join(s.pulumi.bin, "pulumi"), ["up", "--yes"], {
      cwd: s.project,
      env: userEnv(s, { PULUMI_CONFIG_PASSPHRASE: "pass" }),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    while (s.pulumi.waiting().length === 0) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGINT");
    while (!stdout.includes("cancelling")) await new Promise((r) => setTimeout(r, 5));
    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    // The engine returns context.Canceled; up turns it into CancelledError (operations/up.go), which
    // prints as `update cancelled` and exits ExitCancelled (cmd/exit_codes.go).
    assert.equal(code, 8);
    assert.deepEqual(s.pulumi.signals(), ["SIGINT", "SIGINT"]);
    assert.match(stdout, /\^C received; terminating\n/);
    assert.equal(stderr, "error: update cancelled\n");
  });

  test("calls and signals are logged: an up waiting on the engine is cancelled by SIGINT", async () => {
    const s = setup();
    assert.equal(pulumi(s, ["stack", "select", "--create", "dev"]).status, 0);
    s.pulumi.program({ waitForSignal: ["up"] });
    const child = spawn(path.join(s.pulumi.bin, "pulumi"), ["up", "--yes", "--stack", "dev"], {
      cwd: s.project,
      env: userEnv(s, { PULUMI_CONFIG_PASSPHRASE: "pass" }),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    // Signal once the stub says it is waiting (past its checks, its handlers installed).
    while (s.pulumi.waiting().length === 0) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    assert.equal(code, 1); // the engine's cancellation is a bail error: ExitCodeError
    assert.deepEqual(s.pulumi.signals(), ["SIGINT"]);
    // An engine stdout event (pkg/backend/cancellation_scope.go), which the display writes to stdout.
    assert.match(stdout, /\^C received; cancelling\. If you would like to terminate immediately, press \^C again\./);
    // The engine's cancellation is a diagnostic under the stack, on stdout; the bail prints nothing on
    // stderr (pkg/engine/lifecycletest/testdata/output/TestCanceledRefresh/progress.stdout.txt).
    assert.match(stdout, /Diagnostics:\n {2}pulumi:pulumi:Stack \(istio-mesh-dev\):\n {4}error: update canceled\n/);
    assert.equal(stderr, "");
    assert.deepEqual(
      s.pulumi.calls().map((c) => c.argv.join(" ")),
      ["stack select --create dev", "up --yes --stack dev"],
    );
    assert.equal(s.pulumi.calls()[1]?.env.PULUMI_CONFIG_PASSPHRASE, "<set>", "the log never holds the passphrase");
  });
});

// Each call is a bash process handing itself to a thread of this test process (tests/support/stubServer.ts).
describe("the stub's process", () => {
  test("a call arrives whole: arguments and environment with newlines and backslashes, Go's working directory", () => {
    const s = setup();
    assert.equal(pulumi(s, ["stack", "select", "--create", "dev"]).status, 0);
    const value = "line one\nline \\two\\";
    const link = path.join(s.project, "..", "via-link");
    fs.symlinkSync(s.project, link);
    const set = spawnSync(path.join(s.pulumi.bin, "pulumi"), ["config", "set", "note", value, "--stack", "dev"], {
      cwd: link,
      env: userEnv(s, { PWD: link, PULUMI_EXTRA: "a\\b\nc" }),
      encoding: "utf8",
    });
    assert.equal(set.status, 0, set.stderr);
    assert.equal(pulumi(s, ["config", "get", "note"]).stdout, `${value}\n`);
    const call = s.pulumi.calls()[1];
    assert.deepEqual(call?.argv, ["config", "set", "note", value, "--stack", "dev"]);
    assert.equal(call?.env.PULUMI_EXTRA, "a\\b\nc");
    // os.Getwd: the environment's PWD when it names the current directory, here through the link.
    assert.equal(call?.cwd, link);
  });

  test("a stub whose test process has ended fails with one line and exit 2", async () => {
    const s = setup();
    // The stub as its own test process left it: its server's port, now nobody's (and nobody's to take).
    const [port = 0] = await quietPorts(1);
    const bin = path.join(s.pulumi.bin, "pulumi");
    fs.writeFileSync(bin, fs.readFileSync(bin, "utf8").replace(/127\.0\.0\.1([/:])\d+/g, `127.0.0.1$1${port}`));
    const r = pulumi(s, ["version"]);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, "");
    assert.equal(
      r.stderr,
      `pulumi stub: no server on 127.0.0.1:${port} (the test process that wrote this stub has ended)\n`,
    );
  });
});
