/**
 * Opens Kiali, Jaeger, Prometheus and Grafana at once through `kubectl port-forward`, prints their
 * URLs and how to sign in, and closes every port-forward on Ctrl-C.
 *
 *   npm run dashboards [-- --stack NAME | --config Pulumi.<stack>.yaml] [-- --kubeconfig PATH]
 *
 * The stack and its cluster come from tools/lib/target.ts, as for verify, bench and canary: by
 * default the selected stack (or $STACK) through the Pulumi CLI; a kind stack's kubeconfig output
 * goes to a 0600 file in a private temp dir (tools/lib/portForward.ts), removed on exit. Which
 * tools and ports come from the stack's config through the program's own builders
 * (components/observability/access.ts).
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import { dashboards, type ToolAccess, type ToolName } from "../../components/observability/access";
import { CliError, EXIT, parseCli, runCli } from "../lib/cli";
import { kubectlClusterFlags } from "../lib/portForward";
import { type PulumiCli, resolveStack } from "../lib/target";

/** What the script needs from the outside world; tests pass stand-ins. */
export interface DashboardDeps {
  readonly projectRoot: string;
  /** The Pulumi CLI (default: the real one, run in projectRoot). */
  readonly pulumi?: PulumiCli;
  /** STACK and PULUMI_CONFIG_PASSPHRASE* (default: process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Starts a long-running child (kubectl port-forward). */
  spawn(command: string, args: readonly string[]): Pick<ChildProcess, "pid" | "kill" | "once">;
  /** Registers the handler for Ctrl-C / SIGTERM. */
  onStop(handler: () => void): void;
  stdout(line: string): void;
  stderr(line: string): void;
}

export const TOOL_ORDER: readonly ToolName[] = ["kiali", "jaeger", "prometheus", "grafana"];

export const HELP = `usage: npm run dashboards -- [--stack NAME | --config Pulumi.<stack>.yaml] [--kubeconfig PATH]

Opens Kiali, Jaeger, Prometheus and Grafana through kubectl port-forward, prints their URLs and how
to sign in; Ctrl-C closes them all.

  --stack NAME               a stack other than the selected one (Pulumi CLI: its config and
                             kubeconfig output; PULUMI_CONFIG_PASSPHRASE for a passphrase-protected
                             stack); or STACK=NAME
  --config Pulumi.<s>.yaml   read the stack file instead; needs no Pulumi CLI
  --kubeconfig PATH          for the cluster (default: kind: the stack's kubeconfig output, else
                             context kind-<name>; existing: the config's kubeconfig and kubeContext)

Exit status: 0 closed with Ctrl-C, 1 a port-forward ended on its own, 2 could not start (bad flag,
config, Pulumi CLI or passphrase, observability off).`;

export const portForwardArgs = (target: readonly string[], t: ToolAccess) => [
  ...target,
  "-n",
  t.namespace,
  "port-forward",
  `svc/${t.service}`,
  `${t.localPort}:${t.servicePort}`,
];

/** Runs until Ctrl-C or until every port-forward has ended; resolves to the exit code, never throws. */
export async function main(argv: readonly string[], deps: DashboardDeps): Promise<number> {
  let cleanup = () => {};
  return runCli(
    "dashboards",
    async () => {
      try {
        return await openAll(argv, deps, (c) => {
          cleanup = c;
        });
      } finally {
        cleanup();
      }
    },
    deps.stderr,
  );
}

async function openAll(
  argv: readonly string[],
  deps: DashboardDeps,
  setCleanup: (cleanup: () => void) => void,
): Promise<number> {
  const parsed = parseCli("dashboards", argv, {
    stack: { type: "string" },
    config: { type: "string" },
    kubeconfig: { type: "string" },
  });
  if (parsed === undefined) {
    deps.stdout(HELP);
    return EXIT.ok;
  }
  const { values } = parsed;
  const target = await resolveStack(
    { stack: values.stack, config: values.config, kubeconfig: values.kubeconfig },
    {
      projectRoot: deps.projectRoot,
      ...(deps.pulumi && { pulumi: deps.pulumi }),
      ...(deps.env && { env: deps.env }),
    },
  );
  if (!target.config.observability.enabled) {
    throw new CliError(`${target.source} has istio-mesh:observability.enabled = false; there is nothing to open`);
  }
  const tools = dashboards(target.config.cluster);
  const flags = kubectlClusterFlags(target.cluster);
  setCleanup(flags.cleanup);

  return await new Promise<number>((resolve) => {
    const running = new Map<ToolName, Pick<ChildProcess, "pid" | "kill" | "once">>();
    let stopping = false;
    for (const name of TOOL_ORDER) {
      const tool = tools[name];
      const child = deps.spawn("kubectl", portForwardArgs(flags.args, tool));
      running.set(name, child);
      const ended = (why: string) => {
        if (!running.delete(name)) return;
        if (!stopping) deps.stderr(`${name}: port-forward ended (${why})`);
        if (running.size === 0) resolve(stopping ? EXIT.ok : EXIT.failed);
      };
      child.once("exit", (code: number | null) => ended(`exit ${code ?? "by signal"}`));
      // kubectl missing: spawn reports an error and may never report an exit.
      child.once("error", (error: Error) => ended(error.message));
      deps.stdout(`${name.padEnd(10)} ${tool.url}   login: ${tool.login}`);
    }
    deps.stdout("Ctrl-C closes all four port-forwards.");
    deps.onStop(() => {
      if (stopping) return;
      stopping = true;
      // Only the children this script started, by their own handles.
      for (const child of running.values()) child.kill("SIGTERM");
    });
  });
}

export function systemDeps(projectRoot: string): DashboardDeps {
  return {
    projectRoot,
    spawn: (command, args) => spawn(command, [...args], { stdio: ["ignore", "ignore", "inherit"] }),
    onStop: (handler) => {
      process.once("SIGINT", handler);
      process.once("SIGTERM", handler);
    },
    stdout: (line) => console.log(line),
    stderr: (line) => console.error(line),
  };
}

if (require.main === module) {
  const root = path.resolve(__dirname, "..", "..");
  main(process.argv.slice(2), systemDeps(root)).then((code) => {
    process.exitCode = code;
  });
}
