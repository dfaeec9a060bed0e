/**
 * A stack as the tools that change one (canary, upgrade) drive it: the same `pulumi stack select`,
 * `pulumi config set-all --path`, `pulumi up` and `pulumi stack tag` a user would run, so
 * Pulumi.<stack>.yaml stays the single source of truth, with the checks made before any change.
 *
 * Each is the command line Pulumi's Automation API (`LocalWorkspace`, `Stack`; @pulumi/pulumi 3.270)
 * built for these calls, with its environment, run here directly: importing the Automation API loads
 * the whole SDK (runtime, closure serialisation, a vendored TypeScript). A two-step canary run under
 * tsx took 2.9–3.1 s of CPU with it, 1.4–1.6 s without (the stand-ins, 2026-12-02). The upstream
 * source each call follows is named at the call (sdk/nodejs/automation/*.ts).
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { PROJECT } from "../../config/defaults";
import { CliError, EXIT } from "./cli";
import { LineAssembler } from "./lines";
import { PulumiExit, runPulumi } from "./pulumiProcess";
import { noStackSelected, preflightStack, selectedStack } from "./stackChecks";

export interface UpOptions {
  readonly signal?: AbortSignal;
  /** The CLI's stdout and stderr as they come. */
  readonly onOutput?: (text: string) => void;
}

/**
 * The marker the Automation API puts on every CLI call (cmd.ts PulumiCommand.run): the CLI sends the
 * names of PULUMI_* variables with its update check (pkg/cmd/pulumi/pulumi.go getCLIMetadata). Kept
 * on every call that drives a stack, so a run's calls are the ones they were, and on the canary's
 * `pulumi stack ls` too, so both tools ask for the selected stack alike (canary/main.ts).
 */
export const WORKSPACE_ENV = { PULUMI_AUTOMATION_API: "true" };
/** Stack.up adds this (stack.ts createBaseOptions); workspace calls do not (localWorkspace.ts runPulumiCmd). */
const OPERATION_ENV = { ...WORKSPACE_ENV, PULUMI_DEBUG_COMMANDS: "true" };

export class StackWorkspace {
  private constructor(
    readonly stackName: string,
    readonly projectRoot: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /**
   * `name` (from --stack or STACK), else the stack `pulumi` has selected for this project (the
   * Automation API's `workspace.stack()`: `pulumi stack ls --json`, the entry marked current). With
   * none selected, refuse as the CLI does rather than send an empty `--stack`.
   *
   * Then `pulumi stack select --stack <name>`, as `Stack.select` does (localWorkspace.ts selectStack):
   * it fails on a stack that does not exist, before anything changes, and, as it always did, leaves
   * that stack selected for the user's later `pulumi` commands.
   *
   * No `pulumi version` first: `LocalWorkspace.create` ran it for the SDK's own check (cmd.ts
   * parseAndValidatePulumiVersion: CLI ≥ 3.2.0-alpha, major 3), a contract between the SDK and the
   * CLI that no longer applies. The floor these tools need (3.211, a file backend's stack tags) is
   * scripts/check-prereqs.sh's; an older CLI fails the canary's first tag read, before any change,
   * with a line naming it (cliFailure).
   *
   * Nothing has changed yet, so any failure here is "could not start" (exit 2, as both tools' --help
   * say), a stack that does not exist included (the CLI's own exit is 6, ExitStackNotFound).
   */
  static async open(
    name: string | undefined,
    projectRoot: string,
    env: NodeJS.ProcessEnv = process.env,
  ): Promise<StackWorkspace> {
    const cli = (command: string) => (args: readonly string[]) => pulumi(args, command, projectRoot, env);
    try {
      const stackName = name ?? (await selectedStack(cli("pulumi stack ls")));
      if (stackName === "") throw noStackSelected();
      await cli(`pulumi stack select --stack ${stackName}`)(["stack", "select", "--stack", stackName]);
      return new StackWorkspace(stackName, projectRoot, env);
    } catch (error) {
      throw beforeAnyChange(error);
    }
  }

  /**
   * What `up` will need and that `config set-all` does not check, before anything changes:
   * the passphrase of a passphrase-encrypted stack, and (file backend) a lock held by another update.
   */
  preflight(env: NodeJS.ProcessEnv = this.env): Promise<void> {
    return preflightStack(this.projectRoot, this.stackName, env);
  }

  /**
   * `pulumi up` with the policy pack, as `npm run up` runs it, so a canary step passes the same
   * guardrails. Aborting `signal` sends the CLI one SIGINT.
   *
   * The command line and environment the Automation API's Stack.up gives a local program
   * (`up --yes --skip-preview … --exec-kind auto.local --stack <s> --non-interactive`), without what
   * Stack.up does after: `pulumi stack output --json` twice and `pulumi stack history`
   * (automation/stack.ts up: `this.outputs()`, `this.info()`) for an UpResult the tools never read.
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
    ];
    await runPulumi(nonInteractive(args), {
      cwd: this.projectRoot,
      env: { ...this.env, ...OPERATION_ENV },
      onOutput: (text: string) => {
        report.push(text);
        options.onOutput?.(text);
      },
      ...(options.onOutput && { onError: options.onOutput }),
      ...(options.signal && { signal: options.signal }),
    }).catch((error: unknown) => {
      report.flush();
      const reason = violations.length > 0 ? ` (policy violation: ${violations.join("; ")})` : "";
      throw cliFailure(`pulumi up${reason}`, error, diagnostics);
    });
  }

  /** Sets project config keys (`pulumi config set-all --path`): `{ "revisions.upgradeTo": "1.30.4" }`. */
  async setConfig(values: Readonly<Record<string, string>>): Promise<void> {
    // localWorkspace.ts setAllConfig: `--plaintext key=value` per entry (none of these is a secret).
    const pairs = Object.entries(values).flatMap(([key, value]) => ["--plaintext", `${PROJECT}:${key}=${value}`]);
    await this.run(["config", "set-all", "--stack", this.stackName, "--path", ...pairs], "pulumi config set-all");
  }

  /**
   * Removes project config keys, one `pulumi config rm --path` each, as Stack.removeConfig ran them
   * (localWorkspace.ts removeConfig). A key that is not there is no error (config/map.go Map.Remove).
   */
  async removeConfig(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      await this.run(
        ["config", "rm", `${PROJECT}:${key}`, "--stack", this.stackName, "--path"],
        `pulumi config rm ${key}`,
      );
    }
  }

  /** The stack's tags (localWorkspace.ts listTags: `pulumi stack tag ls --json`, a JSON object). */
  async tags(): Promise<Record<string, string>> {
    const text = await this.run(["stack", "tag", "ls", "--json", "--stack", this.stackName], "pulumi stack tag ls");
    return parseTagList(text, this.stackName);
  }

  /** localWorkspace.ts setTag. */
  async setTag(name: string, value: string): Promise<void> {
    await this.run(["stack", "tag", "set", name, value, "--stack", this.stackName], "pulumi stack tag set");
  }

  private run(args: readonly string[], command: string): Promise<string> {
    return pulumi(args, command, this.projectRoot, this.env);
  }
}

/**
 * What `pulumi stack tag ls --json` printed, as a map. A file backend's CLI (3.211 on) prints `null`
 * when it cannot read the stack's tags file: diyStack.Tags (pkg/backend/diy/stack.go) logs the
 * error where no one sees it and returns nil, which prints as `null` (ui/json.go); `pulumi up` then
 * fails on the same file (diy/state.go getTarget: "failed to load stack tags"). Both are exit 2: the
 * stack cannot be driven until the file is fixed.
 */
export function parseTagList(text: string, stackName: string): Record<string, string> {
  let tags: unknown;
  try {
    tags = JSON.parse(text);
  } catch {
    tags = undefined;
  }
  if (typeof tags === "object" && tags !== null && !Array.isArray(tags)) return tags as Record<string, string>;
  if (tags === null) {
    throw new CliError(
      `\`pulumi stack tag ls --json\` printed null: the Pulumi CLI could not read the tags of stack ${stackName} (on a file backend: ${stackName.split("/").at(-1)}.pulumi-tags, beside the stack's checkpoint under .pulumi/stacks, is not JSON or not version 1; \`pulumi up\` fails on it too)`,
      EXIT.usage,
    );
  }
  throw new CliError("`pulumi stack tag ls --json` did not print a JSON object", EXIT.failed);
}

/**
 * A failure before a tool's first change: exit 2 with "(nothing was changed)", as both tools' --help
 * document (canary/args.ts, upgrade/args.ts USAGE). Errors that already are exit 2 keep their words.
 */
export function beforeAnyChange(error: unknown): unknown {
  if (error instanceof CliError && error.exitCode === EXIT.failed) {
    return new CliError(`${error.message} (nothing was changed)`, EXIT.usage);
  }
  return error;
}

/** A workspace call, as localWorkspace.ts runPulumiCmd runs it: in the project, its stdout read. */
function pulumi(args: readonly string[], command: string, projectRoot: string, env: NodeJS.ProcessEnv) {
  return runPulumi(nonInteractive(args), { cwd: projectRoot, env: { ...env, ...WORKSPACE_ENV } }).catch(
    (error: unknown) => {
      throw cliFailure(command, error);
    },
  );
}

/** cmd.ts PulumiCommand.run: every call gets `--non-interactive` last, so a prompt fails instead of hanging. */
function nonInteractive(args: readonly string[]): string[] {
  return args.includes("--non-interactive") ? [...args] : [...args, "--non-interactive"];
}

/**
 * A CLI older than 3.211 on a file backend refuses every `pulumi stack tag` command with "the current
 * backend (<host name>) does not support stack tags" (0bfe911381e5^: pkg/cmd/pulumi/stack/stack_tag.go
 * `!b.SupportsTags()`, diy/backend.go SupportsTags false); 3.211 added them (pulumi/pulumi
 * CHANGELOG.md 3.211.0, "[backend/diy] Add stack tags support for DIY backends").
 */
const NO_STACK_TAGS = /does not support stack tags/;
export const CLI_TOO_OLD =
  "the Pulumi CLI is older than 3.211, which stack tags on a file backend need: upgrade it (https://www.pulumi.com/docs/iac/download-install/; scripts/check-prereqs.sh checks it)";

/**
 * A failed call as one line. The CLI's `error:` lines say what went wrong (a policy violation, a
 * lock, a missing passphrase: cmd/pulumi/main.go DisplayErrorMessage), else `otherwise` (up's
 * diagnostics), else its last stderr lines. No executable at all, or one too old for stack tags:
 * could not run (exit 2).
 */
function cliFailure(command: string, error: unknown, otherwise: readonly string[] = []): CliError {
  if (!(error instanceof PulumiExit)) {
    const why =
      (error as NodeJS.ErrnoException).code === "ENOENT"
        ? "it is not installed (or not on PATH)"
        : error instanceof Error
          ? error.message
          : String(error);
    return new CliError(`cannot run the Pulumi CLI: ${why}`, EXIT.usage);
  }
  if (NO_STACK_TAGS.test(error.stderr)) {
    const said =
      error.stderr
        .trim()
        .split("\n")
        .find((l) => NO_STACK_TAGS.test(l)) ?? "";
    return new CliError(`${CLI_TOO_OLD} (\`${command}\`: ${said.trim()})`, EXIT.usage);
  }
  const lines = error.stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const errors = lines.filter((l) => l.startsWith("error:"));
  const said = [errors, otherwise, lines.slice(-3)].find((choice) => choice.length > 0) ?? [error.message];
  return new CliError(`\`${command}\` failed: ${said.join("; ")}`, EXIT.failed);
}
