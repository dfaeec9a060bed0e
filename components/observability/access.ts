import type { ClusterConfig } from "../../config/types";
import { GRAFANA_ADMIN_SECRET, GRAFANA_ADMIN_USER } from "./grafana";
import { GRAFANA, JAEGER_BASE_PATH, JAEGER_QUERY, KIALI, OBSERVABILITY_NAMESPACE, PROMETHEUS } from "./services";

/** How a user reaches each tool: every tool is ClusterIP-only, so through `kubectl port-forward`. */

export type ToolName = "kiali" | "jaeger" | "prometheus" | "grafana";

export interface ToolAccess {
  readonly namespace: string;
  /** `svc/<name>` target of the port-forward. */
  readonly service: string;
  readonly localPort: number;
  readonly servicePort: number;
  readonly url: string;
  /** The exact port-forward command (kubectl context of the stack's cluster). */
  readonly command: string;
  /** How to sign in. */
  readonly login: string;
}

/** Local ports as the lab and Istio's docs use them. */
export const LOCAL_PORTS: Readonly<Record<ToolName, number>> = {
  kiali: 20001,
  jaeger: 16686,
  prometheus: 9090,
  grafana: 3000,
};

const SAFE = /^[A-Za-z0-9_./:=@%+-]+$/;
const shellQuote = (s: string) => (SAFE.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);

/** kubectl flags that reach the stack's cluster: kind writes a `kind-<name>` context on create. */
export function kubectlTarget(cluster: ClusterConfig): string[] {
  if (cluster.mode === "kind") return ["--context", `kind-${cluster.name}`];
  return [
    ...(cluster.kubeconfig !== undefined ? ["--kubeconfig", cluster.kubeconfig] : []),
    ...(cluster.context !== undefined ? ["--context", cluster.context] : []),
  ];
}

export const localUrl = (tool: ToolName, path = "") => `http://localhost:${LOCAL_PORTS[tool]}${path}`;

/** Kiali's links to the other tools open in the user's browser, through these port-forwards. */
export const kialiLinks = () => ({ grafana: localUrl("grafana"), tracing: localUrl("jaeger", JAEGER_BASE_PATH) });

export function dashboards(cluster: ClusterConfig): Record<ToolName, ToolAccess> {
  const kubectl = ["kubectl", ...kubectlTarget(cluster)].map(shellQuote).join(" ");
  const tool = (name: ToolName, service: string, servicePort: number, path: string, login: string): ToolAccess => ({
    namespace: OBSERVABILITY_NAMESPACE,
    service,
    localPort: LOCAL_PORTS[name],
    servicePort,
    url: localUrl(name, path),
    command: `${kubectl} -n ${OBSERVABILITY_NAMESPACE} port-forward svc/${service} ${LOCAL_PORTS[name]}:${servicePort}`,
    login,
  });
  const noLogin = "none: ClusterIP only, reachable through this port-forward";
  return {
    kiali: tool(
      "kiali",
      KIALI.name,
      KIALI.port,
      "/kiali",
      `token: ${kubectl} -n ${OBSERVABILITY_NAMESPACE} create token ${KIALI.name}`,
    ),
    jaeger: tool("jaeger", JAEGER_QUERY.name, JAEGER_QUERY.port, JAEGER_BASE_PATH, noLogin),
    prometheus: tool("prometheus", PROMETHEUS.name, PROMETHEUS.port, "", noLogin),
    grafana: tool(
      "grafana",
      GRAFANA.name,
      GRAFANA.port,
      "",
      `user ${GRAFANA_ADMIN_USER}, password: ${kubectl} -n ${OBSERVABILITY_NAMESPACE} get secret ${GRAFANA_ADMIN_SECRET.name} -o jsonpath='{.data.${GRAFANA_ADMIN_SECRET.passwordKey}}' | base64 -d`,
    ),
  };
}
