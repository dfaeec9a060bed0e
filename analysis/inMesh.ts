/** Istio 1.30.3 analyzers/util/in_mesh.go: is a pod in the mesh (injected, or going to be)? */

import { text } from "../policies/lib/kube";
import type { AnalysisContextView, Workload } from "./model";
import { containersOf } from "./model";

export const INJECT_LABEL = "sidecar.istio.io/inject";
export const NAMESPACE_INJECTION = "istio-injection";

/** An istio-proxy container, else the pod's inject label/annotation, else its namespace's istio-injection label. */
export function inMesh(ctx: AnalysisContextView, w: Workload): boolean {
  if (containersOf(w.podSpec).some((c) => text(c.name) === "istio-proxy" && text(c.image))) return true;
  const label = w.labels[INJECT_LABEL] ?? w.annotations[INJECT_LABEL];
  if (label !== undefined) return label === "true";
  const ns = ctx.find("Namespace", undefined, w.namespace);
  return ns?.labels[NAMESPACE_INJECTION] === "enabled";
}
