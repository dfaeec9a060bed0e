/**
 * tools/lib/stackWorkspace.ts against the strict stub `pulumi` (tests/support/pulumiCli.ts): each call
 * is the command line and environment Pulumi's Automation API (@pulumi/pulumi 3.270,
 * sdk/nodejs/automation/localWorkspace.ts, stack.ts, cmd.ts) built for it when the tools went through
 * it, a failure is the CLI's own error line, and neither tool that drives a stack imports the SDK.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { build } from "esbuild";
import YAML from "yaml";
import { CliError, EXIT } from "../tools/lib/cli";
import { CLI_TOO_OLD, parseTagList, StackWorkspace } from "../tools/lib/stackWorkspace";
import { PROJECT_ROOT } from "./support/configs";
import { scratchDir } from "./support/scratchDir";
import { PulumiStub, toolProject } from "./support/stubPulumi";

interface Stand {
  readonly project: string;
  readonly pulumi: PulumiStub;
  readonly env: NodeJS.ProcessEnv;
  /** Each call since the last: its argv, and the two variables the Automation API set. */
  calls(): { argv: string[]; env: Record<string, string> }[];
}

async function stand(selected = false): Promise<Stand> {
  const dir = scratchDir("stack-workspace-");
  const project = toolProject(path.join(dir, "project"));
  fs.writeFileSync(path.join(project, "Pulumi.dev.yaml"), YAML.stringify({ config: { "istio-mesh:revisions": {} } }));
  const pulumi = new PulumiStub(path.join(dir, "pulumi"));
  pulumi.seedStack(project, "dev", { passphrase: "test", outputs: {} });
  pulumi.program({ outputs: {} });
  const env: NodeJS.ProcessEnv = {
    PATH: `${pulumi.bin}${path.delimiter}${process.env.PATH}`,
    HOME: dir,
    PULUMI_HOME: path.join(dir, "pulumi-home"),
    PULUMI_CONFIG_PASSPHRASE: "test",
  };
  if (selected) await StackWorkspace.open("dev", project, env);
  let seen = pulumi.calls().length;
  return {
    project,
    pulumi,
    env,
    calls: () => {
      const all = pulumi.calls();
      const fresh = all.slice(seen).map((c) => ({
        argv: c.argv.map((a) => a.replace(project, "<project>")),
        env: Object.fromEntries(
          ["PULUMI_AUTOMATION_API", "PULUMI_DEBUG_COMMANDS"].flatMap((k) => (c.env[k] ? [[k, c.env[k]]] : [])),
        ),
      }));
      seen = all.length;
      return fresh;
    },
  };
}

const WORKSPACE_ENV = { PULUMI_AUTOMATION_API: "true" };

describe("StackWorkspace: the pulumi CLI as the Automation API ran it", () => {
  let s: Stand;
  let ws: StackWorkspace;
  before(async () => {
    s = await stand();
    ws = await StackWorkspace.open("dev", s.project, s.env);
  });

  test("open: `stack select --stack <name>`, which leaves it selected (Stack.select, localWorkspace.ts selectStack)", () => {
    assert.deepEqual(s.calls(), [
      { argv: ["stack", "select", "--stack", "dev", "--non-interactive"], env: WORKSPACE_ENV },
    ]);
    assert.equal(ws.stackName, "dev");
  });

  test("config set-all --path --plaintext, config rm --path, stack tag ls --json and set", async () => {
    await ws.setConfig({ "revisions.upgradeTo": "1.30.4", "revisions.canaryVersion": "1.30.4" });
    await ws.removeConfig(["revisions.canaryVersion"]);
    await ws.setTag("istio-mesh:canary-last-good", '{"v1":90}');
    assert.deepEqual(await ws.tags(), { "istio-mesh:canary-last-good": '{"v1":90}' });
    assert.deepEqual(s.pulumi.config(s.project, "dev")["istio-mesh:revisions"], { upgradeTo: "1.30.4" });
    assert.deepEqual(s.calls(), [
      {
        argv: [
          "config",
          "set-all",
          "--stack",
          "dev",
          "--path",
          "--plaintext",
          "istio-mesh:revisions.upgradeTo=1.30.4",
          "--plaintext",
          "istio-mesh:revisions.canaryVersion=1.30.4",
          "--non-interactive",
        ],
        env: WORKSPACE_ENV,
      },
      {
        argv: ["config", "rm", "istio-mesh:revisions.canaryVersion", "--stack", "dev", "--path", "--non-interactive"],
        env: WORKSPACE_ENV,
      },
      {
        argv: [
          "stack",
          "tag",
          "set",
          "istio-mesh:canary-last-good",
          '{"v1":90}',
          "--stack",
          "dev",
          "--non-interactive",
        ],
        env: WORKSPACE_ENV,
      },
      { argv: ["stack", "tag", "ls", "--json", "--stack", "dev", "--non-interactive"], env: WORKSPACE_ENV },
    ]);
  });

  test("up: Stack.up's command line and environment (PULUMI_DEBUG_COMMANDS too), its output streamed", async () => {
    let output = "";
    await ws.up({ onOutput: (text) => (output += text) });
    assert.match(output, /^Updating \(dev\)/);
    assert.deepEqual(s.calls(), [
      {
        argv: [
          "up",
          "--yes",
          "--skip-preview",
          "--policy-pack",
          "<project>/policies",
          "--policy-pack-config",
          "<project>/policies/config/dev.json",
          "--color",
          "never",
          "--exec-kind",
          "auto.local",
          "--stack",
          "dev",
          "--non-interactive",
        ],
        env: { PULUMI_AUTOMATION_API: "true", PULUMI_DEBUG_COMMANDS: "true" },
      },
    ]);
  });

  test("config rm of a key that is not there succeeds, as the CLI's (config/map.go Map.Remove)", async () => {
    await ws.removeConfig(["nothing.here"]);
    assert.deepEqual(s.pulumi.config(s.project, "dev")["istio-mesh:revisions"], { upgradeTo: "1.30.4" });
    s.calls();
  });

  test("a file backend stores any tag name and value: only Pulumi Cloud validates them", async () => {
    // stack_tag.go set → diy/backend.go UpdateStackTags → saveStackTags; ValidateStackTags runs in
    // httpstate/client/client.go alone. Pulumi Cloud would refuse both the name and the 300 characters.
    await ws.setTag("not a cloud name", "x".repeat(300));
    assert.equal((await ws.tags())["not a cloud name"], "x".repeat(300));
    s.calls();
  });

  test("a failure is one line: the CLI's error lines, exit 1", async () => {
    // Another process's lock (pkg/backend/diy/lock.go): the CLI's error is several lines; its `error:` one is kept.
    const locks = path.join(s.pulumi.stateDir(s.project), ".pulumi", "locks", "organization", "istio-mesh", "dev");
    fs.mkdirSync(locks, { recursive: true });
    const lock = { pid: 4242, username: "ci", hostname: "runner", timestamp: "2026-12-02T10:00:00Z" };
    fs.writeFileSync(path.join(locks, "0b5f.json"), JSON.stringify(lock));
    await assert.rejects(ws.up(), {
      message:
        "`pulumi up` failed: error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.",
      exitCode: EXIT.failed,
    });
    fs.rmSync(locks, { recursive: true });
    s.pulumi.program({ fail: { up: "update failed" } });
    await assert.rejects(ws.up(), { message: "`pulumi up` failed: error: update failed", exitCode: EXIT.failed });
    s.calls();
  });
});

describe("StackWorkspace.tags: what `pulumi stack tag ls --json` can print", () => {
  test("a tags file the CLI cannot read lists as null (diy/stack.go Tags): exit 2, and up fails on it too", async () => {
    const s = await stand();
    const ws = await StackWorkspace.open("dev", s.project, s.env);
    fs.writeFileSync(s.pulumi.tagsFile(s.project, "dev"), "{not json");
    await assert.rejects(ws.tags(), {
      message:
        "`pulumi stack tag ls --json` printed null: the Pulumi CLI could not read the tags of stack dev (on a file backend: dev.pulumi-tags, beside the stack's checkpoint under .pulumi/stacks, is not JSON or not version 1; `pulumi up` fails on it too)",
      exitCode: EXIT.usage,
    });
    await assert.rejects(ws.up(), { message: /^`pulumi up` failed: error: failed to load stack tags: /, exitCode: 1 });
    // `stack tag set` starts from no tags and replaces the file.
    await ws.setTag("istio-mesh:canary-last-good", '{"v1":100}');
    assert.deepEqual(await ws.tags(), { "istio-mesh:canary-last-good": '{"v1":100}' });
  });

  test("a CLI older than 3.211 (no stack tags on a file backend): one line naming the minimum, exit 2", async () => {
    const s = await stand();
    const ws = await StackWorkspace.open("dev", s.project, { ...s.env, STUB_PULUMI_VERSION: "v3.210.0" });
    const error = await ws.tags().then(
      () => assert.fail("listed tags"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof CliError);
    assert.equal(
      error.message,
      `${CLI_TOO_OLD} (\`pulumi stack tag ls\`: error: the current backend (${os.hostname()}) does not support stack tags)`,
    );
    assert.match(error.message, /^the Pulumi CLI is older than 3\.211, which stack tags on a file backend need: /);
    assert.equal(error.exitCode, EXIT.usage);
  });

  test("parseTagList: an object is the tags; null names the unreadable file; anything else is exit 1", () => {
    assert.deepEqual(parseTagList('{"a":"b"}', "dev"), { a: "b" });
    assert.deepEqual(parseTagList("{}\n", "dev"), {});
    assert.throws(() => parseTagList("null\n", "organization/istio-mesh/dev"), {
      message: /printed null: .* stack organization\/istio-mesh\/dev \(on a file backend: dev\.pulumi-tags,/,
      exitCode: EXIT.usage,
    });
    for (const text of ["[]", "not json", ""]) {
      assert.throws(() => parseTagList(text, "dev"), {
        message: "`pulumi stack tag ls --json` did not print a JSON object",
        exitCode: EXIT.failed,
      });
    }
  });
});

describe("StackWorkspace.open", () => {
  test("no name: the stack `pulumi stack ls --json` marks current (workspace.stack()), then select it", async () => {
    const s = await stand(true);
    const ws = await StackWorkspace.open(undefined, s.project, s.env);
    assert.equal(ws.stackName, "dev");
    assert.deepEqual(
      s.calls().map((c) => c.argv.join(" ")),
      ["stack ls --json --non-interactive", "stack select --stack dev --non-interactive"],
    );
  });

  test("no name and none selected: refused before any change; a stack that does not exist: the CLI's error, exit 2", async () => {
    const s = await stand();
    await assert.rejects(StackWorkspace.open(undefined, s.project, s.env), {
      message: /^no stack selected: pass --stack NAME/,
      exitCode: EXIT.usage,
    });
    // Before any change, so "could not start" (exit 2), though the CLI itself exits 6 (ExitStackNotFound).
    await assert.rejects(StackWorkspace.open("nope", s.project, s.env), {
      message: "`pulumi stack select --stack nope` failed: error: no stack named 'nope' found (nothing was changed)",
      exitCode: EXIT.usage,
    });
  });

  test("no pulumi on PATH: could not run (exit 2), one line", async () => {
    const s = await stand();
    const error = await StackWorkspace.open("dev", s.project, { ...s.env, PATH: path.join(s.project, "no-bin") }).then(
      () => assert.fail("opened without a CLI"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof CliError);
    assert.equal(error.message, "cannot run the Pulumi CLI: it is not installed (or not on PATH)");
    assert.equal(error.exitCode, EXIT.usage);
  });
});

test("npm run canary and npm run upgrade import no @pulumi/pulumi module, statically or through import()", async () => {
  for (const tool of ["canary", "upgrade"]) {
    const { metafile } = await build({
      entryPoints: [path.join(PROJECT_ROOT, "tools", tool, "main.ts")],
      bundle: true,
      write: false,
      platform: "node",
      format: "cjs",
      packages: "external",
      metafile: true,
      outfile: path.join(os.tmpdir(), `${tool}.cjs`),
      logLevel: "error",
    });
    const imports = Object.entries(metafile.inputs).flatMap(([file, input]) =>
      input.imports.map((i) => `${file} → ${i.path} (${i.kind})`),
    );
    assert.ok(
      imports.some((i) => i.includes("tools/lib/stackWorkspace.ts")),
      `${tool} drives a stack`,
    );
    assert.deepEqual(
      imports.filter((i) => /→ @pulumi\/pulumi/.test(i)),
      [],
      tool,
    );
  }
});
