import type { CellRefusal, CellRule } from "../../config/cell";

/**
 * What the ambient data plane cannot do the way the sidecar cells do it, refused by name. The rest
 * of the lab renders in ambient (docs/cells.md says how), the egress gateway as an egress waypoint
 * (components/ambient/egressWaypoint.ts).
 */
export const ambientRules: CellRule = (cfg) => {
  if (cfg.cell.dataplane !== "ambient") return [];
  const refusals: CellRefusal[] = [];
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
