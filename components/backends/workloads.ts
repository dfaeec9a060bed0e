import type { Deployment } from "kubernetes-types/apps/v1";
import type { Probe, Service, ServiceAccount } from "kubernetes-types/core/v1";
import type { BackendService, MeshConfig, ServiceVersion } from "../../config/types";
import { type NamedObject, objectMeta } from "../meta";
import { backendDisruptionBudgets, type PodDisruptionBudgetSpec } from "./disruptionBudgets";

export type DeploymentSpec = Deployment & NamedObject;
export type ServiceSpec = Service & NamedObject;
export type ServiceAccountSpec = ServiceAccount & NamedObject;

export const ECHO_PORT = 8080;
export const SERVICE_PORT = 80;

/** Pod labels that Services, DestinationRule subsets and Istio telemetry all key on. */
export function podLabels(service: string, version: string) {
  return { app: service, version };
}

export function deploymentName(service: string, version: string): string {
  return `${service}-${version}`;
}

/** One identity per service, so later AuthorizationPolicies can name principals. */
export function serviceAccount(cfg: MeshConfig, service: BackendService): ServiceAccountSpec {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: objectMeta(service.name, cfg.backend.namespace, { app: service.name }),
    // The sidecar uses its own projected istio-token; the app never calls the API server.
    automountServiceAccountToken: false,
  };
}

const probe = (periodSeconds: number, initialDelaySeconds: number): Probe => ({
  httpGet: { path: "/health", port: "http" },
  initialDelaySeconds,
  periodSeconds,
});

export function deployment(cfg: MeshConfig, service: BackendService, v: ServiceVersion): DeploymentSpec {
  const labels = podLabels(service.name, v.version);
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: objectMeta(deploymentName(service.name, v.version), cfg.backend.namespace, labels),
    spec: {
      replicas: v.replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: service.name,
          automountServiceAccountToken: false,
          containers: [
            {
              name: service.name,
              image: cfg.backend.image,
              args: [`-text=${v.responseText}`, `-listen=:${ECHO_PORT}`],
              ports: [{ name: "http", containerPort: ECHO_PORT, protocol: "TCP" }],
              resources: {
                requests: { cpu: "100m", memory: "128Mi" },
                limits: { cpu: "500m", memory: "512Mi" },
              },
              readinessProbe: probe(5, 2),
              livenessProbe: probe(10, 5),
              // Set on the app container only: istio-init, injected beside it, needs root and NET_ADMIN.
              securityContext: {
                runAsNonRoot: true,
                runAsUser: 65532,
                runAsGroup: 65532,
                readOnlyRootFilesystem: true,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ["ALL"] },
                seccompProfile: { type: "RuntimeDefault" },
              },
            },
          ],
        },
      },
    },
  };
}

/** Selects every version of the app, so routing between versions is Istio's job alone. */
export function service(cfg: MeshConfig, svc: BackendService): ServiceSpec {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: objectMeta(svc.name, cfg.backend.namespace, { app: svc.name }),
    spec: {
      selector: { app: svc.name },
      ports: [{ name: "http", port: SERVICE_PORT, targetPort: ECHO_PORT, protocol: "TCP", appProtocol: "http" }],
    },
  };
}

export interface BackendSpecs {
  readonly serviceAccounts: readonly ServiceAccountSpec[];
  readonly deployments: readonly DeploymentSpec[];
  readonly services: readonly ServiceSpec[];
  /** Production only: one per version with more than one replica. */
  readonly disruptionBudgets: readonly PodDisruptionBudgetSpec[];
}

export function backendSpecs(cfg: MeshConfig): BackendSpecs {
  const all = cfg.backend.services;
  return {
    serviceAccounts: all.map((s) => serviceAccount(cfg, s)),
    deployments: all.flatMap((s) => s.versions.map((v) => deployment(cfg, s, v))),
    services: all.map((s) => service(cfg, s)),
    disruptionBudgets: backendDisruptionBudgets(cfg),
  };
}
