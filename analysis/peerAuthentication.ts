/** PeerAuthentication modes the way Istio resolves them for a workload: its own, its namespace's, the mesh's. */
import { record, text } from "../policies/lib/kube";
import { matchesLabels } from "./labels";
import type { AnalysisContextView, Resource } from "./model";

export type MtlsMode = "STRICT" | "PERMISSIVE" | "DISABLE" | "UNSET";

export const modeOf = (pa: Resource): MtlsMode => {
  const mode = text(record(record(pa.body.spec).mtls).mode);
  return mode === "STRICT" || mode === "PERMISSIVE" || mode === "DISABLE" ? mode : "UNSET";
};

const hasSelector = (pa: Resource) => Object.keys(record(record(record(pa.body.spec).selector).matchLabels)).length > 0;

/** Selector-less PeerAuthentications of a namespace (the root namespace's are mesh-wide). */
export const namespacePolicies = (ctx: AnalysisContextView, namespace: string): Resource[] =>
  ctx.all("PeerAuthentication").filter((pa) => pa.namespace === namespace && !hasSelector(pa));

/** The mode in force for pods with `labels` in `namespace` (Istio's default is PERMISSIVE). */
export function effectiveMode(
  ctx: AnalysisContextView,
  namespace: string,
  labels: Readonly<Record<string, string>>,
): MtlsMode {
  const own = ctx
    .all("PeerAuthentication")
    .find(
      (pa) =>
        pa.namespace === namespace &&
        hasSelector(pa) &&
        matchesLabels(record(record(record(pa.body.spec).selector).matchLabels) as Record<string, string>, labels),
    );
  for (const candidates of [
    own ? [own] : [],
    namespacePolicies(ctx, namespace),
    namespacePolicies(ctx, ctx.mesh.rootNamespace),
  ]) {
    const mode = candidates.map(modeOf).find((m) => m !== "UNSET");
    if (mode) return mode;
  }
  return "PERMISSIVE";
}
