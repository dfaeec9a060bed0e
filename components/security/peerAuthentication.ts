import type { IPeerAuthentication } from "@kubernetes-models/istio/security.istio.io/v1/PeerAuthentication";
import type { MeshConfig } from "../../config/types";
import { meshDefaultNamespaces } from "../meshScope";
import { type NamedObject, objectMeta } from "../meta";

export type PeerAuthenticationSpec = IPeerAuthentication & NamedObject;

/**
 * Mesh-wide STRICT: a PeerAuthentication in the root namespace without a selector is the policy every
 * namespace inherits, so a namespace injected later starts STRICT rather than at Istio's PERMISSIVE
 * default. Named like the mesh-wide Telemetry (`mesh-default`); istiod reads no name. On the cluster's
 * Istio, one per stack namespace instead (meshDefaultNamespaces), the backend's aside: its own `default`
 * states its mode, and a second selector-less policy in one namespace would conflict.
 */
export const MESH_PEER_AUTHENTICATION = "mesh-default";

export function meshPeerAuthentications(cfg: MeshConfig): PeerAuthenticationSpec[] {
  return meshDefaultNamespaces(cfg)
    .filter((ns) => ns !== cfg.backend.namespace)
    .map((ns) => ({
      apiVersion: "security.istio.io/v1",
      kind: "PeerAuthentication",
      metadata: objectMeta(MESH_PEER_AUTHENTICATION, ns),
      spec: { mtls: { mode: "STRICT" } },
    }));
}

/**
 * The backend namespace's mode (lab Step 2-3): `mtlsMode`, STRICT by default (the same as the mesh's,
 * stated so the namespace keeps it whatever the mesh policy becomes) or PERMISSIVE while it migrates.
 * STRICT refuses plaintext, so a pod without a sidecar gets no answer.
 */
export function peerAuthentication(cfg: MeshConfig): PeerAuthenticationSpec {
  return {
    apiVersion: "security.istio.io/v1",
    kind: "PeerAuthentication",
    metadata: objectMeta("default", cfg.backend.namespace),
    spec: { mtls: { mode: cfg.security.mtlsMode } },
  };
}
