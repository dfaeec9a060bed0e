import type { KindClusterConfig, MeshConfig } from "../../config/types";

/** kind's cluster config (kind.x-k8s.io/v1alpha4); kind reads it as YAML, and JSON is YAML. */
export interface KindClusterSpec {
  readonly kind: "Cluster";
  readonly apiVersion: "kind.x-k8s.io/v1alpha4";
  readonly name: string;
  readonly nodes: readonly {
    readonly role: "control-plane";
    readonly image: string;
    readonly extraPortMappings: readonly {
      readonly containerPort: number;
      readonly hostPort: number;
      readonly listenAddress: string;
      readonly protocol: "TCP";
    }[];
  }[];
}

/** One control-plane node whose host ports reach the ingress gateway's NodePorts. */
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

export interface KindCommands {
  /** Creates the cluster unless it exists, then prints its kubeconfig (the only stdout). */
  readonly create: string;
  readonly delete: string;
  /** Fed to `create` on stdin. */
  readonly stdin: string;
}

/** Shell for @pulumi/command; the name is a validated DNS label, safe to interpolate. */
export function kindCommands(spec: KindClusterSpec): KindCommands {
  const name = spec.name;
  return {
    create: [
      "set -eu",
      `if ! kind get clusters 2>/dev/null | grep -qx '${name}'; then`,
      `  kind create cluster --name '${name}' --config=- --wait 180s >&2`,
      "fi",
      `kind get kubeconfig --name '${name}'`,
    ].join("\n"),
    delete: `kind delete cluster --name '${name}'`,
    stdin: JSON.stringify(spec, null, 2),
  };
}
