/**
 * Mirrors Istio 1.30.3 pkg/config/analysis/analyzers/virtualservice/jwtclaimroute.go: a VirtualService
 * that routes on a JWT claim (`@request.auth.claims.*` header match) needs a RequestAuthentication on
 * the pods of each Gateway it is bound to, else the claim is never there (IST0149).
 */
import { list, record } from "../../../policies/lib/kube";
import { shortOrFullName } from "../../hosts";
import { matchesLabels } from "../../labels";
import { IST } from "../../messages";
import { type Analyzer, type Finding, finding } from "../../model";
import { MESH_GATEWAY } from "./gateways";
import { stringList } from "./routes";

const NAME = "virtualservice.JWTClaimRouteAnalyzer";
/** pkg/jwt ToRoutingClaim: the header-match prefix that names a claim. */
const CLAIM_PREFIX = "@request.auth.claims";

export const jwtClaimRoute: Analyzer = {
  name: NAME,
  description: "Checks the VirtualService using JWT claim based routing has corresponding RequestAuthentication",
  mirrors: "istio pkg/config/analysis/analyzers/virtualservice/jwtclaimroute.go",
  inputs: ["VirtualService", "RequestAuthentication", "Gateway", "Pod"],
  codes: ["IST0149"],
  analyze(ctx) {
    const selectors = (ns: string) =>
      ctx
        .all("RequestAuthentication")
        .filter((ra) => ra.namespace === ns)
        .map((ra) => record(record(record(ra.body.spec).selector).matchLabels) as Record<string, string>);
    const out: Finding[] = [];
    for (const vs of ctx.all("VirtualService")) {
      const spec = record(vs.body.spec);
      const key = claimKey(spec);
      if (!key) continue;
      for (const ref of stringList(spec.gateways)) {
        if (ref === MESH_GATEWAY) continue;
        const gw = shortOrFullName(vs.namespace ?? "default", ref);
        const gateway = ctx.find("Gateway", gw.namespace, gw.name);
        if (!gateway) continue;
        const gwSelector = record(record(gateway.body.spec).selector) as Record<string, string>;
        for (const pod of ctx.runningWorkloads()) {
          if (!matchesLabels(gwSelector, pod.labels)) continue;
          const candidates = [...selectors(ctx.mesh.rootNamespace), ...selectors(pod.namespace)];
          if (candidates.some((s) => matchesLabels(s, pod.labels))) continue;
          out.push(
            finding(NAME, vs, IST.JwtClaimBasedRoutingWithoutRequestAuthN, [
              key,
              `${gw.namespace}/${gw.name}`,
              pod.owner.name,
            ]),
          );
        }
      }
    }
    return out;
  },
};

function claimKey(spec: Record<string, unknown>): string | undefined {
  for (const route of list(spec.http)) {
    for (const m of list(record(route).match)) {
      const match = record(m);
      const keys = [...Object.keys(record(match.headers)), ...Object.keys(record(match.withoutHeaders))];
      const key = keys.find((k) => k.startsWith(CLAIM_PREFIX));
      if (key) return key;
    }
  }
  return undefined;
}
