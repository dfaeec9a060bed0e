/**
 * Mirrors the namespace half of Istio 1.30.3 pkg/config/analysis/analyzers/injection/injection.go:
 * a namespace (other than istio-system) says whether it wants injection (IST0102, Info), and carries
 * one injection label, not several (IST0123). Ambient namespaces are skipped, as there.
 */
import { IST } from "../../messages";
import { type Analyzer, type Finding, finding } from "../../model";

const NAME = "injection.Analyzer";
const REVISION = "istio.io/rev";
const DATAPLANE_MODE = "istio.io/dataplane-mode";

export const namespaceInjection: Analyzer = {
  name: NAME,
  description: "Checks conditions related to Istio sidecar injection",
  mirrors: "istio pkg/config/analysis/analyzers/injection/injection.go",
  inputs: ["Namespace", "Pod", "ConfigMap"],
  codes: ["IST0102", "IST0123"],
  analyze(ctx) {
    const out: Finding[] = [];
    for (const ns of ctx.all("Namespace")) {
      if (ns.name === "istio-system") continue;
      const injection = ns.labels["istio-injection"];
      const labels = injection !== undefined ? [`istio-injection=${injection}`] : [];
      for (const l of [REVISION, DATAPLANE_MODE]) {
        if (ns.labels[l] !== undefined && (injection === undefined || injection === "enabled"))
          labels.push(`${l}=${ns.labels[l]}`);
      }
      if (labels.length > 1) out.push(finding(NAME, ns, IST.NamespaceMultipleInjectionLabels, [labels]));
      if (ns.labels[DATAPLANE_MODE] === "ambient") continue;
      if (!injection && ns.labels[REVISION] === undefined) {
        out.push(finding(NAME, ns, IST.NamespaceNotInjected, [ns.name, ns.name]));
      }
    }
    return out;
  },
};
