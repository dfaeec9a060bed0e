/**
 * Mirrors Istio 1.30.3 pkg/config/analysis/analyzers/virtualservice/gateways.go (GatewayAnalyzer):
 * every Gateway a VirtualService names exists (IST0101, Kiali KIA1102), and one of its hosts is a host
 * of that Gateway's servers (IST0132; reported also when the Gateway is missing, as istioctl does).
 */
import { list, record } from "../../../policies/lib/kube";
import { gatewayHostsFor, hostsOverlap, shortOrFullName } from "../../hosts";
import { IST } from "../../messages";
import { type Analyzer, type Finding, finding } from "../../model";
import { stringList } from "./routes";

const NAME = "virtualservice.GatewayAnalyzer";
export const MESH_GATEWAY = "mesh";

export const vsGateways: Analyzer = {
  name: NAME,
  description: "Checks the gateways associated with each virtual service",
  mirrors:
    "istio pkg/config/analysis/analyzers/virtualservice/gateways.go; kiali virtualservices/no_gateway_checker.go",
  inputs: ["Gateway", "VirtualService"],
  codes: ["IST0101", "IST0132"],
  analyze(ctx) {
    const out: Finding[] = [];
    for (const vs of ctx.all("VirtualService")) {
      const spec = record(vs.body.spec);
      const ns = vs.namespace ?? "default";
      const vsHosts = stringList(spec.hosts);
      for (const ref of stringList(spec.gateways)) {
        if (ref === MESH_GATEWAY) continue;
        const gw = shortOrFullName(ns, ref);
        const gateway = ctx.find("Gateway", gw.namespace, gw.name);
        if (!gateway) out.push(finding(NAME, vs, IST.ReferencedResourceNotFound, ["gateway", ref], ["KIA1102"]));
        const serverHosts = gateway
          ? list(record(gateway.body.spec).servers).flatMap((s) => stringList(record(s).hosts))
          : [];
        const visible = gatewayHostsFor(serverHosts, gw.namespace, ns);
        if (!visible.some((gh) => vsHosts.some((h) => hostsOverlap(gh, h)))) {
          out.push(
            finding(NAME, vs, IST.VirtualServiceHostNotFoundInGateway, [
              vsHosts,
              `${ns}/${vs.name}`,
              `${gw.namespace}/${gw.name}`,
            ]),
          );
        }
      }
    }
    return out;
  },
};
