import type { IVirtualService } from "@kubernetes-models/istio/networking.istio.io/v1/VirtualService";
import type { BackendService, BackendServiceName, Fault, MeshConfig } from "../../config/types";
import { exportedToStack } from "../meshScope";
import { INGRESS_NAMESPACE, type NamedObject, objectMeta, serviceHost } from "../meta";
import { APP_GATEWAY } from "./gateway";
import { USER_SERVICE_ROUTES } from "./routeNames";

export type VirtualServiceSpec = IVirtualService & NamedObject;
export type HttpRoute = NonNullable<NonNullable<IVirtualService["spec"]>["http"]>[number];
type Destination = NonNullable<HttpRoute["route"]>[number];

/** The one VirtualService bound to the ingress Gateway: every external path lives here. */
export const INGRESS_ROUTES = "app-routes";
export const BETA_HEADER = "x-user-type";

function service(cfg: MeshConfig, name: BackendServiceName): BackendService {
  const found = cfg.backend.services.find((s) => s.name === name);
  if (!found) throw new Error(`backend service ${name} is not in the catalog`);
  return found;
}

/** Weighted destinations from canaryWeights; versions at 0% are left out. */
export function canaryDestinations(cfg: MeshConfig): Destination[] {
  const host = serviceHost("user-service", cfg.backend.namespace);
  const live = Object.entries(cfg.canaryWeights).filter(([, weight]) => weight > 0);
  if (live.length === 1) return [{ destination: { host, subset: live[0]?.[0] ?? "" } }];
  return live.map(([subset, weight]) => ({ destination: { host, subset }, weight }));
}

function faultInjection(fault: Fault | undefined): Pick<HttpRoute, "fault"> {
  if (!fault) return {};
  // Istio injects nothing without percentage.value, so it is always set.
  const percentage = { value: fault.percent };
  return {
    fault: {
      ...(fault.delay !== undefined && { delay: { fixedDelay: fault.delay, percentage } }),
      ...(fault.status !== undefined && { abort: { httpStatus: fault.status, percentage } }),
    },
  };
}

/** Retries, timeout and faults for a service's routes: shared by ingress and mesh routes. */
function resilience(cfg: MeshConfig, name: BackendServiceName): Pick<HttpRoute, "retries" | "timeout" | "fault"> {
  const retries =
    name === "user-service"
      ? {
          retries: {
            attempts: cfg.userServiceRetries.attempts,
            perTryTimeout: cfg.userServiceRetries.perTryTimeout,
            retryOn: cfg.userServiceRetries.retryOn,
          },
          timeout: cfg.userServiceRetries.timeout,
        }
      : {};
  return { ...retries, ...faultInjection(cfg.faults[name]) };
}

/**
 * user-service routing, in match order: beta users always reach the beta version, everyone else
 * is split by canaryWeights. `pathMatch` narrows both rules to the ingress path.
 */
export function userServiceRoutes(cfg: MeshConfig, pathMatch: { uri?: { prefix: string } } = {}): HttpRoute[] {
  const host = serviceHost("user-service", cfg.backend.namespace);
  return [
    {
      name: USER_SERVICE_ROUTES.beta,
      match: [{ ...pathMatch, headers: { [BETA_HEADER]: { exact: "beta" } } }],
      route: [{ destination: { host, subset: cfg.betaVersion } }],
      ...resilience(cfg, "user-service"),
    },
    {
      name: USER_SERVICE_ROUTES.canary,
      ...(pathMatch.uri && { match: [pathMatch] }),
      route: canaryDestinations(cfg),
      ...resilience(cfg, "user-service"),
    },
  ];
}

function pathRoute(cfg: MeshConfig, name: BackendServiceName): HttpRoute {
  return {
    name,
    match: [{ uri: { prefix: service(cfg, name).pathPrefix } }],
    route: [{ destination: { host: serviceHost(name, cfg.backend.namespace) } }],
    ...resilience(cfg, name),
  };
}

/** /users, /products and /orders from the ingress gateway (lab Steps 3-2, 3-1 and 4-1). */
export function ingressRoutes(cfg: MeshConfig): VirtualServiceSpec {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: objectMeta(INGRESS_ROUTES, cfg.backend.namespace),
    spec: {
      hosts: ["*"],
      gateways: [APP_GATEWAY],
      // Bound only to the ingress Gateway: its proxies, in the ingress namespace, are the only consumer.
      ...exportedToStack(cfg, [INGRESS_NAMESPACE]),
      http: [
        ...userServiceRoutes(cfg, { uri: { prefix: service(cfg, "user-service").pathPrefix } }),
        pathRoute(cfg, "product-service"),
        pathRoute(cfg, "order-service"),
      ],
    },
  };
}

/**
 * The one VirtualService on the `mesh` gateway for a service's host, so calls from inside the mesh
 * get what the ingress route gives: for user-service the beta rule, split and retries (lab Steps 4-3
 * and 5-2); for every service its fault. Each service has one, faulted or not, so turning a fault on
 * or off edits a route and never creates or deletes one.
 */
export function meshRoutes(cfg: MeshConfig, name: BackendServiceName): VirtualServiceSpec {
  const host = serviceHost(name, cfg.backend.namespace);
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: objectMeta(name, cfg.backend.namespace, { app: name }),
    spec: {
      hosts: [host],
      gateways: ["mesh"],
      // The callers' sidecars, or ambient's waypoint, all in the backend namespace; gateways skip `mesh` routes.
      ...exportedToStack(cfg, ["."]),
      http:
        name === "user-service"
          ? userServiceRoutes(cfg)
          : [{ name, route: [{ destination: { host } }], ...resilience(cfg, name) }],
    },
  };
}

export const userServiceMeshRoutes = (cfg: MeshConfig): VirtualServiceSpec => meshRoutes(cfg, "user-service");

export function virtualServices(cfg: MeshConfig): readonly VirtualServiceSpec[] {
  return [ingressRoutes(cfg), ...cfg.backend.services.map((s) => meshRoutes(cfg, s.name))];
}
