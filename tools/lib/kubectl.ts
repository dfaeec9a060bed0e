/**
 * kubectl for the tools that drive a cluster (`bench --in-cluster`, `upgrade`): one call at a time with
 * the stack's cluster flags, stdout back, and on failure kubectl's own first error line (its klog lines
 * left out; an unreachable server said as such: kubectlStderr.ts). An aborted call (Ctrl-C) stops kubectl.
 */
import { spawn, spawnSync } from "node:child_process";
import { kubectlFailure, kubectlSpawnFailure } from "./kubectlStderr";
import { kubectlClusterFlags } from "./portForward";
import type { ClusterAccess } from "./target";

export type Kubectl = (args: readonly string[], options?: { stdin?: string; signal?: AbortSignal }) => Promise<string>;

export class KubectlError extends Error {
  override name = "KubectlError";
}

export interface KubectlSession {
  readonly run: Kubectl;
  /** The same call, synchronously: for clean-up in a process `exit` handler, where nothing async runs. */
  readonly runSync: (args: readonly string[]) => void;
  /** Removes the kubeconfig copy, if one was written. */
  readonly close: () => void;
}

export function kubectlSession(cluster: ClusterAccess, binary = "kubectl"): KubectlSession {
  const { args: clusterArgs, cleanup } = kubectlClusterFlags(cluster);
  const run: Kubectl = (args, options = {}) =>
    new Promise((resolve, reject) => {
      const child = spawn(binary, [...clusterArgs, ...args], { stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      const onAbort = () => child.kill("SIGTERM");
      options.signal?.addEventListener("abort", onAbort, { once: true });
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString("utf8");
      });
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8");
      });
      child.on("error", (error: NodeJS.ErrnoException) => {
        options.signal?.removeEventListener("abort", onAbort);
        reject(new KubectlError(kubectlSpawnFailure(error)));
      });
      child.on("close", (code, signal) => {
        options.signal?.removeEventListener("abort", onAbort);
        if (code === 0) resolve(stdout);
        else {
          const failure = kubectlFailure(stderr, { pick: "first", cluster });
          const line = failure.line || `exited (${code ?? signal})`;
          reject(new KubectlError(failure.unreachable ? line : `kubectl ${args.slice(0, 2).join(" ")}: ${line}`));
        }
      });
      // kubectl may exit before it reads its stdin (a bad kubeconfig, say); the exit code reports that,
      // and the EPIPE of the write is no error of its own.
      child.stdin.on("error", () => {});
      child.stdin.end(options.stdin ?? "");
    });
  const runSync = (args: readonly string[]) => {
    spawnSync(binary, [...clusterArgs, ...args], { stdio: "ignore", timeout: 10_000 });
  };
  return { run, runSync, close: cleanup };
}
