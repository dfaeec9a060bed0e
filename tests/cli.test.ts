/**
 * Every `npm run <tool>` behaves alike (tools/lib/cli.ts): --help exits 0 and documents the exit
 * codes; a bad flag, a missing Pulumi CLI or a missing file is one line `<tool>: …` on stderr and
 * exit 2; STACK=<name> and --stack <name> pick the same stack; nothing ever prints a stack trace.
 * Tools run in-process (their main never throws, or runs under runCli as `npm run` runs it); a few
 * run as `npm run` runs them, to show no trace reaches the real stderr.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { main as bench } from "../tools/bench/main";
import { main as canary } from "../tools/canary/main";
import { main as dashboards } from "../tools/dashboards/main";
import { main as diff } from "../tools/diff/main";
import { CliError, EXIT, fileStack, runCli, stackChoice } from "../tools/lib/cli";
import { checkKubectlTarget } from "../tools/lib/kubeconfig";
import { pulumiFailure } from "../tools/lib/target";
import { main as policy } from "../tools/policy/main";
import { main as render } from "../tools/render/main";
import { main as token } from "../tools/token/main";
import { main as verify } from "../tools/verify/main";
import { PROJECT_ROOT } from "./support/configs";
import { STACK_TRACE } from "./support/stackTrace";

const dir = mkdtempSync(join(tmpdir(), "cli-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const noPulumi = join(dir, "empty-bin");
mkdirSync(noPulumi);
const missing = join(dir, "missing");
/** No pulumi, no kubeconfig, no STACK: what a fresh machine gives a tool. */
const BARE_ENV: NodeJS.ProcessEnv = { PATH: noPulumi, HOME: dir };
/** A project whose stack `nope` keeps its secrets under a passphrase (file backend's default), with none set. */
const passphraseRoot = join(dir, "passphrase-project");
mkdirSync(passphraseRoot);
writeFileSync(join(passphraseRoot, "Pulumi.nope.yaml"), "encryptionsalt: v1:c2FsdA==:v1:AAAAAAAAAAAAAAAA:AAAA\n");

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string[];
}
/** A tool's main in-process, in `root` (default: this project). */
type Tool = (argv: readonly string[], env: NodeJS.ProcessEnv, root?: string) => Promise<Run>;

function capture() {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    result: (code: number): Run => ({ code, stdout: stdout.join("\n"), stderr }),
  };
}

const TOOLS: Record<string, Tool> = {
  render: async (argv, env, root = PROJECT_ROOT) => {
    const c = capture();
    const io = { stdout: (l: string) => c.stdout.push(l), stderr: (l: string) => c.stderr.push(l) };
    return c.result(render(argv, root, io, env));
  },
  diff: async (argv, env, root = PROJECT_ROOT) => {
    const c = capture();
    const io = { stdout: (t: string) => c.stdout.push(t), stderr: (t: string) => c.stderr.push(t.trimEnd()) };
    return c.result(diff(argv, root, io, env));
  },
  token: async (argv, env, root = PROJECT_ROOT) => {
    const c = capture();
    const io = { stdout: (l: string) => c.stdout.push(l), stderr: (l: string) => c.stderr.push(l) };
    return c.result(await token(argv, root, io, { now: Date.now, env }));
  },
  dashboards: async (argv, env, root = PROJECT_ROOT) => {
    const c = capture();
    const code = await dashboards(argv, {
      projectRoot: root,
      env,
      spawn: () => assert.fail("no port-forward on a failure path"),
      onStop: () => {},
      stdout: (l) => c.stdout.push(l),
      stderr: (l) => c.stderr.push(l),
    });
    return c.result(code);
  },
  verify: async (argv, env, root = PROJECT_ROOT) => {
    const c = capture();
    const code = await verify(argv, {
      projectRoot: root,
      env,
      stdout: (t) => c.stdout.push(t),
      stderr: (l) => c.stderr.push(l),
    });
    return c.result(code);
  },
  bench: async (argv, env, root = PROJECT_ROOT) => {
    const c = capture();
    const code = await bench(argv, {
      projectRoot: root,
      env,
      io: {
        stdout: (t) => c.stdout.push(t),
        stderr: (t) => c.stderr.push(t),
        progress: { isTTY: false, write: () => assert.fail("no progress") },
      },
    });
    return c.result(code);
  },
  // Its main throws a CliError for runCli to report, as `npm run canary` runs it.
  canary: async (argv, env, root = PROJECT_ROOT) => {
    const c = capture();
    const io = {
      stdout: (l: string) => c.stdout.push(l),
      stderr: (l: string) => c.stderr.push(l),
      progress: () => {},
      isTTY: false,
    };
    const code = await runCli("canary", () => canary(argv, { projectRoot: root, io, env }), io.stderr);
    return c.result(code);
  },
  policy: async (argv, env, root = PROJECT_ROOT) => {
    const c = capture();
    const io = { stdout: (t: string) => c.stdout.push(t), stderr: (t: string) => c.stderr.push(t.trimEnd()) };
    return c.result(await policy(argv, root, io, env));
  },
};

const notInstalled = (instead: string) => `the Pulumi CLI is not installed: pass ${instead} instead`;

/** [tool, what, argv, exit code, the one stderr line (after "<tool>: ")]. */
const FAILURES: [string, string, string[], number, string | RegExp][] = [
  ["diff", "no --base", [], 2, "--base is required (see npm run diff -- --help)"],
  ["diff", "a base that is no commit", ["--base", "no-such-ref-1234"], 2, /^--base no-such-ref-1234 is not a commit/],
  ["token", "no Pulumi CLI", ["--sub", "a"], 2, notInstalled("--config Pulumi.<stack>.yaml")],
  [
    "token",
    "a missing key file",
    ["--sub", "a", "--key-file", missing],
    2,
    `cannot read --key-file ${missing}: ENOENT`,
  ],
  ["dashboards", "no Pulumi CLI", [], 2, notInstalled("--config Pulumi.<stack>.yaml")],
  ["dashboards", "a missing stack file", ["--config", missing], 2, `stack file not found: ${missing}`],
  [
    "dashboards",
    "a missing kubeconfig",
    ["--config", join(PROJECT_ROOT, "Pulumi.dev.yaml"), "--kubeconfig", missing],
    2,
    `cannot read --kubeconfig ${missing}: ENOENT`,
  ],
  ["verify", "no Pulumi CLI", [], 2, notInstalled("--config Pulumi.<stack>.yaml")],
  ["verify", "a bad --only", ["--only", "nope"], 2, /^--only nope: not a check; allowed: /],
  [
    "verify",
    "a missing CA file",
    ["--config", join(PROJECT_ROOT, "Pulumi.dev.yaml"), "--ca-cert", missing],
    2,
    /ENOENT/,
  ],
  ["bench", "no Pulumi CLI", [], 2, notInstalled("--config Pulumi.<stack>.yaml or --url")],
  ["bench", "a bad --concurrency", ["--concurrency", "0"], 2, /^--concurrency "0": an integer from 1 to 10000 \(see/],
  [
    "bench",
    "--direct with no kubeconfig at all",
    ["--url", "http://127.0.0.1:1", "--direct"],
    2,
    /^no cluster to reach: no kubeconfig .* kubectl would fall back to http:\/\/localhost:8080/,
  ],
  [
    "canary",
    "no Pulumi CLI",
    ["--to", "50"],
    2,
    notInstalled("--dry-run --config Pulumi.<stack>.yaml for the plan alone"),
  ],
  [
    "canary",
    "--dry-run with a missing stack file",
    ["--to", "50", "--dry-run", "--config", missing],
    2,
    `stack file not found: ${missing}`,
  ],
];

/** The run failed with `code` and one stderr line, `<tool>: <line>`, with no stack trace. */
function assertOneLine(tool: string, r: Run, code: number, line: string | RegExp): void {
  assert.equal(r.code, code, r.stderr.join("\n"));
  assert.equal(r.stderr.length, 1, r.stderr.join("\n"));
  const first = r.stderr[0] ?? "";
  assert.ok(first.startsWith(`${tool}: `), first);
  const message = first.slice(tool.length + 2);
  if (typeof line === "string") assert.equal(message, line);
  else assert.match(message, line);
  assert.doesNotMatch(first, STACK_TRACE);
}

describe("every tool as a CLI", () => {
  for (const [tool, run] of Object.entries(TOOLS)) {
    test(`${tool} --help: exit 0, usage and the exit codes on stdout`, async () => {
      const r = await run(["--help"], BARE_ENV);
      assert.equal(r.code, EXIT.ok);
      assert.deepEqual(r.stderr, []);
      assert.match(r.stdout, new RegExp(`usage: npm run (-s )?${tool}`));
      assert.match(r.stdout, /Exit status: 0 .*, 2 could not/s);
    });

    test(`${tool} --bogus: exit 2, one line pointing at --help`, async () => {
      const r = await run(["--bogus"], BARE_ENV);
      assert.equal(r.code, EXIT.usage);
      assert.deepEqual(r.stderr, [`${tool}: Unknown option '--bogus' (see npm run ${tool} -- --help)`]);
      assert.equal(r.stdout, "");
    });
  }

  for (const [tool, what, argv, code, line] of FAILURES) {
    test(`${tool}, ${what}: exit ${code}, one line, no stack trace`, async () => {
      assertOneLine(tool, await (TOOLS[tool] as Tool)(argv, BARE_ENV), code, line);
    });
  }

  const passphrase =
    "stack nope keeps its secrets under a passphrase: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) and run again";
  /**
   * [tool, other flags, project root, the one stderr line]: how far stack `nope` gets. The tools that
   * read Pulumi.<stack>.yaml themselves look for it here; the Pulumi CLI's tools stop before any CLI
   * call, in a project whose Pulumi.nope.yaml has an encryptionsalt and no passphrase is set.
   */
  const STACK_RUNS: [string, string[], string, string | RegExp][] = [
    ["render", [], PROJECT_ROOT, /^stack file not found: .*Pulumi\.nope\.yaml$/],
    ["diff", ["--base", "HEAD"], PROJECT_ROOT, /^stack file not found: .*Pulumi\.nope\.yaml$/],
    ["policy", [], PROJECT_ROOT, /^stack file not found: .*Pulumi\.nope\.yaml$/],
    ["token", ["--sub", "a"], passphraseRoot, passphrase],
    ["dashboards", [], passphraseRoot, passphrase],
    ["verify", [], passphraseRoot, passphrase],
    ["bench", [], passphraseRoot, passphrase],
    // canary's own preflight (tools/lib/stackChecks.ts), before `pulumi stack ls`.
    [
      "canary",
      ["--to", "50"],
      passphraseRoot,
      /^stack nope encrypts its secrets with a passphrase: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE .*nothing was changed\)$/,
    ],
  ];
  test("STACK=nope and --stack nope are tried on every tool", () => {
    assert.deepEqual(STACK_RUNS.map(([tool]) => tool).sort(), Object.keys(TOOLS).sort());
  });

  for (const [tool, argv, root, line] of STACK_RUNS) {
    test(`${tool}: STACK=nope and --stack nope alike: the same exit 2 and one line, no stack trace`, async () => {
      const run = TOOLS[tool] as Tool;
      const fromEnv = await run(argv, { ...BARE_ENV, STACK: "nope" }, root);
      const fromFlag = await run([...argv, "--stack", "nope"], BARE_ENV, root);
      assert.deepEqual(fromEnv, fromFlag);
      assertOneLine(tool, fromFlag, EXIT.usage, line);
    });
  }

  test("STACK and --stack pick the stack alike; --stack wins, an empty one is none", () => {
    assert.equal(stackChoice("a", { STACK: "b" }), "a");
    assert.equal(stackChoice(undefined, { STACK: "b" }), "b");
    assert.equal(stackChoice("", { STACK: "" }), undefined);
    assert.equal(fileStack(undefined, {}), "dev", "the files' tools default like npm run up");
  });

  test("a Pulumi CLI failure is one line; a passphrase failure says what to set", () => {
    const args = ["stack", "output", "--json", "--show-secrets", "--stack", "prod"];
    const missingPhrase = pulumiFailure(
      args,
      255,
      'error: constructing secrets manager of type "passphrase": constructing secrets manager: passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables\n',
    );
    assert.equal(
      missingPhrase.message,
      "stack prod keeps its secrets under a passphrase: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) and run again",
    );
    const wrong = pulumiFailure(
      args.slice(0, 4),
      255,
      "error: failed to decrypt: incorrect passphrase, please set PULUMI_CONFIG_PASSPHRASE to the correct passphrase or set PULUMI_CONFIG_PASSPHRASE_FILE to a file containing the passphrase\n",
    );
    assert.equal(
      wrong.message,
      "PULUMI_CONFIG_PASSPHRASE is not the passphrase of the selected stack (pulumi: incorrect passphrase)",
    );
    const other = pulumiFailure(["config", "--json"], 255, "warning: x\nerror: no stack named 'prod' found\n");
    assert.equal(other.message, "`pulumi config --json` failed (exit 255): no stack named 'prod' found");
    assert.ok(other instanceof CliError && other.exitCode === EXIT.usage);
  });
});

describe("kubectl's target, decided before kubectl runs (client-go clientcmd)", () => {
  const home = join(dir, "home");
  mkdirSync(join(home, ".kube"), { recursive: true });
  const config = join(dir, "config");
  writeFileSync(
    config,
    "apiVersion: v1\nkind: Config\ncurrent-context: kind-lab\ncontexts:\n- name: kind-lab\n  context: {cluster: kind-lab}\n",
  );
  const empty = join(dir, "empty-config");
  writeFileSync(empty, "");
  const refuses = (cluster: Parameters<typeof checkKubectlTarget>[0], env: NodeJS.ProcessEnv, message: RegExp) =>
    assert.throws(
      () => checkKubectlTarget(cluster, env),
      (e: unknown) => e instanceof CliError && message.test(e.message),
    );

  test("no kubeconfig, or only empty or missing ones: kubectl would try localhost:8080, so no", () => {
    refuses({}, { HOME: dir }, /no kubeconfig .*fall back to http:\/\/localhost:8080/);
    refuses({}, { HOME: dir, KUBECONFIG: `${missing}:${empty}` }, /names no context/);
  });

  test("a context the files do not have, or a --kubeconfig that is not there: no", () => {
    refuses({ context: "kind-other" }, { HOME: dir, KUBECONFIG: config }, /context kind-other is not in .*config/);
    refuses({ kubeconfigPath: missing }, { HOME: dir }, /does not exist/);
  });

  test("the stack's own kubeconfig, a current-context, a named context, in-cluster: yes", () => {
    checkKubectlTarget({ kubeconfig: "apiVersion: v1\n" }, { HOME: dir });
    checkKubectlTarget({}, { HOME: dir, KUBECONFIG: `${missing}:${config}` });
    checkKubectlTarget({ kubeconfigPath: config, context: "kind-lab" }, { HOME: dir });
    checkKubectlTarget({}, { HOME: dir, KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" });
  });
});

describe("as `npm run` runs them: the real stderr", () => {
  const runTool = (tool: string, argv: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", join(PROJECT_ROOT, "tools", tool, "main.ts"), ...argv],
        {
          cwd: PROJECT_ROOT,
          env: { ...BARE_ENV, NODE_OPTIONS: "" },
        },
      );
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });

  test("token without the Pulumi CLI and verify --bogus: one line, exit 2, no trace; render --help exit 0", async () => {
    const [tokenRun, verifyRun, renderRun] = await Promise.all([
      runTool("token", ["--sub", "a"]),
      runTool("verify", ["--bogus"]),
      runTool("render", ["--help"]),
    ]);
    assert.deepEqual(tokenRun, {
      code: 2,
      stdout: "",
      stderr: `token: ${notInstalled("--config Pulumi.<stack>.yaml")}\n`,
    });
    assert.deepEqual(verifyRun, {
      code: 2,
      stdout: "",
      stderr: "verify: Unknown option '--bogus' (see npm run verify -- --help)\n",
    });
    assert.equal(renderRun.code, 0, renderRun.stderr);
    assert.match(renderRun.stdout, /^usage: npm run render/);
  });
});
