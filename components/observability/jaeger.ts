import type { Deployment } from "kubernetes-types/apps/v1";
import type { ConfigMap, Service } from "kubernetes-types/core/v1";
import * as YAML from "yaml";
import { type NamedObject, objectMeta } from "../meta";
import { JAEGER_BASE_PATH, JAEGER_COLLECTOR, JAEGER_QUERY, OBSERVABILITY_NAMESPACE } from "./services";

/**
 * Jaeger v2 all-in-one (collector, badger storage and query UI in one pod), as Istio 1.30.3's
 * addon runs it. Istio writes that addon by hand rather than rendering a chart, so these are
 * plain objects too: four of them, each checked by the tests.
 */

export const JAEGER_IMAGE = "docker.io/jaegertracing/jaeger:2.14.0";

const NAME = "jaeger";
const LABELS = { app: NAME };
const HEALTH_PORT = 13133;
const METRICS_PORT = 8888;
const CONFIG_DIR = "/jaeger-configuration";

export interface JaegerSpecs {
  readonly configMap: ConfigMap & NamedObject;
  readonly deployment: Deployment & NamedObject;
  readonly queryService: Service & NamedObject;
  readonly collectorService: Service & NamedObject;
}

/** Jaeger's own config file (an OpenTelemetry Collector config): OTLP in, badger, query UI. */
export function jaegerConfig() {
  return {
    service: {
      extensions: ["jaeger_storage", "jaeger_query", "healthcheckv2"],
      pipelines: {
        traces: { receivers: ["otlp"], processors: ["batch"], exporters: ["jaeger_storage_exporter"] },
      },
      telemetry: {
        resource: { "service.name": "jaeger" },
        metrics: {
          level: "detailed",
          readers: [{ pull: { exporter: { prometheus: { host: "0.0.0.0", port: METRICS_PORT } } } }],
        },
        logs: { level: "info" },
      },
    },
    extensions: {
      jaeger_query: {
        base_path: JAEGER_BASE_PATH,
        // Jaeger's defaults: UI/HTTP API on 16686, gRPC query API on 16685 (JAEGER_QUERY).
        storage: { traces: "badger_storage" },
      },
      jaeger_storage: {
        backends: {
          badger_storage: {
            badger: { ephemeral: false, directories: { keys: "/badger/key", values: "/badger/data/" } },
          },
        },
      },
      healthcheckv2: { use_v2: true, http: { endpoint: `0.0.0.0:${HEALTH_PORT}` } },
    },
    receivers: {
      otlp: {
        protocols: {
          grpc: { endpoint: `0.0.0.0:${JAEGER_COLLECTOR.otlpGrpcPort}` },
          http: { endpoint: `0.0.0.0:${JAEGER_COLLECTOR.otlpHttpPort}` },
        },
      },
    },
    processors: { batch: {} },
    exporters: { jaeger_storage_exporter: { trace_storage: "badger_storage" } },
  };
}

function service(name: string, ports: NonNullable<Service["spec"]>["ports"]): Service & NamedObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: objectMeta(name, OBSERVABILITY_NAMESPACE, LABELS),
    spec: { type: "ClusterIP", selector: LABELS, ports },
  };
}

export function jaegerSpecs(): JaegerSpecs {
  const configMap: ConfigMap & NamedObject = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: objectMeta(NAME, OBSERVABILITY_NAMESPACE, LABELS),
    data: { "config.yaml": YAML.stringify(jaegerConfig()) },
  };
  const probe = { httpGet: { path: "/status", port: HEALTH_PORT } };
  const deployment: Deployment & NamedObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: objectMeta(NAME, OBSERVABILITY_NAMESPACE, LABELS),
    spec: {
      replicas: 1,
      selector: { matchLabels: LABELS },
      template: {
        metadata: {
          // Not in the mesh: its own spans would trace the tracer.
          labels: { ...LABELS, "sidecar.istio.io/inject": "false" },
          annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": String(METRICS_PORT) },
        },
        spec: {
          containers: [
            {
              name: NAME,
              image: JAEGER_IMAGE,
              args: ["--config", `${CONFIG_DIR}/config.yaml`],
              ports: [
                { name: "http-query", containerPort: JAEGER_QUERY.targetPort },
                { name: "grpc-query", containerPort: JAEGER_QUERY.grpcPort },
                { name: "grpc-otel", containerPort: JAEGER_COLLECTOR.otlpGrpcPort },
                { name: "http-otel", containerPort: JAEGER_COLLECTOR.otlpHttpPort },
                { name: "health", containerPort: HEALTH_PORT },
                { name: "metrics", containerPort: METRICS_PORT },
              ],
              livenessProbe: probe,
              readinessProbe: probe,
              resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "1Gi" } },
              volumeMounts: [
                { name: "data", mountPath: "/badger" },
                { name: "config", mountPath: CONFIG_DIR },
              ],
            },
          ],
          volumes: [
            { name: "data", emptyDir: {} },
            { name: "config", configMap: { name: configMap.metadata.name } },
          ],
        },
      },
    },
  };
  return {
    configMap,
    deployment,
    queryService: service(JAEGER_QUERY.name, [
      { name: "http-query", port: JAEGER_QUERY.port, targetPort: JAEGER_QUERY.targetPort, protocol: "TCP" },
      { name: "grpc-query", port: JAEGER_QUERY.grpcPort, targetPort: JAEGER_QUERY.grpcPort, protocol: "TCP" },
    ]),
    collectorService: service(JAEGER_COLLECTOR.name, [
      {
        name: "grpc-otel",
        port: JAEGER_COLLECTOR.otlpGrpcPort,
        targetPort: JAEGER_COLLECTOR.otlpGrpcPort,
        protocol: "TCP",
      },
      {
        name: "http-otel",
        port: JAEGER_COLLECTOR.otlpHttpPort,
        targetPort: JAEGER_COLLECTOR.otlpHttpPort,
        protocol: "TCP",
      },
    ]),
  };
}
