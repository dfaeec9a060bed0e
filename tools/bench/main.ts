/**
 * `npm run bench`: a load run through the ingress gateway, per route, with latency percentiles and
 * errors by status; `--direct` adds the same load straight to each backend. Flags: `--help`.
 */
import * as path from "node:path";
import { CliError, EXIT, reportFailure } from "../lib/cli";
import { checkKubectlTarget } from "../lib/kubeconfig";
import { kubectlPortForwarder, type PortForwarder } from "../lib/portForward";
import { type PulumiCli, resolveTarget } from "../lib/target";
import { ArgsError, parseBenchArgs, USAGE } from "./args";
import { benchInCluster, inClusterDeps } from "./inCluster/main";
import { writePlots } from "./plot";
import { type ProgressStream, progressDisplay } from "./progress";
import { formatReport } from "./report";
import { runBench } from "./run";

export interface BenchIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Where the progress display goes; it draws only when this is a terminal. */
  readonly progress: ProgressStream;
}

export interface MainDeps {
  readonly projectRoot: string;
  readonly io: BenchIo;
  readonly pulumi?: PulumiCli;
  readonly forwarder?: PortForwarder;
  readonly signal?: AbortSignal;
  /** STACK, PULUMI_CONFIG_PASSPHRASE*, KUBECONFIG (default: process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** The kubectl binary for --direct and --in-cluster (default: kubectl on PATH); how long to let Prometheus catch up. */
  readonly kubectl?: string;
  readonly metricsLagMs?: number;
}

export const HELP = `${USAGE}

Exit status: 0 measured (HTTP errors are figures, not failures), 2 could not measure (bad flag,
config, Pulumi CLI or passphrase, no cluster for --direct, unreachable gateway), 130 interrupted.`;

/**
 * Exit codes (HELP): 0 measured (HTTP errors are figures, not failures), 2 could not measure,
 * 130 interrupted. Never throws: a failure is one line on stderr.
 */
export async function main(argv: readonly string[], deps: MainDeps): Promise<number> {
  const { io } = deps;
  try {
    const plan = parseBenchArgs(argv);
    if (plan.help) {
      io.stdout(HELP);
      return 0;
    }
    const target = await resolveTarget(plan.target, {
      projectRoot: deps.projectRoot,
      ...(deps.pulumi && { pulumi: deps.pulumi }),
      ...(deps.env && { env: deps.env }),
    });
    // Before any load: kubectl without a cluster would try http://localhost:8080, the gateway's port.
    if (plan.direct && deps.forwarder === undefined) checkKubectlTarget(target.cluster, deps.env);
    if (plan.inCluster) return await benchInCluster(plan, target, inClusterDeps(deps));
    const report = await runBench(
      { paths: plan.paths, shape: plan.shape, direct: plan.direct, repeat: plan.repeat },
      {
        target,
        forwarder: deps.forwarder ?? kubectlPortForwarder(deps.kubectl !== undefined ? { kubectl: deps.kubectl } : {}),
        progress: progressDisplay(deps.io.progress),
        ...(deps.signal && { signal: deps.signal }),
      },
    );
    io.stdout(plan.json ? JSON.stringify(report, null, 2) : formatReport(report));
    writePlots(plan, report);
    return report.interrupted ? EXIT.interrupted : EXIT.ok;
  } catch (error) {
    // args.ts ends its message with the whole usage: keep the line per bad flag, point at --help.
    const failure =
      error instanceof ArgsError
        ? new CliError(`${error.message.split("\n\n")[0]?.replace(/^bench: /, "")} (see npm run bench -- --help)`)
        : error;
    return reportFailure("bench", failure, io.stderr, deps.env);
  }
}

if (require.main === module) {
  const controller = new AbortController();
  // First Ctrl-C: stop the load and print what was measured. A second one exits at once (exit
  // handlers still stop port-forwards and remove the kubeconfig copy).
  process.on("SIGINT", () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  });
  main(process.argv.slice(2), {
    projectRoot: path.resolve(__dirname, "..", ".."),
    io: {
      stdout: (text) => process.stdout.write(`${text}\n`),
      stderr: (text) => process.stderr.write(`${text}\n`),
      progress: process.stderr,
    },
    signal: controller.signal,
  }).then((code) => {
    process.exitCode = code;
  });
}
