import * as pulumi from "@pulumi/pulumi";
import type { MeshConfig } from "../config/types";
import { Backends } from "./backends/backends";
import { MeshCluster } from "./cluster/cluster";
import { IstioControlPlane } from "./controlPlane/controlPlane";
import { Egress } from "./egress/egress";
import { buildMeshSpec } from "./meshSpec";
import { TrafficManagement } from "./traffic/traffic";

/** Stands the mesh up from parsed config; the return value becomes the stack outputs. */
export function deployMesh(cfg: MeshConfig) {
  const spec = buildMeshSpec(cfg);

  const cluster = new MeshCluster("cluster", {
    cluster: cfg.cluster,
    ...(spec.kindCluster && { kindSpec: spec.kindCluster }),
  });
  const onCluster = { provider: cluster.provider };

  const controlPlane = new IstioControlPlane(
    "istio",
    { istioNamespace: spec.namespaces.istio, ingressNamespace: spec.namespaces.ingress, releases: spec.releases },
    onCluster,
  );

  const backends = new Backends(
    "backends",
    { namespace: spec.namespaces.backend, specs: spec.backends, injector: controlPlane.istiod },
    onCluster,
  );

  new TrafficManagement(
    "traffic",
    { ...spec.traffic, dependsOn: [controlPlane.base, controlPlane.istiod, backends.namespace] },
    onCluster,
  );

  new Egress(
    "egress",
    { ...spec.egress, crds: controlPlane.base, istiod: controlPlane.istiod, backendNamespace: backends.namespace },
    onCluster,
  );

  return {
    clusterName: cluster.clusterName,
    kubeconfig: cluster.kubeconfig,
    gatewayUrls: gatewayUrls(cfg),
    canaryWeights: pulumi.output(cfg.canaryWeights),
  };
}

/** Where users reach the ingress gateway: kind's host ports, or the NodePorts on ingressHost. */
export function gatewayUrls(cfg: MeshConfig): { http: string; https: string } {
  const [http, https] =
    cfg.cluster.mode === "kind"
      ? [cfg.cluster.hostHttpPort, cfg.cluster.hostHttpsPort]
      : [cfg.ingress.httpNodePort, cfg.ingress.httpsNodePort];
  return { http: `http://${cfg.ingress.host}:${http}`, https: `https://${cfg.ingress.host}:${https}` };
}
