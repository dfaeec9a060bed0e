import type { IDestinationRule } from "@kubernetes-models/istio/networking.istio.io/v1/DestinationRule";
import type { IServiceEntry } from "@kubernetes-models/istio/networking.istio.io/v1/ServiceEntry";
import type { MeshConfig } from "../../config/types";
import { exportedToStack } from "../meshScope";
import { EGRESS_NAMESPACE, type NamedObject, objectMeta } from "../meta";
import type { DestinationRuleSpec } from "../traffic/destinationRules";

/** The lab's external services (Step 5-1), registered so sidecars know them even under REGISTRY_ONLY. */

export type ServiceEntrySpec = IServiceEntry & NamedObject;
type ServicePort = NonNullable<NonNullable<IServiceEntry["spec"]>["ports"]>[number];
type TrafficPolicy = NonNullable<NonNullable<IDestinationRule["spec"]>["trafficPolicy"]>;

export const HTTPBIN_HOST = "httpbin.org";
export const EXTERNAL_DB_HOST = "external-db.company.com";

export const HTTPBIN_HTTP_PORT = { number: 80, name: "http", protocol: "HTTP" } as const;
/**
 * TLS, not HTTPS: `curl https://` starts TLS itself, so a sidecar only ever sees an encrypted stream
 * and can route it by SNI alone. (Istio proxies HTTPS-named ports the same way; TLS says what is
 * really there and is what a PASSTHROUGH server and a `tls:` route bind to.)
 */
export const HTTPBIN_TLS_PORT = { number: 443, name: "tls", protocol: "TLS" } as const;
export const EXTERNAL_DB_PORT = { number: 5432, name: "tcp-postgres", protocol: "TCP" } as const;

/** The lab's pool for httpbin.org, with outlier detection under its current field names. */
export const HTTPBIN_TRAFFIC_POLICY: TrafficPolicy = {
  connectionPool: {
    tcp: { maxConnections: 5 },
    http: { http1MaxPendingRequests: 5, maxRequestsPerConnection: 1 },
  },
  outlierDetection: { consecutive5xxErrors: 3, interval: "30s", baseEjectionTime: "30s" },
};

/**
 * The objects for httpbin.org live in the backend namespace beside the workloads that call out, and
 * are exported only where a proxy connects to httpbin.org: that namespace, and the egress gateway's
 * when it is on (it makes the last hop, so it needs the host's DNS resolution and the pool).
 * Other namespaces do not learn the host, so under REGISTRY_ONLY they cannot reach it.
 */
export function httpbinExportTo(cfg: MeshConfig): string[] {
  return cfg.egress.gateway ? [".", EGRESS_NAMESPACE] : ["."];
}

/** ambient with the egress gateway on: httpbin.org is reached through the egress namespace's waypoint. */
export const throughEgressWaypoint = (cfg: MeshConfig): boolean =>
  cfg.cell.dataplane === "ambient" && cfg.egress.gateway;

/**
 * Where httpbin.org's objects live and who sees them. Through the egress waypoint they live in the
 * egress namespace, whose `istio.io/use-waypoint` sends ztunnel's calls to them through its waypoint,
 * and the ServiceEntry keeps its default visibility (`exportTo: *`) as in istio.io/latest/docs/ambient/
 * usage/egress-gateway, "Define an external service"; the pool applies where the waypoint connects out,
 * so the DestinationRule stays in that namespace. On the cluster's Istio the ServiceEntry is exported
 * only to the stack: the waypoint takes it by binding, and ztunnel gets every ServiceEntry whatever its
 * exportTo (istiod's ambient index, pilot/pkg/serviceregistry/ambient/services.go @ 1.30.3, reads no
 * exportTo; istio/istio#55163), so nothing needs wider visibility; the callers' backend namespace is
 * named too, for a ztunnel that would filter by the caller's namespace (istio/istio#59653, not merged).
 */
function httpbinPlacement(cfg: MeshConfig): { namespace: string; entryExportTo?: string[]; ruleExportTo: string[] } {
  if (throughEgressWaypoint(cfg)) {
    const { exportTo } = exportedToStack(cfg, [".", cfg.backend.namespace]);
    return { namespace: EGRESS_NAMESPACE, ...(exportTo && { entryExportTo: exportTo }), ruleExportTo: ["."] };
  }
  const exportTo = httpbinExportTo(cfg);
  return { namespace: cfg.backend.namespace, entryExportTo: exportTo, ruleExportTo: exportTo };
}

function serviceEntry(
  namespace: string,
  name: string,
  host: string,
  ports: ServicePort[],
  exportTo: string[] | undefined,
): ServiceEntrySpec {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "ServiceEntry",
    metadata: objectMeta(name, namespace),
    spec: {
      hosts: [host],
      ...(exportTo && { exportTo }),
      ports,
      location: "MESH_EXTERNAL",
      // DNS: proxies resolve the host themselves. With NONE an egress gateway would forward to the
      // request's original destination, its own Service IP, in a loop.
      resolution: "DNS",
    },
  };
}

export function httpbinServiceEntry(cfg: MeshConfig): ServiceEntrySpec {
  const { namespace, entryExportTo } = httpbinPlacement(cfg);
  return serviceEntry(
    namespace,
    "httpbin-external",
    HTTPBIN_HOST,
    [{ ...HTTPBIN_HTTP_PORT }, { ...HTTPBIN_TLS_PORT }],
    entryExportTo,
  );
}

/** The lab's simulated database: nothing answers, but the sidecars get a cluster for it. */
export function externalDbServiceEntry(cfg: MeshConfig): ServiceEntrySpec {
  return serviceEntry(cfg.backend.namespace, "external-database", EXTERNAL_DB_HOST, [{ ...EXTERNAL_DB_PORT }], ["."]);
}

export function serviceEntries(cfg: MeshConfig): readonly ServiceEntrySpec[] {
  return [httpbinServiceEntry(cfg), externalDbServiceEntry(cfg)];
}

/** Applies wherever a proxy connects to httpbin.org: the sidecar or waypoint, or the egress gateway or waypoint when on. */
export function httpbinDestinationRule(cfg: MeshConfig): DestinationRuleSpec {
  const { namespace, ruleExportTo } = httpbinPlacement(cfg);
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "DestinationRule",
    metadata: objectMeta("httpbin-external", namespace),
    spec: {
      host: HTTPBIN_HOST,
      exportTo: ruleExportTo,
      trafficPolicy: structuredClone(HTTPBIN_TRAFFIC_POLICY),
    },
  };
}
