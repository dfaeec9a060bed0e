/**
 * A stack through Pulumi's Automation API, as the tools that change one (canary, upgrade) drive it: the
 * same `pulumi config set-all --path`, `pulumi up` and `pulumi stack tag` a user would run, so
 * Pulumi.<stack>.yaml stays the single source of truth, with the checks made before any change.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { PROJECT } from "../../config/defaults";
import { CliError, EXIT } from "./cli";
import { LineAssembler } from "./lines";
import { noStackSelected, preflightStack } from "./stackChecks";

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
    let workspace: LocalWorkspace;
    try {
      workspace = await LocalWorkspace.create({ workDir: projectRoot });
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      const why = /ENOENT/.test(text) ? "it is not installed (or not on PATH)" : stderrOf(text).join("; ");
      throw new CliError(`cannot run the Pulumi CLI: ${why}`, EXIT.usage);
    }
    const stackName = name ?? (await workspace.stack().catch(cliFailure("pulumi stack ls")))?.name;
    if (stackName === undefined || stackName === "") throw noStackSelected();
    // The workspace already made (LocalWorkspace.selectStack would make another: one more `pulumi version`).
    const stack = await Stack.select(stackName, workspace).catch(
      cliFailure(`pulumi stack select --stack ${stackName}`),
    );
    return new StackWorkspace(stack, projectRoot);
  }

  /**
   * What `up` will need and that `config set-all` does not check, before anything changes:
   * the passphrase of a passphrase-encrypted stack, and (file backend) a lock held by another update.
   */
  preflight(env: NodeJS.ProcessEnv = process.env): Promise<void> {
    return preflightStack(this.projectRoot, this.stackName, env);
  }

  /**
   * `pulumi up` with the policy pack, as `npm run up` runs it, so a canary step passes the same
   * guardrails. `signal` is as the Automation API's: aborting it sends the CLI one SIGINT.
   *
   * The CLI runs here, with the command line and environment the Automation API's Stack.up gives a
   * local program (`up --yes --skip-preview … --exec-kind auto.local --stack <s> --non-interactive`),
   * not through Stack.up: that follows every update with `pulumi stack output --json` twice and
   * `pulumi stack history` (automation/stack.ts up: `this.outputs()`, `this.info()`) for an UpResult
   * the tools never read; three CLI runs of about a second each on every step.
   */
  async up(options: UpOptions = {}): Promise<void> {
    const packConfig = path.join(this.projectRoot, "policies", "config", `${this.stackName}.json`);
    const violations: string[] = [];
    // The policy report goes to stdout; its mandatory lines are why an up failed.
    // A failed step's reason: the engine prints it under "Diagnostics:" on stdout and the CLI ends
    // with a bail, which leaves stderr empty (cmdutil/exit.go DisplayErrorMessage skips a bail).
    const diagnostics: string[] = [];
    const report = new LineAssembler((line) => {
      if (line.includes("[mandatory]")) violations.push(line.trim().replace(/^- /, ""));
      if (line.trim().startsWith("error:")) diagnostics.push(line.trim());
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
      "--exec-kind",
      "auto.local",
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
      const stderrSaid = error instanceof Error && /^error:/m.test(error.message);
      const failure = !stderrSaid && diagnostics.length > 0 ? new Error(diagnostics.join("\n")) : error;
      return cliFailure(`pulumi up${reason}`)(failure);
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
    // The environment Stack.up gives it (automation/stack.ts runPulumiCmd, cmd.ts PulumiCommand.run).
    const env = { ...process.env, PULUMI_DEBUG_COMMANDS: "true", PULUMI_AUTOMATION_API: "true" };
    const child = spawn("pulumi", args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => io.onOutput(chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      io.onError?.(chunk.toString());
    });
    const abort = () => child.kill("SIGINT");
    io.signal?.addEventListener("abort", abort, { once: true });
    // The tool ending (a second Ctrl-C's exit, a SIGTERM to the tool alone) ends the CLI too, as the
    // Automation API's runner does (execa's cleanup sends it SIGTERM), rather than leaving it orphaned.
    const orphaned = () => child.kill("SIGTERM");
    process.once("exit", orphaned);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      process.removeListener("exit", orphaned);
      io.signal?.removeEventListener("abort", abort);
      if (code === 0) resolve();
      else reject(new Error(stderr.trim() || `pulumi ${args[0]} ended by ${signal ?? `exit ${code}`}`));
    });
  });
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
