import type { MeshConfig } from "../../config/types";
import { EGRESS_NAMESPACE, objectMeta } from "../meta";
import type { DestinationRuleSpec } from "../traffic/destinationRules";
import type { GatewaySpec } from "../traffic/gateway";
import type { VirtualServiceSpec } from "../traffic/routes";
import { EGRESS_GATEWAY_PORTS, EGRESS_GATEWAY_SELECTOR, egressGatewayHost } from "./egressGateway";
import { HTTPBIN_HOST, HTTPBIN_HTTP_PORT, HTTPBIN_TLS_PORT } from "./externalServices";

/**
 * Mesh → egress gateway → httpbin.org, after Istio's "Egress Gateways" task and its "additional
 * security considerations": plain HTTP on port 80 (the lab's Step 5-3) and the client's own TLS on
 * 443, each carried from the sidecar to the gateway inside Istio mTLS (ISTIO_MUTUAL, SNI httpbin.org),
 * so the gateway knows who is calling and its AuthorizationPolicy can refuse everyone else. All of
 * it lives in the gateway's namespace and goes away with it; it is exported to the callers' namespace.
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

/** Only sidecars with an Istio certificate get past the gateway's listeners: mTLS, SNI httpbin.org. */
const MESH_MTLS = { mode: "ISTIO_MUTUAL" } as const;

/**
 * The gateway terminates the mesh's mTLS on both ports: on `http2` (80) it then reads the HTTP
 * inside, on `https` (443) it forwards the client's own TLS, still encrypted, as a TCP stream.
 */
export function egressGateway(): GatewaySpec {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "Gateway",
    metadata: objectMeta(EGRESS_GATEWAY, EGRESS_NAMESPACE),
    spec: {
      selector: { ...EGRESS_GATEWAY_SELECTOR },
      servers: [
        {
          port: { number: servicePort("http2"), name: "https-mesh-httpbin", protocol: "HTTPS" },
          hosts: [HTTPBIN_HOST],
          tls: { ...MESH_MTLS },
        },
        {
          port: { number: servicePort("https"), name: "tls-mesh-httpbin", protocol: "TLS" },
          hosts: [HTTPBIN_HOST],
          tls: { ...MESH_MTLS },
        },
      ],
    },
  };
}

/**
 * Found by callers in other namespaces because it sits in the gateway Service's own namespace. The
 * subset's TLS makes the sidecar originate Istio mTLS to the gateway, with the SNI the gateway's
 * servers match on.
 */
export function egressGatewayRule(cfg: MeshConfig): DestinationRuleSpec {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "DestinationRule",
    metadata: objectMeta(EGRESS_GATEWAY_RULE, EGRESS_NAMESPACE),
    spec: {
      host: egressGatewayHost(),
      exportTo: visibleTo(cfg),
      subsets: [{ name: EGRESS_SUBSET, trafficPolicy: { tls: { ...MESH_MTLS, sni: HTTPBIN_HOST } } }],
    },
  };
}

/**
 * One route per leg and protocol: sidecar → gateway (`mesh`), then gateway → httpbin.org. On 443 the
 * gateway has terminated the mTLS, so its leg is a `tcp` route (a `tls` route binds only to a
 * PASSTHROUGH server).
 */
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
          match: [{ gateways: [egressGatewayRef()], port: servicePort("http2") }],
          route: [{ destination: toHttpbin(http) }],
        },
      ],
      tls: [
        {
          match: [{ gateways: ["mesh"], port: tls, sniHosts: [HTTPBIN_HOST] }],
          route: [{ destination: toGateway(servicePort("https")) }],
        },
      ],
      tcp: [
        {
          match: [{ gateways: [egressGatewayRef()], port: servicePort("https") }],
          route: [{ destination: toHttpbin(tls) }],
        },
      ],
    },
  };
}
