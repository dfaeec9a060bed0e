import type { MeshSpec } from "../../components/meshSpec";
import type { GatewayApiTrafficSpec, IstioTrafficSpec } from "../../components/traffic/spec";
import type { RawConfig } from "../../config/parse";
import { projectConfig } from "../../config/readers";
import { devStackConfig } from "./configs";

/** The routing a test expects, narrowed: a spec of the other cell fails the test, not the type checker. */
export function istioTraffic(spec: MeshSpec): IstioTrafficSpec {
  if (spec.traffic.api !== "istio") throw new Error(`expected trafficApi istio, got ${spec.traffic.api}`);
  return spec.traffic;
}

export function gatewayApiTraffic(spec: MeshSpec): GatewayApiTrafficSpec {
  if (spec.traffic.api !== "gateway-api") throw new Error(`expected trafficApi gateway-api, got ${spec.traffic.api}`);
  return spec.traffic;
}

/**
 * The dev stack in the gateway-api cell: the same file with trafficApi set and its faults removed,
 * which that cell refuses (HTTPRoute has no fault filter).
 */
export function devGatewayApiRaw(): RawConfig {
  const { faults: _refusedInThisCell, ...rest } = projectConfig(devStackConfig()) as Record<string, unknown>;
  return { ...rest, trafficApi: "gateway-api" };
}

/**
 * The dev stack in the ambient × gateway-api cell: the gateway-api one in ambient (ambient refuses
 * nothing more of it; its egress gateway is an egress waypoint). The e2e workflow's "Choose the cell"
 * step makes the same changes.
 */
export function devAmbientGatewayApiRaw(): RawConfig {
  return { ...devGatewayApiRaw(), dataplane: "ambient" };
}
