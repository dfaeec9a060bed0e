/**
 * Our own (MESH0002, Warning): a route that injects a fault and also sets retries or a timeout. Istio
 * enables neither on a route with a client-side fault (VirtualService reference, HTTPRoute.fault;
 * istio/istio#13705), so a stack that expects its retries to absorb the experiment's failures is
 * wrong, and istioctl says nothing.
 */
import { list, record, text } from "../../../policies/lib/kube";
import { MESH } from "../../messages";
import { type Analyzer, type Finding, finding } from "../../model";
import { ruleName } from "../virtualservice/routes";

const NAME = "stack.FaultRetriesAnalyzer";

export const faultRetries: Analyzer = {
  name: NAME,
  description: "Checks that no route both injects a fault and counts on retries or a timeout",
  mirrors: "our own: Istio silently drops retries and timeout on a faulted route",
  inputs: ["VirtualService"],
  codes: ["MESH0002"],
  analyze(ctx) {
    const out: Finding[] = [];
    for (const vs of ctx.all("VirtualService")) {
      list(record(vs.body.spec).http).forEach((r, i) => {
        const route = record(r);
        if (route.fault === undefined) return;
        const retries = record(route.retries);
        const attempts = typeof retries.attempts === "number" ? retries.attempts : 0;
        const settings = [
          ...(attempts > 0
            ? [`retries (${attempts} attempts on ${text(retries.retryOn) ?? "Istio's default conditions"})`]
            : []),
          ...(text(route.timeout) ? [`timeout ${text(route.timeout)}`] : []),
        ];
        if (settings.length > 0)
          out.push(finding(NAME, vs, MESH.FaultDisablesRetries, [ruleName(route, i), settings.join(" and ")]));
      });
    }
    return out;
  },
};
