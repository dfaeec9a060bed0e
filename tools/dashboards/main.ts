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
import { parseArgs } from "node:util";
import { dashboards, type ToolAccess, type ToolName } from "../../components/observability/access";
import { kubectlClusterFlags } from "../lib/portForward";
import { type PulumiCli, resolveStack, TargetError } from "../lib/target";

/** What the script needs from the outside world; tests pass stand-ins. */
export interface DashboardDeps {
  readonly projectRoot: string;
  /** The Pulumi CLI (default: the real one, run in projectRoot). */
  readonly pulumi?: PulumiCli;
  /** $STACK, as `npm run up` reads it. */
  readonly envStack?: string | undefined;
  /** Starts a long-running child (kubectl port-forward). */
  spawn(command: string, args: readonly string[]): Pick<ChildProcess, "pid" | "kill" | "once">;
  /** Registers the handler for Ctrl-C / SIGTERM. */
  onStop(handler: () => void): void;
  stdout(line: string): void;
  stderr(line: string): void;
}

export const TOOL_ORDER: readonly ToolName[] = ["kiali", "jaeger", "prometheus", "grafana"];

const USAGE = "usage: npm run dashboards -- [--stack NAME | --config Pulumi.<stack>.yaml] [--kubeconfig PATH]";

class UsageError extends Error {}

export const portForwardArgs = (target: readonly string[], t: ToolAccess) => [
  ...target,
  "-n",
  t.namespace,
  "port-forward",
  `svc/${t.service}`,
  `${t.localPort}:${t.servicePort}`,
];

/** Runs until Ctrl-C or until every port-forward has ended; resolves to the exit code. */
export async function main(argv: string[], deps: DashboardDeps): Promise<number> {
  let cleanup = () => {};
  try {
    let values: { stack?: string | undefined; config?: string | undefined; kubeconfig?: string | undefined };
    try {
      ({ values } = parseArgs({
        args: argv,
        options: { stack: { type: "string" }, config: { type: "string" }, kubeconfig: { type: "string" } },
      }));
    } catch (error) {
      throw new UsageError(`${(error as Error).message}\n${USAGE}`);
    }
    const stack = values.stack ?? (values.config === undefined ? deps.envStack : undefined);
    const target = await resolveStack(
      { stack, config: values.config, kubeconfig: values.kubeconfig },
      { projectRoot: deps.projectRoot, ...(deps.pulumi && { pulumi: deps.pulumi }) },
    );
    if (!target.config.observability.enabled) {
      throw new UsageError(`${target.source} has istio-mesh:observability.enabled = false; there is nothing to open`);
    }
    const tools = dashboards(target.config.cluster);
    const flags = kubectlClusterFlags(target.cluster);
    cleanup = flags.cleanup;

    return await new Promise<number>((resolve) => {
      const running = new Map<ToolName, Pick<ChildProcess, "pid" | "kill" | "once">>();
      let stopping = false;
      const finish = (code: number) => {
        cleanup();
        resolve(code);
      };
      for (const name of TOOL_ORDER) {
        const tool = tools[name];
        const child = deps.spawn("kubectl", portForwardArgs(flags.args, tool));
        running.set(name, child);
        const ended = (why: string) => {
          if (!running.delete(name)) return;
          if (!stopping) deps.stderr(`${name}: port-forward ended (${why})`);
          if (running.size === 0) finish(stopping ? 0 : 1);
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
  } catch (error) {
    cleanup();
    if (error instanceof UsageError || error instanceof TargetError) {
      deps.stderr(error.message);
      return 2;
    }
    throw error;
  }
}

export function systemDeps(projectRoot: string): DashboardDeps {
  return {
    projectRoot,
    envStack: process.env.STACK,
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
