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
 *
 * Each kubectl's stdout and stderr are read (tools/lib/portForward.ts watchPortForward): a tool's URL
 * is printed once its kubectl says it is forwarding, and whatever kubectl says on stderr becomes one
 * line naming the tool (tools/lib/kubectlStderr.ts), never kubectl's klog lines as they are. A
 * cluster that is not there (a kind cluster deleted by hand: the stack's kubeconfig output still names
 * its server) is one line, `dashboards: no cluster to reach at SERVER (context CTX): connection refused;
 * is the cluster up?`, and exit 2, not four kubectl's worth of log lines. A context the kubeconfig does
 * not have (`--config` after `kind delete cluster`, which removes it: kind pkg/cluster/internal/delete/
 * delete.go:37) is said before any kubectl starts, as bench --direct says it (checkKubectlTarget).
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import { dashboards, type ToolAccess, type ToolName } from "../../components/observability/access";
import { CliError, EXIT, parseCli, runCli } from "../lib/cli";
import { checkKubectlTarget } from "../lib/kubeconfig";
import { klogMessage, kubectlFailure, kubectlSpawnFailure } from "../lib/kubectlStderr";
import { kubectlClusterFlags, watchPortForward } from "../lib/portForward";
import { type PulumiCli, resolveStack } from "../lib/target";

/** A `kubectl port-forward` child: its stdout and stderr piped (read to their end), stopped by its own handle. */
export type PortForwardChild = Pick<ChildProcess, "pid" | "kill" | "once" | "stdout" | "stderr">;

/** How long a klog line kubectl printed while forwarding waits for kubectl to exit, to be said with it. */
const SAME_EVENT_MS = 250;

/** What the script needs from the outside world; tests pass stand-ins. */
export interface DashboardDeps {
  readonly projectRoot: string;
  /** The Pulumi CLI (default: the real one, run in projectRoot). */
  readonly pulumi?: PulumiCli;
  /** STACK and PULUMI_CONFIG_PASSPHRASE* (default: process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Starts a long-running child (kubectl port-forward), its stdout and stderr piped to this process. */
  spawn(command: string, args: readonly string[]): PortForwardChild;
  /** Registers the handler for Ctrl-C / SIGTERM. */
  onStop(handler: () => void): void;
  stdout(line: string): void;
  stderr(line: string): void;
}

export const TOOL_ORDER: readonly ToolName[] = ["kiali", "jaeger", "prometheus", "grafana"];

export const HELP = `usage: npm run dashboards -- [--stack NAME | --config Pulumi.<stack>.yaml] [--kubeconfig PATH]

Opens Kiali, Jaeger, Prometheus and Grafana through kubectl port-forward, prints each URL and how to
sign in once its port-forward is up; Ctrl-C closes them all. What kubectl reports is one line per
tool on stderr ("<tool>: …").

  --stack NAME               a stack other than the selected one (Pulumi CLI: its config and
                             kubeconfig output; PULUMI_CONFIG_PASSPHRASE for a passphrase-protected
                             stack); or STACK=NAME
  --config Pulumi.<s>.yaml   read the stack file instead; needs no Pulumi CLI
  --kubeconfig PATH          for the cluster (default: kind: the stack's kubeconfig output, else
                             context kind-<name>; existing: the config's kubeconfig and kubeContext)

Exit status: 0 closed with Ctrl-C, 1 a port-forward ended on its own, 2 could not start (bad flag,
config, Pulumi CLI or passphrase, observability off, no kubectl, no cluster to reach or the local
ports taken: every port-forward failed so before any was up).`;

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
  const kubectlEnv = deps.env ?? process.env;
  checkKubectlTarget(target.cluster, kubectlEnv);
  const flags = kubectlClusterFlags(target.cluster);
  setCleanup(flags.cleanup);

  return await new Promise<number>((resolve, reject) => {
    const running = new Map<ToolName, PortForwardChild>();
    /** The forwards whose kubectl has said it is forwarding (and has not ended since). */
    const forwarding = new Set<ToolName>();
    let anyForwarded = false;
    /**
     * Forwards that could not start before any forwarded: no cluster to reach, no kubectl, or a local
     * port taken (another dashboards running). If every one ends so, their lines are said once, as one,
     * and it could not start; else each is said as it is.
     */
    const notStarted = new Map<ToolName, string>();
    let stopping = false;
    let hinted = false;

    const sayNotStarted = () => {
      for (const [name, line] of notStarted) deps.stderr(`${name}: port-forward ended: ${line}`);
      notStarted.clear();
    };
    const hint = () => {
      if (hinted || stopping || running.size === 0 || [...running.keys()].some((n) => !forwarding.has(n))) return;
      hinted = true;
      deps.stdout(
        running.size === TOOL_ORDER.length
          ? "Ctrl-C closes all four port-forwards."
          : "Ctrl-C closes the port-forwards still open.",
      );
    };
    const finish = () => {
      if (stopping) return resolve(EXIT.ok);
      if (notStarted.size === TOOL_ORDER.length) {
        // runCli says it as `dashboards: no cluster to reach at … ; is the cluster up?` (or kubectl is not
        // installed), exit 2.
        return reject(new CliError([...new Set(notStarted.values())].join("; "), EXIT.usage));
      }
      sayNotStarted();
      resolve(EXIT.failed);
    };

    for (const name of TOOL_ORDER) {
      const tool = tools[name];
      const child = deps.spawn("kubectl", portForwardArgs(flags.args, tool));
      running.set(name, child);
      /** A klog message kubectl printed while forwarding, held a moment in case kubectl exits after it. */
      let pending: string | undefined;
      let pendingTimer: NodeJS.Timeout | undefined;
      const sayPending = () => {
        clearTimeout(pendingTimer);
        if (pending !== undefined && !stopping) deps.stderr(`${name}: ${pending}`);
        pending = undefined;
      };
      const output = watchPortForward(child, {
        forwarding: () => {
          if (!running.has(name) || stopping) return;
          forwarding.add(name);
          anyForwarded = true;
          sayNotStarted(); // a cluster answered after all: those were about their own forwards
          deps.stdout(`${name.padEnd(10)} ${tool.url}   login: ${tool.login}`);
          hint();
        },
        // Before kubectl forwards, its stderr is the failure to come: klog's lines there are client-go's
        // discovery retries (memcache.go) that kubectl's own last line says better, so they are left to
        // kubectlFailure, which drops them. Once it forwards, a klog line is passed through, its header
        // left out: client-go logs every failed connection through runtime.HandleError and goes on
        // (v0.32.4 tools/portforward/portforward.go:322 accepting, :357/:380 creating the streams,
        // :391/:404 copying, :371/:424 "an error occurred forwarding L -> R: …" from the pod's side,
        // e.g. a restarted pod), so it is the only sign why a browser tab of that tool shows an error
        // while the port-forward runs on. Hidden, the tab just fails with no reason anywhere. kubectl's
        // own lines (not klog) come as it exits (cmdutil.CheckErr), and are said once, in the
        // "port-forward ended" line.
        stderrLine: (line) => {
          if (!forwarding.has(name) || stopping) return;
          const message = klogMessage(line);
          if (message === undefined || message === "") return;
          sayPending();
          pending = message;
          // When the error ends the forward (:424-425 close the connection, the forward returns "lost
          // connection to pod", :244-245, and kubectl exits), the two are one event: one line, the exit's.
          pendingTimer = setTimeout(sayPending, SAME_EVENT_MS);
        },
      });
      const ended = (exit: string, spawnError?: string) => {
        if (!running.delete(name)) return;
        clearTimeout(pendingTimer);
        const cause = pending;
        pending = undefined;
        forwarding.delete(name);
        if (!stopping) {
          const failure = kubectlFailure(output.stderr(), { cluster: target.cluster, env: kubectlEnv });
          const said = spawnError ?? failure.line;
          if (!anyForwarded && (spawnError !== undefined || failure.unreachable || failure.localPortInUse)) {
            notStarted.set(name, said);
          } else {
            let line = said !== "" ? `port-forward ended: ${said}` : `port-forward ended (${exit})`;
            // The klog error it ended on: beside kubectl's own line, or in its place.
            if (cause !== undefined) line += said !== "" ? ` (${cause})` : `: ${cause}`;
            deps.stderr(`${name}: ${line}`);
          }
        }
        if (running.size === 0) finish();
      };
      // "close", not "exit": by then kubectl's stdout and stderr have been read to their end.
      child.once("close", (code: number | null, signal: NodeJS.Signals | null) =>
        ended(code !== null ? `exit ${code}` : `killed by ${signal ?? "a signal"}`),
      );
      // kubectl missing: spawn reports an error (then a "close", ignored as the same end).
      child.once("error", (error: NodeJS.ErrnoException) => ended("not started", kubectlSpawnFailure(error)));
    }
    deps.onStop(() => {
      if (stopping) return;
      stopping = true;
      // Only the children this script started, by their own handles.
      for (const child of running.values()) child.kill("SIGTERM");
    });
  });
}

/** The real world; `kubectl`: the binary run for "kubectl" (default: kubectl on PATH; tests pass a stand-in). */
export function systemDeps(projectRoot: string, kubectl = "kubectl"): DashboardDeps {
  return {
    projectRoot,
    // Piped, not inherited: kubectl's klog lines never reach the terminal as they are.
    spawn: (command, args) =>
      spawn(command === "kubectl" ? kubectl : command, [...args], { stdio: ["ignore", "pipe", "pipe"] }),
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
