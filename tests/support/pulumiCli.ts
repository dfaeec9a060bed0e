/**
 * The stand-in `pulumi` CLI: what one call does (stubPulumi.ts runs it in its server thread for each
 * call of the `pulumi` executable it installs; never imported by tests).
 *
 * It reproduces, on the commands this project runs, what the real CLI (v3.270, DIY file backend,
 * passphrase secrets) does, failures first. The upstream source each rule follows, in pulumi/pulumi:
 *
 * - Backend URL: PULUMI_BACKEND_URL, else `backend.url` of the Pulumi.yaml found upwards from the cwd
 *   (pkg/workspace/creds.go GetCurrentCloudURLWithSource). A relative `file://` path is resolved
 *   against the cwd, `~` against the home dir (pkg/backend/diy/backend.go massageBlobPath). The DIY
 *   backend never creates the directory: gocloud's fileblob stats it and the open fails
 *   (backend.go newDIYBackend, stateStoreNoun, describeBackendURL; issue 15841). An empty directory
 *   gets `.pulumi/meta.yaml` (backend.go ensurePulumiMeta).
 * - Stacks live in `.pulumi/stacks/<project>/<stack>.json` (project-scoped layout, pkg/backend/diy).
 *   The selected stack is a workspace setting under PULUMI_HOME (~/.pulumi/workspaces, ~ being the
 *   passwd entry's home, not $HOME: Go's user.Current). A call without PULUMI_HOME is refused (exit 2):
 *   the real CLI would write into the user's own ~/.pulumi, so a test must give it one of its own.
 * - Stack choice: `--stack ""` is no stack; then the selected one is used, and with none a
 *   non-interactive run stops (pkg/cmd/pulumi/stack/io.go RequireStack/ChooseStack; stack_select.go
 *   returns backenderr.NoStackSelectedError). A named stack that does not exist is
 *   StackNotFoundError unless `stack select --create` / `stack init` creates it (stack/io.go CreateStack).
 * - Secrets: a DIY stack's default provider is the passphrase one. Creating a stack, up, preview,
 *   refresh, destroy, state edits and every --show-secrets read construct it, and without
 *   PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE a non-interactive run stops
 *   (pkg/secrets/passphrase/manager.go readPassphrase; stack/secrets.go createSecretsManagerForNewStack;
 *   config/io.go getAndSaveSecretsManager). `stack export` and `stack output` without --show-secrets,
 *   and `config get` of a plaintext key, do not (stack_export.go, stack_output.go BlindingProvider,
 *   config/config.go getConfig). A wrong passphrase is "incorrect passphrase".
 * - up, destroy and refresh need --yes (or --skip-preview) when not interactive
 *   (operations/up.go, destroy.go, refresh.go: backenderr.NoConfirmationInNonInteractiveError).
 * - `state delete` refuses a resource others depend on unless --target-dependents (state/state_delete.go).
 * - Interactive means stdin and stdout are terminals, TERM is not dumb, no CI and no --non-interactive
 *   (sdk/go/common/util/cmdutil/console.go Interactive). The stub does not reproduce prompts: where
 *   the real CLI would prompt, it stops and says so (exit 2), so no test passes on a prompt.
 * - Errors print `error: <message>` on stderr. The exit code is cmd.ExitCodeFor's (main.go
 *   `os.Exit(cmd.ExitCodeFor(err))`, pkg/cmd/pulumi/cmd/exit_codes.go): 6 for StackNotFoundError and
 *   NoStackSelectedError (stack_select.go; RequireStack's "no stack selected; please use …" is a plain
 *   errors.New, so 1), 2 for NoConfirmationInNonInteractiveError, 1 for anything else, bail errors
 *   included (a failed or cancelled update, a mandatory policy violation).
 * - Stack tags (`stack tag set|get|ls|rm`, pkg/cmd/pulumi/stack/stack_tag.go) are stored by the DIY
 *   backend beside the stack file as `<stack>.pulumi-tags` = {version: 1, tags} (pkg/backend/diy/
 *   stack_tags.go), any name and value as given: only Pulumi Cloud validates them
 *   (pkg/util/validation/stack.go ValidateStackTags, called from httpstate/client/client.go alone;
 *   stack_tag.go set → diy/backend.go UpdateStackTags → saveStackTags checks nothing). A tags file the
 *   CLI cannot read lists as `null` (diy/stack.go Tags: nil) and fails `up` (diy/state.go getTarget).
 *   STUB_PULUMI_VERSION below 3.211 plays a CLI from before DIY stack tags: every `stack tag` command
 *   fails "the current backend (<host name>) does not support stack tags" (0bfe911381e5^:
 *   stack_tag.go `!b.SupportsTags()`, diy/backend.go SupportsTags false, Name os.Hostname).
 * - `up`/`preview`/`refresh`/`destroy` refuse while another process holds a lock file in
 *   `.pulumi/locks/<org>/<project>/<stack>/` (pkg/backend/diy/lock.go checkForLock).
 * - A mandatory policy violation (StubProgram.policyViolations) prints the "Policies:" section on stdout
 *   and no summary (pkg/backend/display/progress.go printPolicies, diff.go renderDiffPolicyViolationEvent);
 *   the step generator bails (pkg/resource/deploy/deployment_executor.go), so nothing more on stderr, exit 1.
 * - SIGINT/SIGTERM during an operation (pkg/backend/cancellation_scope.go): the first prints "^C received;
 *   cancelling. If you would like to terminate immediately, press ^C again." (+ the orphaned-resources note
 *   outside a preview) and cancels, the engine reports "update canceled"; the second prints "^C received;
 *   terminating" and terminates. Both are engine stdout events, which the non-interactive display writes
 *   to stdout (pkg/backend/display/jsonmessage.go systemMessage). Outside an operation no handler is
 *   installed and Go's default action ends the process by the signal.
 *
 * What a deployment does is not Pulumi's to know: `up`, `refresh` and `destroy` apply the program
 * file the test wrote (stubPulumi.ts StubProgram). Every call is logged to calls.jsonl and every
 * signal to signals.log in the stub's directory.
 *
 * A call reads what the process would (PulumiCall: its arguments, working directory, the environment
 * variables CALL_ENV names, whether stdin and stdout are terminals) and never the server's own process.
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Document, isMap, parse, parseDocument } from "yaml";

/** What `pulumi version` prints; STUB_PULUMI_VERSION plays an older or newer CLI (tests of prerequisites). */
const version = (ctx: Context) => ctx.env.STUB_PULUMI_VERSION ?? "v3.270.0";
/** The marker Pulumi puts on a secret property value in a checkpoint (sdk/go/common/resource/sig). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** The variables that mark a CI run (see interactive). */
const CI_VARIABLES = ["CI", "GITHUB_ACTIONS", "BUILD_NUMBER", "TF_BUILD", "GITLAB_CI"];
/** The environment a call reads: PULUMI_*, HOME and USER (homedir), TERM and CI's, the stub's version. */
export const CALL_ENV = ["PULUMI_*", "HOME", "USER", "TERM", ...CI_VARIABLES, "STUB_PULUMI_VERSION"] as const;

/** What one call of the `pulumi` process is given. */
export interface PulumiCall {
  /** The stub's directory (stubPulumi.ts): program.json, calls.jsonl, signals.log, waiting.log. */
  readonly dir: string;
  readonly args: readonly string[];
  /** The process's working directory. */
  readonly cwd: string;
  /** The variables of CALL_ENV that its environment has. */
  readonly env: Readonly<Record<string, string>>;
  readonly stdinIsTTY: boolean;
  readonly stdoutIsTTY: boolean;
}

/** The process's stdout and stderr: what is written reaches the caller at once. */
export interface CallOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface RunningCall {
  /** The exit code, or the signal the process dies by. */
  readonly done: Promise<number | NodeJS.Signals>;
  /** The process receives SIGINT or SIGTERM. */
  signal(signal: NodeJS.Signals): void;
}

/** pkg/cmd/pulumi/cmd/exit_codes.go: ExitCodeError, ExitConfigurationError, ExitStackNotFound, ExitCancelled. */
const EXIT = { error: 1, configuration: 2, stackNotFound: 6, cancelled: 8 } as const;

class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.error,
    /** The CLI's own errors print as `error: …`; the stub's refusals print bare. */
    readonly fromCli = true,
  ) {
    super(message);
  }
}
const fail = (message: string, exitCode: number = EXIT.error): never => {
  throw new CliFailure(message, exitCode);
};
/** What the stub does not reproduce stops the test's run (exit 2) rather than pass for the real CLI. */
const unsupported = (what: string): never => {
  throw new CliFailure(`pulumi stub: ${what}`, 2, false);
};
/** Where the real CLI would ask on a terminal: the stub never pretends an answer. */
const wouldPrompt = (what: string): never => {
  throw new CliFailure(`pulumi stub: the real CLI would prompt here (${what}); prompts are not reproduced`, 2, false);
};

// ---------------------------------------------------------------------------------------------
// Flags (cobra: --flag value, --flag=value, -s value, `--` ends flags)

type FlagKind = "bool" | "string" | "array";
const GLOBAL_FLAGS: Record<string, FlagKind> = {
  "non-interactive": "bool",
  cwd: "string",
  color: "string",
  emoji: "bool",
  logtostderr: "bool",
  verbose: "string",
  "disable-integrity-checking": "bool",
};
const SHORT: Record<string, string> = { s: "stack", y: "yes", C: "cwd", c: "create", v: "verbose", f: "skip-preview" };

interface Parsed {
  readonly positional: string[];
  readonly flags: Map<string, string[]>;
}

function parseFlags(args: readonly string[], known: Record<string, FlagKind>): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string[]>();
  const kinds = { ...GLOBAL_FLAGS, ...known };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--") {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positional.push(arg);
      continue;
    }
    const body = arg.startsWith("--") ? arg.slice(2) : arg.slice(1);
    const eq = body.indexOf("=");
    let name = eq >= 0 ? body.slice(0, eq) : body;
    if (!arg.startsWith("--")) name = SHORT[name] ?? name;
    const kind = kinds[name];
    if (!kind) fail(`unknown flag: ${arg.startsWith("--") ? `--${name}` : arg}`);
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else if (kind === "bool") value = "true";
    else {
      if (i + 1 >= args.length) fail(`flag needs an argument: ${arg}`);
      value = args[++i] as string;
    }
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { positional, flags };
}

const flag = (p: Parsed, name: string): string | undefined => p.flags.get(name)?.at(-1);
const bool = (p: Parsed, name: string): boolean => flag(p, name) === "true";

// ---------------------------------------------------------------------------------------------
// Project, backend, stacks

interface Project {
  readonly name: string;
  readonly dir: string;
  readonly file: string;
  readonly backendUrl?: string;
}

function findProject(cwd: string): Project | undefined {
  for (let dir = cwd; ; dir = path.dirname(dir)) {
    for (const file of ["Pulumi.yaml", "Pulumi.yml"]) {
      const full = path.join(dir, file);
      if (fs.existsSync(full)) {
        const doc = parse(fs.readFileSync(full, "utf8")) as { name?: string; backend?: { url?: string } };
        if (!doc?.name) fail(`${full}: project is missing a 'name' attribute`);
        return { name: doc.name as string, dir, file: full, backendUrl: doc.backend?.url };
      }
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

function requireProject(cwd: string): Project {
  return (
    findProject(cwd) ??
    fail(
      `no Pulumi.yaml project file found (searching upwards from ${cwd}). If you have not created a project yet, ` +
        "use `pulumi new` to do so: no project file found",
    )
  );
}

/** The opened DIY backend: its directory (which exists). */
function openBackend(ctx: Context, project: Project | undefined): string {
  const cwd = ctx.cwd;
  const original = ctx.env.PULUMI_BACKEND_URL || project?.backendUrl;
  if (!original) {
    fail("PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions");
  }
  const url = original as string;
  if (!url.startsWith("file://")) unsupported(`only file:// backends are reproduced, not ${url}`);
  let dir = url.slice("file://".length).split("?")[0] as string;
  if (dir.startsWith("~")) dir = dir === "~" ? homedir(ctx) : path.join(homedir(ctx), dir.slice(2));
  dir = path.resolve(cwd, dir);
  const resolved = `file://${dir}`;
  const shown = resolved === url ? `"${url}"` : `"${url}" (resolved to "${resolved}")`;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    return fail(`unable to open state directory ${shown}: stat ${dir}: no such file or directory`);
  }
  if (!stat.isDirectory()) fail(`unable to open state directory ${shown}: ${dir} is not a directory`);
  const meta = path.join(dir, ".pulumi", "meta.yaml");
  if (!fs.existsSync(meta)) {
    fs.mkdirSync(path.dirname(meta), { recursive: true });
    fs.writeFileSync(meta, "version: 1\n");
  }
  return dir;
}

/**
 * The home directory as the CLI's Go finds it (user.Current, built osusergo: lookup_stubs.go current):
 * the user's passwd entry, else $HOME when $USER is set too. Not $HOME first, as Node's os.homedir():
 * a test that points HOME at a temporary directory does not move the real CLI's ~.
 */
function homedir(ctx: Context): string {
  try {
    return os.userInfo().homedir;
  } catch {
    if (ctx.env.HOME && ctx.env.USER) return ctx.env.HOME;
    return fail("user: Current requires cgo or $HOME, $USER set in environment");
  }
}

const STACK_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/** `name` or `organization/<project>/name`, as the DIY backend parses a stack reference. */
function stackName(ref: string, project: Project): string {
  const parts = ref.split("/");
  let name = ref;
  if (parts.length === 3) {
    if (parts[0] !== "organization") fail(`organization name must be 'organization'`);
    if (parts[1] !== project.name) fail(`stack ${ref} is not in the current project ${project.name}`);
    name = parts[2] as string;
  } else if (parts.length !== 1) fail(`could not parse stack reference '${ref}'`);
  if (!STACK_NAME.test(name)) fail("a stack name may only contain alphanumeric, hyphens, underscores, or periods");
  return name;
}

interface Resource {
  urn: string;
  type: string;
  custom?: boolean;
  id?: string;
  parent?: string;
  dependencies?: string[];
  provider?: string;
  deletedWith?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}
interface Deployment {
  manifest: { time: string; magic: string; version: string };
  secrets_providers?: { type: string; state: { salt: string } };
  resources?: Resource[];
}
interface Checkpoint {
  version: 3;
  checkpoint: { stack: string; latest?: Deployment };
}

class Backend {
  constructor(
    readonly dir: string,
    readonly project: Project,
  ) {}

  private file(name: string): string {
    return path.join(this.dir, ".pulumi", "stacks", this.project.name, `${name}.json`);
  }

  exists(name: string): boolean {
    return fs.existsSync(this.file(name));
  }

  names(): string[] {
    const dir = path.dirname(this.file("x"));
    return fs.existsSync(dir)
      ? fs
          .readdirSync(dir)
          .filter((f) => f.endsWith(".json"))
          .map((f) => f.slice(0, -5))
          .sort()
      : [];
  }

  read(name: string): Checkpoint {
    return JSON.parse(fs.readFileSync(this.file(name), "utf8")) as Checkpoint;
  }

  write(name: string, checkpoint: Checkpoint): void {
    fs.mkdirSync(path.dirname(this.file(name)), { recursive: true });
    fs.writeFileSync(this.file(name), JSON.stringify(checkpoint, null, 4));
  }

  history(name: string): Record<string, unknown>[] {
    const dir = path.join(this.dir, ".pulumi", "history", this.project.name, name);
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(".history.json"))
      .sort()
      .reverse()
      .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as Record<string, unknown>);
  }

  addHistory(name: string, entry: Record<string, unknown>): void {
    const dir = path.join(this.dir, ".pulumi", "history", this.project.name, name);
    fs.mkdirSync(dir, { recursive: true });
    const n = String(this.history(name).length + 1).padStart(6, "0");
    fs.writeFileSync(path.join(dir, `${name}-${n}.history.json`), JSON.stringify(entry, null, 4));
  }
}

/** The workspace setting that remembers the selected stack (pkg/workspace: ~/.pulumi/workspaces). */
function workspaceFile(ctx: Context, project: Project): string {
  if (!ctx.env.PULUMI_HOME) {
    // The real CLI would keep this in the user's own ~/.pulumi, outside the test.
    unsupported(`PULUMI_HOME is not set: the CLI would write ${path.join(homedir(ctx), ".pulumi")}/workspaces`);
  }
  const home = ctx.env.PULUMI_HOME as string;
  const hash = createHash("sha1").update(project.file).digest("hex");
  return path.join(home, "workspaces", `${project.name}-${hash}-workspace.json`);
}
function selectedStack(ctx: Context, project: Project): string | undefined {
  const file = workspaceFile(ctx, project);
  if (!fs.existsSync(file)) return undefined;
  const ref = (JSON.parse(fs.readFileSync(file, "utf8")) as { stack?: string }).stack;
  return ref?.split("/").at(-1);
}
function select(ctx: Context, project: Project, name: string): void {
  const file = workspaceFile(ctx, project);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ stack: `organization/${project.name}/${name}` }));
}

// ---------------------------------------------------------------------------------------------
// Passphrase secrets

function isCI(ctx: Context): boolean {
  return CI_VARIABLES.some((v) => {
    const value = ctx.env[v];
    return value !== undefined && value !== "" && value !== "false";
  });
}

function interactive(ctx: Context): boolean {
  return (
    !ctx.nonInteractive &&
    ctx.call.stdinIsTTY &&
    ctx.call.stdoutIsTTY &&
    (ctx.env.TERM ?? "").toLowerCase() !== "dumb" &&
    !isCI(ctx)
  );
}

const PASSPHRASE_MISSING =
  "passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables";

function readPassphrase(ctx: Context): string {
  if (ctx.env.PULUMI_CONFIG_PASSPHRASE !== undefined) return ctx.env.PULUMI_CONFIG_PASSPHRASE;
  const file = ctx.env.PULUMI_CONFIG_PASSPHRASE_FILE;
  // Relative to --cwd's directory: the CLI changes to it first (pkg/cmd/pulumi/pulumi.go), then reads
  // the file (pkg/secrets/passphrase/manager.go).
  if (file) {
    try {
      return fs.readFileSync(path.resolve(ctx.cwd, file), "utf8").trim();
    } catch (error) {
      return fail(`unable to read PULUMI_CONFIG_PASSPHRASE_FILE: ${(error as Error).message}`);
    }
  }
  if (interactive(ctx)) wouldPrompt("Enter your passphrase to unlock config/secrets");
  return fail(PASSPHRASE_MISSING);
}

const check = (phrase: string, salt: string) => createHmac("sha256", phrase).update(salt).digest("base64");

/** A new salt bound to the passphrase, in the shape the real one has (`v1:<salt>:v1:<nonce>:<check>`). */
function newSalt(phrase: string): string {
  const salt = randomBytes(8).toString("base64");
  return `v1:${salt}:v1:stub:${check(phrase, salt)}`;
}

class Crypter {
  constructor(readonly salt: string) {}

  /** Unlocks the stack's secrets with the environment's passphrase, or fails as the CLI does. */
  static unlock(ctx: Context, salt: string, wrap: string): Crypter {
    let phrase: string;
    try {
      phrase = readPassphrase(ctx);
    } catch (error) {
      if (error instanceof CliFailure && error.fromCli) fail(`${wrap}${error.message}`);
      throw error;
    }
    const [, saltPart, , , mac] = salt.split(":");
    if (check(phrase, saltPart ?? "") !== mac) fail(`${wrap}incorrect passphrase`);
    return new Crypter(salt);
  }

  encrypt(plain: string): string {
    return `v1:stub:${Buffer.from(plain, "utf8").toString("base64")}`;
  }

  decrypt(cipher: string): string {
    if (!cipher.startsWith("v1:stub:")) fail("failed to decrypt: incorrect passphrase");
    return Buffer.from(cipher.slice("v1:stub:".length), "base64").toString("utf8");
  }
}

// ---------------------------------------------------------------------------------------------
// Stack config files (Pulumi.<stack>.yaml), edited as documents so comments survive

interface ConfigValue {
  readonly value: string;
  readonly secret: boolean;
  readonly object?: unknown;
}

class StackFile {
  readonly file: string;
  readonly doc: Document;

  constructor(project: Project, stack: string) {
    this.file = path.join(project.dir, `Pulumi.${stack}.yaml`);
    this.doc = fs.existsSync(this.file) ? parseDocument(fs.readFileSync(this.file, "utf8")) : new Document({});
    if (!isMap(this.doc.contents)) this.doc.contents = this.doc.createNode({}) as never;
  }

  get salt(): string | undefined {
    const salt = this.doc.get("encryptionsalt");
    return typeof salt === "string" ? salt : undefined;
  }

  /**
   * As the CLI saves a ProjectStack (sdk/go/common/encoding/marshal.go): a file it read is edited in
   * place, comments kept, and a key it lacked is appended after the others (yamlutil/edit.go
   * handleMappingNode, pulumi/pulumi#14860), so a tracked Pulumi.dev.yaml gains `encryptionsalt:` as its
   * last line; a new file is the struct's order, where encryptionsalt precedes config.
   */
  set salt(salt: string) {
    this.doc.set("encryptionsalt", salt);
  }

  raw(): Record<string, unknown> {
    return ((this.doc.toJS() as { config?: Record<string, unknown> } | null)?.config ?? {}) as Record<string, unknown>;
  }

  hasSecrets(): boolean {
    return JSON.stringify(this.raw()).includes('"secure"');
  }

  values(crypter?: Crypter): Record<string, ConfigValue> {
    const reveal = (v: unknown): unknown => {
      if (v && typeof v === "object" && !Array.isArray(v)) {
        const entries = Object.entries(v as Record<string, unknown>);
        if (entries.length === 1 && entries[0]?.[0] === "secure")
          return crypter ? crypter.decrypt(String(entries[0][1])) : "[secret]";
        return Object.fromEntries(entries.map(([k, x]) => [k, reveal(x)]));
      }
      return Array.isArray(v) ? v.map(reveal) : v;
    };
    const out: Record<string, ConfigValue> = {};
    for (const [key, v] of Object.entries(this.raw())) {
      const secret = JSON.stringify(v).includes('"secure"');
      const shown = reveal(v);
      out[key] =
        typeof shown === "object" && shown !== null
          ? { value: JSON.stringify(shown), secret, object: shown }
          : { value: String(shown), secret };
    }
    return out;
  }

  set(key: string, pathParts: readonly string[], value: unknown): void {
    if (!this.doc.has("config")) this.doc.set("config", this.doc.createNode({}));
    this.doc.setIn(["config", key, ...pathParts], value);
  }

  /**
   * A key, or a path in one, that is not there is no error: the file is saved as it was
   * (sdk/go/common/resource/config/map.go Map.Remove: a missing root is nil; object.go Delete: a
   * missing or scalar step is nil).
   */
  remove(key: string, pathParts: readonly string[]): void {
    const parent = ["config", key, ...pathParts].slice(0, -1);
    if (isMap(parent.length === 1 ? this.doc.get("config") : this.doc.getIn(parent))) {
      this.doc.deleteIn(["config", key, ...pathParts]);
    }
  }

  save(): void {
    fs.writeFileSync(this.file, this.doc.toString());
  }
}

/** `clusterMode` → `istio-mesh:clusterMode`; with --path, the part after the first `.` is a path. */
function configKey(project: Project, key: string, withPath: boolean): { key: string; path: string[] } {
  let [head, ...rest] = withPath ? key.split(".") : [key];
  head = head as string;
  const full = head.includes(":") ? head : `${project.name}:${head}`;
  if (!/^[^:]+:[^:]+$/.test(full)) fail(`invalid configuration key: could not parse ${key} as a configuration key`);
  return { key: full, path: rest };
}

/** What `config set` stores: with --path, numbers and booleans are typed (pkg/resource/config). */
function pathValue(value: string, withPath: boolean): unknown {
  if (!withPath) return value;
  if (value === "true" || value === "false") return value === "true";
  if (/^-?\d+$/.test(value) && String(Number(value)) === value) return Number(value);
  return value;
}

// ---------------------------------------------------------------------------------------------
// The test's program (see stubPulumi.ts)

type Op = "up" | "preview" | "refresh" | "destroy";
interface StubProgram {
  resources?: Resource[];
  outputs?: Record<string, unknown>;
  secretOutputs?: string[];
  fail?: Partial<Record<Op, string>>;
  waitForSignal?: Op[];
  refreshDrops?: string[];
  policyViolations?: { pack: string; policy: string; resource?: string; message: string }[];
  next?: StubProgram;
}
/** The program for this operation; its `next`, when given, becomes the next operation's. */
function takeProgram(ctx: Context): StubProgram {
  const file = path.join(ctx.call.dir, "program.json");
  const prog = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as StubProgram) : {};
  if (prog.next) fs.writeFileSync(file, JSON.stringify(prog.next));
  return prog;
}

// ---------------------------------------------------------------------------------------------
// Commands

interface Context {
  readonly call: PulumiCall;
  readonly env: PulumiCall["env"];
  /** Where commands run: the process's directory, or --cwd's. */
  readonly cwd: string;
  /** --non-interactive was given. */
  readonly nonInteractive: boolean;
  /** stdout, printed when the command ends. */
  readonly out: (text: string) => void;
  /** stdout and stderr as they are written (the engine's events). */
  readonly output: CallOutput;
  /** The operation's cancellation scope (waitForSignal); without one a signal ends the process. */
  onSignal?: (signal: NodeJS.Signals) => void;
  /** Ends the process at once with this exit code. */
  readonly exit: (code: number) => void;
}

function stackFlags(extra: Record<string, FlagKind> = {}): Record<string, FlagKind> {
  return { stack: "string", ...extra };
}

interface Opened {
  readonly project: Project;
  readonly backend: Backend;
  readonly stack: string;
}

/** RequireStack: a named stack must exist; no name means the selected one. */
function requireStack(ctx: Context, p: Parsed, offerNew: boolean): Opened {
  const project = requireProject(ctx.cwd);
  const backend = new Backend(openBackend(ctx, project), project);
  const given = flag(p, "stack") ?? "";
  if (given !== "") {
    const name = stackName(given, project);
    if (!backend.exists(name)) {
      if (offerNew && interactive(ctx)) wouldPrompt(`The stack '${name}' does not exist. Create it?`);
      fail(`no stack named '${name}' found`, EXIT.stackNotFound);
    }
    return { project, backend, stack: name };
  }
  const current = selectedStack(ctx, project);
  if (current && backend.exists(current)) return { project, backend, stack: current };
  if (interactive(ctx)) wouldPrompt("Please choose a stack");
  return fail(
    offerNew
      ? "no stack selected; please use `pulumi stack select` or `pulumi stack init` to choose one"
      : "no stack selected; please use `pulumi stack select` to choose one",
  );
}

function saltOf(o: Opened): string {
  return (
    o.backend.read(o.stack).checkpoint.latest?.secrets_providers?.state.salt ??
    new StackFile(o.project, o.stack).salt ??
    ""
  );
}

/**
 * The salt an operation uses, restoring a stack file that lost its `encryptionsalt:` line while the state
 * still has one (pkg/cmd/pulumi/stack/secrets.go): `destroy`, and `up`/`preview`/`refresh` with
 * PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER truthy (sdk/go/common/env/env.go), take the state's salt and
 * write it back (pkg/cmd/pulumi/config/io.go); without the variable the CLI makes a new salt from the
 * passphrase and saves that (pkg/backend/diy/stack.go, passphrase/manager.go), and the file's `secure:`
 * values, encrypted under the old one, no longer decrypt.
 */
function stackFileSalt(ctx: Context, o: Opened, file: StackFile, op: Op): string {
  const stateSalt = o.backend.read(o.stack).checkpoint.latest?.secrets_providers?.state.salt;
  if (file.salt || !stateSalt) return file.salt ?? saltOf(o);
  const wrap = "getting stack configuration: get stack secrets manager: ";
  Crypter.unlock(ctx, stateSalt, wrap); // the passphrase must open the state either way
  const fallback = op === "destroy" || isTruthy(ctx.env.PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER);
  file.salt = fallback ? stateSalt : newSalt(readPassphrase(ctx));
  file.save();
  return file.salt;
}

/** sdk/go/common/util/cmdutil IsTruthy: "1" or "true" in any case. */
const isTruthy = (value: string | undefined) => value === "1" || value?.toLowerCase() === "true";

function createStack(ctx: Context, project: Project, backend: Backend, name: string, provider: string): void {
  if (provider !== "default" && provider !== "passphrase")
    unsupported(`secrets provider ${provider} is not reproduced`);
  const file = new StackFile(project, name);
  let salt = file.salt;
  const wrap = "could not create secrets manager for new stack: ";
  if (salt) Crypter.unlock(ctx, salt, wrap);
  else {
    let phrase: string;
    try {
      phrase = readPassphrase(ctx);
    } catch (error) {
      if (error instanceof CliFailure && error.fromCli) fail(`${wrap}${error.message}`);
      throw error;
    }
    salt = newSalt(phrase);
    file.salt = salt;
    file.save();
  }
  const manifest = { time: new Date().toISOString(), magic: "stub", version: version(ctx) };
  backend.write(name, {
    version: 3,
    checkpoint: {
      stack: `organization/${project.name}/${name}`,
      latest: { manifest, secrets_providers: { type: "passphrase", state: { salt } } },
    },
  });
  ctx.out(`Created stack '${name}'\n`);
}

function stackSelect(ctx: Context, args: readonly string[]): void {
  const p = parseFlags(args, stackFlags({ create: "bool", "secrets-provider": "string" }));
  const project = requireProject(ctx.cwd);
  const backend = new Backend(openBackend(ctx, project), project);
  let given = flag(p, "stack") ?? "";
  if (p.positional.length > 0) {
    if (given !== "") fail("only one of --stack or argument stack name may be specified, not both");
    given = p.positional[0] as string;
  }
  if (given === "") {
    if (interactive(ctx)) wouldPrompt("Please choose a stack, or create a new one");
    fail("no stack selected; specify a stack name with --stack", EXIT.stackNotFound);
  }
  const name = stackName(given, project);
  if (!backend.exists(name)) {
    if (!bool(p, "create")) fail(`no stack named '${name}' found`, EXIT.stackNotFound);
    createStack(ctx, project, backend, name, flag(p, "secrets-provider") ?? "default");
  }
  select(ctx, project, name);
}

function stackInit(ctx: Context, args: readonly string[]): void {
  const p = parseFlags(args, stackFlags({ "secrets-provider": "string", "no-select": "bool" }));
  const project = requireProject(ctx.cwd);
  const backend = new Backend(openBackend(ctx, project), project);
  const given = p.positional[0] ?? flag(p, "stack") ?? "";
  if (given === "") {
    if (interactive(ctx)) wouldPrompt("Please enter your desired stack name");
    fail("Must supply <stack name> unless pulumi is run interactively");
  }
  const name = stackName(given, project);
  if (backend.exists(name)) fail(`stack '${name}' already exists`);
  createStack(ctx, project, backend, name, flag(p, "secrets-provider") ?? "default");
  if (!bool(p, "no-select")) select(ctx, project, name);
}

function stackLs(ctx: Context, args: readonly string[]): void {
  const p = parseFlags(args, { json: "bool", all: "bool" });
  const project = requireProject(ctx.cwd);
  const backend = new Backend(openBackend(ctx, project), project);
  const current = selectedStack(ctx, project);
  const rows = backend.names().map((name) => ({ name, current: name === current }));
  if (bool(p, "json")) ctx.out(`${JSON.stringify(rows, null, 4)}\n`);
  else ctx.out(`NAME\n${rows.map((r) => `${r.name}${r.current ? "*" : ""}\n`).join("")}`);
}

function stackResource(o: Opened): Resource | undefined {
  return o.backend.read(o.stack).checkpoint.latest?.resources?.find((r) => r.type === "pulumi:pulumi:Stack");
}

function isSecret(v: unknown): v is { ciphertext: string } {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG] === SECRET_VALUE;
}

function stackOutput(ctx: Context, args: readonly string[]): void {
  const p = parseFlags(args, stackFlags({ json: "bool", "show-secrets": "bool", shell: "bool" }));
  const o = requireStack(ctx, p, false);
  const crypter = bool(p, "show-secrets")
    ? Crypter.unlock(ctx, saltOf(o), "constructing secrets manager: ")
    : undefined;
  const raw = stackResource(o)?.outputs ?? {};
  const outputs = Object.fromEntries(
    Object.entries(raw).map(([k, v]) => [
      k,
      isSecret(v) ? (crypter ? JSON.parse(crypter.decrypt(v.ciphertext)) : "[secret]") : v,
    ]),
  );
  const name = p.positional[0];
  const show = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
  if (name !== undefined) {
    if (!(name in outputs)) fail(`current stack does not have output property '${name}'`);
    ctx.out(bool(p, "json") ? `${JSON.stringify(outputs[name], null, 2)}\n` : `${show(outputs[name])}\n`);
    return;
  }
  if (bool(p, "json")) ctx.out(`${JSON.stringify(outputs, null, 2)}\n`);
  else
    ctx.out(
      `Current stack outputs (${Object.keys(outputs).length}):\n    OUTPUT  VALUE\n${Object.entries(outputs)
        .map(([k, v]) => `    ${k}  ${show(v)}\n`)
        .join("")}`,
    );
}

function stackExport(ctx: Context, args: readonly string[]): void {
  const p = parseFlags(args, stackFlags({ "show-secrets": "bool", file: "string", version: "string" }));
  const o = requireStack(ctx, p, false);
  const latest = o.backend.read(o.stack).checkpoint.latest ?? {};
  let deployment: unknown = latest;
  if (bool(p, "show-secrets")) {
    const crypter = Crypter.unlock(ctx, saltOf(o), "constructing secrets manager: ");
    deployment = JSON.parse(JSON.stringify(latest), (_k, v) =>
      isSecret(v) ? { [SECRET_SIG]: SECRET_VALUE, plaintext: crypter.decrypt(v.ciphertext) } : v,
    );
  }
  const text = `${JSON.stringify({ version: 3, deployment }, null, 4)}\n`;
  const file = flag(p, "file");
  if (file) fs.writeFileSync(path.resolve(ctx.cwd, file), text);
  else ctx.out(text);
}

/** pkg/backend/diy/stack_tags.go: `<stack>.pulumi-tags` beside the stack file, {version: 1, tags}. */
function tagsFile(o: Opened): string {
  return path.join(o.backend.dir, ".pulumi", "stacks", o.project.name, `${o.stack}.pulumi-tags`);
}
/**
 * diy/stack_tags.go loadStackTags: no file, no tags; a file that is not JSON of {version: 1, tags: a
 * map of strings} is an error (json.Unmarshal into stackTagsFile, then the version check).
 */
function loadTags(o: Opened): { tags: Record<string, string> } | { error: string } {
  const file = tagsFile(o);
  if (!fs.existsSync(file)) return { tags: {} };
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    return { error: `failed to unmarshal stack tags: ${(e as Error).message}` };
  }
  const { version: v, tags } = (typeof doc === "object" && doc !== null ? doc : {}) as {
    version?: unknown;
    tags?: unknown;
  };
  const strings =
    tags === undefined ||
    tags === null ||
    (typeof tags === "object" && !Array.isArray(tags) && Object.values(tags).every((t) => typeof t === "string"));
  if (Array.isArray(doc) || (doc !== null && typeof doc !== "object") || !strings) {
    return { error: "failed to unmarshal stack tags: json: cannot unmarshal into stackTagsFile" };
  }
  if (v !== 1) return { error: `unsupported stack tags version: ${typeof v === "number" ? v : 0} (expected 1)` };
  return { tags: (tags ?? {}) as Record<string, string> };
}
/** diyStack.Tags (pkg/backend/diy/stack.go): a tags file it cannot load is logged out of sight, and nil. */
function readTags(o: Opened): Record<string, string> | undefined {
  const loaded = loadTags(o);
  return "tags" in loaded ? loaded.tags : undefined;
}
/** A CLI from before 3.211, which gave DIY backends stack tags (pulumi/pulumi CHANGELOG.md 3.211.0). */
function beforeDiyStackTags(ctx: Context): boolean {
  const m = /^v?(\d+)\.(\d+)\./.exec(version(ctx));
  return m !== null && (Number(m[1]) < 3 || (Number(m[1]) === 3 && Number(m[2]) < 211));
}
function writeTags(o: Opened, tags: Record<string, string>): void {
  if (Object.keys(tags).length === 0) fs.rmSync(tagsFile(o), { force: true });
  else fs.writeFileSync(tagsFile(o), JSON.stringify({ version: 1, tags }, null, 4));
}

/** pkg/cmd/pulumi/stack/stack_tag.go (RequireStack, then the backend's tags: a DIY backend's, validated by no one). */
function stackTag(ctx: Context, args: readonly string[]): void {
  const verb = args[0];
  const p = parseFlags(args.slice(1), stackFlags(verb === "ls" ? { json: "bool", output: "string" } : {}));
  const o = requireStack(ctx, p, false);
  if (beforeDiyStackTags(ctx)) fail(`the current backend (${os.hostname() || "diy"}) does not support stack tags`);
  const tags = readTags(o);
  const want = (n: number) => {
    if (p.positional.length !== n) fail(`accepts ${n} arg(s), received ${p.positional.length}`);
  };
  if (verb === "ls") {
    want(0);
    if (!bool(p, "json") && flag(p, "output") !== "json") unsupported("only `stack tag ls --json` is reproduced");
    // ui.FprintJSON of a nil map: `null`.
    ctx.out(`${JSON.stringify(tags ?? null, null, 4)}\n`);
  } else if (verb === "get") {
    want(1);
    const name = p.positional[0] as string;
    const value = tags?.[name] ?? fail(`stack tag '${name}' not found for stack '${o.stack}'`);
    ctx.out(`${value}\n`);
  } else if (verb === "set") {
    want(2);
    const [name, value] = p.positional as [string, string];
    // A nil map (an unreadable file) starts afresh, and the save replaces the file.
    writeTags(o, { ...tags, [name]: value });
  } else if (verb === "rm") {
    want(1);
    // delete on a nil map, then saveStackTags(nil): contract.Requiref panics.
    const current = tags ?? unsupported("`stack tag rm` on an unreadable tags file panics in the real CLI");
    const { [p.positional[0] as string]: _removed, ...rest } = current;
    writeTags(o, rest);
  } else unsupported(`\`pulumi stack tag ${verb ?? ""}\` is not reproduced`);
}

function stackHistory(ctx: Context, args: readonly string[]): void {
  const p = parseFlags(
    args,
    stackFlags({ json: "bool", "show-secrets": "bool", "page-size": "string", page: "string", "full-dates": "bool" }),
  );
  const o = requireStack(ctx, p, false);
  if (bool(p, "show-secrets")) Crypter.unlock(ctx, saltOf(o), "getting secrets manager: ");
  const size = Number(flag(p, "page-size") ?? "0");
  const page = Math.max(1, Number(flag(p, "page") ?? "1"));
  let entries = o.backend.history(o.stack);
  if (size > 0) entries = entries.slice((page - 1) * size, page * size);
  if (!bool(p, "json")) unsupported("only `stack history --json` is reproduced");
  ctx.out(`${JSON.stringify(entries, null, 4)}\n`);
}

function configCmd(ctx: Context, args: readonly string[]): void {
  const sub = args[0];
  const known = stackFlags({
    json: "bool",
    "show-secrets": "bool",
    path: "bool",
    secret: sub === "set-all" ? "array" : "bool",
    plaintext: sub === "set-all" ? "array" : "bool",
    "config-file": "string",
    open: "bool",
  });
  if (sub === "get" || sub === "set" || sub === "set-all" || sub === "rm") {
    const p = parseFlags(args.slice(1), known);
    if (flag(p, "config-file")) unsupported("--config-file is not reproduced");
    const o = requireStack(ctx, p, false);
    const file = new StackFile(o.project, o.stack);
    const withPath = bool(p, "path");
    const unlock = () => Crypter.unlock(ctx, file.salt ?? saltOf(o), "get stack secrets manager: ");
    if (sub === "get") {
      const keyArg = p.positional[0] ?? fail("accepts 1 arg(s), received 0");
      const { key, path: parts } = configKey(o.project, keyArg, withPath);
      const raw = file.raw()[key];
      let v: unknown = raw;
      for (const part of parts) v = v && typeof v === "object" ? (v as Record<string, unknown>)[part] : undefined;
      const short = key.startsWith(`${o.project.name}:`) ? key.slice(o.project.name.length + 1) : key;
      if (v === undefined) fail(`configuration key '${short}' not found for stack '${o.stack}'`);
      const secret = JSON.stringify(v).includes('"secure"');
      const crypter = secret ? unlock() : undefined;
      const value = crypter ? new StackFile(o.project, o.stack).values(crypter)[key] : undefined;
      let shown: unknown = v;
      if (value) {
        shown = value.object ?? value.value;
        for (const part of parts) shown = (shown as Record<string, unknown>)[part];
      }
      const text = typeof shown === "object" ? JSON.stringify(shown) : String(shown);
      ctx.out(bool(p, "json") ? `${JSON.stringify({ value: text, secret }, null, 2)}\n` : `${text}\n`);
      return;
    }
    if (sub === "set") {
      const [keyArg, value] = p.positional;
      if (keyArg === undefined) fail("accepts between 1 and 2 arg(s), received 0");
      if (value === undefined) {
        if (interactive(ctx)) wouldPrompt("value");
        fail("value must be specified in non-interactive mode");
      }
      const { key, path: parts } = configKey(o.project, keyArg as string, withPath);
      file.set(
        key,
        parts,
        bool(p, "secret") ? { secure: unlock().encrypt(value as string) } : pathValue(value as string, withPath),
      );
      file.save();
      return;
    }
    if (sub === "set-all") {
      const plain = p.flags.get("plaintext") ?? [];
      const secret = p.flags.get("secret") ?? [];
      const crypter = secret.length > 0 ? unlock() : undefined;
      for (const [pairs, isSecretValue] of [
        [plain, false],
        [secret, true],
      ] as const) {
        for (const pair of pairs) {
          const eq = pair.indexOf("=");
          if (eq < 0) fail(`could not parse ${pair} as a key=value pair`);
          const { key, path: parts } = configKey(o.project, pair.slice(0, eq), withPath);
          const value = pair.slice(eq + 1);
          file.set(key, parts, isSecretValue ? { secure: crypter?.encrypt(value) } : pathValue(value, withPath));
        }
      }
      file.save();
      return;
    }
    const keyArg = p.positional[0] ?? fail("accepts 1 arg(s), received 0");
    const { key, path: parts } = configKey(o.project, keyArg, withPath);
    file.remove(key, parts);
    file.save();
    return;
  }
  if (sub !== undefined && !sub.startsWith("-")) unsupported(`\`pulumi config ${sub}\` is not reproduced`);
  const p = parseFlags(args, known);
  const o = requireStack(ctx, p, false);
  const file = new StackFile(o.project, o.stack);
  const crypter =
    bool(p, "show-secrets") && file.hasSecrets()
      ? Crypter.unlock(ctx, file.salt ?? saltOf(o), "get stack secrets manager: ")
      : undefined;
  const values = file.values(crypter);
  if (bool(p, "json")) {
    const json = Object.fromEntries(
      Object.entries(values).map(([k, v]) => [
        k,
        v.secret && !crypter
          ? { secret: true }
          : { value: v.value, secret: v.secret, ...(v.object !== undefined && { objectValue: v.object }) },
      ]),
    );
    ctx.out(`${JSON.stringify(json, null, 2)}\n`);
  } else
    ctx.out(
      `KEY  VALUE\n${Object.entries(values)
        .map(([k, v]) => `${k}  ${v.value}\n`)
        .join("")}`,
    );
}

/** URNs that depend on `urn`: children, dependencies, providers, deletedWith, transitively (pkg/resource/edit). */
function dependents(resources: readonly Resource[], urn: string): Set<string> {
  const out = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const r of resources) {
      if (out.has(r.urn) || r.urn === urn) continue;
      const refs = [
        r.parent,
        r.provider?.split("::").slice(0, -1).join("::"),
        r.deletedWith,
        ...(r.dependencies ?? []),
      ];
      if (refs.some((ref) => ref === urn || (ref !== undefined && out.has(ref)))) {
        out.add(r.urn);
        grew = true;
      }
    }
  }
  return out;
}

function stateCmd(ctx: Context, args: readonly string[]): void {
  if (args[0] !== "delete") unsupported(`\`pulumi state ${args[0] ?? ""}\` is not reproduced`);
  const p = parseFlags(
    args.slice(1),
    stackFlags({ yes: "bool", "target-dependents": "bool", force: "bool", all: "bool" }),
  );
  const o = requireStack(ctx, p, true);
  Crypter.unlock(ctx, saltOf(o), "");
  const urn = p.positional[0] ?? fail("Must supply <resource URN> unless pulumi is run interactively");
  if (!bool(p, "yes") && interactive(ctx)) wouldPrompt("Are you sure you want to proceed?");
  const checkpoint = o.backend.read(o.stack);
  const resources = checkpoint.checkpoint.latest?.resources ?? [];
  if (!resources.some((r) => r.urn === urn)) fail(`No such resource "${urn}" exists in the current state`);
  const deps = dependents(resources, urn);
  if (deps.size > 0 && !bool(p, "target-dependents")) {
    fail(
      `${urn} can't be safely deleted because the following resources depend on it:\n${[...deps]
        .map((d) => ` * ${JSON.stringify(d.split("::").at(-1)).padEnd(15)} (${d})\n`)
        .join("")}\nDelete those resources first or pass --target-dependents.`,
    );
  }
  const latest = checkpoint.checkpoint.latest as Deployment;
  latest.resources = resources.filter((r) => r.urn !== urn && !deps.has(r.urn));
  o.backend.write(o.stack, checkpoint);
  ctx.out("Resource deleted\n");
}

const OP_FLAGS: Record<string, FlagKind> = stackFlags({
  yes: "bool",
  "skip-preview": "bool",
  "policy-pack": "array",
  "policy-pack-config": "array",
  diff: "bool",
  refresh: "bool",
  "exec-kind": "string",
  "exec-agent": "string",
  "event-log": "string",
  message: "string",
  target: "array",
  "target-dependents": "bool",
  replace: "array",
  exclude: "array",
  "exclude-dependents": "bool",
  "expect-no-changes": "bool",
  "suppress-outputs": "bool",
  "suppress-progress": "bool",
  "show-secrets": "bool",
  json: "bool",
  parallel: "string",
  client: "string",
  "preview-only": "bool",
  "clear-pending-creates": "bool",
  "run-program": "string",
  "config-file": "string",
});

/**
 * Never resolves: the operation waits, as on a slow engine, for signals (pkg/backend/cancellation_scope.go).
 * The first cancels: its ack goes to stdout at once; then the engine reports the cancellation as a
 * diagnostic, "update canceled" ("preview canceled" for a preview: deployment_executor.go
 * reportExecResult), which the display prints under "Diagnostics:" on stdout, and the command bails
 * (exit 1, nothing on stderr), as a failed step does (pkg/engine/lifecycletest/testdata/output/
 * TestCanceledRefresh/progress.stdout.txt). A second terminates: the engine returns context.Canceled,
 * which up, refresh and destroy turn into CancelledError (operations/up.go): `error: update cancelled`
 * on stderr and exit 8 (cmd/exit_codes.go ExitCancelled); preview does not map it, so its error is
 * Go's own "context canceled", exit 1.
 */
function waitForSignal(ctx: Context, op: Op, stackName: string): Promise<never> {
  return new Promise((_resolve, reject) => {
    let received = 0;
    let cancelling: NodeJS.Timeout | undefined;
    ctx.onSignal = (signal) => {
      received++;
      const shown = signal === "SIGTERM" ? "SIGTERM" : "^C";
      if (received === 1) {
        const ack =
          signal === "SIGTERM"
            ? "SIGTERM received; cancelling. If you would like to terminate immediately, send SIGTERM again.\n"
            : "^C received; cancelling. If you would like to terminate immediately, press ^C again.\n";
        const note =
          op === "preview"
            ? ""
            : "Note that terminating immediately may lead to orphaned resources and other inconsistencies.\n";
        ctx.output.stdout(ack + note);
        // The engine lets in-flight steps finish before it reports the cancellation: a window in which
        // a second signal terminates (generous, so a loaded machine's test still lands in it).
        cancelling = setTimeout(() => {
          const kind = op === "preview" ? "preview" : "update";
          ctx.out(`Diagnostics:\n  pulumi:pulumi:Stack (${stackName}):\n    error: ${kind} canceled\n`);
          reject(new CliFailure("", EXIT.error, false));
        }, 2000);
      } else {
        clearTimeout(cancelling);
        ctx.output.stdout(`${shown} received; terminating\n`);
        if (op === "preview") ctx.output.stderr("error: context canceled\n");
        else ctx.output.stderr(`error: ${op === "up" ? "update" : op} cancelled\n`);
        ctx.exit(op === "preview" ? EXIT.error : EXIT.cancelled);
      }
    };
  });
}

/** pkg/backend/diy/lock.go checkForLock: any lock file of another process stops the operation. */
function checkForLock(o: Opened): void {
  const dir = path.join(o.backend.dir, ".pulumi", "locks", "organization", o.project.name, o.stack);
  const locks = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".json")) : [];
  if (locks.length === 0) return;
  const lines = locks.map((lock) => {
    const l = JSON.parse(fs.readFileSync(path.join(dir, lock), "utf8")) as Record<string, unknown>;
    const url = `file://${path.join(dir, lock)}`;
    return `\n  ${url}: created by ${l.username}@${l.hostname} (pid ${l.pid}) at ${l.timestamp}`;
  });
  fail(
    `the stack is currently locked by ${locks.length} lock(s). Either wait for the other process(es) to end or delete the lock file with \`pulumi cancel\`.${lines.join("")}`,
  );
}

/**
 * The "Policies:" section of the non-interactive display for mandatory violations
 * (pkg/backend/display/progress.go printPolicies: ❌ header with the local path, then each violation as
 * diff.go renderDiffPolicyViolationEvent with "- " prefix and the message indented below it).
 */
function policiesSection(packs: readonly string[], violations: NonNullable<StubProgram["policyViolations"]>): string {
  const lines = ["Policies:"];
  for (const pack of new Set(violations.map((v) => v.pack))) {
    lines.push(`    ❌ ${pack} (local: ${packs.join("; ")})`);
    for (const v of violations.filter((x) => x.pack === pack)) {
      // policyResourceClause: "(<type>: <name>)" from the URN's last two parts.
      const clause = v.resource ? `  (${v.resource.split("::").at(-2)}: ${v.resource.split("::").at(-1)})` : "";
      lines.push(
        `        - [mandatory]  ${v.policy}${clause}`,
        `          ${v.message.split("\n").join("\n          ")}`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

async function operation(ctx: Context, op: Op, args: readonly string[]): Promise<void> {
  const p = parseFlags(args, OP_FLAGS);
  if (flag(p, "config-file")) unsupported("--config-file is not reproduced");
  const o = requireStack(ctx, p, op === "up" || op === "preview");
  const yes = bool(p, "yes") || bool(p, "skip-preview") || ctx.env.PULUMI_SKIP_CONFIRMATIONS === "true";
  if (op !== "preview" && !yes && !bool(p, "preview-only")) {
    if (interactive(ctx)) wouldPrompt("Do you want to perform this update?");
    fail(
      "--yes or --skip-preview or --preview-only must be passed in to proceed when running in non-interactive mode",
      EXIT.configuration,
    );
  }
  for (const pack of p.flags.get("policy-pack") ?? []) {
    const dir = path.resolve(ctx.cwd, pack);
    if (!fs.existsSync(path.join(dir, "PulumiPolicy.yaml")))
      fail(`could not find PulumiPolicy.yaml in ${dir} (pulumi stub: the real CLI fails to load the pack)`);
  }
  for (const config of p.flags.get("policy-pack-config") ?? []) {
    if (!fs.existsSync(path.resolve(ctx.cwd, config)))
      fail(`open ${path.resolve(ctx.cwd, config)}: no such file or directory`);
  }
  const file = new StackFile(o.project, o.stack);
  const crypter = Crypter.unlock(
    ctx,
    stackFileSalt(ctx, o, file, op),
    "getting stack configuration: get stack secrets manager: ",
  );
  const config = file.values(crypter);
  checkForLock(o);
  // diy/state.go getTarget: the update's target carries the stack's tags.
  const tags = loadTags(o);
  if ("error" in tags) fail(`failed to load stack tags: ${tags.error}`);
  const prog = takeProgram(ctx);
  if (prog.waitForSignal?.includes(op)) {
    log(ctx.call, "waiting.log", op);
    await waitForSignal(ctx, op, `${o.project.name}-${o.stack}`);
  }
  const failure = prog.fail?.[op];
  if (failure) {
    // A step that fails is the engine's diagnostic, not a CLI error: the display prints it under
    // "Diagnostics:" on stdout (pkg/backend/display), and the command ends with a bail, which prints
    // nothing on stderr and exits 1 (sdk/go/common/util/cmdutil/exit.go DisplayErrorMessage skips
    // result.IsBail; pkg/cmd/pulumi/cmd/exit_codes.go ExitCodeFor maps a bail to ExitCodeError).
    const stack = `${o.project.name}-${o.stack}`;
    ctx.out(`Diagnostics:\n  pulumi:pulumi:Stack (${stack}):\n    error: ${failure}\n`);
    throw new CliFailure("", EXIT.error, false);
  }
  if ((op === "up" || op === "preview") && prog.policyViolations?.length) {
    const packs = (p.flags.get("policy-pack") ?? []).map((pack) => path.resolve(ctx.cwd, pack));
    if (packs.length === 0) unsupported("policyViolations need a --policy-pack");
    ctx.out(policiesSection(packs, prog.policyViolations));
    throw new CliFailure("", EXIT.error, false);
  }
  const checkpoint = o.backend.read(o.stack);
  const latest = checkpoint.checkpoint.latest as Deployment;
  const stackUrn = `urn:pulumi:${o.stack}::${o.project.name}::pulumi:pulumi:Stack::${o.project.name}-${o.stack}`;
  if (op === "up") {
    const outputs = Object.fromEntries(
      Object.entries(prog.outputs ?? {}).map(([k, v]) => [
        k,
        prog.secretOutputs?.includes(k)
          ? { [SECRET_SIG]: SECRET_VALUE, ciphertext: crypter.encrypt(JSON.stringify(v)) }
          : v,
      ]),
    );
    latest.resources = [
      { urn: stackUrn, type: "pulumi:pulumi:Stack", custom: false, outputs },
      ...(prog.resources ?? []),
    ];
  } else if (op === "destroy") {
    latest.resources = [];
  } else if (op === "refresh") {
    const drops = new Set(prog.refreshDrops ?? []);
    latest.resources = (latest.resources ?? []).filter((r) => !drops.has(r.urn));
  }
  if (op !== "preview") {
    o.backend.write(o.stack, checkpoint);
    o.backend.addHistory(o.stack, {
      kind: op === "up" ? "update" : op,
      startTime: Math.floor(Date.now() / 1000),
      endTime: Math.floor(Date.now() / 1000),
      message: flag(p, "message") ?? "",
      environment: { "exec.kind": flag(p, "exec-kind") ?? "cli" },
      config: Object.fromEntries(Object.entries(config).map(([k, v]) => [k, { value: v.value, secret: v.secret }])),
      result: "succeeded",
      version: o.backend.history(o.stack).length + 1,
      resourceChanges: { same: latest.resources?.length ?? 0 },
    });
  }
  ctx.out(
    `${op === "preview" ? "Previewing update" : op === "up" ? "Updating" : op === "destroy" ? "Destroying" : "Refreshing"} (${o.stack})\n`,
  );
}

function whoami(ctx: Context, args: readonly string[]): void {
  const p = parseFlags(args, { json: "bool" });
  const project = findProject(ctx.cwd);
  const dir = openBackend(ctx, project);
  const user = os.userInfo().username;
  if (bool(p, "json")) ctx.out(`${JSON.stringify({ user, organizations: [], url: `file://${dir}` }, null, 2)}\n`);
  else ctx.out(`${user}\n`);
}

async function run(argv: readonly string[], ctx: Context): Promise<void> {
  const [command, ...rest] = argv;
  const sub = rest[0];
  switch (command) {
    case "version":
      ctx.out(`${version(ctx)}\n`);
      return;
    case "whoami":
      return whoami(ctx, rest);
    case "stack":
      if (sub === "select") return stackSelect(ctx, rest.slice(1));
      if (sub === "init") return stackInit(ctx, rest.slice(1));
      if (sub === "ls") return stackLs(ctx, rest.slice(1));
      if (sub === "output") return stackOutput(ctx, rest.slice(1));
      if (sub === "export") return stackExport(ctx, rest.slice(1));
      if (sub === "history") return stackHistory(ctx, rest.slice(1));
      if (sub === "tag") return stackTag(ctx, rest.slice(1));
      return unsupported(`\`pulumi stack ${sub ?? ""}\` is not reproduced`);
    case "config":
      return configCmd(ctx, rest);
    case "state":
      return stateCmd(ctx, rest);
    case "up":
    case "update":
      return operation(ctx, "up", rest);
    case "preview":
    case "refresh":
    case "destroy":
      return operation(ctx, command, rest);
    default:
      return unsupported(`\`pulumi ${command ?? ""}\` is not reproduced`);
  }
}

function log(call: PulumiCall, file: string, line: string): void {
  fs.appendFileSync(path.join(call.dir, file), `${line}\n`);
}

/** One call of the `pulumi` process, from its start to its exit. */
export function startPulumi(call: PulumiCall, output: CallOutput): RunningCall {
  const argv = call.args;
  const env = Object.fromEntries(
    Object.entries(call.env)
      .filter(([k]) => k.startsWith("PULUMI_"))
      .map(([k, v]) => [k, k === "PULUMI_CONFIG_PASSPHRASE" ? "<set>" : v]),
  );
  log(call, "calls.jsonl", JSON.stringify({ argv, cwd: call.cwd, env }));
  let exit: (outcome: number | NodeJS.Signals) => void = () => {};
  let crash: (error: unknown) => void = () => {};
  const done = new Promise<number | NodeJS.Signals>((resolve, reject) => {
    exit = resolve;
    crash = reject;
  });
  let cwd = call.cwd;
  let nonInteractive = false;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--non-interactive") nonInteractive = true;
    else if (a === "--cwd" || a === "-C") cwd = path.resolve(cwd, argv[++i] ?? "");
    else if (a.startsWith("--cwd=")) cwd = path.resolve(cwd, a.slice(6));
    else if (a === "--color") i++;
    else if (!a.startsWith("--color=")) rest.push(a);
  }
  let stdout = "";
  const ctx: Context = { call, env: call.env, cwd, nonInteractive, out: (text) => (stdout += text), output, exit };
  run(rest, ctx).then(
    () => {
      output.stdout(stdout);
      exit(0);
    },
    (error) => {
      output.stdout(stdout);
      if (!(error instanceof CliFailure)) return crash(error);
      if (error.message !== "") output.stderr(error.fromCli ? `error: ${error.message}\n` : `${error.message}\n`);
      exit(error.exitCode);
    },
  );
  return {
    done,
    signal: (signal) => {
      log(call, "signals.log", signal);
      // No cancellation scope outside an operation: Go's default action, death by the signal.
      if (ctx.onSignal) ctx.onSignal(signal);
      else exit(signal);
    },
  };
}
