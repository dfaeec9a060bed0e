import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { NamedObject } from "../meta";
import type { DestinationRuleSpec } from "./destinationRules";
import type { GatewaySpec } from "./gateway";
import type { VirtualServiceSpec } from "./routes";

export interface TrafficManagementArgs {
  readonly gateway: GatewaySpec;
  readonly destinationRules: readonly DestinationRuleSpec[];
  readonly virtualServices: readonly VirtualServiceSpec[];
  /** The Istio CRDs, istiod's validation webhook and the backend namespace. */
  readonly dependsOn: readonly pulumi.Resource[];
}

/** Ingress Gateway, routes and DestinationRules: one Pulumi resource per Istio object. */
export class TrafficManagement extends pulumi.ComponentResource {
  readonly gateway: k8s.apiextensions.CustomResource;
  readonly destinationRules: readonly k8s.apiextensions.CustomResource[];
  readonly virtualServices: readonly k8s.apiextensions.CustomResource[];

  constructor(name: string, args: TrafficManagementArgs, opts?: pulumi.ComponentResourceOptions) {
    super("istio-mesh:traffic:TrafficManagement", name, {}, opts);
    const resource = (spec: NamedObject) =>
      new k8s.apiextensions.CustomResource(
        spec.metadata.name,
        { ...spec },
        { parent: this, dependsOn: [...args.dependsOn] },
      );

    // Istio resolves names (gateways, subsets) when it builds proxy config, not at admission, so no
    // Istio object waits for another: each needs only the CRDs, istiod's webhook and its namespace.
    this.gateway = resource(args.gateway);
    this.destinationRules = args.destinationRules.map(resource);
    this.virtualServices = args.virtualServices.map(resource);

    this.registerOutputs({});
  }
}
