import type { MeshConfig } from "../../config/types";
import type { DeploymentSpec, ServiceAccountSpec } from "../backends/workloads";
import { objectMeta } from "../meta";
import type { NamespaceSpec } from "../namespaces";
import { MESH_CLIENT, OUTSIDE_CLIENT, OUTSIDE_NAMESPACE } from "./identities";

/** Pinned: the lab's `kubectl run test-client --image=curlimages/curl` took whatever :latest was. */
export const CURL_IMAGE = "curlimages/curl:8.16.0";
/** The image's own non-root user (curl_user). */
const CURL_UID = 100;
export const PROBE_CONTAINER = "curl";

export interface ProbeClientSpecs {
  /** `outside`, without injection: its pod has no sidecar and so no mesh identity. */
  readonly namespace: NamespaceSpec;
  readonly serviceAccounts: readonly ServiceAccountSpec[];
  /** mesh-client first (it needs istiod's injector), then outside-client. */
  readonly deployments: readonly [DeploymentSpec, DeploymentSpec];
}

const curlRuns = { exec: { command: ["curl", "--version"] }, periodSeconds: 10, timeoutSeconds: 5 };

/** sidecar: injection explicitly off. ambient: no label at all, which keeps ztunnel from capturing it. */
export function outsideNamespace(cfg: MeshConfig): NamespaceSpec {
  const labels: Record<string, string> = cfg.cell.dataplane === "ambient" ? {} : { "istio-injection": "disabled" };
  return { apiVersion: "v1", kind: "Namespace", metadata: objectMeta(OUTSIDE_NAMESPACE, undefined, labels) };
}

function serviceAccount(name: string, namespace: string): ServiceAccountSpec {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: objectMeta(name, namespace, { app: name }),
    automountServiceAccountToken: false,
  };
}

/** A curl pod that sleeps; checks `kubectl exec` curl in it. */
function client(name: string, namespace: string): DeploymentSpec {
  const labels = { app: name };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: objectMeta(name, namespace, labels),
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: name,
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: PROBE_CONTAINER,
              image: CURL_IMAGE,
              command: ["/bin/sleep", "infinity"],
              resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "200m", memory: "64Mi" } },
              // The pod exists to run curl: it is ready, and alive, while curl itself runs.
              readinessProbe: curlRuns,
              livenessProbe: { ...curlRuns, periodSeconds: 60 },
              securityContext: {
                runAsNonRoot: true,
                runAsUser: CURL_UID,
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

export function probeClients(cfg: MeshConfig): ProbeClientSpecs | undefined {
  if (!cfg.security.probeClients) return undefined;
  const backend = cfg.backend.namespace;
  return {
    namespace: outsideNamespace(cfg),
    serviceAccounts: [serviceAccount(MESH_CLIENT, backend), serviceAccount(OUTSIDE_CLIENT, OUTSIDE_NAMESPACE)],
    deployments: [client(MESH_CLIENT, backend), client(OUTSIDE_CLIENT, OUTSIDE_NAMESPACE)],
  };
}
