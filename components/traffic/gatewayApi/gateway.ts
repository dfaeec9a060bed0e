import type { IGateway } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway";
import type { MeshConfig } from "../../../config/types";
import { adoptedRevision } from "../../controlPlane/revisions";
import { INGRESS_NAMESPACE, type NamedObject, objectMeta, serviceHost } from "../../meta";
import { HTTPS_CREDENTIAL } from "../../security/https";
import { APP_GATEWAY } from "../gateway";

export type KubeGatewaySpec = IGateway & NamedObject;

/** The Helm `gateway` release's Service (chart gateway-1.30.3, release istio-ingressgateway). */
export const INGRESS_GATEWAY_SERVICE = "istio-ingressgateway";
export const GATEWAY_CLASS = "istio";
export const HTTP_LISTENER = "http";
export const HTTPS_LISTENER = "https";

/**
 * The ingress as a Gateway API `Gateway`, bound to the ingress gateway the Helm chart already runs
 * ("manual deployment"): one Hostname address naming that Service makes istiod program the existing
 * pods instead of creating a Deployment and Service of its own (gatewaycommon.IsManaged, istio 1.30.3
 * pilot/pkg/config/kube/gatewaycommon/gateway_utils.go; ENABLE_GATEWAY_API_MANUAL_DEPLOYMENT defaults to
 * true). So the NodePorts, host ports, pod labels (`istio: ingressgateway`, with existingIstio `istio-mesh-ingressgateway`, which the JWT, authorization
 * and egress policies select) and the TLS Secret's namespace all stay what they are in the istio cell.
 * Listener ports are the Service's ports (80 and 443), which istiod maps to the pods' target ports.
 *
 * It lives in the ingress namespace beside the Service and the certificate Secret (a certificateRef to
 * another namespace would need a ReferenceGrant); routes attach from the backend namespace only.
 * On the cluster's istiod at a revision other than the default, it names that revision (`istio.io/rev`) like
 * the waypoints: every revision programs it, but only the owning one writes its status (istio 1.30.3
 * pilot/pkg/status/collections.go, `IsMine` in pkg/revisions/tag_watcher.go).
 */
export function kubeIngressGateway(cfg: MeshConfig): KubeGatewaySpec {
  const allowedRoutes = {
    namespaces: {
      from: "Selector",
      selector: { matchLabels: { "kubernetes.io/metadata.name": cfg.backend.namespace } },
    },
  };
  const revision = adoptedRevision(cfg);
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: objectMeta(APP_GATEWAY, INGRESS_NAMESPACE, revision === undefined ? {} : { "istio.io/rev": revision }),
    spec: {
      gatewayClassName: GATEWAY_CLASS,
      addresses: [{ type: "Hostname", value: serviceHost(INGRESS_GATEWAY_SERVICE, INGRESS_NAMESPACE) }],
      listeners: [
        { name: HTTP_LISTENER, port: 80, protocol: "HTTP", allowedRoutes },
        {
          name: HTTPS_LISTENER,
          port: 443,
          protocol: "HTTPS",
          hostname: cfg.security.httpsHost,
          tls: { mode: "Terminate", certificateRefs: [{ group: "", kind: "Secret", name: HTTPS_CREDENTIAL }] },
          allowedRoutes,
        },
      ],
    },
  };
}
