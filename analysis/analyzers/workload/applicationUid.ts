/**
 * Mirrors Istio 1.30.3 pkg/config/analysis/analyzers/deployment/pod.go (ApplicationUIDAnalyzer): no
 * application container (nor the pod) runs as UID 1337, the sidecar's, whose traffic iptables lets
 * bypass the proxy (IST0144). Control-plane objects (an `istio` label) are skipped, as there.
 */
import { record, text } from "../../../policies/lib/kube";
import { IST } from "../../messages";
import { type Analyzer, containersOf, type Finding, finding } from "../../model";

const NAME = "applicationUID.Analyzer";
const PROXY_UID = 1337;
const EXEMPT = new Set(["istio-proxy", "istio-operator"]);

export const applicationUid: Analyzer = {
  name: NAME,
  description: "Checks invalid application UID",
  mirrors: "istio pkg/config/analysis/analyzers/deployment/pod.go",
  inputs: ["Pod", "Deployment"],
  codes: ["IST0144"],
  analyze(ctx) {
    const out: Finding[] = [];
    for (const w of ctx.allWorkloads()) {
      if (w.owner.kind !== "Pod" && w.owner.kind !== "Deployment") continue;
      if (w.owner.labels.istio !== undefined || w.owner.labels.release === "istio") continue;
      const uids = [
        record(w.podSpec.securityContext).runAsUser,
        ...containersOf(w.podSpec)
          .filter((c) => !EXEMPT.has(text(c.name) ?? ""))
          .map((c) => record(c.securityContext).runAsUser),
      ];
      for (const uid of uids) if (uid === PROXY_UID) out.push(finding(NAME, w.owner, IST.InvalidApplicationUID));
    }
    return out;
  },
};
