import type { MeshConfig } from "../../config/types";
import type { IstioRelease } from "../controlPlane/helmValues";
import { ambientReleases } from "./charts";
import { type WaypointSpec, waypoint } from "./waypoint";

/** What the ambient cells add to the mesh: the node-level data plane and the backend namespace's waypoint. */
export interface AmbientSpec {
  /** istio-cni, then ztunnel; absent when the cluster's own Istio runs them (`existingIstio`). */
  readonly releases?: readonly [IstioRelease, IstioRelease];
  readonly waypoint: WaypointSpec;
}

/** Absent in the sidecar cells. */
export function ambientSpec(cfg: MeshConfig): AmbientSpec | undefined {
  if (cfg.cell.dataplane !== "ambient") return undefined;
  return {
    ...(cfg.profile.existingIstio === undefined && { releases: ambientReleases(cfg) }),
    waypoint: waypoint(cfg),
  };
}
