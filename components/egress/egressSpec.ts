import type { MeshConfig } from "../../config/types";
import { type EgressWaypointSpec, egressWaypointSpec } from "../ambient/egressWaypoint";
import type { IstioRelease } from "../controlPlane/helmValues";
import type { NamedObject } from "../meta";
import { egressNamespace, type NamespaceSpec } from "../namespaces";
import type { AuthorizationPolicySpec } from "../security/authorization";
import type { DestinationRuleSpec } from "../traffic/destinationRules";
import type { GatewaySpec } from "../traffic/gateway";
import type { VirtualServiceSpec } from "../traffic/routes";
import { egressGatewayRelease } from "./egressGateway";
import { httpbinDestinationRule, type ServiceEntrySpec, serviceEntries } from "./externalServices";
import { backendEgressPolicy, egressGatewayAuthorization, type NetworkPolicySpec } from "./fence";
import { egressGateway, egressGatewayRule, egressRoutes } from "./routing";

/** What `egressGateway: false` removes: the namespace, the release and the routing through it. */
export interface EgressGatewaySpec {
  readonly namespace: NamespaceSpec;
  readonly release: IstioRelease;
  readonly gateway: GatewaySpec;
  readonly destinationRule: DestinationRuleSpec;
  readonly virtualService: VirtualServiceSpec;
  /** Only the backend namespace's identities may use the gateway. */
  readonly authorization: AuthorizationPolicySpec;
  /** Backend pods reach the outside only through the gateway (where the CNI enforces NetworkPolicy). */
  readonly networkPolicy: NetworkPolicySpec;
}

export interface EgressSpec {
  /** The sidecar cells' egress gateway (`egressGateway: true`). */
  readonly gateway?: EgressGatewaySpec;
  /** The ambient cells' egress gateway: a waypoint (`egressGateway: true`). */
  readonly waypoint?: EgressWaypointSpec;
  /** Always present: the external hosts stay registered with or without the gateway. */
  readonly serviceEntries: readonly ServiceEntrySpec[];
  readonly destinationRules: readonly DestinationRuleSpec[];
}

export function egressSpec(cfg: MeshConfig): EgressSpec {
  const ambient = cfg.cell.dataplane === "ambient";
  return {
    ...(cfg.egress.gateway && ambient && { waypoint: egressWaypointSpec(cfg) }),
    ...(cfg.egress.gateway &&
      !ambient && {
        gateway: {
          namespace: egressNamespace(),
          release: egressGatewayRelease(cfg),
          gateway: egressGateway(),
          destinationRule: egressGatewayRule(cfg),
          virtualService: egressRoutes(cfg),
          authorization: egressGatewayAuthorization(cfg),
          networkPolicy: backendEgressPolicy(cfg),
        },
      }),
    serviceEntries: serviceEntries(cfg),
    destinationRules: [httpbinDestinationRule(cfg)],
  };
}

/** The Kubernetes objects beside the Istio ones (render and the mesh diff list them too). */
export function egressKubernetesObjects(spec: EgressSpec): readonly NamedObject[] {
  const fence = spec.gateway?.networkPolicy ?? spec.waypoint?.networkPolicy;
  return fence ? [fence] : [];
}

/** The egress namespace, whichever data plane's gateway needs it (before the objects that live in it). */
export function egressNamespaces(spec: EgressSpec): readonly NamespaceSpec[] {
  const namespace = spec.gateway?.namespace ?? spec.waypoint?.namespace;
  return namespace ? [namespace] : [];
}

/** The Istio and Gateway API objects, in the order `kubectl apply` takes them: hosts before the routes that name them. */
export function egressIstioObjects(spec: EgressSpec): readonly NamedObject[] {
  const { gateway, waypoint } = spec;
  return [
    ...(waypoint ? [waypoint.waypoint] : []),
    ...spec.serviceEntries,
    ...spec.destinationRules,
    ...(gateway ? [gateway.gateway, gateway.destinationRule, gateway.virtualService, gateway.authorization] : []),
    ...(waypoint ? [waypoint.authorization] : []),
  ];
}
