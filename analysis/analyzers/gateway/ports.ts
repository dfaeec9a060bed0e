/**
 * Mirrors Istio 1.30.3 pkg/config/analysis/analyzers/gateway/gateway.go (IngressGatewayPortAnalyzer):
 * a Gateway's selector matches running gateway pods (else IST0101 "selector"), and every server port is
 * a port (or target port) of a Service that selects those pods (IST0162). With a stack, the gateway
 * pods and Service are the ones the gateway chart renders from the program's values.
 */
import { list, record, text } from "../../../policies/lib/kube";
import { matchesLabels, selectorString } from "../../labels";
import { IST } from "../../messages";
import { type Analyzer, type Finding, finding } from "../../model";

const NAME = "gateway.IngressGatewayPortAnalyzer";

export const gatewayPorts: Analyzer = {
  name: NAME,
  description: "Checks a gateway's ports against the gateway's Kubernetes service ports",
  mirrors: "istio pkg/config/analysis/analyzers/gateway/gateway.go",
  inputs: ["Gateway", "Pod", "Service"],
  codes: ["IST0101", "IST0162"],
  analyze(ctx) {
    const out: Finding[] = [];
    for (const gw of ctx.all("Gateway")) {
      const spec = record(gw.body.spec);
      const selector = record(spec.selector) as Record<string, string>;
      const pods = ctx.runningWorkloads().filter((p) => matchesLabels(selector, p.labels));
      if (pods.length === 0) {
        out.push(finding(NAME, gw, IST.ReferencedResourceNotFound, ["selector", selectorString(selector)]));
        continue;
      }
      const reachable = new Set<number>();
      for (const pod of pods) {
        for (const svc of ctx.all("Service")) {
          if (svc.namespace !== pod.namespace) continue;
          const svcSpec = record(svc.body.spec);
          if (!matchesLabels(record(svcSpec.selector) as Record<string, string>, pod.labels)) continue;
          for (const p of list(svcSpec.ports)) {
            const port = record(p);
            if ((text(port.protocol) ?? "TCP") !== "TCP") continue;
            reachable.add(Number(port.port));
            // IntOrString.IntValue(): a named target port counts as 0, so only the port itself maps.
            if (typeof port.targetPort === "number" && port.targetPort !== 0) reachable.add(port.targetPort);
          }
        }
      }
      for (const s of list(spec.servers)) {
        const number = record(record(s).port).number;
        if (typeof number !== "number" || reachable.has(number)) continue;
        out.push(finding(NAME, gw, IST.GatewayPortNotDefinedOnService, [number, selectorString(selector)]));
      }
    }
    return out;
  },
};
