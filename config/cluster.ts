import {
  DEFAULT_CLUSTER_NAME,
  DEFAULT_HOST_HTTP_PORT,
  DEFAULT_HOST_HTTPS_PORT,
  DEFAULT_ISTIO_VERSION,
  DEFAULT_KIND_NODE_IMAGE,
  INGRESS_HTTP_NODE_PORT,
  INGRESS_HTTPS_NODE_PORT,
  ISTIO_CHART_REPO,
  ISTIO_IMAGE_HUB,
} from "./defaults";
import { configKey, isPinnedImage, optional, type RawConfig, type Readers } from "./readers";
import { keyReference, keysOnlyWith, PINNED_IMAGE } from "./reference";
import type { MeshConfig, MeshProfile } from "./types";

/** Cluster, ingress address and Istio release: where the mesh runs. */

const KIND_ONLY_KEYS = keysOnlyWith("kind");
const EXISTING_ONLY_KEYS = keysOnlyWith("existing");
/** The message text for a bad value of `name`, as docs/configuration.md states it. */
const allowed = (name: string) => keyReference(name).allowed;

const DNS_LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const HOST = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;
const EXACT_VERSION = /^\d+\.\d+\.\d+$/;
const ANY = /^.+$/;

export function parseClusterArea(
  raw: RawConfig,
  read: Readers,
  profile: MeshProfile["name"],
): Pick<MeshConfig, "cluster" | "ingress" | "istio"> | undefined {
  const cluster = parseCluster(raw, read);
  // kind listens on 127.0.0.1 only, so another host is meaningful for existing clusters alone.
  const ingressHost =
    raw.clusterMode === "existing"
      ? optional(raw, "ingressHost", (v, k) => read.string(k, v, HOST, allowed("ingressHost")))
      : undefined;
  const istioVersion = optional(raw, "istioVersion", (v, k) =>
    read.string(k, v, EXACT_VERSION, allowed("istioVersion")),
  );
  if (!cluster) return undefined;
  // Production's address comes from the load balancer unless ingressHost overrides it.
  const host = ingressHost ?? (profile === "production" ? undefined : "localhost");
  return {
    cluster,
    ingress: {
      ...(host !== undefined && { host }),
      httpNodePort: INGRESS_HTTP_NODE_PORT,
      httpsNodePort: INGRESS_HTTPS_NODE_PORT,
    },
    istio: { version: istioVersion ?? DEFAULT_ISTIO_VERSION, chartRepo: ISTIO_CHART_REPO, hub: ISTIO_IMAGE_HUB },
  };
}

function parseCluster(raw: RawConfig, read: Readers): MeshConfig["cluster"] | undefined {
  const mode = raw.clusterMode ?? "kind";
  const misplaced = (names: readonly string[], only: string) => {
    for (const name of names) {
      if (raw[name] !== undefined)
        read.fail(configKey(name), raw[name], `only used with clusterMode ${only}; remove it`);
    }
  };
  if (mode === "existing") {
    misplaced(KIND_ONLY_KEYS, "kind");
    const kubeconfig = optional(raw, "kubeconfig", (v, k) => read.string(k, v, ANY, allowed("kubeconfig")));
    const context = optional(raw, "kubeContext", (v, k) => read.string(k, v, ANY, allowed("kubeContext")));
    const unsupported = optional(raw, "allowUnsupportedKubernetes", (v, k) => read.bool(k, v));
    return {
      mode,
      ...(kubeconfig && { kubeconfig }),
      ...(context && { context }),
      allowUnsupportedKubernetes: unsupported ?? false,
    };
  }
  if (mode !== "kind") return read.fail(configKey("clusterMode"), mode, allowed("clusterMode"));

  misplaced(EXISTING_ONLY_KEYS, "existing");
  const name = optional(raw, "clusterName", (v, k) => read.string(k, v, DNS_LABEL, allowed("clusterName")));
  const nodeImage = optional(raw, "kindNodeImage", (v, k) => pinnedImage(read, k, v));
  const http = optional(raw, "hostHttpPort", (v, k) => read.int(k, v, 1, 65535)) ?? DEFAULT_HOST_HTTP_PORT;
  const https = optional(raw, "hostHttpsPort", (v, k) => read.int(k, v, 1, 65535)) ?? DEFAULT_HOST_HTTPS_PORT;
  if (http === https) read.fail(configKey("hostHttpsPort"), https, `a port other than hostHttpPort (${http})`);
  return {
    mode,
    name: name ?? DEFAULT_CLUSTER_NAME,
    nodeImage: nodeImage ?? DEFAULT_KIND_NODE_IMAGE,
    hostHttpPort: http,
    hostHttpsPort: https,
  };
}

/** Shared with every key that names an image. */
export function pinnedImage(read: Readers, k: string, value: unknown): string | undefined {
  if (typeof value === "string" && isPinnedImage(value)) return value;
  return read.fail(k, value, PINNED_IMAGE);
}
