import type { MeshConfig } from "../config/types";
import { type AmbientSpec, ambientSpec } from "./ambient/spec";
import { type BackendSpecs, backendSpecs } from "./backends/workloads";
import { type KindClusterSpec, kindClusterSpec } from "./cluster/kindConfig";
import type { IstioRelease } from "./controlPlane/helmValues";
import { withProfile } from "./controlPlane/production";
import { type ControlPlaneSpec, controlPlaneReleases } from "./controlPlane/revisionReleases";
import {
  type EgressSpec,
  egressIstioObjects,
  egressKubernetesObjects,
  egressNamespaces,
  egressSpec,
} from "./egress/egressSpec";
import { crdName, crdShell, GATEWAY_API_CRDS, installsGatewayApiCrds } from "./gatewayApi/crds";
import type { NamedObject } from "./meta";
import { backendNamespace, ingressNamespace, istioNamespace, type NamespaceSpec } from "./namespaces";
import { DASHBOARD_PROVIDERS, dashboardConfigMapShell } from "./observability/dashboards";
import { type ObservabilitySpec, observabilityObjects, observabilitySpec } from "./observability/spec";
import { type SecuritySpec, securitySpec } from "./security/spec";
import { type TrafficSpec, trafficObjects, trafficSpec } from "./traffic/spec";

/** Everything the mesh consists of, as plain objects: what `pulumi up` creates and `npm run render` writes. */
export interface MeshSpec {
  readonly kindCluster?: KindClusterSpec;
  readonly namespaces: {
    /** Absent with the cluster's own control plane: istio-system is then not this stack's. */
    readonly istio?: NamespaceSpec;
    readonly ingress: NamespaceSpec;
    readonly backend: NamespaceSpec;
  };
  /** Installed by this stack (base, istiod, revisions and tags), or the cluster's own (`existingIstio`). */
  readonly controlPlane: ControlPlaneSpec;
  /** Injected by the control plane's revision (the chart's `revision` value). */
  readonly ingressGateway: IstioRelease;
  /**
   * dataplane=ambient: the waypoint, and istio-cni and ztunnel unless the cluster's own control plane runs
   * them; absent with sidecars.
   */
  readonly ambient?: AmbientSpec;
  readonly backends: BackendSpecs;
  /**
   * Gateway API CRDs to install (trafficApi gateway-api or dataplane ambient, not with existingIstio: the
   * cluster's are used): their names, contents fetched at run time.
   */
  readonly gatewayApiCrds?: readonly string[];
  /** Which builder rendered the routing: `api` is the cell's trafficApi. */
  readonly traffic: TrafficSpec;
  readonly egress: EgressSpec;
  /** Absent when `observability.enabled` is false. */
  readonly observability?: ObservabilitySpec;
  readonly security: SecuritySpec;
}

export function buildMeshSpec(cfg: MeshConfig): MeshSpec {
  const security = securitySpec(cfg);
  const { controlPlane, ingressGateway } = controlPlaneReleases(cfg);
  const egress = egressSpec(cfg);
  const ambient = ambientSpec(cfg);
  const installs = controlPlane.kind === "install";
  return {
    ...(cfg.cluster.mode === "kind" && { kindCluster: kindClusterSpec(cfg.cluster, cfg.ingress) }),
    namespaces: {
      ...(installs && { istio: istioNamespace(cfg) }),
      ingress: ingressNamespace(cfg),
      backend: backendNamespace(cfg),
    },
    // The production profile's HA and LoadBalancer overlay, on every istiod revision and gateway.
    controlPlane: installs
      ? {
          ...controlPlane,
          istiod: withProfile(cfg, controlPlane.istiod, "other"),
          ...(controlPlane.revisions && {
            revisions: {
              ...controlPlane.revisions,
              otherIstiods: controlPlane.revisions.otherIstiods.map((r) => withProfile(cfg, r, "other")),
            },
          }),
        }
      : controlPlane,
    ingressGateway: withProfile(cfg, ingressGateway, "ingress"),
    ...(ambient && { ambient }),
    backends: backendSpecs(cfg),
    ...(installsGatewayApiCrds(cfg) && { gatewayApiCrds: GATEWAY_API_CRDS.map((p) => crdName(p.file)) }),
    traffic: trafficSpec(cfg, security.httpsServer),
    egress: egress.gateway
      ? { ...egress, gateway: { ...egress.gateway, release: withProfile(cfg, egress.gateway.release, "egress") } }
      : egress,
    ...(cfg.observability.enabled && { observability: observabilitySpec(cfg) }),
    security,
  };
}

/** The control plane this stack installs; undefined when it uses the cluster's own (`existingIstio`). */
export function installedControlPlane(spec: MeshSpec): Extract<ControlPlaneSpec, { kind: "install" }> | undefined {
  return spec.controlPlane.kind === "install" ? spec.controlPlane : undefined;
}

/** Every Helm release, in install order (the ambient data plane and the egress gateway beside the ingress gateway). */
export function helmReleases(spec: MeshSpec): readonly IstioRelease[] {
  const installed = installedControlPlane(spec);
  return [
    ...(installed ? [installed.base, installed.istiod] : []),
    spec.ingressGateway,
    ...(installed?.revisions?.otherIstiods ?? []),
    ...(spec.ambient?.releases ?? []),
    ...(spec.egress.gateway ? [spec.egress.gateway.release] : []),
  ];
}

/** The objects this program owns (Helm charts aside), in an order `kubectl apply` accepts. */
export function ownedObjects(spec: MeshSpec): readonly NamedObject[] {
  const { namespaces, backends, traffic, egress, security } = spec;
  const clients = security.probeClients;
  const tags = installedControlPlane(spec)?.revisions?.tags ?? [];
  return [
    ...(namespaces.istio ? [namespaces.istio] : []),
    namespaces.ingress,
    namespaces.backend,
    ...tags,
    ...egressNamespaces(egress),
    ...(clients ? [clients.namespace] : []),
    ...backends.serviceAccounts,
    ...backends.services,
    ...backends.deployments,
    ...backends.disruptionBudgets,
    ...(spec.ambient ? [spec.ambient.waypoint] : []),
    ...trafficObjects(traffic),
    ...egressIstioObjects(egress),
    ...egressKubernetesObjects(egress),
    ...observabilityObjects(spec.observability),
    // The RequestAuthentication and the Secrets hold key material only `pulumi up` generates: generatedShells.
    ...security.meshPeerAuthentications,
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
    // The Gateway API CRDs: fetched and digest-checked when the program runs; render names them only.
    ...(spec.gatewayApiCrds ?? []).map(crdShell),
    spec.security.requestAuthentication,
    spec.security.tlsSecret,
    ...(secrets ? [secrets.grafanaAdmin, secrets.kialiSigningKey] : []),
    // Grafana's dashboards: their contents are fetched and digest-checked when the program runs.
    ...(spec.observability ? DASHBOARD_PROVIDERS.map(dashboardConfigMapShell) : []),
  ];
}
