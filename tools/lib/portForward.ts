/**
 * Port-forwards from 127.0.0.1 to a Service's pod, by running `kubectl port-forward`.
 *
 * kubectl rather than @kubernetes/client-node's PortForward: kubectl is already a prerequisite, picks a
 * running pod behind the Service for us, carries every local connection over one multiplexed stream,
 * and reads kubeconfigs (contexts, exec credential plugins) exactly as the user's own kubectl does.
 * client-node would need our own pod lookup, a local TCP server, and one WebSocket per connection.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { StringDecoder } from "node:string_decoder";
import { kubectlTarget } from "./kubeconfig";
import { kubectlFailure, kubectlSpawnFailure } from "./kubectlStderr";
import type { ClusterAccess } from "./target";

export interface ForwardRequest {
  readonly namespace: string;
  readonly service: string;
  /** The Service port; kubectl maps it to the pod's targetPort. */
  readonly port: number;
  readonly cluster: ClusterAccess;
}

export interface PortForward {
  /** `http://127.0.0.1:<local port>` */
  readonly url: string;
  /** Stops the forward and removes any kubeconfig file written for it. */
  close(): Promise<void>;
}

/** Opens a forward; injected so tests run without a cluster. */
export type PortForwarder = (request: ForwardRequest) => Promise<PortForward>;

export class PortForwardError extends Error {
  override name = "PortForwardError";
}

/**
 * kubectl's line once it listens: `Forwarding from ADDRESS:LOCAL -> REMOTE`, one per address, on its
 * stdout (client-go v0.32.4 tools/portforward/portforward.go:303-304 writes it to `pf.out`, which is
 * kubectl's `f.Out` (kubernetes/kubectl v0.32.4 pkg/cmd/portforward/portforward.go:163), os.Stdout
 * (pkg/cmd/cmd.go:101)). `--address 127.0.0.1` gives the IPv4 line only; the default `localhost`
 * gives 127.0.0.1 and [::1], either of which means a browser's `localhost:LOCAL` is served.
 */
const FORWARDING = /^Forwarding from (?:127\.0\.0\.1|\[::1\]):(\d+) -> \d+$/;
/** How much of kubectl's stderr is kept for its failure line (its last lines are the ones read). */
const STDERR_KEPT = 16 * 1024;

/** A running `kubectl port-forward`, as watchPortForward reads it. */
export type PortForwardOutput = Pick<ChildProcess, "stdout" | "stderr" | "once">;
/**
 * How long after kubectl's exit its pipes are closed from our side. A process kubectl started (an exec
 * credential plugin, which gets kubectl's own stderr: client-go v0.35.0 plugin/pkg/client/auth/exec/
 * exec.go:214, :460) and left running would hold them open, and "close", which waits for every pipe
 * (node lib/internal/child_process.js maybeClose), would never come.
 */
const PIPES_AFTER_EXIT_MS = 1000;

/**
 * Reads a `kubectl port-forward`'s stdout and stderr line by line, for as long as it runs: `forwarding`
 * once, with the local port, at its first Forwarding line; `stderrLine` with each line of its stderr.
 * Both pipes are read to their end, not only until kubectl forwards: kubectl goes on writing
 * `Handling connection for LOCAL` to stdout for every connection (client-go v0.32.4
 * tools/portforward/portforward.go:344-345, `pf.out`), and a pipe nobody reads fills and blocks it.
 * `stderr()`: what kubectl printed there so far (its last 16 KiB), for kubectlFailure.
 */
export function watchPortForward(
  child: PortForwardOutput,
  on: { forwarding(localPort: number): void; stderrLine?(line: string): void },
): { stderr(): string } {
  let stderr = "";
  let forwarding = false;
  eachLine(child.stdout, (line) => {
    const match = forwarding ? null : FORWARDING.exec(line);
    if (!match) return;
    forwarding = true;
    on.forwarding(Number(match[1]));
  });
  eachLine(child.stderr, (line) => {
    stderr = `${stderr}${line}\n`.slice(-STDERR_KEPT);
    on.stderrLine?.(line);
  });
  child.once("exit", () => {
    setTimeout(() => {
      child.stdout?.destroy();
      child.stderr?.destroy();
    }, PIPES_AFTER_EXIT_MS).unref();
  });
  return { stderr: () => stderr };
}

/**
 * Calls `online` with each line of `stream` (without its line break), the last one at its end, which
 * comes before the child's "close".
 */
function eachLine(stream: NodeJS.ReadableStream | null | undefined, online: (line: string) => void): void {
  if (!stream) return;
  const utf8 = new StringDecoder("utf8");
  let partial = "";
  stream.on("data", (chunk: Buffer) => {
    const lines = (partial + utf8.write(chunk)).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) online(line.replace(/\r$/, ""));
  });
  stream.on("end", () => {
    partial += utf8.end();
    if (partial !== "") online(partial);
    partial = "";
  });
}

export interface KubectlOptions {
  /** The kubectl binary (default: `kubectl` on PATH). */
  readonly kubectl?: string;
  /** How long to wait for kubectl's Forwarding line (default READY_TIMEOUT_MS). */
  readonly readyTimeoutMs?: number;
}

/**
 * 20 s, under client-go's 30 s dial timeout (client-go v0.35.0 transport/cache.go:112) and over its 10 s
 * TLS handshake timeout (:136). A reachable API server accepts a connection within a network round
 * trip, so a dial still open after 20 s is one nothing answers: waiting past 30 s would only swap our
 * "no answer from the server" for Go's "i/o timeout", ten and more seconds later, on every failed run,
 * and the silence may as well be kubectl waiting (up to 60 s) for a pod of the Service. A TLS handshake
 * that timed out has been logged (klog) by 20 s, and that reason is reported.
 */
export const READY_TIMEOUT_MS = 20_000;

/** Kubeconfig copies and kubectl processes still open; removed and stopped even on process.exit. */
const openDirs = new Set<string>();
const openChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function onExitCleanUp(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of openChildren) child.kill("SIGTERM");
    for (const dir of openDirs) rmSync(dir, { recursive: true, force: true });
  });
}

export function kubectlPortForwarder(options: KubectlOptions = {}): PortForwarder {
  const kubectl = options.kubectl ?? "kubectl";
  const readyTimeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  return async (request) => {
    const { args, cleanup } = kubectlArgs(request);
    const child = spawn(kubectl, args, { stdio: ["ignore", "pipe", "pipe"] });
    openChildren.add(child);
    onExitCleanUp();
    const stop = () =>
      stopChild(child).finally(() => {
        openChildren.delete(child);
        cleanup();
      });
    try {
      const localPort = await waitForForwarding(child, readyTimeoutMs, request);
      return { url: `http://127.0.0.1:${localPort}`, close: stop };
    } catch (error) {
      await stop();
      throw error;
    }
  };
}

/**
 * kubectl's flags for a cluster: `--kubeconfig` and `--context`. A kubeconfig given as content goes to
 * a 0600 file in a private temp dir, removed by `cleanup` (or at process exit, whichever comes first).
 */
export function kubectlClusterFlags(cluster: ClusterAccess): { args: string[]; cleanup: () => void } {
  let kubeconfigPath = cluster.kubeconfigPath;
  let cleanup = () => {};
  if (cluster.kubeconfig !== undefined) {
    const dir = mkdtempSync(path.join(tmpdir(), "istio-mesh-kube-"));
    kubeconfigPath = path.join(dir, "kubeconfig");
    writeFileSync(kubeconfigPath, cluster.kubeconfig, { mode: 0o600 });
    openDirs.add(dir);
    onExitCleanUp();
    cleanup = () => {
      rmSync(dir, { recursive: true, force: true });
      openDirs.delete(dir);
    };
  }
  const args = [
    ...(kubeconfigPath !== undefined ? ["--kubeconfig", kubeconfigPath] : []),
    ...(cluster.context !== undefined ? ["--context", cluster.context] : []),
  ];
  return { args, cleanup };
}

/** kubectl's arguments for a forward from a random local port. */
export function kubectlArgs(request: ForwardRequest): { args: string[]; cleanup: () => void } {
  const { args, cleanup } = kubectlClusterFlags(request.cluster);
  args.push(
    "port-forward",
    "--namespace",
    request.namespace,
    "--address",
    "127.0.0.1",
    `service/${request.service}`,
    `:${request.port}`,
  );
  return { args, cleanup };
}

/**
 * Resolves to the local port once kubectl prints its Forwarding line. A failure is one line: kubectl's
 * own (its klog lines left out), or that no cluster answers at the server (kubectlStderr.ts). When our
 * timer fires kubectl has usually not said why yet (it says so only when it gives up: for a server that
 * does not answer, a 30 s dial timeout and retries), so an unreachable server in its klog lines so far
 * counts (`klog: true`), and with no reason at all we name what it may be waiting on (`waitingOn`).
 */
function waitForForwarding(child: ChildProcess, timeoutMs: number, request: ForwardRequest): Promise<number> {
  const what = `kubectl port-forward ${request.namespace}/svc/${request.service}`;
  return new Promise((resolve, reject) => {
    // `why` is ours. kubectl's own line, when it printed one, replaces it once kubectl has exited, else
    // follows it; with none, a timed-out kubectl (still running) gets what it may be waiting on named.
    const fail = (why: string, end: "exited" | "timed out" | "spawn error") => {
      clearTimeout(timer);
      const failure = kubectlFailure(output.stderr(), { cluster: request.cluster, klog: true });
      if (failure.unreachable) return reject(new PortForwardError(failure.line));
      let detail = why;
      if (failure.line) detail = end === "exited" ? failure.line : `${why} (kubectl: ${failure.line})`;
      else if (end === "timed out") detail = `${why}: ${waitingOn(request)}`;
      reject(new PortForwardError(`${what}: ${detail}`));
    };
    const timer = setTimeout(() => fail(`not forwarding after ${timeoutMs / 1000}s`, "timed out"), timeoutMs);
    const output = watchPortForward(child, {
      forwarding: (localPort) => {
        clearTimeout(timer);
        resolve(localPort);
      },
    });
    child.on("error", (error: NodeJS.ErrnoException) => fail(kubectlSpawnFailure(error), "spawn error"));
    // "close", not "exit": by then kubectl's stderr has been read to its end.
    child.on("close", (code) => fail(`kubectl exited (${code}) before forwarding`, "exited"));
  });
}

/**
 * What a kubectl port-forward that has given no reason is waiting on: the API server (a dial client-go
 * gives up only after 30 s, see READY_TIMEOUT_MS), or a pod behind the Service, which kubectl watches
 * for up to --pod-running-timeout, 60 s (kubectl v0.35.0 pkg/cmd/portforward/portforward.go:99, :347;
 * pkg/polymorphichelpers/helpers.go:61-63 "Watch until we observe a pod").
 */
function waitingOn(request: ForwardRequest): string {
  const { context, server } = kubectlTarget(request.cluster);
  const named = context !== undefined ? ` (context ${context})` : "";
  return (
    `no answer from the ${server !== undefined ? `server ${server}` : "API server"}${named}, ` +
    `or no pod of service ${request.service} running yet; is the cluster up?`
  );
}

function stopChild(child: ChildProcess): Promise<void> {
  // No pid: the spawn itself failed, so no exit event will come.
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}
