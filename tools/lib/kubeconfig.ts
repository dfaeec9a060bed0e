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

/** Throws a one-line CliError when kubectl, given `cluster`, would not reach a cluster of ours. */
export function checkKubectlTarget(cluster: ClusterAccess, env: NodeJS.ProcessEnv = process.env): void {
  // The stack's own kubeconfig (a kind stack's output) names its cluster and context.
  if (cluster.kubeconfig !== undefined) return;
  let files: string[];
  if (cluster.kubeconfigPath !== undefined) {
    if (!existsSync(cluster.kubeconfigPath)) throw new CliError(`kubeconfig ${cluster.kubeconfigPath} does not exist`);
    files = [cluster.kubeconfigPath];
  } else if ((env.KUBECONFIG ?? "") !== "") {
    files = [...new Set((env.KUBECONFIG ?? "").split(path.delimiter).filter(Boolean))].filter((f) => existsSync(f));
  } else {
    const home = path.join(env.HOME ?? homedir(), ".kube", "config");
    files = existsSync(home) ? [home] : [];
  }
  const configs = files.map(readConfig);
  const contexts = new Set(configs.flatMap((c) => names(c.contexts)));
  const current = configs.map((c) => c["current-context"]).find((c) => typeof c === "string" && c !== "");
  const context = cluster.context ?? (current as string | undefined);
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
