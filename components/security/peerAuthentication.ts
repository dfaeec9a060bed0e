import type { IPeerAuthentication } from "@kubernetes-models/istio/security.istio.io/v1/PeerAuthentication";
import type { MeshConfig } from "../../config/types";
import { type NamedObject, objectMeta } from "../meta";

export type PeerAuthenticationSpec = IPeerAuthentication & NamedObject;

/** Namespace-wide mTLS (lab Step 2-3). STRICT refuses plaintext, so a pod without a sidecar gets no answer. */
export function peerAuthentication(cfg: MeshConfig): PeerAuthenticationSpec {
  return {
    apiVersion: "security.istio.io/v1",
    kind: "PeerAuthentication",
    metadata: objectMeta("default", cfg.backend.namespace),
    spec: { mtls: { mode: cfg.security.mtlsMode } },
  };
}
