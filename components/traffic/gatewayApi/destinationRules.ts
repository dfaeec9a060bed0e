import type { MeshConfig } from "../../../config/types";
import { exportedToStack } from "../../meshScope";
import { type NamedObject, objectMeta, serviceHost } from "../../meta";
import { BACKEND_RULE_CONSUMERS, type DestinationRuleSpec, trafficPolicy } from "../destinationRules";
import { routedByVersion, versionServiceName } from "./versionServices";

/**
 * Circuit breakers in the gateway-api cell. istiod turns HTTPRoutes into VirtualServices internally
 * (pilot/pkg/config/kube/gateway/conversion.go) and builds the clusters of their destination hosts as
 * for any route, so a DestinationRule's trafficPolicy applies to the hosts the routes send to. Those are
 * the version Services for a service routed by version and the service's own otherwise, so each such
 * host gets a subset-less DestinationRule with the service's breaker: connection pools and ejection are
 * then counted per version, where the istio cell counts them per service.
 */
export function breakerDestinationRules(cfg: MeshConfig): readonly DestinationRuleSpec[] {
  const byVersion = new Set(routedByVersion(cfg).map((s) => s.name));
  return cfg.backend.services.flatMap((svc) => {
    const breaker = cfg.circuitBreakers[svc.name];
    if (!breaker) return [];
    const hosts = byVersion.has(svc.name)
      ? svc.versions.map((v) => versionServiceName(svc.name, v.version))
      : [svc.name];
    return hosts.map((host): DestinationRuleSpec & NamedObject => ({
      apiVersion: "networking.istio.io/v1",
      kind: "DestinationRule",
      metadata: objectMeta(host, cfg.backend.namespace, { app: svc.name }),
      spec: {
        host: serviceHost(host, cfg.backend.namespace),
        ...exportedToStack(cfg, BACKEND_RULE_CONSUMERS),
        ...trafficPolicy(breaker),
      },
    }));
  });
}
