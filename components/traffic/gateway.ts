import type { IGateway } from "@kubernetes-models/istio/networking.istio.io/v1/Gateway";
import type { MeshConfig } from "../../config/types";
import { ingressGatewaySelector } from "../controlPlane/helmValues";
import { type NamedObject, objectMeta } from "../meta";

export type GatewaySpec = IGateway & NamedObject;
export type GatewayServer = NonNullable<NonNullable<IGateway["spec"]>["servers"]>[number];

export const APP_GATEWAY = "app-gateway";

/** Plain HTTP on 80 for any host, as in lab Step 3-1. */
export function httpServer(): GatewayServer {
  return { port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["*"] };
}

/**
 * The ingress Gateway. `extraServers` is where an HTTPS server (port 443, a credentialName)
 * joins the same Gateway, so routes keep binding to one name.
 */
export function appGateway(cfg: MeshConfig, extraServers: readonly GatewayServer[] = []): GatewaySpec {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "Gateway",
    metadata: objectMeta(APP_GATEWAY, cfg.backend.namespace),
    spec: {
      selector: { ...ingressGatewaySelector(cfg) },
      servers: [httpServer(), ...extraServers],
    },
  };
}
