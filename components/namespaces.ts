import type { Namespace } from "kubernetes-types/core/v1";
import type { MeshConfig } from "../config/types";
import { injectionLabels } from "./controlPlane/revisions";
import { EGRESS_NAMESPACE, INGRESS_NAMESPACE, ISTIO_NAMESPACE, type NamedObject, objectMeta } from "./meta";

export type NamespaceSpec = Namespace & NamedObject;

function namespace(name: string, labels: Record<string, string> = {}): NamespaceSpec {
  return { apiVersion: "v1", kind: "Namespace", metadata: objectMeta(name, undefined, labels) };
}

/** Marks a production stack, for the policies that hold production to more (policies/availability.ts). */
export const PROFILE_LABEL = "istio-mesh/profile";

/** The control plane's namespace; in production it names the profile. */
export const istioNamespace = (cfg: MeshConfig): NamespaceSpec =>
  namespace(ISTIO_NAMESPACE, cfg.profile.name === "production" ? { [PROFILE_LABEL]: "production" } : {});
export const ingressNamespace = (): NamespaceSpec => namespace(INGRESS_NAMESPACE);
export const egressNamespace = (): NamespaceSpec => namespace(EGRESS_NAMESPACE);

/** Sidecar injection is on for every pod the backend namespace gets (with revisions: through `prod-stable`). */
export const backendNamespace = (cfg: MeshConfig): NamespaceSpec =>
  namespace(cfg.backend.namespace, injectionLabels(cfg));
