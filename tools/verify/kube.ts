import * as https from "node:https";
import { Writable } from "node:stream";
import type { KubeConfig } from "@kubernetes/client-node";
import type { ClusterAccess } from "../lib/target";
import type { ClusterTransport, ExecResult } from "./types";

const EXEC_TIMEOUT_MS = 30_000;

/** The in-cluster transport for a kubeconfig's content, with its current context. */
export async function kubeTransport(kubeconfig: string): Promise<ClusterTransport> {
  const k8s = await import("@kubernetes/client-node");
  const kc = new k8s.KubeConfig();
  kc.loadFromString(kubeconfig);
  return transportFor(kc);
}

/**
 * The in-cluster transport for a target's cluster access (tools/lib/target.ts): the stack's
 * kubeconfig output, a kubeconfig file, or kubectl's default kubeconfig, with the stack's context.
 * Undefined when only the default was to be used and it does not know that context (in-cluster
 * checks then skip); an explicit kubeconfig without it is an error.
 */
export async function clusterTransport(access: ClusterAccess): Promise<ClusterTransport | undefined> {
  const k8s = await import("@kubernetes/client-node");
  const kc = new k8s.KubeConfig();
  const explicit = access.kubeconfig !== undefined || access.kubeconfigPath !== undefined;
  if (access.kubeconfig !== undefined) kc.loadFromString(access.kubeconfig);
  else if (access.kubeconfigPath !== undefined) kc.loadFromFile(access.kubeconfigPath);
  else kc.loadFromDefault();
  if (access.context !== undefined) {
    if (kc.getContextObject(access.context) === null) {
      if (!explicit) return undefined;
      throw new Error(`the kubeconfig has no context ${access.context}`);
    }
    kc.setCurrentContext(access.context);
  } else if (!explicit) return undefined;
  return transportFor(kc);
}

/**
 * Over @kubernetes/client-node: exec through its websocket Exec, GETs (resources, service and pod
 * proxies) with the kubeconfig's credentials applied by the client. Loaded lazily: gateway-only runs
 * do not pay for the client.
 */
async function transportFor(kc: KubeConfig): Promise<ClusterTransport> {
  const k8s = await import("@kubernetes/client-node");
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error("the kubeconfig names no current cluster");
  const exec = new k8s.Exec(kc);

  return {
    async get(path) {
      const options: https.RequestOptions = { method: "GET", timeout: 15_000 };
      await kc.applyToHTTPSOptions(options);
      return new Promise((resolve, reject) => {
        const request = https.request(new URL(`${server.replace(/\/+$/, "")}${path}`), options, (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (c: Buffer) => chunks.push(c));
          response.on("end", () =>
            resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
          );
        });
        request.on("timeout", () => request.destroy(new Error(`API server: no answer to GET ${path}`)));
        request.on("error", reject);
        request.end();
      });
    },
    exec(namespace, pod, container, command, { timeoutMs = EXEC_TIMEOUT_MS } = {}) {
      let stdout = "";
      let stderr = "";
      const sink = (append: (s: string) => void) =>
        new Writable({
          write(chunk, _enc, done) {
            append(String(chunk));
            done();
          },
        });
      return new Promise<ExecResult>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`exec in ${namespace}/${pod} timed out`)), timeoutMs);
        exec
          .exec(
            namespace,
            pod,
            container,
            [...command],
            sink((s) => {
              stdout += s;
            }),
            sink((s) => {
              stderr += s;
            }),
            null,
            false,
            (status) => {
              clearTimeout(timer);
              // The status channel reports a non-zero exit as Failure with an ExitCode cause.
              const code = status.details?.causes?.find((c) => c.reason === "ExitCode")?.message;
              resolve({ stdout, stderr, exitCode: status.status === "Success" ? 0 : Number(code ?? 1) });
            },
          )
          .catch((e: unknown) => {
            clearTimeout(timer);
            reject(e);
          });
      });
    },
  };
}
