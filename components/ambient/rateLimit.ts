import type { MeshConfig } from "../../config/types";
import { ingressGatewaySelector } from "../controlPlane/helmValues";
import { INGRESS_NAMESPACE, objectMeta } from "../meta";
import {
  type EnvoyFilterSpec,
  LOCAL_RATE_LIMIT_FILTER,
  LOCAL_RATE_LIMIT_TYPE,
  localRateLimitConfig,
  localRateLimitFilterPatch,
  RATE_LIMIT_FILTER,
  RATE_LIMIT_PRIORITY,
  RATE_LIMITED_SERVICE,
} from "../security/rateLimit";
import { USER_SERVICE_ROUTES } from "../traffic/routeNames";

/**
 * The rate limit in ambient, moved to the ingress gateway. There is no sidecar to carry it, and
 * Istio 1.30 supports no EnvoyFilter on waypoints ("EnvoyFilter is not currently supported for any
 * existing Istio version with waypoint proxies", istio.io/latest/docs/ambient/usage/l7-features);
 * Istio offers no other local rate-limit API. The ingress gateway is an ordinary Envoy gateway, where
 * EnvoyFilter is supported. The filter sits in the gateway's chain without a bucket of its own; the
 * ingress routes that reach user-service (beta and canary, `app-routes`) each carry the bucket as
 * per-route config (Envoy's per-route local rate limit), so /products and /orders are not limited.
 * What changes (docs/cells.md): each of the two routes has its own bucket per gateway pod, and calls
 * from inside the mesh (product-service → user-service) are not limited.
 */
export function ingressRateLimitFilter(cfg: MeshConfig): EnvoyFilterSpec | undefined {
  const limit = cfg.security.rateLimit;
  if (limit === false) return undefined;
  // By name, which both routing APIs give the two routes (traffic/routeNames.ts).
  const perRoute = Object.values(USER_SERVICE_ROUTES).map((name) => ({
    applyTo: "HTTP_ROUTE" as const,
    match: { context: "GATEWAY" as const, routeConfiguration: { vhost: { route: { name } } } },
    patch: {
      operation: "MERGE" as const,
      value: { typed_per_filter_config: { [LOCAL_RATE_LIMIT_FILTER]: localRateLimitConfig(limit) } },
    },
  }));
  return {
    apiVersion: "networking.istio.io/v1alpha3",
    kind: "EnvoyFilter",
    metadata: objectMeta(RATE_LIMIT_FILTER, INGRESS_NAMESPACE, { app: RATE_LIMITED_SERVICE }),
    spec: {
      // The ingress gateway's pods (gatewayValues' `labels`).
      workloadSelector: { labels: { ...ingressGatewaySelector(cfg) } },
      priority: RATE_LIMIT_PRIORITY,
      configPatches: [
        // No bucket of its own: the routes below carry it.
        localRateLimitFilterPatch("GATEWAY", {
          "@type": LOCAL_RATE_LIMIT_TYPE,
          stat_prefix: "http_local_rate_limiter",
        }),
        ...perRoute,
      ],
    },
  };
}
