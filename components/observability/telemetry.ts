import type { MeshConfig, ObservabilityConfig } from "../../config/types";
import { meshDefaultNamespaces } from "../meshScope";
import { type NamedObject, objectMeta } from "../meta";
import { inCluster, JAEGER_COLLECTOR } from "./services";

/**
 * Tracing the Istio 1.30 way (lab Steps 4-1 advanced and 7-1): istiod's mesh config declares an
 * OpenTelemetry extension provider, and a mesh-wide Telemetry selects it. The lab's IstioOperator
 * does nothing on a Helm install; `pilot.traceSampling` is not a chart key.
 */

export const TRACING_PROVIDER = "jaeger";
/** The provider Istio defines by default for its standard metrics (mesh config merges ours beside it). */
export const METRICS_PROVIDER = "prometheus";

export interface TracingProvider {
  readonly name: string;
  readonly opentelemetry: { readonly service: string; readonly port: number };
}

/** istiod's `meshConfig` fragment; empty when observability is off, so the provider goes too. */
export function tracingMeshConfig(obs: ObservabilityConfig): { extensionProviders?: TracingProvider[] } {
  if (!obs.enabled) return {};
  return {
    extensionProviders: [
      {
        name: TRACING_PROVIDER,
        opentelemetry: { service: inCluster(JAEGER_COLLECTOR.name), port: JAEGER_COLLECTOR.otlpGrpcPort },
      },
    ],
  };
}

export interface TelemetrySpec extends NamedObject {
  readonly apiVersion: "telemetry.istio.io/v1";
  readonly kind: "Telemetry";
  readonly spec: {
    readonly tracing: readonly { providers: { name: string }[]; randomSamplingPercentage: number }[];
    readonly metrics?: readonly {
      providers: { name: string }[];
      overrides: {
        match: { metric: "ALL_METRICS"; mode: "CLIENT_AND_SERVER" };
        tagOverrides: Record<string, { operation: "UPSERT"; value: string }>;
      }[];
    }[];
  };
}

/**
 * The mesh-wide Telemetry: a Telemetry named `mesh-default` in the root namespace with no selector
 * applies to every workload; on the cluster's Istio, the same one in each stack namespace
 * (meshDefaultNamespaces). Metric tags go on every standard metric, client and server side.
 */
export function meshTelemetries(cfg: MeshConfig): TelemetrySpec[] {
  return meshDefaultNamespaces(cfg).map((ns) => meshTelemetry(cfg.observability, ns));
}

export function meshTelemetry(obs: ObservabilityConfig, namespace: string): TelemetrySpec {
  const tags = Object.entries(obs.metricTags);
  return {
    apiVersion: "telemetry.istio.io/v1",
    kind: "Telemetry",
    metadata: objectMeta("mesh-default", namespace),
    spec: {
      tracing: [{ providers: [{ name: TRACING_PROVIDER }], randomSamplingPercentage: obs.traceSampling }],
      ...(tags.length > 0 && {
        metrics: [
          {
            providers: [{ name: METRICS_PROVIDER }],
            overrides: [
              {
                match: { metric: "ALL_METRICS", mode: "CLIENT_AND_SERVER" },
                tagOverrides: Object.fromEntries(tags.map(([tag, value]) => [tag, { operation: "UPSERT", value }])),
              },
            ],
          },
        ],
      }),
    },
  };
}
