/**
 * A stack through Pulumi's Automation API, as the tools that change one (canary, upgrade) drive it: the
 * same `pulumi config set-all --path`, `pulumi up` and `pulumi stack tag` a user would run, so
 * Pulumi.<stack>.yaml stays the single source of truth, with the checks made before any change.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import * as YAML from "yaml";
import { PROJECT } from "../../config/defaults";
import { CliError, EXIT } from "./cli";
import { LineAssembler } from "./lines";
import type { PulumiCli } from "./target";

/** What `pulumi up` prints when its first SIGINT/SIGTERM arrives (pkg/backend/cancellation_scope.go). */
export const CANCEL_ACK = /(\^C|SIGTERM) received; cancelling/;

export interface UpOptions {
  readonly signal?: AbortSignal;
  /** The CLI's stdout and stderr as they come. */
  readonly onOutput?: (text: string) => void;
}

/**
 * The stack through Pulumi's Automation API: the same `pulumi config set-all --path` and
 * `pulumi up` a user would run, so Pulumi.<stack>.yaml stays the single source of truth.
 */
export class StackWorkspace {
  private constructor(
    private readonly stack: Stack,
    readonly projectRoot: string,
  ) {}

  get stackName(): string {
    return this.stack.name;
  }

  /**
   * `name` (from --stack or STACK), else the stack `pulumi` has selected for this project: the
   * Automation API's `workspace.stack()` (`pulumi stack ls --json`, the entry marked current). With
   * none selected, refuse as the CLI does rather than send an empty `--stack`.
   */
  static async open(name: string | undefined, projectRoot: string): Promise<StackWorkspace> {
    // Loaded here, not at import: it costs about a second of CPU (it pulls in all of @pulumi/pulumi),
    // which a tool's --help, bad flags and config errors need not pay.
    const automation = await import("@pulumi/pulumi/automation/index.js");
    let workspace: LocalWorkspace;
    try {
      workspace = await automation.LocalWorkspace.create({ workDir: projectRoot });
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      const why = /ENOENT/.test(text) ? "it is not installed (or not on PATH)" : stderrOf(text).join("; ");
      throw new CliError(`cannot run the Pulumi CLI: ${why}`, EXIT.usage);
    }
    const stackName = name ?? (await workspace.stack().catch(cliFailure("pulumi stack ls")))?.name;
    if (stackName === undefined || stackName === "") throw noStackSelected();
    // On the workspace already made: LocalWorkspace.selectStack would make another, and run another
    // `pulumi version` (automation/cmd.ts PulumiCommand.get) to learn what this one knows.
    const stack = await automation.Stack.select(stackName, workspace).catch(
      cliFailure(`pulumi stack select --stack ${stackName}`),
    );
    return new StackWorkspace(stack, projectRoot);
  }

  /**
   * What `up` will need and that `config set-all` does not check, before anything changes:
   * the passphrase of a passphrase-encrypted stack, and (file backend) a lock held by another update.
   */
  preflight(env: NodeJS.ProcessEnv = process.env): Promise<void> {
    return StackWorkspace.preflight(this.projectRoot, this.stackName, env);
  }

  /**
   * The same checks before the Automation API is loaded: they read the stack's files only (its settings
   * file as LocalWorkspace.stackSettings finds it, and the backend's lock directory).
   */
  static async preflight(projectRoot: string, stackName: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
    const settings = stackSettings(projectRoot, stackName);
    const passphraseStack =
      settings?.encryptionsalt !== undefined &&
      (settings.secretsprovider === undefined || settings.secretsprovider === "passphrase");
    // The CLI reads these two and nothing else (pkg/secrets/passphrase/manager.go readPassphrase).
    if (passphraseStack && env.PULUMI_CONFIG_PASSPHRASE === undefined && !env.PULUMI_CONFIG_PASSPHRASE_FILE) {
      throw new CliError(
        `stack ${stackName} encrypts its secrets with a passphrase: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE (\`pulumi up\` would fail after the config changed; nothing was changed)`,
        EXIT.usage,
      );
    }
    const locks = lockFiles(projectRoot, stackName, env);
    if (locks.length > 0) {
      throw new CliError(
        `stack ${stackName} is locked by another update (${locks.join(", ")}): wait for it, or \`pulumi cancel\` if it died (nothing was changed)`,
        EXIT.usage,
      );
    }
  }

  /**
   * `pulumi up` with the policy pack, as `npm run up` runs it, so a canary step passes the same
   * guardrails. `signal` is as the Automation API's: aborting it sends the CLI one SIGINT.
   *
   * The CLI runs here, with the command line the Automation API's Stack.up builds, and not through
   * Stack.up: that follows every update with `pulumi stack output --json` twice and `pulumi stack
   * history` (automation/stack.ts up: `this.outputs()`, `this.info()`) for an UpResult the tools never
   * read; three CLI runs of about a second each on every step.
   */
  async up(options: UpOptions = {}): Promise<void> {
    const packConfig = path.join(this.projectRoot, "policies", "config", `${this.stackName}.json`);
    const violations: string[] = [];
    // The policy report goes to stdout; its mandatory lines are why an up failed.
    const report = new LineAssembler((line) => {
      if (line.includes("[mandatory]")) violations.push(line.trim().replace(/^- /, ""));
    });
    const args = [
      "up",
      "--yes",
      "--skip-preview",
      "--policy-pack",
      path.join(this.projectRoot, "policies"),
      ...(existsSync(packConfig) ? ["--policy-pack-config", packConfig] : []),
      "--color",
      "never",
      "--stack",
      this.stackName,
      // automation/cmd.ts PulumiCommand.run: a prompt fails instead of hanging.
      "--non-interactive",
    ];
    await runCli(args, this.projectRoot, {
      onOutput: (text) => {
        report.push(text);
        options.onOutput?.(text);
      },
      ...(options.onOutput && { onError: options.onOutput }),
      ...(options.signal && { signal: options.signal }),
    }).catch((error: unknown) => {
      report.flush();
      const reason = violations.length > 0 ? ` (policy violation: ${violations.join("; ")})` : "";
      return cliFailure(`pulumi up${reason}`)(error);
    });
  }

  /** Sets project config keys (`pulumi config set-all --path`): `{ "revisions.upgradeTo": "1.30.4" }`. */
  async setConfig(values: Readonly<Record<string, string>>): Promise<void> {
    const entries = Object.entries(values).map(([key, value]) => [`${PROJECT}:${key}`, { value }]);
    await this.stack.setAllConfig(Object.fromEntries(entries), true).catch(cliFailure("pulumi config set-all"));
  }

  /** Removes project config keys, one `pulumi config rm --path` each (a missing key is an error there). */
  async removeConfig(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      await this.stack.removeConfig(`${PROJECT}:${key}`, true).catch(cliFailure(`pulumi config rm ${key}`));
    }
  }

  async tags(): Promise<Record<string, string>> {
    return this.stack.listTags().catch(cliFailure("pulumi stack tag ls"));
  }

  async setTag(name: string, value: string): Promise<void> {
    await this.stack.setTag(name, value).catch(cliFailure("pulumi stack tag set"));
  }
}

/**
 * `pulumi <args>` in the project, its output streamed, as the Automation API's command runner does it
 * (automation/cmd.ts exec: not detached, so a terminal's Ctrl-C reaches it; an abort sends one SIGINT).
 * Fails with the CLI's stderr.
 */
function runCli(
  args: readonly string[],
  cwd: string,
  io: { onOutput: (text: string) => void; onError?: (text: string) => void; signal?: AbortSignal },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("pulumi", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => io.onOutput(chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      io.onError?.(chunk.toString());
    });
    const abort = () => child.kill("SIGINT");
    io.signal?.addEventListener("abort", abort, { once: true });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      io.signal?.removeEventListener("abort", abort);
      if (code === 0) resolve();
      else reject(new Error(stderr.trim() || `pulumi ${args[0]} ended by ${signal ?? `exit ${code}`}`));
    });
  });
}

/**
 * The stack `pulumi` has selected for this project, found as the Automation API's `workspace.stack()`
 * finds it (`pulumi stack ls --json`, the entry marked current), but through `pulumi` alone: a tool
 * can then check everything before it loads the Automation API. With none selected, refuse as the
 * CLI does rather than send an empty `--stack`.
 */
export async function selectedStack(pulumi: PulumiCli): Promise<string> {
  const text = await pulumi(["stack", "ls", "--json", "--non-interactive"]);
  let stacks: unknown;
  try {
    stacks = JSON.parse(text);
  } catch {
    throw new CliError("`pulumi stack ls --json` did not print JSON", EXIT.failed);
  }
  const current = Array.isArray(stacks)
    ? (stacks as { name?: unknown; current?: unknown }[]).find((s) => s.current === true)?.name
    : undefined;
  if (typeof current !== "string" || current === "") throw noStackSelected();
  return current;
}

const noStackSelected = () =>
  new CliError(
    "no stack selected: pass --stack NAME, set STACK, or `pulumi stack select NAME` (nothing was changed)",
    EXIT.usage,
  );

/** Pulumi.<stack>.yaml (or .yml, .json), as LocalWorkspace.stackSettings reads it; absent or unreadable: none. */
function stackSettings(projectRoot: string, stackName: string): Record<string, unknown> | undefined {
  // A stack reference's settings file is named by its last part (localWorkspace.ts getStackSettingsName).
  const name = stackName.split("/").at(-1) ?? stackName;
  for (const ext of [".yaml", ".yml", ".json"]) {
    const file = path.join(projectRoot, `Pulumi.${name}${ext}`);
    if (!existsSync(file)) continue;
    try {
      const doc: unknown = YAML.parse(readFileSync(file, "utf8"));
      return typeof doc === "object" && doc !== null ? (doc as Record<string, unknown>) : undefined;
    } catch {
      return undefined; // the Pulumi CLI reports a broken stack file in its own words
    }
  }
  return undefined;
}

/**
 * Lock files of a file:// backend (pkg/backend/diy/lock.go: `.pulumi/locks/<org>/<project>/<stack>/`,
 * or `.pulumi/locks/<stack>/` in the legacy layout). Other backends refuse a concurrent `up` themselves,
 * and the tool then restores what it changed.
 */
function lockFiles(projectRoot: string, stackName: string, env: NodeJS.ProcessEnv): string[] {
  const url = env.PULUMI_BACKEND_URL ?? projectBackendUrl(projectRoot);
  if (url === undefined || !url.startsWith("file://")) return [];
  const rest = url.slice("file://".length);
  const root = rest.startsWith("/") ? fileURLToPath(url) : path.resolve(projectRoot, rest);
  const dirs = [
    path.join(root, ".pulumi", "locks", "organization", PROJECT, stackName),
    path.join(root, ".pulumi", "locks", stackName),
  ];
  return dirs.flatMap((dir) =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith(".json"))
          .map((f) => path.relative(projectRoot, path.join(dir, f)))
      : [],
  );
}

function projectBackendUrl(projectRoot: string): string | undefined {
  try {
    const match = /^backend:\s*\n\s+url:\s*(\S+)/m.exec(readFileSync(path.join(projectRoot, "Pulumi.yaml"), "utf8"));
    return match?.[1];
  } catch {
    return undefined;
  }
}

/** The CLI's stderr lines from an Automation API CommandError's message. */
function stderrOf(message: string): string[] {
  const stderr = /stderr: ([\s\S]*?)\n err\?:/.exec(message)?.[1] ?? message;
  return stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

/**
 * The Automation API's CommandError carries the CLI's stderr; keep its `error:` lines, which say
 * what went wrong (a policy violation, a lock, a missing passphrase).
 */
export function cliFailure(command: string) {
  return (error: unknown): never => {
    const lines = stderrOf(error instanceof Error ? error.message : String(error));
    const errors = lines.filter((l) => l.startsWith("error:"));
    throw new CliError(
      `\`${command}\` failed: ${(errors.length > 0 ? errors : lines.slice(-3)).join("; ")}`,
      EXIT.failed,
    );
  };
}

/** The project `pulumi` would act on: the nearest directory holding Pulumi.yaml, as the CLI finds it. */
export function projectRootFrom(dir: string): string | undefined {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (existsSync(path.join(d, "Pulumi.yaml"))) return d;
    if (path.dirname(d) === d) return undefined;
  }
}
