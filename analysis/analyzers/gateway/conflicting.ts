/**
 * Mirrors Istio 1.30.3 pkg/config/analysis/analyzers/gateway/conflictinggateway.go: two Gateways whose
 * selectors pick the same pods and that serve the same port must not claim the same host (IST0145);
 * Kiali's KIA0301 (gateways/multi_match_checker.go) flags the same.
 */
import { list, record, text } from "../../../policies/lib/kube";
import { hostsOverlap } from "../../hosts";
import { matchesLabels, selectorString } from "../../labels";
import { IST } from "../../messages";
import { type Analyzer, type Finding, finding, type Resource } from "../../model";
import { stringList } from "../virtualservice/routes";

const NAME = "gateway.ConflictingGatewayAnalyzer";

const selectorOf = (gw: Resource) => record(record(gw.body.spec).selector) as Record<string, string>;
const bareHost = (h: string) => h.slice(h.indexOf("/") + 1);

export const conflictingGateways: Analyzer = {
  name: NAME,
  description: "Checks a gateway's selector, port number and hosts",
  mirrors: "istio pkg/config/analysis/analyzers/gateway/conflictinggateway.go; kiali gateways/multi_match_checker.go",
  inputs: ["Gateway", "Pod"],
  codes: ["IST0145"],
  analyze(ctx) {
    const gateways = ctx.all("Gateway");
    const samePods = (a: Resource, b: Resource) => {
      const sa = selectorString(selectorOf(a));
      const sb = selectorString(selectorOf(b));
      if (sa === sb) return true;
      if (!sa.includes(sb) && !sb.includes(sa)) return false;
      return ctx
        .runningWorkloads()
        .some((p) => matchesLabels(selectorOf(a), p.labels) && matchesLabels(selectorOf(b), p.labels));
    };
    const out: Finding[] = [];
    for (const gw of gateways) {
      for (const s of list(record(gw.body.spec).servers)) {
        const server = record(s);
        const port = String(record(server.port).number);
        const bind = text(server.bind) ?? "";
        const hosts = stringList(server.hosts);
        const conflicts = gateways.filter((other) => {
          if (other === gw || !samePods(gw, other)) return false;
          return list(record(other.body.spec).servers).some((o) => {
            const os = record(o);
            if (String(record(os.port).number) !== port || (text(os.bind) ?? "") !== bind) return false;
            return stringList(os.hosts).some((oh) => hosts.some((h) => hostsOverlap(bareHost(h), bareHost(oh))));
          });
        });
        if (conflicts.length === 0) continue;
        const names = conflicts
          .map((c) => `${c.namespace}/${c.name}`)
          .sort()
          .join(",");
        out.push(
          finding(
            NAME,
            gw,
            IST.ConflictingGateways,
            [names, selectorString(selectorOf(gw)), port, hosts.join(",")],
            ["KIA0301"],
          ),
        );
      }
    }
    return out;
  },
};
