import type { MeshConfig } from "../../config/types";
import { adoptedRevision } from "../controlPlane/revisions";
import { type NamedObject, objectMeta } from "../meta";
import type { Identity } from "../security/identities";
import { HBONE_LISTENER, WAYPOINT_CLASS, WAYPOINT_FOR_LABEL, WAYPOINT_FOR_SERVICE, WAYPOINT_NAME } from "./labels";

/** A Gateway API `Gateway` (gateway.networking.k8s.io/v1) that istiod turns into a waypoint Deployment. */
export interface WaypointSpec extends NamedObject {
  readonly apiVersion: "gateway.networking.k8s.io/v1";
  readonly kind: "Gateway";
  readonly spec: {
    readonly gatewayClassName: typeof WAYPOINT_CLASS;
    readonly listeners: readonly { readonly name: string; readonly port: number; readonly protocol: string }[];
  };
}

/**
 * A namespace's waypoint, as `istioctl waypoint generate --for service` writes it
 * (istioctl/pkg/waypoint/waypoint.go @ 1.30.3): class istio-waypoint, one HBONE listener on 15008,
 * and `istio.io/waypoint-for: service`: the lab's L7 features (routes, JWT, L7 authorization) are all
 * per Service, and the egress waypoint serves ServiceEntries, which are services too. With the cluster's
 * own istiod at a revision other than the default, `istio.io/rev: <revision>`, as `--revision` writes it:
 * only that revision deploys a Gateway whose label (else namespace label) names it (pkg/revisions/
 * tag_watcher.go IsMine); an unlabelled one is the default revision's.
 */
export function namespaceWaypoint(cfg: MeshConfig, namespace: string): WaypointSpec {
  const revision = adoptedRevision(cfg);
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: objectMeta(WAYPOINT_NAME, namespace, {
      [WAYPOINT_FOR_LABEL]: WAYPOINT_FOR_SERVICE,
      ...(revision !== undefined && { "istio.io/rev": revision }),
    }),
    spec: { gatewayClassName: WAYPOINT_CLASS, listeners: [{ ...HBONE_LISTENER }] },
  };
}

/** The backend namespace's waypoint. */
export const waypoint = (cfg: MeshConfig): WaypointSpec => namespaceWaypoint(cfg, cfg.backend.namespace);

/**
 * The waypoint's identity. istiod names the Deployment and its ServiceAccount after the Gateway
 * itself, without the `-<class>` suffix other classes get (pilot/pkg/config/kube/gatewaycommon/
 * classinfo.go: DisableNameSuffix for istio-waypoint; deploymentcontroller.go: ServiceAccount =
 * GetDefaultName). The destination ztunnel sees this identity, not the caller's, on every call the
 * waypoint forwards.
 */
export const waypointIdentity = (cfg: MeshConfig): Identity => ({
  namespace: cfg.backend.namespace,
  serviceAccount: WAYPOINT_NAME,
});
