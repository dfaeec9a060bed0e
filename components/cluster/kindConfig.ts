import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { KindClusterConfig, MeshConfig } from "../../config/types";

/** kind's cluster config (kind.x-k8s.io/v1alpha4); kind reads it as YAML, and JSON is YAML. */
export interface KindClusterSpec {
  readonly kind: "Cluster";
  readonly apiVersion: "kind.x-k8s.io/v1alpha4";
  readonly name: string;
  readonly nodes: readonly {
    readonly role: "control-plane";
    readonly image: string;
    /** Node labels; kind hands them to the kubelet at creation. */
    readonly labels?: Readonly<Record<string, string>>;
    readonly extraPortMappings: readonly {
      readonly containerPort: number;
      readonly hostPort: number;
      readonly listenAddress: string;
      readonly protocol: "TCP";
    }[];
  }[];
}

/**
 * One control-plane node whose host ports reach the ingress gateway's NodePorts. The same config
 * serves both data planes: ambient needs no kind setting. Istio's ambient platform prerequisites
 * (istio.io/latest/docs/ambient/install/platform-prerequisites) list GKE, EKS, k3d, k3s, MicroK8s,
 * minikube, OpenShift and some CNIs (Cilium, Calico), not kind, whose kindnet keeps its CNI config
 * and binaries in the standard /etc/cni/net.d and /opt/cni/bin the istio-cni chart defaults to; the
 * cni chart at 1.30.3 has no `platform-kind` profile (files/profile-platform-*.yaml), and Istio's kind
 * setup page (istio.io/latest/docs/setup/platform-setup/kind) asks for nothing ambient-specific.
 */
export function kindClusterSpec(cluster: KindClusterConfig, ingress: MeshConfig["ingress"]): KindClusterSpec {
  // Loopback only: the lab's gateway is not meant to be reachable from the LAN.
  const mapping = (containerPort: number, hostPort: number) =>
    ({ containerPort, hostPort, listenAddress: "127.0.0.1", protocol: "TCP" }) as const;
  return {
    kind: "Cluster",
    apiVersion: "kind.x-k8s.io/v1alpha4",
    name: cluster.name,
    nodes: [
      {
        role: "control-plane",
        image: cluster.nodeImage,
        extraPortMappings: [
          mapping(ingress.httpNodePort, cluster.hostHttpPort),
          mapping(ingress.httpsNodePort, cluster.hostHttpsPort),
        ],
      },
    ],
  };
}

/**
 * The node label that marks a kind cluster as made by one stack's state: its value is a random id
 * (a RandomId the state keeps), so a second state with the same project and stack name (a second
 * clone, `rm -rf .pulumi-state`, a move to another backend) has another id, and its create step
 * refuses the cluster instead of adopting it, and its delete step leaves it alone.
 */
export const OWNER_LABEL_KEY = "istio-mesh/owner";
/**
 * `<project>.<stack>` on every node, for people reading `kubectl get nodes --show-labels`; it was
 * the owner label before there was an id, so a cluster carrying only it was made by older code.
 */
export const STACK_LABEL_KEY = "istio-mesh/stack";

const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** `<project>.<stack>`, or a digest of it where that is no valid label value (> 63 chars, odd ends). */
export function stackLabelValue(project: string, stack: string): string {
  const id = `${project}.${stack}`;
  if (id.length <= 63 && LABEL_VALUE.test(id)) return id;
  return `stack-${createHash("sha256").update(id).digest("hex").slice(0, 32)}`;
}

/** Who a cluster belongs to: the stack's name label and the state's own id (RandomId hex). */
export interface ClusterOwner {
  readonly stack: string;
  readonly id: string;
}

/** The spec with every node carrying `labels`; render leaves them out, so a hand-made cluster is foreign. */
function labelled(spec: KindClusterSpec, labels: Readonly<Record<string, string>>): KindClusterSpec {
  return { ...spec, nodes: spec.nodes.map((node) => ({ ...node, labels: { ...node.labels, ...labels } })) };
}

export interface KindCommands {
  /** Creates the cluster, or reuses it if this state made it, then prints its kubeconfig (the only stdout). */
  readonly create: string;
  /** Deletes the cluster if this state made it. */
  readonly delete: string;
  /** Fed to `create` on stdin: the kind config, nodes labelled with both owner labels. */
  readonly stdin: string;
  /**
   * What replaces the cluster when it changes: the kind config without the state's id (a changed
   * stdin alone only reruns `create`). It is the stdin older code fed, so state written before the
   * id upgrades by rerunning `create` (which labels the nodes with the id) instead of replacing.
   */
  readonly trigger: string;
  /** What the steps read: the cluster's name and the owner labels as `key=value` selectors. */
  readonly environment: {
    readonly KIND_CLUSTER_NAME: string;
    readonly KIND_CLUSTER_OWNER: string;
    readonly KIND_CLUSTER_STACK: string;
  };
}

/** kind-cluster.sh defines the steps; each command is the whole script plus the one call it makes. */
export const KIND_CLUSTER_SCRIPT = readFileSync(join(__dirname, "kind-cluster.sh"), "utf8");
const CREATE_STEP = `${KIND_CLUSTER_SCRIPT}\nkind_cluster_create\n`;
const DELETE_STEP = `${KIND_CLUSTER_SCRIPT}\nkind_cluster_delete\n`;

/**
 * The parts that do not depend on the state's id (known on a fresh stack's first preview, when the
 * id is not): both steps and the replacement trigger.
 */
export function kindSteps(spec: KindClusterSpec, stack: string): Pick<KindCommands, "create" | "delete" | "trigger"> {
  return {
    create: CREATE_STEP,
    delete: DELETE_STEP,
    trigger: JSON.stringify(labelled(spec, { [STACK_LABEL_KEY]: stack }), null, 2),
  };
}

/** Shell for @pulumi/command's `/bin/sh -c`; values go through the environment, never into the script. */
export function kindCommands(spec: KindClusterSpec, owner: ClusterOwner): KindCommands {
  return {
    ...kindSteps(spec, owner.stack),
    stdin: JSON.stringify(labelled(spec, { [STACK_LABEL_KEY]: owner.stack, [OWNER_LABEL_KEY]: owner.id }), null, 2),
    environment: {
      KIND_CLUSTER_NAME: spec.name,
      KIND_CLUSTER_OWNER: `${OWNER_LABEL_KEY}=${owner.id}`,
      KIND_CLUSTER_STACK: `${STACK_LABEL_KEY}=${owner.stack}`,
    },
  };
}
