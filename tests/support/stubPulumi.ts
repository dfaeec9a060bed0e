/**
 * A strict stand-in for the Pulumi CLI, for tests that run scripts or tools that call it for real.
 *
 * The executable's behaviour, and the pulumi/pulumi source each rule follows, is in pulumiCli.ts:
 * it keeps real state (a DIY file backend's `.pulumi/` layout in the directory Pulumi.yaml names),
 * refuses a state directory that does not exist, a missing or empty stack under a non-interactive
 * run, and secrets work without PULUMI_CONFIG_PASSPHRASE, with the real CLI's messages and exit codes
 * (pkg/cmd/pulumi/cmd/exit_codes.go: 6 for a missing/unselected stack, 2 for a missing --yes, else 1).
 * `up`, `refresh` and `destroy` apply what the test declares with `program()`.
 *
 * Usage:
 *   const pulumi = new PulumiStub(path.join(tmp, "pulumi"));        // installs <dir>/bin/pulumi
 *   const project = freshClone(path.join(tmp, "clone"));            // the repo as `git clone` gives it
 *   spawnSync("bash", [...], { cwd: project, env: { PATH: `${pulumi.bin}:…`, HOME: tmp,
 *     PULUMI_CONFIG_PASSPHRASE: "test" } });
 *   pulumi.calls();  pulumi.stacks(project);  pulumi.outputs(project, "dev");  pulumi.signals();
 *   pulumi.seedStack(project, "dev", { passphrase: "test", resources, outputs });  // a deployed stack
 *
 * The tools find it first on PATH (`pulumi.bin`); Pulumi's Automation API would also take
 *   `pulumiCommand: await PulumiCommand.get({ root: path.dirname(pulumi.bin) })` (it runs `<root>/bin/pulumi`).
 *
 * Each call is a process of its own, started, piped, signalled and exiting as the CLI's, but a cheap one:
 * the `pulumi` file is a bash script that hands its arguments, working directory, the environment
 * pulumiCli.ts reads (CALL_ENV) and whether stdin and stdout are terminals over 127.0.0.1 to one server
 * thread of the test process (stubServer.ts, shared with the stub kubectl), which runs pulumiCli.ts and
 * streams back stdout and stderr as they are written, then the exit code. The script traps SIGINT and
 * SIGTERM and forwards them: an operation waiting on the engine (StubProgram.waitForSignal) records them
 * and cancels or terminates in the server, its ack reaching the caller while it waits; outside an
 * operation the process dies by the signal, as the CLI does. A node process per call cost ~0.17 s of CPU
 * (~0.10 s node's own start); a bash one costs ~5 ms, and the server ~5 ms more. The seven test files that
 * call it went from ~88 s of CPU to ~47 s (scripts/dev/test-profile.ts, 2026-12-02).
 */
import { execFileSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildSync } from "esbuild";
import { Document, parse, parseDocument } from "yaml";
import { CALL_ENV } from "./pulumiCli";
import { scratchDir } from "./scratchDir";
import { startStubServer, stubClient } from "./stubServer";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/**
 * The server thread (stubServer.ts) running pulumiCli.ts for each call, bundled once per test process
 * (the thread runs plain JavaScript, without tsx).
 */
function serverSource(): string {
  const out = path.join(scratchDir("pulumi-stub-"), "pulumiCli.cjs");
  buildSync({
    entryPoints: [path.join(__dirname, "pulumiCli.ts")],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    outfile: out,
    logLevel: "error",
  });
  return `
const { startPulumi } = require(${JSON.stringify(out)});
serveCalls({ run: startPulumi });
`;
}

export type StubOp = "up" | "preview" | "refresh" | "destroy";

/** A resource in the stub's state, as `pulumi stack export` shows it. */
export interface StubResource {
  readonly urn: string;
  readonly type: string;
  readonly custom?: boolean;
  readonly parent?: string;
  readonly dependencies?: readonly string[];
  readonly provider?: string;
  readonly deletedWith?: string;
  readonly inputs?: Record<string, unknown>;
  readonly outputs?: Record<string, unknown>;
}

/** What the next `up`/`refresh`/`destroy` does (the program itself is never run). */
export interface StubProgram {
  /** Resources `up` leaves in state, beside the Stack resource. */
  readonly resources?: readonly StubResource[];
  /** Stack outputs `up` records; those named in `secretOutputs` are stored encrypted. */
  readonly outputs?: Record<string, unknown>;
  readonly secretOutputs?: readonly string[];
  /** The operation's engine fails with this message after the CLI's own checks: `error: …` under Diagnostics on stdout, nothing on stderr, exit 1, as a failed step. */
  readonly fail?: Partial<Record<StubOp, string>>;
  /** The operation waits until it gets SIGINT/SIGTERM, then fails with "update canceled". */
  readonly waitForSignal?: readonly StubOp[];
  /** URNs `refresh` finds gone and drops from state. */
  readonly refreshDrops?: readonly string[];
  /**
   * Mandatory violations `up`/`preview` report from the --policy-pack (`pack` as the display keys it,
   * "<name>@v<version>"; `resource` a URN): the "Policies:" section on stdout, nothing changed, exit 1.
   */
  readonly policyViolations?: readonly { pack: string; policy: string; resource?: string; message: string }[];
  /** The program of the operations after this one (e.g. only the first `up` fails or waits). */
  readonly next?: StubProgram;
}

/** One call of the stub: its arguments, working directory and PULUMI_* environment (passphrase as "<set>"). */
export interface StubCall {
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Record<string, string>;
}

export class PulumiStub {
  /** The directory holding the `pulumi` executable: put it on PATH. */
  readonly bin: string;

  constructor(readonly dir: string) {
    this.bin = path.join(dir, "bin");
    fs.mkdirSync(this.bin, { recursive: true });
    const port = startStubServer("pulumi", serverSource);
    fs.writeFileSync(
      path.join(this.bin, "pulumi"),
      stubClient({ tool: "pulumi", port, dir, env: CALL_ENV, signals: ["INT", "TERM"] }),
      { mode: 0o755 },
    );
  }

  program(program: StubProgram): void {
    fs.writeFileSync(path.join(this.dir, "program.json"), JSON.stringify(program));
  }

  calls(): StubCall[] {
    const file = path.join(this.dir, "calls.jsonl");
    if (!fs.existsSync(file)) return [];
    return fs
      .readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as StubCall);
  }

  /** Calls as `args joined by spaces`, without global flags' noise. */
  commands(): string[] {
    return this.calls().map((c) => c.argv.join(" "));
  }

  /** Signals the stub received, in order (SIGINT, SIGTERM). */
  signals(): string[] {
    const file = path.join(this.dir, "signals.log");
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
  }

  /** Operations now waiting for a signal (StubProgram.waitForSignal), in the order they started. */
  waiting(): string[] {
    const file = path.join(this.dir, "waiting.log");
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
  }

  /** The state directory the project's Pulumi.yaml names (resolved against the project dir). */
  stateDir(project: string): string {
    const doc = parse(fs.readFileSync(path.join(project, "Pulumi.yaml"), "utf8")) as { backend?: { url?: string } };
    const url = doc.backend?.url;
    if (!url?.startsWith("file://")) throw new Error(`${project}/Pulumi.yaml has no file:// backend`);
    return path.resolve(project, url.slice("file://".length).split("?")[0] as string);
  }

  private stackFile(project: string, stack: string): string {
    return path.join(this.stateDir(project), ".pulumi", "stacks", projectName(project), `${stack}.json`);
  }

  stacks(project: string): string[] {
    const dir = path.dirname(this.stackFile(project, "x"));
    return fs.existsSync(dir)
      ? fs
          .readdirSync(dir)
          .filter((f) => f.endsWith(".json"))
          .map((f) => f.slice(0, -5))
          .sort()
      : [];
  }

  /** The stack's deployment, as `pulumi stack export` prints it (secrets still encrypted). */
  deployment(project: string, stack: string): { resources?: StubResource[] } {
    const file = JSON.parse(fs.readFileSync(this.stackFile(project, stack), "utf8"));
    return file.checkpoint.latest ?? {};
  }

  /** The DIY backend's `<stack>.pulumi-tags` beside the stack file (pkg/backend/diy/stack_tags.go). */
  tagsFile(project: string, stack: string): string {
    return this.stackFile(project, stack).replace(/\.json$/, ".pulumi-tags");
  }

  /** The stack's tags (`pulumi stack tag ls`), from its tags file. */
  tags(project: string, stack: string): Record<string, string> {
    const file = this.tagsFile(project, stack);
    return fs.existsSync(file)
      ? (JSON.parse(fs.readFileSync(file, "utf8")) as { tags: Record<string, string> }).tags
      : {};
  }

  /** The update history, newest first (`pulumi stack history --json`), with each update's config. */
  history(
    project: string,
    stack: string,
  ): { kind: string; result: string; config: Record<string, { value: string }> }[] {
    const dir = path.join(this.stateDir(project), ".pulumi", "history", projectName(project), stack);
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(".history.json"))
      .sort()
      .reverse()
      .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")));
  }

  /** Stack outputs with secrets decrypted. */
  outputs(project: string, stack: string): Record<string, unknown> {
    const root = this.deployment(project, stack).resources?.find((r) => r.type === "pulumi:pulumi:Stack");
    return Object.fromEntries(
      Object.entries(root?.outputs ?? {}).map(([k, v]) => [k, isSecret(v) ? JSON.parse(decrypt(v.ciphertext)) : v]),
    );
  }

  /** The `config:` map of Pulumi.<stack>.yaml, secure values left as `{secure: …}`. */
  config(project: string, stack: string): Record<string, unknown> {
    const file = path.join(project, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) return {};
    return ((parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> })?.config ?? {}) as Record<
      string,
      unknown
    >;
  }

  /**
   * A stack that exists already (as after `pulumi stack init` and an `up`) in the project's state
   * directory, locked with `passphrase`; its Pulumi.<stack>.yaml gets the matching encryptionsalt.
   */
  seedStack(
    project: string,
    stack: string,
    {
      passphrase,
      resources = [],
      outputs,
    }: { passphrase: string; resources?: readonly StubResource[]; outputs?: Record<string, unknown> },
  ): void {
    const saltPart = randomBytes(8).toString("base64");
    const salt = `v1:${saltPart}:v1:stub:${createHmac("sha256", passphrase).update(saltPart).digest("base64")}`;
    const name = projectName(project);
    const stackRoot = outputs && {
      urn: `urn:pulumi:${stack}::${name}::pulumi:pulumi:Stack::${name}-${stack}`,
      type: "pulumi:pulumi:Stack",
      custom: false,
      outputs,
    };
    const file = this.stackFile(project, stack);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(
      file,
      JSON.stringify({
        version: 3,
        checkpoint: {
          stack: `organization/${name}/${stack}`,
          latest: {
            manifest: { time: new Date().toISOString(), magic: "stub", version: "v3.270.0" },
            secrets_providers: { type: "passphrase", state: { salt } },
            resources: [...(stackRoot ? [stackRoot] : []), ...resources],
          },
        },
      }),
    );
    const configFile = path.join(project, `Pulumi.${stack}.yaml`);
    const doc = fs.existsSync(configFile) ? parseDocument(fs.readFileSync(configFile, "utf8")) : new Document({});
    doc.set("encryptionsalt", salt);
    fs.writeFileSync(configFile, doc.toString());
  }
}

const isSecret = (v: unknown): v is { ciphertext: string } =>
  typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG] === SECRET_VALUE;
const decrypt = (cipher: string) => Buffer.from(cipher.replace(/^v1:stub:/, ""), "base64").toString("utf8");

function projectName(project: string): string {
  return (parse(fs.readFileSync(path.join(project, "Pulumi.yaml"), "utf8")) as { name: string }).name;
}

let cloneFiles: string[] | undefined;

/**
 * The files a fresh `git clone` of this repository would have, as the working tree has them now
 * (tracked plus not-yet-committed files that .gitignore lets through; never .pulumi-state
 * contents, never node_modules), limited to `under` (paths or directory prefixes), copied to `dest`.
 */
export function freshClone(
  dest: string,
  under: readonly string[] = [
    "Pulumi.",
    ".pulumi-state/",
    "package.json",
    "scripts/",
    "config/",
    "components/cluster/",
    "policies/",
  ],
): string {
  cloneFiles ??= execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], {
    cwd: REPO_ROOT,
    encoding: "utf8",
  })
    .split("\0")
    .filter(Boolean);
  for (const file of cloneFiles) {
    if (!under.some((prefix) => file === prefix || file.startsWith(prefix))) continue;
    const from = path.join(REPO_ROOT, file);
    if (!fs.existsSync(from)) continue; // deleted in the working tree, not yet committed
    const to = path.join(dest, file);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(from, to);
    fs.chmodSync(to, fs.statSync(from).mode);
  }
  return dest;
}

/**
 * A clone holding what `npm run canary` and `npm run upgrade` read of the project (Pulumi.yaml and its
 * state directory, the policy pack's manifest) and an empty policy config for the dev stack, which
 * their `pulumi up --policy-pack-config` names.
 */
export function toolProject(dest: string): string {
  const project = freshClone(dest, ["Pulumi.yaml", ".pulumi-state/", "policies/PulumiPolicy.yaml"]);
  fs.mkdirSync(path.join(project, "policies", "config"), { recursive: true });
  fs.writeFileSync(path.join(project, "policies", "config", "dev.json"), "{}\n");
  return project;
}
