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
import { kubectlFailure } from "./kubectlStderr";
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
export type PortForwardOutput = Pick<ChildProcess, "stdout" | "stderr">;

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
  readonly readyTimeoutMs?: number;
}

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
  const readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
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
 * own last line (its klog lines left out), or that no cluster answers at the server (kubectlStderr.ts).
 */
function waitForForwarding(child: ChildProcess, timeoutMs: number, request: ForwardRequest): Promise<number> {
  const what = `kubectl port-forward ${request.namespace}/svc/${request.service}`;
  return new Promise((resolve, reject) => {
    // `why` is ours; kubectl's own line, when it printed one, replaces it (`kubectlSaysWhy`) or follows it.
    const fail = (why: string, kubectlSaysWhy = false) => {
      clearTimeout(timer);
      const failure = kubectlFailure(output.stderr(), { cluster: request.cluster });
      if (failure.unreachable) return reject(new PortForwardError(failure.line));
      const detail = !failure.line ? why : kubectlSaysWhy ? failure.line : `${why} (kubectl: ${failure.line})`;
      reject(new PortForwardError(`${what}: ${detail}`));
    };
    const timer = setTimeout(() => fail(`not forwarding after ${timeoutMs / 1000}s`), timeoutMs);
    const output = watchPortForward(child, {
      forwarding: (localPort) => {
        clearTimeout(timer);
        resolve(localPort);
      },
    });
    child.on("error", (error: NodeJS.ErrnoException) =>
      fail(error.code === "ENOENT" ? "kubectl is not installed (see `npm run prereqs`)" : error.message),
    );
    // "close", not "exit": by then kubectl's stderr has been read to its end.
    child.on("close", (code) => fail(`kubectl exited (${code}) before forwarding`, true));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  // No pid: the spawn itself failed, so no exit event will come.
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}
