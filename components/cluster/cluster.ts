import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { ClusterConfig } from "../../config/types";
import { type KindClusterSpec, kindCommands, kindSteps, stackLabelValue } from "./kindConfig";

export interface MeshClusterArgs {
  readonly cluster: ClusterConfig;
  /** Present in kind mode. */
  readonly kindSpec?: KindClusterSpec;
}

/**
 * Marks every Kubernetes object (and Helm release) as deleted with `cluster`: when a destroy or a
 * replacement deletes the cluster, the engine skips their own Delete calls (uninstalls, namespace
 * finalization, waits) instead of running them against a cluster that is about to vanish. Deleting
 * one object alone still deletes it.
 */
export function deleteWithCluster(cluster: pulumi.Resource): pulumi.ResourceTransformation {
  return ({ type, props, opts }) =>
    type.startsWith("kubernetes:") ? { props, opts: { ...opts, deletedWith: cluster } } : undefined;
}

/**
 * The cluster the mesh runs on and the Kubernetes provider that reaches it: a kind cluster this
 * stack creates and deletes, or an existing cluster it only connects to.
 */
export class MeshCluster extends pulumi.ComponentResource {
  readonly provider: k8s.Provider;
  /**
   * kind: the kubeconfig contents (secret). Existing: none. The stack keeps no copy of the user's
   * kubeconfig: it may hold every cluster's credentials, and exec plugins and token rotation make a
   * copy stale or useless elsewhere. Tools read the configured file and context, as the provider does.
   */
  readonly kubeconfig?: pulumi.Output<string>;
  readonly clusterName: pulumi.Output<string>;
  /**
   * Options for every component whose resources live in the cluster. Besides the provider, in kind
   * mode they carry the `deletedWith` transformation; a transformation on a component applies to
   * everything constructed under it, so a component that takes these options needs no code of its own.
   * (Not to the children of remote components such as helm.v4.Chart or yaml.v2: give those
   * `deletedWith` directly.)
   */
  readonly inClusterOptions: pulumi.ComponentResourceOptions;

  constructor(name: string, args: MeshClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("istio-mesh:cluster:MeshCluster", name, {}, opts);

    if (args.cluster.mode === "kind") {
      if (!args.kindSpec) throw new Error("kind mode needs a kind cluster spec");
      const spec = args.kindSpec;
      // This state's own id: kept in state, so only the state that created the cluster can adopt or
      // delete it; another state with the same stack name gets another id.
      const ownerId = new random.RandomId("kind-cluster-owner", { byteLength: 8 }, { parent: this });
      const stack = stackLabelValue(pulumi.getProject(), pulumi.getStack());
      // Only stdin and environment carry the id: the steps stay known on a fresh stack's first preview.
      const steps = kindSteps(spec, stack);
      const owned = ownerId.hex.apply((id) => kindCommands(spec, { stack, id }));
      const kind = new command.local.Command(
        "kind-cluster",
        {
          create: steps.create,
          delete: steps.delete,
          stdin: owned.stdin,
          environment: owned.environment,
          // A changed cluster spec means a new cluster, never an in-place edit.
          triggers: [steps.trigger],
          // stdout is the kubeconfig: keep it out of the update log.
          logging: "stderr",
        },
        // Same cluster name: the old one must go before the new one is created.
        { parent: this, additionalSecretOutputs: ["stdout"], deleteBeforeReplace: true },
      );
      const kubeconfig = pulumi.secret(kind.stdout);
      this.kubeconfig = kubeconfig;
      this.clusterName = pulumi.output(args.kindSpec.name);
      // No deleteUnreachable here: it would let any refresh while Docker is stopped drop every object
      // from state. scripts/pulumi.sh turns it on (PULUMI_K8S_DELETE_UNREACHABLE) for one refresh, and
      // only when kind confirms the cluster is gone.
      this.provider = new k8s.Provider("kind", { kubeconfig }, { parent: this });
      this.inClusterOptions = { provider: this.provider, transformations: [deleteWithCluster(kind)] };
    } else {
      const { kubeconfig, context } = args.cluster;
      this.clusterName = pulumi.output(context ?? "current-context");
      this.provider = new k8s.Provider(
        "existing",
        {
          ...(kubeconfig !== undefined && { kubeconfig }),
          ...(context !== undefined && { context }),
          // A namespace (or any object) that already exists is refused with AlreadyExists, never adopted:
          // adopting it would make destroy delete what this stack did not create. pulumi-kubernetes has
          // refused by default since 4.29 (CHANGELOG; await.go Creation); set here so that
          // PULUMI_K8S_UPSERT_EXISTING_OBJECTS in someone's environment cannot turn adoption on.
          upsertExistingObjects: false,
        },
        { parent: this },
      );
      // The cluster outlives the stack: destroy deletes every object it created, one by one.
      this.inClusterOptions = { provider: this.provider };
    }

    this.registerOutputs({ ...(this.kubeconfig && { kubeconfig: this.kubeconfig }), clusterName: this.clusterName });
  }
}
