import type { NetworkPolicy } from "kubernetes-types/networking/v1";
import type { MeshConfig } from "../../config/types";
import { EGRESS_NAMESPACE, ISTIO_NAMESPACE, type NamedObject, objectMeta } from "../meta";
import type { AuthorizationPolicySpec } from "../security/authorization";
import { EGRESS_GATEWAY_PORTS, EGRESS_GATEWAY_SELECTOR } from "./egressGateway";

/**
 * What closes the egress gateway, after the "additional security considerations" of Istio 1.30's
 * Egress Gateways task: the gateway admits only the backend namespace's mTLS identities, and a
 * NetworkPolicy keeps backend pods from reaching the internet except through the gateway.
 */

export type NetworkPolicySpec = NetworkPolicy & NamedObject;

export const EGRESS_GATEWAY_AUTHZ = "egress-gateway-allow-backend";
export const BACKEND_EGRESS_POLICY = "egress-only-through-gateway";

/**
 * An ALLOW policy on the gateway pods: calls whose mTLS identity is in the backend namespace. Anything
 * else (another namespace's sidecar, a pod without a sidecar, which has no identity at all) matches
 * no rule and is refused, 403 for HTTP, the connection closed for TCP.
 */
export function egressGatewayAuthorization(cfg: MeshConfig): AuthorizationPolicySpec {
  return {
    apiVersion: "security.istio.io/v1",
    kind: "AuthorizationPolicy",
    metadata: objectMeta(EGRESS_GATEWAY_AUTHZ, EGRESS_NAMESPACE),
    spec: {
      selector: { matchLabels: { ...EGRESS_GATEWAY_SELECTOR } },
      action: "ALLOW",
      rules: [{ from: [{ source: { namespaces: [cfg.backend.namespace] } }] }],
    },
  };
}

const byName = (name: string) => ({ "kubernetes.io/metadata.name": name });
/** kind's CoreDNS, like kubeadm's, carries this label in kube-system. */
const KUBE_DNS = {
  namespaceSelector: { matchLabels: byName("kube-system") },
  podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
};

/** The pods in the egress namespace backend traffic may leave through, and the ports it reaches them on. */
export interface FenceExit {
  readonly podSelector: Readonly<Record<string, string>>;
  readonly ports: readonly { readonly protocol: "TCP"; readonly port: number }[];
}

/** The egress gateway's pods, on the ports the sidecars connect to (the Service's targetPorts, not the status port). */
const egressGatewayExit = (): FenceExit => ({
  podSelector: EGRESS_GATEWAY_SELECTOR,
  ports: EGRESS_GATEWAY_PORTS.filter((p) => p.name !== "status-port").map((p) => ({
    protocol: "TCP",
    port: p.targetPort,
  })),
});

/**
 * Egress from every backend pod only to: the backend namespace itself, DNS, istio-system (istiod's
 * xDS and certificates on 15012, Jaeger's collector) and the exit's traffic ports (the egress
 * gateway's, or in ambient the egress waypoint's HBONE port). So a connection to httpbin.org that
 * skips the proxy (a container that runs as the proxy's UID, an excluded IP range) is dropped by the
 * CNI. Only a CNI that enforces NetworkPolicy applies it.
 */
export function backendEgressPolicy(cfg: MeshConfig, exit: FenceExit = egressGatewayExit()): NetworkPolicySpec {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: objectMeta(BACKEND_EGRESS_POLICY, cfg.backend.namespace),
    spec: {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [
        { to: [{ podSelector: {} }] },
        {
          to: [KUBE_DNS],
          ports: [
            { protocol: "UDP", port: 53 },
            { protocol: "TCP", port: 53 },
          ],
        },
        { to: [{ namespaceSelector: { matchLabels: byName(ISTIO_NAMESPACE) } }] },
        {
          to: [
            {
              namespaceSelector: { matchLabels: byName(EGRESS_NAMESPACE) },
              podSelector: { matchLabels: { ...exit.podSelector } },
            },
          ],
          ports: exit.ports.map((p) => ({ ...p })),
        },
      ],
    },
  };
}
