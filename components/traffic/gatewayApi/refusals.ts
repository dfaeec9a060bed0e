import type { CellRefusal, CellRule } from "../../../config/cell";
import { inexpressibleRetryConditions } from "./resilience";

/**
 * What `trafficApi: gateway-api` refuses, rather than dropping silently.
 *
 * Faults: HTTPRoute has no fault filter, and istiod 1.30.3 rejects any filter type it does not know
 * ("unsupported filter type", pilot/pkg/config/kube/gateway/conversion.go), ExtensionRef included; a
 * VirtualService beside an HTTPRoute for the same host is not merged for sidecars. Istio's fault
 * injection task documents the Istio API only.
 *
 * (A per-try timeout above the whole, which HTTPRoute's CEL rule also rejects, is refused in every cell by
 * config/traffic.ts.)
 */
export const gatewayApiRefusals: CellRule = (cfg) => {
  if (cfg.cell.trafficApi !== "gateway-api") return [];
  const refusals: CellRefusal[] = Object.entries(cfg.faults).map(([svc, fault]) => ({
    key: `faults.${svc}`,
    value: fault,
    reason:
      "Gateway API HTTPRoute has no fault injection filter and istiod 1.30.3 translates none; remove the fault (`pulumi config rm istio-mesh:faults`) or use trafficApi=istio",
  }));
  const retries = cfg.userServiceRetries;
  const inexpressible = inexpressibleRetryConditions(retries.retryOn);
  if (inexpressible.length > 0) {
    refusals.push({
      key: "userServiceRetries.retryOn",
      value: retries.retryOn,
      reason: `HTTPRoute retry takes status codes only (5xx, gateway-error, retriable-4xx map to codes; connect-failure, refused-stream, unavailable and cancelled are always retried), not ${inexpressible.join(", ")}`,
    });
  }
  return refusals;
};
