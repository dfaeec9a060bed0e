import type { MeshConfig } from "../../config/types";
import type { NamedObject } from "../meta";
import { baseValues, gatewayValues, type IstioRelease, istiodValues, istioReleases } from "./helmValues";
import {
  gatewayChartVersion,
  gatewayRevisionValues,
  installedVersions,
  newestVersion,
  REVISION_TAGS,
  revisionName,
  revisionTagObjects,
  tagVersions,
} from "./revisions";

/** With revisions: every istiod revision but the one the tuple holds, and the tag objects. */
export interface RevisionSpec {
  readonly otherIstiods: readonly IstioRelease[];
  readonly tags: readonly NamedObject[];
}

/** The istiod chart installed as the revision of `version`: chart, image tag and name from that one release. */
export function revisionRelease(cfg: MeshConfig, version: string): IstioRelease {
  const revision = revisionName(version);
  return {
    name: `istiod-${revision}`,
    chart: "istiod",
    namespace: "istio-system",
    version,
    repo: cfg.istio.chartRepo,
    values: { ...istiodValues({ ...cfg, istio: { ...cfg.istio, version } }), revision },
  };
}

/**
 * Istio's control plane: installed by this stack (base, then istiod; with revisions, every other istiod
 * revision and the tags), or the one the cluster already runs (`existingIstio`), of which the stack
 * installs nothing and knows only the revision that injects its namespaces and gateways.
 */
export type ControlPlaneSpec =
  | {
      readonly kind: "install";
      readonly base: IstioRelease;
      readonly istiod: IstioRelease;
      readonly revisions?: RevisionSpec;
    }
  | { readonly kind: "existing"; readonly revision: string };

/**
 * The control plane and the ingress gateway, as helmValues.ts builds them; with revisions, istiod is the
 * revision `prod-stable` points at, base follows the newest installed release (Istio's guide upgrades the
 * CRDs first) and validates through `prod-stable`'s revision, and the ingress gateway is the canary.
 */
export function controlPlaneReleases(cfg: MeshConfig): {
  readonly controlPlane: ControlPlaneSpec;
  readonly ingressGateway: IstioRelease;
} {
  const [base, istiod, gateway] = istioReleases(cfg);
  const ingressGateway = {
    ...gateway,
    version: gatewayChartVersion(cfg, REVISION_TAGS.canary),
    values: { ...gatewayValues(cfg), ...gatewayRevisionValues(cfg, REVISION_TAGS.canary) },
  };
  const existing = cfg.profile.existingIstio;
  if (existing) return { controlPlane: { kind: "existing", revision: existing.revision }, ingressGateway };
  if (!cfg.revisions.enabled) return { controlPlane: { kind: "install", base, istiod }, ingressGateway };
  const stable = tagVersions(cfg)[REVISION_TAGS.stable];
  return {
    controlPlane: {
      kind: "install",
      base: {
        ...base,
        version: newestVersion(installedVersions(cfg)),
        values: { ...baseValues(), defaultRevision: revisionName(stable) },
      },
      istiod: revisionRelease(cfg, stable),
      revisions: {
        otherIstiods: installedVersions(cfg)
          .filter((v) => v !== stable)
          .map((v) => revisionRelease(cfg, v)),
        tags: revisionTagObjects(cfg),
      },
    },
    ingressGateway,
  };
}
