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
 * base, istiod, gateway in install order, as helmValues.ts builds them; with revisions, istiod is the
 * revision `prod-stable` points at, base follows the newest installed release (Istio's guide upgrades the
 * CRDs first) and validates through `prod-stable`'s revision, and the ingress gateway is the canary.
 */
export function controlPlaneReleases(cfg: MeshConfig): {
  readonly releases: readonly [IstioRelease, IstioRelease, IstioRelease];
  readonly revisions?: RevisionSpec;
} {
  const [base, istiod, gateway] = istioReleases(cfg);
  if (!cfg.revisions.enabled) return { releases: [base, istiod, gateway] };
  const stable = tagVersions(cfg)[REVISION_TAGS.stable];
  return {
    releases: [
      {
        ...base,
        version: newestVersion(installedVersions(cfg)),
        values: { ...baseValues(), defaultRevision: revisionName(stable) },
      },
      revisionRelease(cfg, stable),
      {
        ...gateway,
        version: gatewayChartVersion(cfg, REVISION_TAGS.canary),
        values: { ...gatewayValues(cfg), ...gatewayRevisionValues(cfg, REVISION_TAGS.canary) },
      },
    ],
    revisions: {
      otherIstiods: installedVersions(cfg)
        .filter((v) => v !== stable)
        .map((v) => revisionRelease(cfg, v)),
      tags: revisionTagObjects(cfg),
    },
  };
}
