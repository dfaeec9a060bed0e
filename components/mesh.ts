import * as pulumi from "@pulumi/pulumi";
import type { MeshConfig } from "../config/types";
import { AmbientDataPlane } from "./ambient/ambient";
import { Backends } from "./backends/backends";
import { MeshCluster } from "./cluster/cluster";
import { IstioControlPlane } from "./controlPlane/controlPlane";
import { loadBalancerGatewayUrls } from "./controlPlane/ingressAddress";
import { Egress } from "./egress/egress";
import { egressNamespaces } from "./egress/egressSpec";
import { gatewayUrls } from "./endpoints";
import { loadGatewayApiCrds } from "./gatewayApi/crdSource";
import { GatewayApiCrds } from "./gatewayApi/gatewayApiCrds";
import { buildMeshSpec } from "./meshSpec";
import type { ToolAccess, ToolName } from "./observability/access";
import { type DashboardLoad, loadPinnedDashboards } from "./observability/dashboardSource";
import { Observability } from "./observability/observability";
import type { PinnedLoad } from "./pinnedFiles";
import { MeshSecurity } from "./security/security";
import { TrafficManagement } from "./traffic/traffic";

/** What the program reads from outside the cluster when it runs; tests pass their own. */
export interface MeshEnvironment {
  /** The pinned Grafana dashboards (default: the local cache, else GitHub, digest-checked). */
  readonly dashboards?: () => Promise<DashboardLoad>;
  /** The pinned Gateway API CRDs (default: the local cache, else GitHub, digest-checked). */
  readonly gatewayApiCrds?: () => Promise<PinnedLoad>;
}

/** Stands the mesh up from parsed config; the return value becomes the stack outputs. */
export function deployMesh(cfg: MeshConfig, env: MeshEnvironment = {}) {
  const spec = buildMeshSpec(cfg);

  const cluster = new MeshCluster("cluster", {
    cluster: cfg.cluster,
    ...(spec.kindCluster && { kindSpec: spec.kindCluster }),
  });
  // Every component in the cluster takes these options: the provider and, in kind mode, deletedWith.
  const onCluster = cluster.inClusterOptions;

  const controlPlane = new IstioControlPlane(
    "istio",
    {
      ...(spec.namespaces.istio && { istioNamespace: spec.namespaces.istio }),
      ingressNamespace: spec.namespaces.ingress,
      controlPlane: spec.controlPlane,
      ingressGateway: spec.ingressGateway,
    },
    onCluster,
  );

  const backends = new Backends(
    "backends",
    { namespace: spec.namespaces.backend, specs: spec.backends, injector: controlPlane.istiod },
    onCluster,
  );

  // Exported so ambient's waypoints (Gateway API Gateways) can depend on the same CRDs.
  const gatewayApiCrds = spec.gatewayApiCrds
    ? new GatewayApiCrds(
        "gateway-api",
        {
          load: (env.gatewayApiCrds ?? loadGatewayApiCrds)(),
          retainOnDelete: cfg.cluster.mode === "existing",
        },
        onCluster,
      )
    : undefined;

  if (spec.ambient) {
    new AmbientDataPlane(
      "ambient",
      {
        spec: spec.ambient,
        istioNamespace: controlPlane.istioNamespace,
        istiod: controlPlane.istiod,
        backendNamespace: backends.namespace,
        // The waypoint is a Gateway API Gateway: it waits for the CRDs.
        ...(gatewayApiCrds && { gatewayApiCrds: [...gatewayApiCrds.definitions] }),
      },
      onCluster,
    );
  }

  new TrafficManagement(
    "traffic",
    {
      traffic: spec.traffic,
      dependsOn: [...controlPlane.crds, ...controlPlane.istiod, backends.namespace],
      gatewayApi: [...(gatewayApiCrds?.definitions ?? []), controlPlane.ingressNamespace],
    },
    onCluster,
  );

  const egress = new Egress(
    "egress",
    {
      ...spec.egress,
      crds: controlPlane.crds,
      istiod: controlPlane.istiod,
      backendNamespace: backends.namespace,
      // ambient's egress waypoint is a Gateway API Gateway, like the backend's.
      ...(gatewayApiCrds && { gatewayApiCrds: gatewayApiCrds.definitions }),
    },
    onCluster,
  );
  const egressHome = egressNamespaces(spec.egress)[0];
  // The namespaces this stack creates that may hold a mesh default (components/meshScope.ts); istio-system's
  // Namespace is already among the observability dependencies.
  const stackNamespaces: Record<string, pulumi.Resource> = {
    [spec.namespaces.backend.metadata.name]: backends.namespace,
    [spec.namespaces.ingress.metadata.name]: controlPlane.ingressNamespace,
    ...(egressHome && egress.namespace && { [egressHome.metadata.name]: egress.namespace }),
  };
  if (spec.observability) {
    new Observability(
      "observability",
      {
        spec: spec.observability,
        namespace: controlPlane.istioNamespace,
        crds: controlPlane.crds,
        istiod: controlPlane.istiod,
        stackNamespaces,
        dashboards: (env.dashboards ?? loadPinnedDashboards)(),
      },
      onCluster,
    );
  }
  const security = new MeshSecurity(
    "security",
    {
      spec: spec.security,
      jwt: cfg.security.jwt,
      now: Date.now(),
      crds: controlPlane.crds,
      istiod: controlPlane.istiod,
      backendNamespace: backends.namespace,
      ingressNamespace: controlPlane.ingressNamespace,
      stackNamespaces,
    },
    onCluster,
  );

  return {
    clusterName: cluster.clusterName,
    /** kind: the cluster's kubeconfig (secret); existing: null, see MeshCluster.kubeconfig. */
    kubeconfig: cluster.kubeconfig ?? null,
    /** From config, else (production without ingressHost) from the gateway Service's load balancer. */
    gatewayUrls: gatewayUrls(cfg) ?? loadBalancerGatewayUrls(controlPlane.ingressGateway, onCluster),
    canaryWeights: pulumi.output(cfg.canaryWeights),
    dashboards: (spec.observability?.dashboards ?? {}) as Partial<Record<ToolName, ToolAccess>>,
    httpsHost: cfg.security.httpsHost,
    caCert: security.caCert,
    demoToken: security.demoToken,
    demoTokenExpiresAt: security.demoTokenExpiresAt,
    /** PKCS#8 PEM of the JWT signing key, for `npm run token` (secret). */
    jwtSigningKey: security.jwtSigningKey,
  };
}
