/** `npm run upgrade` flags → a checked request. Every bad flag is reported at once. */
import { durationMillis } from "../../config/readers";
import { CliError, EXIT, parseCli, stackChoice } from "../lib/cli";
import { TARGET_OPTIONS, type TargetFlags, targetFlags } from "../lib/target";

export const USAGE = `usage: npm run upgrade -- --to VERSION [options]

Upgrades Istio on the stack with revisions and revision tags, as Istio's canary-upgrade guide does it,
through the Pulumi CLI and kubectl (the stack \`pulumi\` would use: --stack, else STACK, else
the selected stack; it needs istio-mesh:revisions.enabled, and refuses a stack that uses the cluster's
own istiod, istio-mesh:existingIstio, whose control plane is not the stack's to upgrade):
  1. install the new revision beside the old (config revisions.upgradeTo; pulumi up)
  2. move prod-canary to it (revisions.canaryVersion; pulumi up)
  3. restart the canary: the ingress gateway, whose pods carry istio.io/rev=prod-canary
  4. run \`npm run verify\` against the stack: every check must pass
  5. move prod-stable to it (revisions.stableVersion; pulumi up)
  6. restart the rest (backends, mesh-client, the egress gateway) in batches
  7. remove the old revision (istioVersion VERSION; pulumi up)
Before changing anything it checks the passphrase, the stack's lock, the config and that kubectl finds
every Deployment it will restart. Any failure or Ctrl-C before step 7 moves both tags back (pulumi up),
restarts every workload it restarted, then puts the revisions back as found (pulumi up). A run that
stopped resumes: steps the config already records are skipped.

options
  --to VERSION             the Istio release to upgrade to, e.g. 1.30.4 (at most two minor releases on)
  --batch N                Deployments restarted together in step 6 (default 2)
  --rollout-timeout 5m     \`kubectl rollout status --timeout\` for each restart (default 5m)
  --offline                verify skips the checks that need the internet (egress to httpbin.org)
  --dry-run                print the plan and change nothing
  --json                   one JSON event per line instead of the report (with --dry-run: the plan)

target
  --stack NAME             a stack other than the selected one; or STACK=NAME
  --config Pulumi.<s>.yaml with --dry-run only: read the stack file instead of the Pulumi CLI
  --kubeconfig FILE        for kubectl (default: kind: the stack's kubeconfig output; existing: the
                           config's kubeconfig and kubeContext)

exit codes: 0 upgraded (or the plan printed), 1 a step failed (what it changed was restored, or the
message says what could not be), 2 could not start (nothing changed), 130 interrupted (restored).`;

export interface UpgradeArgs {
  readonly to: string;
  readonly batch: number;
  readonly rolloutTimeout: string;
  readonly offline: boolean;
  readonly dryRun: boolean;
  readonly json: boolean;
  readonly target: Pick<TargetFlags, "stack" | "config" | "kubeconfig">;
}

const OPTIONS = {
  to: { type: "string" },
  batch: { type: "string" },
  "rollout-timeout": { type: "string" },
  offline: { type: "boolean" },
  "dry-run": { type: "boolean" },
  json: { type: "boolean" },
  stack: TARGET_OPTIONS.stack,
  config: TARGET_OPTIONS.config,
  kubeconfig: TARGET_OPTIONS.kubeconfig,
} as const;

/** undefined: --help was asked for. */
export function parseUpgradeArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): UpgradeArgs | undefined {
  const parsed = parseCli("upgrade", argv, OPTIONS);
  if (parsed === undefined) return undefined;
  const values = parsed.values;
  const issues: string[] = [];
  if (values.to === undefined) issues.push("--to VERSION is required");
  else if (!/^\d+\.\d+\.\d+$/.test(values.to))
    issues.push(`--to ${JSON.stringify(values.to)}: an exact Istio release such as 1.30.4`);
  const batch = Number(values.batch ?? "2");
  if (!(Number.isInteger(batch) && batch >= 1 && batch <= 50))
    issues.push(`--batch ${JSON.stringify(values.batch)}: an integer from 1 to 50`);
  const timeout = values["rollout-timeout"] ?? "5m";
  if (durationMillis(timeout) === undefined)
    issues.push(`--rollout-timeout ${JSON.stringify(timeout)}: a duration such as 90s or 5m`);
  const dryRun = values["dry-run"] === true;
  if (values.config !== undefined && !dryRun) {
    issues.push("--config reads a stack file for --dry-run; a real run changes the stack through the Pulumi CLI");
  }
  if (issues.length > 0) throw new CliError(`${issues.join("\n")}\n(see npm run upgrade -- --help)`, EXIT.usage);
  const flags = targetFlags(values);
  return {
    to: values.to as string,
    batch,
    rolloutTimeout: timeout,
    offline: values.offline === true,
    dryRun,
    json: values.json === true,
    target: { stack: stackChoice(values.stack, env), config: flags.config, kubeconfig: flags.kubeconfig },
  };
}
