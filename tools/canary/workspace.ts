import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { PROJECT } from "../../config/defaults";
import { CliError, EXIT } from "../lib/cli";
import { LineAssembler } from "../lib/lines";
import type { Weights } from "./plan";

/**
 * Where the last weights that passed a gate are kept: a stack tag. Not config (`npm run up` would
 * deploy whatever config holds, and the program rejects unknown keys) and not an output (outputs
 * only change with an `up`, and a pass is recorded without one). Tags live with the stack in its
 * backend (the file backend too: pkg/backend/diy/backend.go UpdateStackTags), survive a crashed
 * run, and are read back by the next one. Names: ≤ 40 of [a-zA-Z0-9-_.:], values ≤ 256 characters
 * (pkg/util/validation/stack.go).
 */
export const LAST_GOOD_TAG = `${PROJECT}:canary-last-good`;

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
export class AutomationWorkspace {
  private constructor(
    private readonly stack: Stack,
    private readonly workspace: LocalWorkspace,
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
  static async open(name: string | undefined, projectRoot: string): Promise<AutomationWorkspace> {
    let workspace: LocalWorkspace;
    try {
      workspace = await LocalWorkspace.create({ workDir: projectRoot });
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      const why = /ENOENT/.test(text) ? "it is not installed (or not on PATH)" : stderrOf(text).join("; ");
      throw new CliError(`cannot run the Pulumi CLI: ${why}`, EXIT.usage);
    }
    const stackName = name ?? (await workspace.stack().catch(cliFailure("pulumi stack ls")))?.name;
    if (stackName === undefined || stackName === "") {
      throw new CliError(
        "no stack selected: pass --stack NAME, set STACK, or `pulumi stack select NAME` (nothing was changed)",
        EXIT.usage,
      );
    }
    const stack = await LocalWorkspace.selectStack({ stackName, workDir: projectRoot }).catch(
      cliFailure(`pulumi stack select --stack ${stackName}`),
    );
    return new AutomationWorkspace(stack, workspace, projectRoot);
  }

  /**
   * What `up` will need and that `config set-all` does not check, before anything changes:
   * the passphrase of a passphrase-encrypted stack, and (file backend) a lock held by another update.
   */
  async preflight(env: NodeJS.ProcessEnv = process.env): Promise<void> {
    const settings = await this.workspace.stackSettings(this.stackName).catch(() => undefined);
    const passphraseStack =
      settings?.encryptionSalt !== undefined &&
      (settings.secretsProvider === undefined || settings.secretsProvider === "passphrase");
    // The CLI reads these two and nothing else (pkg/secrets/passphrase/manager.go readPassphrase).
    if (passphraseStack && env.PULUMI_CONFIG_PASSPHRASE === undefined && !env.PULUMI_CONFIG_PASSPHRASE_FILE) {
      throw new CliError(
        `stack ${this.stackName} encrypts its secrets with a passphrase: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE (\`pulumi up\` would fail after the config changed; nothing was changed)`,
        EXIT.usage,
      );
    }
    const locks = this.lockFiles(env);
    if (locks.length > 0) {
      throw new CliError(
        `stack ${this.stackName} is locked by another update (${locks.join(", ")}): wait for it, or \`pulumi cancel\` if it died (nothing was changed)`,
        EXIT.usage,
      );
    }
  }

  /**
   * Lock files of a file:// backend (pkg/backend/diy/lock.go: `.pulumi/locks/<org>/<project>/<stack>/`,
   * or `.pulumi/locks/<stack>/` in the legacy layout). Other backends refuse a concurrent `up` themselves,
   * and the run then restores the last good weights.
   */
  private lockFiles(env: NodeJS.ProcessEnv): string[] {
    const url = env.PULUMI_BACKEND_URL ?? projectBackendUrl(this.projectRoot);
    if (url === undefined || !url.startsWith("file://")) return [];
    const rest = url.slice("file://".length);
    const root = rest.startsWith("/") ? fileURLToPath(url) : path.resolve(this.projectRoot, rest);
    const dirs = [
      path.join(root, ".pulumi", "locks", "organization", PROJECT, this.stackName),
      path.join(root, ".pulumi", "locks", this.stackName),
    ];
    return dirs.flatMap((dir) =>
      existsSync(dir)
        ? readdirSync(dir)
            .filter((f) => f.endsWith(".json"))
            .map((f) => path.relative(this.projectRoot, path.join(dir, f)))
        : [],
    );
  }

  /** One `--path` key per version, so the stack file keeps a readable map. */
  async setWeights(weights: Weights): Promise<void> {
    const entries = Object.entries(weights).map(([version, percent]) => [
      `${PROJECT}:canaryWeights.${version}`,
      { value: String(percent) },
    ]);
    await this.stack.setAllConfig(Object.fromEntries(entries), true).catch(cliFailure("pulumi config set-all"));
  }

  /**
   * `pulumi up` with the policy pack, as `npm run up` runs it, so a canary step passes the same
   * guardrails. `signal` is the Automation API's: aborting it sends the CLI one SIGINT.
   */
  async up(options: UpOptions = {}): Promise<void> {
    const packConfig = path.join(this.projectRoot, "policies", "config", `${this.stackName}.json`);
    const violations: string[] = [];
    // The policy report goes to stdout; its mandatory lines are why an up failed.
    const report = new LineAssembler((line) => {
      if (line.includes("[mandatory]")) violations.push(line.trim().replace(/^- /, ""));
    });
    await this.stack
      .up({
        color: "never",
        policyPacks: [path.join(this.projectRoot, "policies")],
        ...(existsSync(packConfig) && { policyPackConfigs: [packConfig] }),
        onOutput: (text) => {
          report.push(text);
          options.onOutput?.(text);
        },
        ...(options.onOutput && { onError: options.onOutput }),
        ...(options.signal && { signal: options.signal }),
      })
      .catch((error: unknown) => {
        report.flush();
        const reason = violations.length > 0 ? ` (policy violation: ${violations.join("; ")})` : "";
        return cliFailure(`pulumi up${reason}`)(error);
      });
  }

  async lastGood(): Promise<Weights | undefined> {
    const tags = await this.stack.listTags().catch(cliFailure("pulumi stack tag ls"));
    const text = tags[LAST_GOOD_TAG];
    if (text === undefined) return undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === "object" && parsed !== null && Object.values(parsed).every(Number.isInteger)) {
        return parsed as Weights;
      }
    } catch {
      // reported below
    }
    throw new CliError(`stack tag ${LAST_GOOD_TAG} is not a weights map: ${text}`, EXIT.usage);
  }

  async recordLastGood(weights: Weights): Promise<void> {
    await this.stack.setTag(LAST_GOOD_TAG, JSON.stringify(weights)).catch(cliFailure("pulumi stack tag set"));
  }
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
