import { crdName, GATEWAY_API_CHANNEL, GATEWAY_API_CRDS, GATEWAY_API_VERSION } from "../../components/gatewayApi/crds";
import type { MeshSpec } from "../../components/meshSpec";
import type { PinnedLoad } from "../../components/pinnedFiles";
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
 * What loadGatewayApiCrds returns with the network reachable: each pinned file as a CRD of the name its
 * file gives, with the channel's annotations (the schemas themselves are the API server's business and
 * are not read in tests; the digest check has its own tests).
 */
export async function pinnedCrdStandIns(): Promise<PinnedLoad> {
  const contents = Object.fromEntries(
    GATEWAY_API_CRDS.map((p) => [
      p.file,
      [
        "apiVersion: apiextensions.k8s.io/v1",
        "kind: CustomResourceDefinition",
        "metadata:",
        `  name: ${crdName(p.file)}`,
        "  annotations:",
        `    gateway.networking.k8s.io/bundle-version: ${GATEWAY_API_VERSION}`,
        `    gateway.networking.k8s.io/channel: ${GATEWAY_API_CHANNEL}`,
        "spec:",
        `  group: ${crdName(p.file).split(".").slice(1).join(".")}`,
        "",
      ].join("\n"),
    ]),
  );
  return { contents, missing: [] };
}
