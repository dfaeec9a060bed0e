/**
 * Mirrors Kiali business/checkers/destinationrules/multi_match_checker.go (KIA0201): two
 * DestinationRules for one host where one covers the whole host (no subsets) or both define the same
 * subset leave which one applies to chance (Istio merges only the first one it reads).
 */
import { list, record, text } from "../../../policies/lib/kube";
import { KIA } from "../../messages";
import { type Analyzer, type Finding, finding, type Resource } from "../../model";
import { toFqdn } from "../../registry";

const NAME = "destinationrule.MultiMatchChecker";

export const multiMatch: Analyzer = {
  name: NAME,
  description: "Checks that no two DestinationRules claim the same host and subset",
  mirrors: "kiali business/checkers/destinationrules/multi_match_checker.go",
  inputs: ["DestinationRule"],
  codes: ["KIA0201"],
  analyze(ctx) {
    const byHost = new Map<string, Resource[]>();
    for (const dr of ctx.all("DestinationRule")) {
      const host = toFqdn(dr.namespace ?? "default", text(record(dr.body.spec).host) ?? "");
      byHost.set(host, [...(byHost.get(host) ?? []), dr]);
    }
    const out: Finding[] = [];
    for (const [host, rules] of byHost) {
      if (rules.length < 2) continue;
      const subsets = (dr: Resource) => list(record(dr.body.spec).subsets).map((s) => text(record(s).name) ?? "");
      for (const dr of rules) {
        const mine = subsets(dr);
        const clashes = rules.filter((other) => {
          if (other === dr) return false;
          const theirs = subsets(other);
          return mine.length === 0 || theirs.length === 0 || mine.some((s) => theirs.includes(s));
        });
        if (clashes.length === 0) continue;
        const shared = mine.length === 0 ? host : `${host} (subsets ${mine.join(", ")})`;
        out.push(
          finding(NAME, dr, KIA.DestinationRulesMultiMatch, [
            shared,
            clashes.map((c) => `${c.namespace}/${c.name}`).join(", "),
          ]),
        );
      }
    }
    return out;
  },
};
