/**
 * Mirrors Istio 1.30.3 pkg/config/analysis/analyzers/authn/blockedcidrs.go: where RequestAuthentications
 * exist, istiod (its Deployment, `app: istiod`) should set BLOCKED_CIDRS_IN_JWKS_URIS so a jwksUri
 * cannot make it fetch from internal addresses (IST0175). Reported on the istiod Deployment, as there,
 * whether or not a rule uses jwksUri.
 */
import { list, record, text } from "../../../policies/lib/kube";
import { IST } from "../../messages";
import { type Analyzer, containersOf, type Finding, finding } from "../../model";

const NAME = "authn.BlockedCIDRsAnalyzer";
export const BLOCKED_CIDRS_ENV = "BLOCKED_CIDRS_IN_JWKS_URIS";

export const blockedCidrs: Analyzer = {
  name: NAME,
  description:
    "Checks that BLOCKED_CIDRS_IN_JWKS_URIS is configured on istiod when RequestAuthentication resources exist",
  mirrors: "istio pkg/config/analysis/analyzers/authn/blockedcidrs.go",
  inputs: ["RequestAuthentication", "Deployment"],
  codes: ["IST0175"],
  analyze(ctx) {
    const ras = ctx.all("RequestAuthentication").map((r) => `${r.namespace}/${r.name}`);
    if (ras.length === 0) return [];
    const shown = ras.length <= 5 ? ras.join(", ") : `${ras.slice(0, 5).join(", ")}, and ${ras.length - 5} more`;
    const out: Finding[] = [];
    for (const d of ctx.all("Deployment")) {
      if (d.labels.app !== "istiod") continue;
      const containers = containersOf(record(record(record(d.body.spec).template).spec));
      const set = containers.some((c) =>
        list(c.env).some((e) => text(record(e).name) === BLOCKED_CIDRS_ENV && text(record(e).value)),
      );
      if (!set) out.push(finding(NAME, d, IST.JwksUriFetchUnrestricted, [ras.length, shown]));
    }
    return out;
  },
};
