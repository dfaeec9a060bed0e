import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PinnedLoad } from "../pinnedFiles";
import { type CrdObject, crdName, crdObjects, GATEWAY_API_CRDS } from "./crds";

export interface GatewayApiCrdsArgs {
  /** The pinned CRD files, digest-checked (see loadGatewayApiCrds). */
  readonly load: Promise<PinnedLoad>;
  /**
   * existing mode: left in the cluster on destroy. Other workloads may have started using the API
   * (their Gateways and routes would be deleted with the CRD); a kind cluster goes away whole.
   */
  readonly retainOnDelete: boolean;
}

/**
 * The Gateway API v1.5.1 CRDs, one resource per CRD. Anything that creates a Gateway API object
 * (the routing objects here, ambient's waypoints) depends on `definitions`. istiod needs no ordering:
 * it watches Gateway API kinds through delayed informers that start when a CRD appears
 * (kclient.NewDelayedInformer, pilot/pkg/config/kube/gateway/controller.go, istio 1.30.3).
 *
 * A CRD the cluster already has is not adopted: @pulumi/kubernetes ≥ 4.29 creates with a plain
 * create, so `up` stops with Kubernetes' AlreadyExists for it (provider/pkg/await/await.go) instead of
 * overwriting another owner's CRD; see docs/cells.md.
 */
/**
 * One CRD of the load, or a RunError (Pulumi prints its message alone, no stack trace) naming every
 * file that could not be had. A fresh error per CRD: Pulumi prefixes the message of the error it
 * serializes, and a shared one would carry every resource's prefix.
 */
export function loadedCrd(objects: ReadonlyMap<string, CrdObject> | Error, file: string): CrdObject {
  if (objects instanceof Error) throw new pulumi.RunError(objects.message);
  const crd = objects.get(file);
  if (!crd) throw new pulumi.RunError(`Gateway API CRD ${file} was not loaded`);
  return crd;
}

export class GatewayApiCrds extends pulumi.ComponentResource {
  readonly definitions: readonly k8s.apiextensions.v1.CustomResourceDefinition[];

  constructor(name: string, args: GatewayApiCrdsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("istio-mesh:gatewayApi:GatewayApiCrds", name, {}, opts);
    const parsed = pulumi.output(args.load).apply(crdObjects);
    this.definitions = GATEWAY_API_CRDS.map((pin) => {
      const crd = parsed.apply((objects) => loadedCrd(objects, pin.file));
      return new k8s.apiextensions.v1.CustomResourceDefinition(
        crdName(pin.file),
        {
          metadata: { name: crdName(pin.file), annotations: crd.apply((c) => c.metadata.annotations ?? {}) },
          // The parsed upstream file: its schema is Kubernetes' to validate, not re-typed here.
          spec: crd.apply((c) => c.spec as unknown as k8s.types.input.apiextensions.v1.CustomResourceDefinitionSpec),
        },
        { parent: this, retainOnDelete: args.retainOnDelete },
      );
    });
    this.registerOutputs({});
  }
}
