import type { MeshConfig } from "../../config/types";
import type { NamedObject } from "../meta";
import { dashboards, kialiLinks, type ToolAccess, type ToolName } from "./access";
import { addonReleases, addonSecrets, type SecretShell } from "./charts";
import { type JaegerSpecs, jaegerSpecs } from "./jaeger";
import type { AddonRelease } from "./pins";
import { meshTelemetries, type TelemetrySpec } from "./telemetry";

/** Observability as plain data (buildMeshSpec leaves it out when `observability.enabled` is false). */
export interface ObservabilitySpec {
  /** `mesh-default`: in the root namespace, or (existingIstio) one per stack namespace. */
  readonly telemetries: readonly TelemetrySpec[];
  readonly jaeger: JaegerSpecs;
  readonly releases: readonly AddonRelease[];
  readonly secrets: { readonly grafanaAdmin: SecretShell; readonly kialiSigningKey: SecretShell };
  readonly dashboards: Record<ToolName, ToolAccess>;
}

export function observabilitySpec(cfg: MeshConfig): ObservabilitySpec {
  return {
    telemetries: meshTelemetries(cfg),
    jaeger: jaegerSpecs(),
    releases: addonReleases(kialiLinks()),
    secrets: addonSecrets(),
    dashboards: dashboards(cfg.cluster),
  };
}

/** The objects this program applies itself (secrets aside: their values exist only at `up`). */
export function observabilityObjects(spec: ObservabilitySpec | undefined): readonly NamedObject[] {
  if (!spec) return [];
  const { jaeger } = spec;
  return [jaeger.configMap, jaeger.deployment, jaeger.queryService, jaeger.collectorService, ...spec.telemetries];
}
