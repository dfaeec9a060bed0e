import type { MeshConfig } from "../../config/types";
import { EGRESS_NAMESPACE, objectMeta } from "../meta";
import type { DestinationRuleSpec } from "../traffic/destinationRules";
import type { GatewaySpec } from "../traffic/gateway";
import type { VirtualServiceSpec } from "../traffic/routes";
import { EGRESS_GATEWAY_PORTS, EGRESS_GATEWAY_SELECTOR, egressGatewayHost } from "./egressGateway";
import { HTTPBIN_HOST, HTTPBIN_HTTP_PORT, HTTPBIN_TLS_PORT } from "./externalServices";

/**
 * Mesh → egress gateway → httpbin.org, after Istio's "Egress Gateways" task: plain HTTP on port 80
 * (the lab's Step 5-3) and, as in the task's HTTPS section, the client's own TLS on 443 passed
 * through by SNI, so every request to httpbin.org leaves through the gateway. All three objects
 * live in the gateway's namespace and go away with it; they are exported to the callers' namespace.
 */

export const EGRESS_GATEWAY = "istio-egressgateway";
export const EGRESS_ROUTES = "direct-httpbin-through-egress-gateway";
export const EGRESS_GATEWAY_RULE = "egressgateway-for-httpbin";
/** The task's subset: its own cluster for httpbin traffic to the gateway; reuse it for more hosts. */
export const EGRESS_SUBSET = "httpbin";

/** Always `<namespace>/<name>`: the callers' sidecars resolve these from another namespace. */
export const egressGatewayRef = () => `${EGRESS_NAMESPACE}/${EGRESS_GATEWAY}`;

const servicePort = (name: "http2" | "https"): number => {
  const port = EGRESS_GATEWAY_PORTS.find((p) => p.name === name);
  if (!port) throw new Error(`the egress gateway Service has no ${name} port`);
  return port.port;
};

const visibleTo = (cfg: MeshConfig) => [".", cfg.backend.namespace];

export function egressGateway(): GatewaySpec {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "Gateway",
    metadata: objectMeta(EGRESS_GATEWAY, EGRESS_NAMESPACE),
    spec: {
      selector: { ...EGRESS_GATEWAY_SELECTOR },
      servers: [
        { port: { ...HTTPBIN_HTTP_PORT }, hosts: [HTTPBIN_HOST] },
        { port: { ...HTTPBIN_TLS_PORT }, hosts: [HTTPBIN_HOST], tls: { mode: "PASSTHROUGH" } },
      ],
    },
  };
}

/** Found by callers in other namespaces because it sits in the gateway Service's own namespace. */
export function egressGatewayRule(cfg: MeshConfig): DestinationRuleSpec {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "DestinationRule",
    metadata: objectMeta(EGRESS_GATEWAY_RULE, EGRESS_NAMESPACE),
    spec: {
      host: egressGatewayHost(),
      exportTo: visibleTo(cfg),
      subsets: [{ name: EGRESS_SUBSET }],
    },
  };
}

/** One route per leg and protocol: sidecar → gateway (`mesh`), then gateway → httpbin.org. */
export function egressRoutes(cfg: MeshConfig): VirtualServiceSpec {
  const toGateway = (port: number) => ({ host: egressGatewayHost(), subset: EGRESS_SUBSET, port: { number: port } });
  const toHttpbin = (port: number) => ({ host: HTTPBIN_HOST, port: { number: port } });
  const http = HTTPBIN_HTTP_PORT.number;
  const tls = HTTPBIN_TLS_PORT.number;
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: objectMeta(EGRESS_ROUTES, EGRESS_NAMESPACE),
    spec: {
      hosts: [HTTPBIN_HOST],
      gateways: ["mesh", egressGatewayRef()],
      exportTo: visibleTo(cfg),
      http: [
        {
          name: "mesh-to-egress-gateway",
          match: [{ gateways: ["mesh"], port: http }],
          route: [{ destination: toGateway(servicePort("http2")) }],
        },
        {
          name: "egress-gateway-to-httpbin",
          match: [{ gateways: [egressGatewayRef()], port: http }],
          route: [{ destination: toHttpbin(http) }],
        },
      ],
      tls: [
        {
          match: [{ gateways: ["mesh"], port: tls, sniHosts: [HTTPBIN_HOST] }],
          route: [{ destination: toGateway(servicePort("https")) }],
        },
        {
          match: [{ gateways: [egressGatewayRef()], port: tls, sniHosts: [HTTPBIN_HOST] }],
          route: [{ destination: toHttpbin(tls) }],
        },
      ],
    },
  };
}
