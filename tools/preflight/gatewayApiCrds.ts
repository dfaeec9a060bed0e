/**
 * With existingIstio the stack installs no Gateway API CRDs (installsGatewayApiCrds): the cluster's must
 * hold each one the stack's objects use, at the pinned bundle version or later, on the experimental
 * channel where the objects use its fields. Upstream stamps every CRD with both annotations
 * (kubernetes-sigs/gateway-api config/crd/*: `gateway.networking.k8s.io/bundle-version`, `…/channel`).
 */
import { GATEWAY_API_CHANNEL, GATEWAY_API_VERSION, usedCrds } from "../../components/gatewayApi/crds";
import { buildMeshSpec, ownedObjects } from "../../components/meshSpec";
import type { MeshConfig } from "../../config/types";
import type { Finding, ListedObject } from "./checks";

const BUNDLE = "gateway.networking.k8s.io/bundle-version";
const CHANNEL = "gateway.networking.k8s.io/channel";

/** v1.5.1 → [1, 5, 1, 1]; a pre-release (v1.5.0-rc.1) sorts before its release: [1, 5, 0, 0]. */
const versionKey = (v: string): number[] | undefined => {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(-.+)?$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3]), m[4] ? 0 : 1] : undefined;
};

const atLeast = (found: number[], wanted: number[]) => {
  for (let i = 0; i < wanted.length; i++) {
    if ((found[i] ?? 0) !== (wanted[i] ?? 0)) return (found[i] ?? 0) > (wanted[i] ?? 0);
  }
  return true;
};

export function gatewayApiCrdFindings(cfg: MeshConfig, crds: readonly ListedObject[]): Finding[] {
  const wanted = versionKey(GATEWAY_API_VERSION) ?? [];
  const problems: string[] = [];
  for (const used of usedCrds(ownedObjects(buildMeshSpec(cfg)))) {
    const crd = crds.find((c) => c.metadata?.name === used.name);
    if (!crd) {
      problems.push(`${used.name} is missing (needed: ${GATEWAY_API_VERSION})`);
      continue;
    }
    const bundle = crd.metadata?.annotations?.[BUNDLE];
    const found = versionKey(bundle ?? "");
    if (!found || !atLeast(found, wanted)) {
      problems.push(
        `${used.name} is bundle-version ${bundle ?? "(no annotation)"}, needed ${GATEWAY_API_VERSION} or later`,
      );
    }
    const channel = crd.metadata?.annotations?.[CHANNEL];
    if (used.experimental && channel !== GATEWAY_API_CHANNEL) {
      problems.push(
        `${used.name} is channel ${channel ?? "(no annotation)"}, needed ${GATEWAY_API_CHANNEL} for ${used.experimental}`,
      );
    }
  }
  if (problems.length === 0) return [];
  return [
    {
      check: "existing-gateway-api",
      level: "error",
      message:
        `with existingIstio this stack uses the cluster's Gateway API CRDs and installs none: ${problems.join("; ")}. ` +
        `Have the platform install Gateway API ${GATEWAY_API_VERSION} (${GATEWAY_API_CHANNEL} channel where ` +
        "named), or remove existingIstio",
    },
  ];
}
