import { ISTIO_NAMESPACE, serviceHost } from "../meta";

/**
 * The in-cluster Services of the observability tools: one table that the chart values, the Jaeger
 * objects, Kiali's URLs, istiod's tracing provider and the port-forward commands all read, so a
 * name or port cannot drift between them. Names and ports are the ones Istio's addons use, so
 * `istioctl dashboard <tool>` and Istio's docs apply unchanged.
 */

export const OBSERVABILITY_NAMESPACE = ISTIO_NAMESPACE;

export interface ToolService {
  readonly name: string;
  readonly port: number;
}

/** The Prometheus chart names its server Service after `server.fullnameOverride`. */
export const PROMETHEUS: ToolService = { name: "prometheus", port: 9090 };
/** The Grafana chart names its Service after the release; `service.port` sets the port. */
export const GRAFANA: ToolService = { name: "grafana", port: 3000 };
/** The kiali-server chart names its Service after the release; `server.port` sets the port. */
export const KIALI: ToolService = { name: "kiali", port: 20001 };
/** Jaeger's query UI (HTTP on 80 → 16686) and its gRPC query API, which Kiali uses. */
export const JAEGER_QUERY = { name: "tracing", port: 80, targetPort: 16686, grpcPort: 16685 } as const;
/** Where sidecars send spans: OTLP over gRPC. */
export const JAEGER_COLLECTOR = { name: "jaeger-collector", otlpGrpcPort: 4317, otlpHttpPort: 4318 } as const;
/** Jaeger serves its UI and API under this path (Istio's addon does the same). */
export const JAEGER_BASE_PATH = "/jaeger";

export const inCluster = (service: string) => serviceHost(service, OBSERVABILITY_NAMESPACE);
export const inClusterUrl = (service: string, port: number, path = "") => `http://${inCluster(service)}:${port}${path}`;
