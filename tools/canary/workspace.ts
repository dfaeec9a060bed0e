import { existsSync } from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { PROJECT } from "../../config/defaults";
import type { Weights } from "./plan";
import type { CanaryWorkspace } from "./run";

/**
 * The selected stack through Pulumi's Automation API: the same `pulumi config set --path` and
 * `pulumi up` a user would run, so Pulumi.<stack>.yaml stays the single source of truth.
 */
export class AutomationWorkspace implements CanaryWorkspace {
  private constructor(
    private readonly stack: Stack,
    private readonly projectRoot: string,
    private readonly onOutput: (text: string) => void,
  ) {}

  static async select(stackName: string, projectRoot: string, onOutput: (text: string) => void) {
    const stack = await LocalWorkspace.selectStack({ stackName, workDir: projectRoot });
    return new AutomationWorkspace(stack, projectRoot, onOutput);
  }

  /** The stack's config as `namespace:key` → value, secrets decrypted, for the project's own parser. */
  async config(): Promise<Record<string, string>> {
    const all = await this.stack.getAllConfig();
    return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.value]));
  }

  async outputs(): Promise<Record<string, unknown>> {
    const all = await this.stack.outputs();
    return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.value]));
  }

  /** One `--path` key per version, so the stack file keeps a readable map. */
  async setWeights(weights: Weights): Promise<void> {
    const entries = Object.entries(weights).map(([version, percent]) => [
      `${PROJECT}:canaryWeights.${version}`,
      { value: String(percent) },
    ]);
    await this.stack.setAllConfig(Object.fromEntries(entries), true);
  }

  /** With the policy pack, as `npm run up` runs it: a canary step passes the same guardrails. */
  async up(): Promise<void> {
    const packConfig = path.join(this.projectRoot, "policies", "config", `${this.stack.name}.json`);
    await this.stack.up({
      onOutput: this.onOutput,
      color: "never",
      policyPacks: [path.join(this.projectRoot, "policies")],
      ...(existsSync(packConfig) && { policyPackConfigs: [packConfig] }),
    });
  }
}
