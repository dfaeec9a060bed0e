/**
 * Mirrors Kiali business/checkers/authorization/mtls_enabled_checker.go (KIA0105): principals,
 * namespaces and the `source.principal`/`source.namespace`/`connection.sni` conditions are known only
 * from a peer's mTLS certificate, so a policy using them on workloads where mTLS is off never matches.
 * mTLS is off where the PeerAuthentication in force is DISABLE, or, without auto mTLS, not STRICT.
 */
import { list, record, text } from "../../../policies/lib/kube";
import { matchesLabels } from "../../labels";
import { KIA } from "../../messages";
import { type Analyzer, type Finding, finding } from "../../model";
import { effectiveMode } from "../../peerAuthentication";

const NAME = "authorizationpolicy.MtlsEnabledChecker";
const MTLS_KEYS = ["source.namespace", "source.principal", "connection.sni"];
const MTLS_FIELDS = ["principals", "notPrincipals", "namespaces", "notNamespaces"];

export const mtlsRequired: Analyzer = {
  name: NAME,
  description: "Checks that fields which need mTLS are used only where mTLS is on",
  mirrors: "kiali business/checkers/authorization/mtls_enabled_checker.go",
  inputs: ["AuthorizationPolicy", "PeerAuthentication", "Pod"],
  codes: ["KIA0105"],
  analyze(ctx) {
    const out: Finding[] = [];
    for (const ap of ctx.all("AuthorizationPolicy")) {
      const spec = record(ap.body.spec);
      const paths = list(spec.rules).flatMap((r, i) => {
        const rule = record(r);
        const fromPaths = list(rule.from).flatMap((f, j) => {
          const source = record(record(f).source);
          return MTLS_FIELDS.filter((k) => list(source[k]).length > 0).map(
            (k) => `spec/rules[${i}]/from[${j}]/source/${k}`,
          );
        });
        const whenPaths = list(rule.when).flatMap((w, j) =>
          MTLS_KEYS.includes(text(record(w).key) ?? "") ? [`spec/rules[${i}]/when[${j}]`] : [],
        );
        return [...fromPaths, ...whenPaths];
      });
      if (paths.length === 0) continue;
      const ns = ap.namespace ?? "default";
      const selector = record(record(spec.selector).matchLabels) as Record<string, string>;
      const pods = ctx.runningWorkloads().filter((w) => w.namespace === ns && matchesLabels(selector, w.labels));
      const labelsToCheck = pods.length > 0 ? pods.map((p) => p.labels) : [selector];
      const off = labelsToCheck.some((labels) => {
        const mode = effectiveMode(ctx, ns, labels);
        return mode === "DISABLE" || (!ctx.mesh.autoMtls && mode !== "STRICT");
      });
      if (off) out.push(finding(NAME, ap, KIA.MtlsNeedsToBeEnabled, [paths.join(", ")]));
    }
    return out;
  },
};
