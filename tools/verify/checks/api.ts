import type { ClusterTransport } from "../types";

/** Reads through the API server that the in-cluster checks share. */

export interface Pod {
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec: {
    containers: { name: string }[];
    initContainers?: { name: string; restartPolicy?: string }[];
  };
  status?: { conditions?: { type: string; status: string }[] };
}

export async function getJson<T>(cluster: ClusterTransport, path: string): Promise<T> {
  const r = await cluster.get(path);
  if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
  return JSON.parse(r.body) as T;
}

export async function listPods(
  cluster: ClusterTransport,
  namespace: string | undefined,
  selector: string,
): Promise<Pod[]> {
  const base = namespace === undefined ? "/api/v1/pods" : `/api/v1/namespaces/${namespace}/pods`;
  const list = await getJson<{ items: Pod[] }>(cluster, `${base}?labelSelector=${encodeURIComponent(selector)}`);
  return list.items.filter((p) => !p.metadata.deletionTimestamp);
}

export const isReady = (pod: Pod): boolean =>
  pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
