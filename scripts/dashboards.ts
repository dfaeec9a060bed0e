/**
 * Opens Kiali, Jaeger, Prometheus and Grafana at once through `kubectl port-forward`, prints their
 * URLs and how to sign in, and closes every port-forward on Ctrl-C.
 *
 *   npm run dashboards [-- --stack dev] [-- --kubeconfig PATH]
 *
 * Without --kubeconfig, the stack's own kubeconfig (`pulumi stack output kubeconfig --show-secrets`)
 * goes to a 0600 file in a private temp dir, removed on exit. Which tools and ports come from the
 * stack's config through the program's own builders (components/observability/access.ts).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { dashboards, type ToolAccess, type ToolName } from "../components/observability/access";
import { ConfigError } from "../config/issues";
import { projectConfig } from "../config/load";
import { parseMeshConfig } from "../config/parse";
import { readStackFile, StackFileError } from "../config/stackFile";
import type { MeshConfig } from "../config/types";

/** What the script needs from the outside world; tests pass stand-ins. */
export interface DashboardDeps {
  /** Starts a long-running child (kubectl port-forward). */
  spawn(command: string, args: readonly string[]): Pick<ChildProcess, "pid" | "kill" | "once">;
  /** Runs a command to completion and returns its stdout. */
  capture(command: string, args: readonly string[]): Promise<string>;
  readStack(stack: string): Record<string, unknown>;
  /** Registers the handler for Ctrl-C / SIGTERM. */
  onStop(handler: () => void): void;
  stdout(line: string): void;
  stderr(line: string): void;
}

export const TOOL_ORDER: readonly ToolName[] = ["kiali", "jaeger", "prometheus", "grafana"];

class UsageError extends Error {}

/** kubectl flags for the stack's cluster, given the kubeconfig file in use (if any). */
export function kubectlArgs(cfg: MeshConfig, kubeconfigFile: string | undefined): string[] {
  const context =
    cfg.cluster.mode === "existing" && cfg.cluster.context !== undefined ? ["--context", cfg.cluster.context] : [];
  if (kubeconfigFile !== undefined) return ["--kubeconfig", kubeconfigFile, ...context];
  if (cfg.cluster.mode === "existing" && cfg.cluster.kubeconfig !== undefined) {
    return ["--kubeconfig", cfg.cluster.kubeconfig, ...context];
  }
  return context;
}

export const portForwardArgs = (target: readonly string[], t: ToolAccess) => [
  ...target,
  "-n",
  t.namespace,
  "port-forward",
  `svc/${t.service}`,
  `${t.localPort}:${t.servicePort}`,
];

/** The stack's kubeconfig in a private file, or none (existing mode uses its path or the ambient one). */
async function stackKubeconfig(stack: string, deps: DashboardDeps): Promise<{ file?: string; cleanup(): void }> {
  let contents: string;
  try {
    contents = await deps.capture("pulumi", ["stack", "output", "kubeconfig", "--show-secrets", "--stack", stack]);
  } catch (error) {
    throw new UsageError(
      `could not read stack ${stack}'s kubeconfig (${(error as Error).message.split("\n")[0]}); pass --kubeconfig PATH`,
    );
  }
  if (!/\bapiVersion:/.test(contents)) return { cleanup() {} };
  const dir = mkdtempSync(path.join(tmpdir(), "mesh-dashboards-"));
  const file = path.join(dir, "kubeconfig");
  writeFileSync(file, contents, { mode: 0o600 });
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs until Ctrl-C or until every port-forward has ended; resolves to the exit code. */
export async function main(argv: string[], deps: DashboardDeps): Promise<number> {
  let cleanup = () => {};
  try {
    let values: { stack?: string | undefined; kubeconfig?: string | undefined };
    try {
      ({ values } = parseArgs({ args: argv, options: { stack: { type: "string" }, kubeconfig: { type: "string" } } }));
    } catch (error) {
      throw new UsageError(
        `${(error as Error).message}\nusage: npm run dashboards -- [--stack dev] [--kubeconfig PATH]`,
      );
    }
    const stack = values.stack ?? process.env.STACK ?? "dev";
    const cfg = parseMeshConfig(projectConfig(deps.readStack(stack)));
    if (!cfg.observability.enabled) {
      throw new UsageError(`stack ${stack} has istio-mesh:observability.enabled = false; there is nothing to open`);
    }
    const tools = dashboards(cfg.cluster);
    let kubeconfig = values.kubeconfig;
    if (kubeconfig === undefined) {
      const own = await stackKubeconfig(stack, deps);
      kubeconfig = own.file;
      cleanup = own.cleanup;
    }
    const target = kubectlArgs(cfg, kubeconfig);

    return await new Promise<number>((resolve) => {
      const running = new Map<ToolName, Pick<ChildProcess, "pid" | "kill" | "once">>();
      let stopping = false;
      const finish = (code: number) => {
        cleanup();
        resolve(code);
      };
      for (const name of TOOL_ORDER) {
        const tool = tools[name];
        const child = deps.spawn("kubectl", portForwardArgs(target, tool));
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
    if (error instanceof UsageError || error instanceof ConfigError || error instanceof StackFileError) {
      deps.stderr(error.message);
      return 2;
    }
    throw error;
  }
}

export function systemDeps(projectRoot: string): DashboardDeps {
  return {
    spawn: (command, args) => spawn(command, [...args], { stdio: ["ignore", "ignore", "inherit"] }),
    capture: (command, args) =>
      new Promise((resolve, reject) =>
        execFile(command, [...args], { cwd: projectRoot, maxBuffer: 1 << 20 }, (err, stdout) =>
          err ? reject(err) : resolve(stdout),
        ),
      ),
    readStack: (stack) => readStackFile(path.join(projectRoot, `Pulumi.${stack}.yaml`)),
    onStop: (handler) => {
      process.once("SIGINT", handler);
      process.once("SIGTERM", handler);
    },
    stdout: (line) => console.log(line),
    stderr: (line) => console.error(line),
  };
}

if (require.main === module) {
  const root = path.resolve(__dirname, "..");
  main(process.argv.slice(2), systemDeps(root)).then((code) => {
    process.exitCode = code;
  });
}
