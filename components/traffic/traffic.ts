import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { asArgs, type NamedObject } from "../meta";
import type { TrafficSpec } from "./spec";

export interface TrafficManagementArgs {
  readonly traffic: TrafficSpec;
  /** The Istio CRDs, istiod's validation webhook and the backend namespace. */
  readonly dependsOn: readonly pulumi.Resource[];
  /** gateway-api: the Gateway API CRDs and the ingress namespace the Gateway lives in. */
  readonly gatewayApi?: readonly pulumi.Resource[];
}

/** The cell's routing objects: one Pulumi resource per object, whichever API renders them. */
export class TrafficManagement extends pulumi.ComponentResource {
  readonly gateway: k8s.apiextensions.CustomResource;
  readonly destinationRules: readonly k8s.apiextensions.CustomResource[];
  /** VirtualServices (istio) or HTTPRoutes (gateway-api). */
  readonly routes: readonly k8s.apiextensions.CustomResource[];

  constructor(name: string, args: TrafficManagementArgs, opts?: pulumi.ComponentResourceOptions) {
    super("istio-mesh:traffic:TrafficManagement", name, {}, opts);
    const resource =
      (extra: readonly pulumi.Resource[] = []) =>
      (spec: NamedObject) =>
        new k8s.apiextensions.CustomResource(
          spec.metadata.name,
          { ...spec },
          { parent: this, dependsOn: [...args.dependsOn, ...extra] },
        );

    // Istio resolves names (gateways, subsets, backendRefs) when it builds proxy config, not at admission,
    // so no routing object waits for another: each needs only its CRDs, istiod's webhook and its namespace.
    const t = args.traffic;
    this.destinationRules = t.destinationRules.map(resource());
    if (t.api === "gateway-api") {
      const gatewayApi = args.gatewayApi ?? [];
      for (const svc of t.versionServices) {
        new k8s.core.v1.Service(svc.metadata.name, asArgs<k8s.core.v1.ServiceArgs>(svc), {
          parent: this,
          dependsOn: [...args.dependsOn],
        });
      }
      this.gateway = resource(gatewayApi)(t.gateway);
      this.routes = t.httpRoutes.map(resource(gatewayApi));
    } else {
      this.gateway = resource()(t.gateway);
      this.routes = t.virtualServices.map(resource());
    }

    this.registerOutputs({});
  }
}
