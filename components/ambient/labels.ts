/**
 * Ambient mode's names, as Istio 1.30.3 spells them. The labels are istio.io/api's label package
 * (used by istioctl/pkg/waypoint/waypoint.go: label.IoIstioDataplaneMode, IoIstioUseWaypoint,
 * IoIstioWaypointFor); the values and the waypoint's shape are pkg/config/constants/constants.go.
 */

/** On a namespace or pod: capture its traffic with ztunnel (constants.DataplaneModeAmbient). */
export const DATAPLANE_MODE_LABEL = "istio.io/dataplane-mode";
export const DATAPLANE_MODE_AMBIENT = "ambient";
/** On a namespace, Service or pod: the waypoint (a Gateway in the same namespace) its traffic goes through. */
export const USE_WAYPOINT_LABEL = "istio.io/use-waypoint";
/** On the waypoint Gateway: what traffic it takes (constants.ServiceTraffic = "service"). */
export const WAYPOINT_FOR_LABEL = "istio.io/waypoint-for";
export const WAYPOINT_FOR_SERVICE = "service";
/**
 * On a Service or namespace: ingress gateways send its traffic through its waypoint too
 * (pilot/pkg/serviceregistry/ambient/ambientindex.go reads it), so the waypoint's L7 policies see
 * the ingress calls as they see in-mesh ones.
 */
export const INGRESS_USE_WAYPOINT_LABEL = "istio.io/ingress-use-waypoint";

/** `istioctl waypoint generate`'s default name (constants.DefaultNamespaceWaypoint). */
export const WAYPOINT_NAME = "waypoint";
/** The class istiod deploys waypoints for (constants.WaypointGatewayClassName). */
export const WAYPOINT_CLASS = "istio-waypoint";
/** On the pods istiod deploys for a Gateway: its name (istio-discovery/files/waypoint.yaml @ 1.30.3). */
export const GATEWAY_NAME_POD_LABEL = "gateway.networking.k8s.io/gateway-name";
/** The waypoint's one listener: HBONE on 15008 (istioctl/pkg/waypoint/waypoint.go). */
export const HBONE_LISTENER = { name: "mesh", port: 15008, protocol: "HBONE" } as const;

/**
 * Set by istio-cni on a pod once ztunnel proxies it (istio.io/api annotation.AmbientRedirection;
 * values constants.AmbientRedirectionEnabled / AmbientRedirectionPending).
 */
export const AMBIENT_REDIRECTION_ANNOTATION = "ambient.istio.io/redirection";
export const AMBIENT_REDIRECTION_ENABLED = "enabled";
