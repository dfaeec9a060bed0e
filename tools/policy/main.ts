/**
 * The policy pack without an engine: the program's resources, registered under Pulumi's mocks from
 * a stack file, evaluated by every policy of `policies/` the way the pack's analyzer evaluates them.
 *
 *   npm run policy -- [--stack dev] [--json]
 *
 * A preview's stack policies see nothing of a cluster that does not exist yet (see
 * policies/lib/visibility.ts); this run needs no state and no cluster, so it checks every
 * resource on any stack, and the pull request gate runs it. Stack policies see what `up` would
 * write (the inputs); values only `up` generates (keys, certificates) stay unknown, as in a preview.
 */

import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import type { EnforcementLevel } from "@pulumi/policy";
import { crdShellLoad } from "../../components/gatewayApi/crds";
import { deployMesh } from "../../components/mesh";
import { readStackFile } from "../../config/stackFile";
import { PACK_ENFORCEMENT_LEVEL, policies } from "../../policies/policies";
import { CliError, EXIT, fileStack, parseCli, reportFailure } from "../lib/cli";
import { runWithMocks } from "../lib/mockProgram";
import { styleFor } from "../lib/style";
import { stateFreeConfig } from "../render/main";
import { type PackConfigFile, type PolicyInput, reconcileConfig, runPolicies } from "./evaluate";
import { formatText, type PolicyReport, policyReport } from "./report";

export const HELP = `usage: npm run policy -- [--stack <name>] [--json]

Runs the policy pack in policies/ over the resources the program registers for a stack, without
Pulumi state, an engine or a cluster: the same policies \`npm run preview\` runs, evaluated here.
Reads Pulumi.<stack>.yaml and, when it exists, policies/config/<stack>.json.

  --stack <name>  the stack (default: STACK from the environment, else dev)
  --json          the verdict per policy as JSON on stdout (also on exit 2, with "error")
  -h, --help      this text

Exit status: 0 no mandatory violation (advisory ones printed), 1 a mandatory policy failed, 2 could not
run (bad flag, stack file, config, secrets it cannot decrypt, policy config).
`;

/** `policies/config/<stack>.json`, as scripts/pulumi.sh hands it to the CLI; none is the pack's defaults. */
function packConfig(projectRoot: string, stack: string): PackConfigFile {
  const file = path.join(projectRoot, "policies", "config", `${stack}.json`);
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, "utf8")) as PackConfigFile;
  } catch (error) {
    throw new CliError(`${file}: ${(error as Error).message}`, EXIT.usage);
  }
}

/** The program's resources for a stack, as the engine would hand them to the pack. */
async function programResources(projectRoot: string, stack: string): Promise<PolicyInput[]> {
  const config = stateFreeConfig(readStackFile(path.join(projectRoot, `Pulumi.${stack}.yaml`)), "policy");
  // Grafana's dashboards are Istio's pinned JSON, which no policy reads: their ConfigMaps are
  // evaluated as shells, so the run needs no network and no policy meets an unknown `data`.
  const noDashboards = async () => ({ contents: {}, missing: [] });
  // Likewise the Gateway API CRDs (gateway-api and ambient cells): evaluated as shells, name and channel only.
  const run = await runWithMocks(() => deployMesh(config, { dashboards: noDashboards, gatewayApiCrds: crdShellLoad }), {
    preview: true,
    stack,
  });
  if (run.error !== undefined) throw run.error;
  // No `outputs`: without an engine, stack policies see what `up` would write.
  return run.resources.map((r) => ({
    type: r.type,
    name: r.name,
    urn: r.urn,
    props: r.inputs,
    options: r.options,
    provider: r.provider,
    parent: r.parent,
    dependencies: r.dependencies,
  }));
}

export async function evaluateStack(projectRoot: string, stack: string): Promise<PolicyReport> {
  const file = packConfig(projectRoot, stack);
  const config = reconcileConfig(policies, file);
  const levels = new Map<string, EnforcementLevel>(
    policies.map((p) => {
      const level = config.get(p.name)?.enforcementLevel ?? PACK_ENFORCEMENT_LEVEL;
      return [p.name, level === "remediate" ? "mandatory" : level];
    }),
  );
  const run = await runPolicies(policies, await programResources(projectRoot, stack), {
    config: file,
    packEnforcementLevel: PACK_ENFORCEMENT_LEVEL,
  });
  return policyReport(stack, policies, run, levels);
}

export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly isTTY?: boolean;
}

const consoleIo: Io = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  isTTY: process.stdout.isTTY,
};

/** The CLI; never throws: a failure is one line on stderr and the exit code HELP documents. */
export async function main(
  argv: readonly string[],
  projectRoot: string,
  io: Io = consoleIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const json = argv.includes("--json");
  let stack = fileStack(undefined, env);
  try {
    const parsed = parseCli("policy", argv, { stack: { type: "string" }, json: { type: "boolean" } });
    if (!parsed) {
      io.stdout(HELP);
      return EXIT.ok;
    }
    stack = fileStack(parsed.values.stack, env);
    const report = await evaluateStack(projectRoot, stack);
    io.stdout(
      json ? `${JSON.stringify(report, null, 2)}\n` : formatText(report, styleFor({ isTTY: io.isTTY ?? false })),
    );
    return report.ok ? EXIT.ok : EXIT.failed;
  } catch (error) {
    if (json) {
      const failed: PolicyReport = { stack, ok: false, error: (error as Error).message ?? String(error) };
      io.stdout(`${JSON.stringify(failed, null, 2)}\n`);
    }
    return reportFailure("policy", error, (line) => io.stderr(`${line}\n`), env);
  }
}

if (require.main === module) {
  main(process.argv.slice(2), path.resolve(__dirname, "..", "..")).then((code) => {
    process.exitCode = code;
  });
}
