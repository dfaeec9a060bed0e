import type { MeshConfig } from "../config/types";
import { type AmbientSpec, ambientSpec } from "./ambient/spec";
import { type BackendSpecs, backendSpecs } from "./backends/workloads";
import { type KindClusterSpec, kindClusterSpec } from "./cluster/kindConfig";
import { type IstioRelease, istioReleases } from "./controlPlane/helmValues";
import { type EgressSpec, egressIstioObjects, egressKubernetesObjects, egressSpec } from "./egress/egressSpec";
import type { NamedObject } from "./meta";
import { backendNamespace, ingressNamespace, istioNamespace, type NamespaceSpec } from "./namespaces";
import { DASHBOARD_PROVIDERS, dashboardConfigMapShell } from "./observability/dashboards";
import { type ObservabilitySpec, observabilityObjects, observabilitySpec } from "./observability/spec";
import { type SecuritySpec, securitySpec } from "./security/spec";
import { type DestinationRuleSpec, destinationRules } from "./traffic/destinationRules";
import { appGateway, type GatewaySpec } from "./traffic/gateway";
import { type VirtualServiceSpec, virtualServices } from "./traffic/routes";

/** Everything the mesh consists of, as plain objects: what `pulumi up` creates and `npm run render` writes. */
export interface MeshSpec {
  readonly kindCluster?: KindClusterSpec;
  readonly namespaces: {
    readonly istio: NamespaceSpec;
    readonly ingress: NamespaceSpec;
    readonly backend: NamespaceSpec;
  };
  readonly releases: readonly [IstioRelease, IstioRelease, IstioRelease];
  /** dataplane=ambient: istio-cni, ztunnel and the waypoint; absent with sidecars. */
  readonly ambient?: AmbientSpec;
  readonly backends: BackendSpecs;
  readonly traffic: {
    readonly gateway: GatewaySpec;
    readonly destinationRules: readonly DestinationRuleSpec[];
    readonly virtualServices: readonly VirtualServiceSpec[];
  };
  readonly egress: EgressSpec;
  /** Absent when `observability.enabled` is false. */
  readonly observability?: ObservabilitySpec;
  readonly security: SecuritySpec;
}

export function buildMeshSpec(cfg: MeshConfig): MeshSpec {
  const security = securitySpec(cfg);
  const ambient = ambientSpec(cfg);
  return {
    ...(cfg.cluster.mode === "kind" && { kindCluster: kindClusterSpec(cfg.cluster, cfg.ingress) }),
    namespaces: { istio: istioNamespace(), ingress: ingressNamespace(), backend: backendNamespace(cfg) },
    releases: istioReleases(cfg),
    ...(ambient && { ambient }),
    backends: backendSpecs(cfg),
    traffic: {
      gateway: appGateway(cfg, [security.httpsServer]),
      destinationRules: destinationRules(cfg),
      virtualServices: virtualServices(cfg),
    },
    egress: egressSpec(cfg),
    ...(cfg.observability.enabled && { observability: observabilitySpec(cfg) }),
    security,
  };
}

/** Every Helm release, in install order (the ambient data plane and the egress gateway beside the ingress gateway). */
export function helmReleases(spec: MeshSpec): readonly IstioRelease[] {
  return [
    ...spec.releases,
    ...(spec.ambient?.releases ?? []),
    ...(spec.egress.gateway ? [spec.egress.gateway.release] : []),
  ];
}

/** The objects this program owns (Helm charts aside), in an order `kubectl apply` accepts. */
export function ownedObjects(spec: MeshSpec): readonly NamedObject[] {
  const { namespaces, backends, traffic, egress, security } = spec;
  const clients = security.probeClients;
  return [
    namespaces.istio,
    namespaces.ingress,
    namespaces.backend,
    ...(egress.gateway ? [egress.gateway.namespace] : []),
    ...(clients ? [clients.namespace] : []),
    ...backends.serviceAccounts,
    ...backends.services,
    ...backends.deployments,
    ...(spec.ambient ? [spec.ambient.waypoint] : []),
    traffic.gateway,
    ...traffic.destinationRules,
    ...traffic.virtualServices,
    ...egressIstioObjects(egress),
    ...egressKubernetesObjects(egress),
    ...observabilityObjects(spec.observability),
    // The RequestAuthentication and the Secrets hold key material only `pulumi up` generates: generatedShells.
    security.meshPeerAuthentication,
    security.peerAuthentication,
    ...security.authorizationPolicies,
    ...(security.rateLimit ? [security.rateLimit] : []),
    ...(clients ? [...clients.serviceAccounts, ...clients.deployments] : []),
  ];
}

/**
 * The objects whose data only `pulumi up` generates (the JWKS from the stack's signing key, the
 * HTTPS certificate, the addons' passwords, Grafana's dashboards), without that data: render writes them apart, so the
 * mesh diff shows every object `up` would change (a JWT issuer, a Secret's name) and nothing secret.
 */
export function generatedShells(spec: MeshSpec): readonly NamedObject[] {
  const secrets = spec.observability?.secrets;
  return [
    spec.security.requestAuthentication,
    spec.security.tlsSecret,
    ...(secrets ? [secrets.grafanaAdmin, secrets.kialiSigningKey] : []),
    // Grafana's dashboards: their contents are fetched and digest-checked when the program runs.
    ...(spec.observability ? DASHBOARD_PROVIDERS.map(dashboardConfigMapShell) : []),
  ];
}
