import { PROJECT } from "../../config/defaults";
import { CliError, EXIT } from "../lib/cli";
import { beforeAnyChange, StackWorkspace, type UpOptions } from "../lib/stackWorkspace";
import type { Weights } from "./plan";

/**
 * Where the last weights that passed a gate are kept: a stack tag. Not config (`npm run up` would
 * deploy whatever config holds, and the program rejects unknown keys) and not an output (outputs
 * only change with an `up`, and a pass is recorded without one). Tags live with the stack in its
 * backend (the file backend too, from CLI 3.211: pkg/backend/diy/backend.go UpdateStackTags), survive
 * a crashed run, and are read back by the next one. A file backend stores any name and value as given
 * (diy/stack_tags.go saveStackTags); only Pulumi Cloud limits them (pkg/util/validation/stack.go, called
 * from httpstate/client/client.go): names ≤ 40 of [a-zA-Z0-9-_.:], values ≤ 256 characters. This
 * name and a weights map fit either.
 */
export const LAST_GOOD_TAG = `${PROJECT}:canary-last-good`;

/** The stack as the canary changes it: its weights in config, the last good ones in a stack tag. */
export class PulumiCanaryWorkspace {
  private constructor(private readonly stack: StackWorkspace) {}

  static async open(name: string, projectRoot: string, env?: NodeJS.ProcessEnv): Promise<PulumiCanaryWorkspace> {
    return new PulumiCanaryWorkspace(await StackWorkspace.open(name, projectRoot, env));
  }

  get stackName(): string {
    return this.stack.stackName;
  }

  up(options: UpOptions = {}): Promise<void> {
    return this.stack.up(options);
  }

  /** One `--path` key per version, so the stack file keeps a readable map. */
  async setWeights(weights: Weights): Promise<void> {
    await this.stack.setConfig(
      Object.fromEntries(
        Object.entries(weights).map(([version, percent]) => [`canaryWeights.${version}`, String(percent)]),
      ),
    );
  }

  /** Read once, before the run's first change (run.ts runCanary): a failure here is exit 2. */
  async lastGood(): Promise<Weights | undefined> {
    const text = (
      await this.stack.tags().catch((error: unknown) => {
        throw beforeAnyChange(error);
      })
    )[LAST_GOOD_TAG];
    if (text === undefined) return undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === "object" && parsed !== null && Object.values(parsed).every(Number.isInteger)) {
        return parsed as Weights;
      }
    } catch {
      // reported below
    }
    throw new CliError(`stack tag ${LAST_GOOD_TAG} is not a weights map: ${text} (nothing was changed)`, EXIT.usage);
  }

  async recordLastGood(weights: Weights): Promise<void> {
    await this.stack.setTag(LAST_GOOD_TAG, JSON.stringify(weights));
  }
}
