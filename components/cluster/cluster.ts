import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig } from "../../config/types";
import { type KindClusterSpec, kindCommands } from "./kindConfig";

export interface MeshClusterArgs {
  readonly cluster: ClusterConfig;
  /** Present in kind mode. */
  readonly kindSpec?: KindClusterSpec;
}

/**
 * The cluster the mesh runs on and the Kubernetes provider that reaches it: a kind cluster this
 * stack creates and deletes, or an existing cluster it only connects to.
 */
export class MeshCluster extends pulumi.ComponentResource {
  readonly provider: k8s.Provider;
  /** kind: the kubeconfig contents; existing: the kubeconfig path, if one was given. */
  readonly kubeconfig: pulumi.Output<string>;
  readonly clusterName: pulumi.Output<string>;

  constructor(name: string, args: MeshClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("istio-mesh:cluster:MeshCluster", name, {}, opts);

    if (args.cluster.mode === "kind") {
      if (!args.kindSpec) throw new Error("kind mode needs a kind cluster spec");
      const commands = kindCommands(args.kindSpec);
      const kind = new command.local.Command(
        "kind-cluster",
        {
          create: commands.create,
          delete: commands.delete,
          stdin: commands.stdin,
          // A changed cluster spec means a new cluster, never an in-place edit.
          triggers: [commands.stdin],
          // stdout is the kubeconfig: keep it out of the update log.
          logging: "stderr",
        },
        // Same cluster name: the old one must go before the new one is created.
        { parent: this, additionalSecretOutputs: ["stdout"], deleteBeforeReplace: true },
      );
      this.kubeconfig = pulumi.secret(kind.stdout);
      this.clusterName = pulumi.output(args.kindSpec.name);
      this.provider = new k8s.Provider(
        "kind",
        // If the cluster was deleted by hand, `pulumi destroy` can still drop its objects from state.
        { kubeconfig: this.kubeconfig, deleteUnreachable: true },
        { parent: this },
      );
    } else {
      const { kubeconfig, context } = args.cluster;
      this.kubeconfig = pulumi.secret(kubeconfig ?? "");
      this.clusterName = pulumi.output(context ?? "current-context");
      this.provider = new k8s.Provider(
        "existing",
        { ...(kubeconfig !== undefined && { kubeconfig }), ...(context !== undefined && { context }) },
        { parent: this },
      );
    }

    this.registerOutputs({ kubeconfig: this.kubeconfig, clusterName: this.clusterName });
  }
}
