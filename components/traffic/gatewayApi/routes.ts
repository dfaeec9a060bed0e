import type { IHTTPRoute } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute";
import type { IHTTPRouteRule } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRouteRule";
import type { BackendService, BackendServiceName, MeshConfig } from "../../../config/types";
import { SERVICE_PORT } from "../../backends/workloads";
import { INGRESS_NAMESPACE, type NamedObject, objectMeta } from "../../meta";
import { APP_GATEWAY } from "../gateway";
import { USER_SERVICE_ROUTES } from "../routeNames";
import { BETA_HEADER, INGRESS_ROUTES } from "../routes";
import { resilienceFor } from "./resilience";
import { versionServiceName } from "./versionServices";

export type HttpRouteSpec = IHTTPRoute & NamedObject;
type HttpRouteRule = IHTTPRouteRule;
type BackendRef = NonNullable<HttpRouteRule["backendRefs"]>[number];
type RouteMatch = NonNullable<HttpRouteRule["matches"]>[number];

const GATEWAY_GROUP = "gateway.networking.k8s.io";

function service(cfg: MeshConfig, name: BackendServiceName): BackendService {
  const found = cfg.backend.services.find((s) => s.name === name);
  if (!found) throw new Error(`backend service ${name} is not in the catalog`);
  return found;
}

const backendRef = (name: string, weight?: number): BackendRef => ({
  name,
  port: SERVICE_PORT,
  ...(weight !== undefined && { weight }),
});

/** user-service's version Services weighted by canaryWeights; versions at 0% are left out, as in the istio cell. */
export function canaryBackendRefs(cfg: MeshConfig): BackendRef[] {
  const live = Object.entries(cfg.canaryWeights).filter(([, weight]) => weight > 0);
  if (live.length === 1) return [backendRef(versionServiceName("user-service", live[0]?.[0] ?? ""))];
  return live.map(([version, weight]) => backendRef(versionServiceName("user-service", version), weight));
}

/**
 * user-service rules: beta users always reach the beta version's Service, everyone else is split by
 * canaryWeights. Gateway API orders rules by match precedence, not by position (a header match beats
 * none at the same path), so the beta rule wins as it does first in the VirtualService.
 */
export function userServiceRules(cfg: MeshConfig, path?: RouteMatch["path"]): HttpRouteRule[] {
  const pathMatch = path ? { path } : {};
  const resilience = resilienceFor(cfg, "user-service");
  return [
    {
      name: USER_SERVICE_ROUTES.beta,
      matches: [{ ...pathMatch, headers: [{ type: "Exact", name: BETA_HEADER, value: "beta" }] }],
      backendRefs: [backendRef(versionServiceName("user-service", cfg.betaVersion))],
      ...resilience,
    },
    {
      name: USER_SERVICE_ROUTES.canary,
      ...(path && { matches: [pathMatch] }),
      backendRefs: canaryBackendRefs(cfg),
      ...resilience,
    },
  ];
}

const prefix = (value: string): RouteMatch["path"] => ({ type: "PathPrefix", value });

function pathRule(cfg: MeshConfig, name: BackendServiceName): HttpRouteRule {
  return {
    name,
    matches: [{ path: prefix(service(cfg, name).pathPrefix) }],
    backendRefs: [backendRef(name)],
    ...resilienceFor(cfg, name),
  };
}

/** /users, /products and /orders on both listeners of the ingress Gateway (lab Steps 3-2, 3-1 and 4-1). */
export function ingressHttpRoute(cfg: MeshConfig): HttpRouteSpec {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: objectMeta(INGRESS_ROUTES, cfg.backend.namespace),
    spec: {
      parentRefs: [{ group: GATEWAY_GROUP, kind: "Gateway", name: APP_GATEWAY, namespace: INGRESS_NAMESPACE }],
      rules: [
        ...userServiceRules(cfg, prefix(service(cfg, "user-service").pathPrefix)),
        pathRule(cfg, "product-service"),
        pathRule(cfg, "order-service"),
      ],
    },
  };
}

/**
 * A GAMMA route: parentRef the Service itself, so it applies to every call inside the mesh to that
 * Service (sidecars here; waypoints in ambient). One per service, as the istio cell has one mesh
 * VirtualService per service: user-service gets the beta rule, the split and its retries.
 */
export function meshHttpRoute(cfg: MeshConfig, name: BackendServiceName): HttpRouteSpec {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: objectMeta(name, cfg.backend.namespace, { app: name }),
    spec: {
      parentRefs: [{ group: "", kind: "Service", name, port: SERVICE_PORT }],
      rules:
        name === "user-service"
          ? userServiceRules(cfg)
          : [{ name, backendRefs: [backendRef(name)], ...resilienceFor(cfg, name) }],
    },
  };
}

export function httpRoutes(cfg: MeshConfig): readonly HttpRouteSpec[] {
  return [ingressHttpRoute(cfg), ...cfg.backend.services.map((s) => meshHttpRoute(cfg, s.name))];
}
