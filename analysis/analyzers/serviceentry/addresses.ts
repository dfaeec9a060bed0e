/**
 * Mirrors Istio 1.30.3 pkg/config/analysis/analyzers/serviceentry/protocoladdresses.go: a ServiceEntry
 * port serving TCP (or no protocol) needs `addresses`, unless the mesh auto-allocates them
 * (ISTIO_META_DNS_CAPTURE with ISTIO_META_DNS_AUTO_ALLOCATE or PILOT_ENABLE_IP_AUTOALLOCATE), IST0134.
 */
import { list, record, text } from "../../../policies/lib/kube";
import { IST } from "../../messages";
import { type Analyzer, type Finding, finding } from "../../model";

const NAME = "serviceentry.Analyzer";

export const serviceEntryAddresses: Analyzer = {
  name: NAME,
  description: "Checks the validity of ServiceEntry",
  mirrors: "istio pkg/config/analysis/analyzers/serviceentry/protocoladdresses.go",
  inputs: ["ServiceEntry", "MeshConfig"],
  codes: ["IST0134"],
  analyze(ctx) {
    if (ctx.mesh.addressesAutoAllocated) return [];
    const out: Finding[] = [];
    for (const se of ctx.all("ServiceEntry")) {
      const spec = record(se.body.spec);
      if (spec.addresses !== undefined || list(record(se.body.status).addresses).length > 0) continue;
      for (const p of list(spec.ports)) {
        const protocol = text(record(p).protocol) ?? "";
        if (protocol === "" || protocol.toUpperCase() === "TCP")
          out.push(finding(NAME, se, IST.ServiceEntryAddressesRequired));
      }
    }
    return out;
  },
};
