import type { IDestinationRule } from "@kubernetes-models/istio/networking.istio.io/v1/DestinationRule";
import type { BackendService, CircuitBreaker, MeshConfig } from "../../config/types";
import { podLabels } from "../backends/workloads";
import { exportedToStack } from "../meshScope";
import { INGRESS_NAMESPACE, type NamedObject, objectMeta, serviceHost } from "../meta";

export type DestinationRuleSpec = IDestinationRule & NamedObject;
type TrafficPolicy = NonNullable<NonNullable<IDestinationRule["spec"]>["trafficPolicy"]>;

export function trafficPolicy(breaker: CircuitBreaker | undefined): { trafficPolicy?: TrafficPolicy } {
  if (!breaker) return {};
  const pool = breaker.connectionPool;
  const tcp = pool?.maxConnections !== undefined ? { tcp: { maxConnections: pool.maxConnections } } : {};
  const http = {
    ...(pool?.http1MaxPendingRequests !== undefined && { http1MaxPendingRequests: pool.http1MaxPendingRequests }),
    ...(pool?.maxRequestsPerConnection !== undefined && { maxRequestsPerConnection: pool.maxRequestsPerConnection }),
  };
  const connectionPool = { ...tcp, ...(Object.keys(http).length > 0 && { http }) };
  return {
    trafficPolicy: {
      ...(Object.keys(connectionPool).length > 0 && { connectionPool }),
      ...(breaker.outlierDetection && { outlierDetection: { ...breaker.outlierDetection } }),
    },
  };
}

/**
 * Who needs a backend host's DestinationRule (its subsets, its breaker): the callers' proxies in the
 * backend namespace (sidecars, or ambient's waypoint there) and the ingress gateway, which routes to the
 * same subsets. Shared by both traffic APIs' rules.
 */
export const BACKEND_RULE_CONSUMERS: readonly string[] = [".", INGRESS_NAMESPACE];

/** One DestinationRule per service: a subset per deployed version, selecting that version's pods. */
export function destinationRule(cfg: MeshConfig, svc: BackendService): DestinationRuleSpec {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "DestinationRule",
    metadata: objectMeta(svc.name, cfg.backend.namespace, { app: svc.name }),
    spec: {
      host: serviceHost(svc.name, cfg.backend.namespace),
      ...exportedToStack(cfg, BACKEND_RULE_CONSUMERS),
      ...trafficPolicy(cfg.circuitBreakers[svc.name]),
      subsets: svc.versions.map((v) => ({ name: v.version, labels: podLabels(svc.name, v.version) })),
    },
  };
}

export function destinationRules(cfg: MeshConfig): readonly DestinationRuleSpec[] {
  return cfg.backend.services.map((s) => destinationRule(cfg, s));
}
