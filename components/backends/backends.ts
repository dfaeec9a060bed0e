import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { asArgs } from "../meta";
import type { NamespaceSpec } from "../namespaces";
import type { BackendSpecs } from "./workloads";

export interface BackendsArgs {
  readonly namespace: NamespaceSpec;
  readonly specs: BackendSpecs;
  /**
   * istiod must be serving its injection webhook before any backend pod is created (none to wait for
   * when it is the cluster's own: `existingIstio`).
   */
  readonly injector: readonly pulumi.Resource[];
}

/** The lab's backend services in the injection-enabled namespace. */
export class Backends extends pulumi.ComponentResource {
  readonly namespace: k8s.core.v1.Namespace;
  readonly deployments: readonly k8s.apps.v1.Deployment[];
  readonly services: readonly k8s.core.v1.Service[];

  constructor(name: string, args: BackendsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("istio-mesh:backends:Backends", name, {}, opts);
    this.namespace = new k8s.core.v1.Namespace(args.namespace.metadata.name, args.namespace, { parent: this });
    const inNamespace = { parent: this, dependsOn: [this.namespace] };

    const accounts = args.specs.serviceAccounts.map(
      (spec) => new k8s.core.v1.ServiceAccount(spec.metadata.name, spec, inNamespace),
    );
    this.services = args.specs.services.map((spec) => new k8s.core.v1.Service(spec.metadata.name, spec, inNamespace));
    this.deployments = args.specs.deployments.map(
      (spec) =>
        new k8s.apps.v1.Deployment(spec.metadata.name, asArgs<k8s.apps.v1.DeploymentArgs>(spec), {
          parent: this,
          dependsOn: [this.namespace, ...args.injector, ...accounts],
        }),
    );

    for (const spec of args.specs.disruptionBudgets) {
      new k8s.policy.v1.PodDisruptionBudget(
        spec.metadata.name,
        asArgs<k8s.policy.v1.PodDisruptionBudgetArgs>(spec),
        inNamespace,
      );
    }

    this.registerOutputs({ deployments: this.deployments.map((d) => d.metadata.name) });
  }
}
