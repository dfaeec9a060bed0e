import type { HelmValues } from "../controlPlane/helmValues";
import { GRAFANA_ADMIN_SECRET } from "./grafana";
import { ADDON_IMAGES, NOT_INJECTED } from "./pins";
import {
  GRAFANA,
  inClusterUrl,
  JAEGER_BASE_PATH,
  JAEGER_QUERY,
  KIALI,
  OBSERVABILITY_NAMESPACE,
  PROMETHEUS,
} from "./services";

/** Istio's Kiali addon, from the kiali-server chart, with a login and the tracing integration. */

/** Kiali encrypts its session cookies with this key (16, 24 or 32 bytes). */
export const KIALI_SIGNING_SECRET = { name: "kiali-signing-key", key: "signing-key", length: 32 };

/** Kiali's view of the other tools: in-cluster URLs for its own queries, localhost for the links it shows. */
export function kialiExternalServices(localUrls: { grafana: string; tracing: string }) {
  return {
    istio: { root_namespace: OBSERVABILITY_NAMESPACE },
    prometheus: { url: inClusterUrl(PROMETHEUS.name, PROMETHEUS.port) },
    grafana: {
      enabled: true,
      internal_url: inClusterUrl(GRAFANA.name, GRAFANA.port),
      external_url: localUrls.grafana,
      // Kiali lists Grafana's dashboards with the admin login, read from the same Secret.
      auth: {
        type: "basic",
        username: `secret:${GRAFANA_ADMIN_SECRET.name}:${GRAFANA_ADMIN_SECRET.userKey}`,
        password: `secret:${GRAFANA_ADMIN_SECRET.name}:${GRAFANA_ADMIN_SECRET.passwordKey}`,
      },
    },
    tracing: {
      enabled: true,
      provider: "jaeger",
      use_grpc: true,
      internal_url: inClusterUrl(JAEGER_QUERY.name, JAEGER_QUERY.grpcPort, JAEGER_BASE_PATH),
      external_url: localUrls.tracing,
    },
  };
}

export function kialiValues(localUrls: { grafana: string; tracing: string }): HelmValues {
  return {
    // Login with a Kubernetes token (`kubectl -n istio-system create token kiali`), not anonymous.
    auth: { strategy: "token" },
    deployment: {
      image_name: ADDON_IMAGES.kiali.name,
      image_version: ADDON_IMAGES.kiali.version,
      image_pull_policy: "IfNotPresent",
      // The chart names the Deployment and Service after this.
      instance_name: KIALI.name,
      pod_labels: NOT_INJECTED,
      service_type: "ClusterIP",
    },
    login_token: { signing_key: `secret:${KIALI_SIGNING_SECRET.name}:${KIALI_SIGNING_SECRET.key}` },
    server: { port: KIALI.port, web_root: "/kiali" },
    external_services: kialiExternalServices(localUrls),
  };
}
