/**
 * Whether kubectl would reach a cluster we chose, decided before kubectl runs. kubectl loads its
 * config the way client-go's clientcmd does (kubernetes/client-go tools/clientcmd):
 *
 * - --kubeconfig FILE must exist (loader.go Load, ExplicitPath); else every file $KUBECONFIG lists,
 *   missing ones skipped; else ~/.kube/config (NewDefaultClientConfigLoadingRules).
 * - The context is --context, else the merged current-context. A named one that no file has is
 *   "context was not found for specified context" (validation.go).
 * - With no config at all (no file, or files with nothing in them) kubectl does not stop: it uses
 *   in-cluster config when it runs in a pod, else ClusterDefaults, $KUBERNETES_MASTER or
 *   http://localhost:8080 (merged_client_builder.go ClientConfig, client_config.go getDefaultServer),
 *   which on a lab machine is this mesh's own gateway port. That is the case caught here.
 *
 * And, once kubectl has failed to reach one, which context and server it was (kubectlTarget), for the
 * one line that says so (kubectlStderr.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { CliError } from "./cli";
import type { ClusterAccess } from "./target";

interface KubeconfigFile {
  readonly "current-context"?: unknown;
  readonly contexts?: unknown;
  readonly clusters?: unknown;
}

const names = (list: unknown): string[] =>
  Array.isArray(list)
    ? list.flatMap((entry: { name?: unknown } | null) =>
        typeof entry?.name === "string" && entry.name !== "" ? [entry.name] : [],
      )
    : [];

function readConfig(file: string): KubeconfigFile {
  try {
    const doc: unknown = YAML.parse(readFileSync(file, "utf8"));
    return typeof doc === "object" && doc !== null ? (doc as KubeconfigFile) : {};
  } catch (error) {
    throw new CliError(`cannot read kubeconfig ${file}: ${(error as Error).message.split("\n")[0]}`);
  }
}

/** The kubeconfig files kubectl would load for `cluster` (missing ones left out), as clientcmd picks them. */
function kubeconfigFiles(cluster: ClusterAccess, env: NodeJS.ProcessEnv): string[] {
  if (cluster.kubeconfigPath !== undefined) {
    if (!existsSync(cluster.kubeconfigPath)) throw new CliError(`kubeconfig ${cluster.kubeconfigPath} does not exist`);
    return [cluster.kubeconfigPath];
  }
  if ((env.KUBECONFIG ?? "") !== "") {
    return [...new Set((env.KUBECONFIG ?? "").split(path.delimiter).filter(Boolean))].filter((f) => existsSync(f));
  }
  const home = path.join(env.HOME ?? homedir(), ".kube", "config");
  return existsSync(home) ? [home] : [];
}

/** The merged current-context: the first file's that sets one (clientcmd merges first-wins). */
const currentContext = (configs: readonly KubeconfigFile[]) =>
  configs.map((c) => c["current-context"]).find((c): c is string => typeof c === "string" && c !== "");

/** Throws a one-line CliError when kubectl, given `cluster`, would not reach a cluster of ours. */
export function checkKubectlTarget(cluster: ClusterAccess, env: NodeJS.ProcessEnv = process.env): void {
  // The stack's own kubeconfig (a kind stack's output) names its cluster and context.
  if (cluster.kubeconfig !== undefined) return;
  const files = kubeconfigFiles(cluster, env);
  const configs = files.map(readConfig);
  const contexts = new Set(configs.flatMap((c) => names(c.contexts)));
  const context = cluster.context ?? currentContext(configs);
  const where = files.length > 0 ? files.join(", ") : "no kubeconfig ($KUBECONFIG unset or missing, no ~/.kube/config)";
  if (context === undefined) {
    if (env.KUBERNETES_MASTER || (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT)) return;
    throw new CliError(
      `no cluster to reach: ${where} names no context, and kubectl would fall back to http://localhost:8080; ` +
        "pass --kubeconfig, or a stack (--stack/--config) whose cluster is up",
    );
  }
  if (!contexts.has(context)) {
    throw new CliError(`no cluster to reach: context ${context} is not in ${where}; is the cluster up?`);
  }
}

/** A named entry's body (`contexts[].context`, `clusters[].cluster`): the first file's that has the name. */
function entry(configs: readonly KubeconfigFile[], list: "contexts" | "clusters", name: string) {
  for (const config of configs) {
    const found = Array.isArray(config[list])
      ? (config[list] as { name?: unknown; context?: unknown; cluster?: unknown }[]).find((e) => e?.name === name)
      : undefined;
    const body = found?.[list === "contexts" ? "context" : "cluster"];
    if (typeof body === "object" && body !== null) return body as Record<string, unknown>;
  }
  return undefined;
}

/**
 * The context kubectl uses for `cluster` and its cluster's server, as the kubeconfig names them, for
 * messages about that server. Best effort: what a file does not say (or a file that cannot be read)
 * is left out, never thrown.
 */
export function kubectlTarget(
  cluster: ClusterAccess,
  env: NodeJS.ProcessEnv = process.env,
): { context?: string; server?: string } {
  let configs: KubeconfigFile[];
  try {
    configs =
      cluster.kubeconfig !== undefined
        ? [(YAML.parse(cluster.kubeconfig) as KubeconfigFile | null) ?? {}]
        : kubeconfigFiles(cluster, env).map(readConfig);
  } catch {
    return cluster.context !== undefined ? { context: cluster.context } : {};
  }
  const context = cluster.context ?? currentContext(configs);
  if (context === undefined) return {};
  const clusterName = entry(configs, "contexts", context)?.cluster;
  const server = typeof clusterName === "string" ? entry(configs, "clusters", clusterName)?.server : undefined;
  return { context, ...(typeof server === "string" && server !== "" && { server }) };
}
