import type { IHTTPRouteRule } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRouteRule";
import { durationMillis } from "../../../config/readers";
import type { BackendServiceName, MeshConfig, RetryPolicy } from "../../../config/types";

/**
 * What an Envoy retry condition of `userServiceRetries.retryOn` becomes in HTTPRoute `retry.codes`.
 * istiod 1.30.3 (pilot/pkg/config/kube/gateway/conversion.go) always retries on connect-failure,
 * refused-stream, unavailable and cancelled when a rule has `retry`, and adds each code; no other
 * condition can be expressed, so any other one is refused (see gatewayApiRefusals).
 */
const ALWAYS_RETRIED = new Set(["connect-failure", "refused-stream", "unavailable", "cancelled"]);
const CODES_OF: Readonly<Record<string, readonly number[]>> = {
  // Every 5xx status HTTP defines (RFC 9110 and friends); Envoy's 5xx also retries resets, Istio's set does not.
  "5xx": [500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511],
  "gateway-error": [502, 503, 504],
  "retriable-4xx": [409],
};

const conditions = (retryOn: string) => retryOn.split(",").filter((c) => c !== "");

/** The conditions of `retryOn` an HTTPRoute cannot carry. */
export const inexpressibleRetryConditions = (retryOn: string) =>
  conditions(retryOn).filter((c) => !ALWAYS_RETRIED.has(c) && CODES_OF[c] === undefined);

export function retryCodes(retryOn: string): number[] {
  return [...new Set(conditions(retryOn).flatMap((c) => CODES_OF[c] ?? []))].sort((a, b) => a - b);
}

/** Gateway API durations have no fractions (`^([0-9]{1,5}(h|m|s|ms)){1,4}$`): whole seconds, else milliseconds. */
export function gatewayDuration(text: string): string {
  const ms = durationMillis(text) ?? 0;
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

export type RouteResilience = Pick<IHTTPRouteRule, "retry" | "timeouts">;

/**
 * Retries and timeouts as HTTPRoute rule fields: `timeouts.request` is the whole budget (VirtualService
 * `timeout`), `timeouts.backendRequest` each try's (istiod turns it into `retries.perTryTimeout` when the
 * rule retries). `retry` is experimental-channel (GEP-1731), hence the CRD channel.
 */
export function retryPolicyRule(policy: RetryPolicy): RouteResilience {
  return {
    retry: { attempts: policy.attempts, codes: retryCodes(policy.retryOn) },
    timeouts: { request: gatewayDuration(policy.timeout), backendRequest: gatewayDuration(policy.perTryTimeout) },
  };
}

/** The same services as the istio cell retry: user-service only. Faults have no HTTPRoute form (refused). */
export const resilienceFor = (cfg: MeshConfig, name: BackendServiceName): RouteResilience =>
  name === "user-service" ? retryPolicyRule(cfg.userServiceRetries) : {};
