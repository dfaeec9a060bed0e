import type { CellRefusal, CellRule } from "../../config/cell";

/**
 * What the ambient data plane cannot do the way the sidecar cells do it, refused by name. The rest
 * of the lab renders in ambient (docs/cells.md says how).
 */
export const ambientRules: CellRule = (cfg) => {
  if (cfg.cell.dataplane !== "ambient") return [];
  const refusals: CellRefusal[] = [];
  if (cfg.egress.gateway) {
    refusals.push({
      key: "egressGateway",
      value: true,
      reason:
        "the egress gateway is reached through a VirtualService on the `mesh` gateway that each caller's sidecar " +
        "applies; ztunnel applies no VirtualService, and Istio's ambient egress is an egress waypoint (a " +
        "ServiceEntry labelled istio.io/use-waypoint), which this program does not build. Set egressGateway: false",
    });
  }
  if (cfg.egress.outboundTrafficPolicy === "REGISTRY_ONLY") {
    refusals.push({
      key: "outboundTrafficPolicy",
      value: "REGISTRY_ONLY",
      reason:
        "ztunnel does not enforce meshConfig.outboundTrafficPolicy, so unknown hosts stay reachable " +
        "(istio/istio#54281). Use ALLOW_ANY",
    });
  }
  return refusals;
};
