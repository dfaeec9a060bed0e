import { optional, type RawConfig, type Readers } from "./readers";
import { keyReference } from "./reference";
import type { EgressConfig } from "./types";

/** Egress gateway and outbound traffic policy (lab "External Services" Steps 5-1 to 5-3). */

const OUTBOUND_POLICIES = keyReference("outboundTrafficPolicy").values as readonly ("ALLOW_ANY" | "REGISTRY_ONLY")[];

export function parseEgressArea(raw: RawConfig, read: Readers): EgressConfig {
  const gateway = optional(raw, "egressGateway", (v, k) => read.bool(k, v));
  const outboundTrafficPolicy = optional(raw, "outboundTrafficPolicy", (v, k) => read.oneOf(k, v, OUTBOUND_POLICIES));
  return { gateway: gateway ?? true, outboundTrafficPolicy: outboundTrafficPolicy ?? "ALLOW_ANY" };
}
