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

export const DATAPLANE_MODE = "istio.io/dataplane-mode";
/** Set by istio-cni once ztunnel proxies the pod (analyzers/util/in_mesh.go PodInAmbientMode). */
export const AMBIENT_REDIRECTION = "ambient.istio.io/redirection";

/**
 * In ambient mode: istio-cni has marked the pod, or (before it runs, as analysis of a stack sees it)
 * istio-cni will: its namespace is labelled ambient without an injection label and the pod does not
 * opt out (the enablement selector chart-render shows; in_mesh.go NamespaceInAmbientMode).
 */
export function inAmbient(ctx: AnalysisContextView, w: Workload): boolean {
  if (w.annotations[AMBIENT_REDIRECTION] === "enabled") return true;
  if (w.labels[DATAPLANE_MODE] === "none" || inMesh(ctx, w)) return false;
  const ns = ctx.find("Namespace", undefined, w.namespace);
  return (
    w.labels[DATAPLANE_MODE] === "ambient" ||
    (ns?.labels[NAMESPACE_INJECTION] === undefined && ns?.labels[DATAPLANE_MODE] === "ambient")
  );
}
