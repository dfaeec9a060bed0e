import type { MeshConfig } from "../../config/types";
import type { ServiceSpec } from "../backends/workloads";
import type { NamedObject } from "../meta";
import { type DestinationRuleSpec, destinationRules } from "./destinationRules";
import { appGateway, type GatewayServer, type GatewaySpec } from "./gateway";
import { breakerDestinationRules } from "./gatewayApi/destinationRules";
import { type KubeGatewaySpec, kubeIngressGateway } from "./gatewayApi/gateway";
import { type HttpRouteSpec, httpRoutes } from "./gatewayApi/routes";
import { versionServices } from "./gatewayApi/versionServices";
import { type VirtualServiceSpec, virtualServices } from "./routes";

/** `trafficApi: istio`: Istio's Gateway, VirtualServices and DestinationRules with a subset per version. */
export interface IstioTrafficSpec {
  readonly api: "istio";
  readonly gateway: GatewaySpec;
  readonly destinationRules: readonly DestinationRuleSpec[];
  readonly virtualServices: readonly VirtualServiceSpec[];
}

/**
 * `trafficApi: gateway-api`: a Gateway API Gateway on the Helm ingress gateway, HTTPRoutes (ingress and
 * GAMMA), a Service per version in place of subsets, and DestinationRules only for circuit breakers.
 */
export interface GatewayApiTrafficSpec {
  readonly api: "gateway-api";
  readonly gateway: KubeGatewaySpec;
  readonly versionServices: readonly ServiceSpec[];
  readonly httpRoutes: readonly HttpRouteSpec[];
  readonly destinationRules: readonly DestinationRuleSpec[];
}

export type TrafficSpec = IstioTrafficSpec | GatewayApiTrafficSpec;

/** The one switch between the two renderings of the same routing config. */
export function trafficSpec(cfg: MeshConfig, httpsServer: GatewayServer): TrafficSpec {
  if (cfg.cell.trafficApi === "gateway-api") {
    return {
      api: "gateway-api",
      gateway: kubeIngressGateway(cfg),
      versionServices: versionServices(cfg),
      httpRoutes: httpRoutes(cfg),
      destinationRules: breakerDestinationRules(cfg),
    };
  }
  return {
    api: "istio",
    gateway: appGateway(cfg, [httpsServer]),
    destinationRules: destinationRules(cfg),
    virtualServices: virtualServices(cfg),
  };
}

/** Every traffic object, in an order `kubectl apply` accepts (Services before the routes naming them). */
export function trafficObjects(traffic: TrafficSpec): readonly NamedObject[] {
  if (traffic.api === "gateway-api") {
    return [...traffic.versionServices, traffic.gateway, ...traffic.destinationRules, ...traffic.httpRoutes];
  }
  return [traffic.gateway, ...traffic.destinationRules, ...traffic.virtualServices];
}
