/**
 * `bench --in-cluster`: the objects it applies, built by pure functions from one plan. Istio's own
 * performance setup, small: a fortio server without a sidecar and one with, a fortio client Job per
 * path, all in a namespace of their own that is deleted after the run.
 *
 *   baseline  client (no sidecar) → fortio-server-plain (no sidecar)
 *   mesh      client (sidecar)    → fortio-server-mesh (sidecar, STRICT mTLS)
 *   ingress   client (no sidecar) → istio-ingressgateway → fortio-server-mesh
 *
 * The ingress path's route follows the stack's traffic API: an Istio VirtualService on the app's Istio
 * Gateway in the run's namespace, or in the gateway-api cell an HTTPRoute on the app's Gateway API
 * Gateway. That Gateway admits routes from the backend namespace only, so the HTTPRoute lives there (the
 * one object outside the run's namespace, deleted by name after the run: `cleanupCalls`) and reaches
 * the mesh server across namespaces through a ReferenceGrant in the run's namespace.
 *
 * In ambient the mesh path is its analogue, ztunnel → ztunnel: client and server pods opt into ambient
 * with the pod label istio-cni's enablement selector matches (`istio.io/dataplane-mode: ambient`), so the
 * call is HBONE mTLS between the two nodes' ztunnels, no waypoint (the L4 data plane alone); the
 * other pods stay out of the mesh. No namespace label and no injection anywhere.
 */

import type { Deployment } from "kubernetes-types/apps/v1";
import type { Job } from "kubernetes-types/batch/v1";
import type { Namespace, Service } from "kubernetes-types/core/v1";
import { DATAPLANE_MODE_AMBIENT, DATAPLANE_MODE_LABEL } from "../../../components/ambient/labels";
import { INGRESS_NAMESPACE, serviceHost } from "../../../components/meta";
import { APP_GATEWAY } from "../../../components/traffic/gateway";
import { HTTP_LISTENER } from "../../../components/traffic/gatewayApi/gateway";
import type { MeshConfig } from "../../../config/types";

/**
 * fortio, Istio's load generator, pinned by tag (github.com/fortio/fortio release v1.75.2); never
 * :latest. Not by digest: no public source seen here gives the 1.75.2 index digest, and none is guessed.
 */
export const FORTIO_IMAGE = "fortio/fortio:1.75.2";
/** Istio's performance runs send 1 kB payloads. */
export const PAYLOAD_BYTES = 1024;
const FORTIO_PORT = 8080;
/** The ingress gateway's Service, as the gateway chart installs it (components/controlPlane/helmValues.ts). */
export const INGRESS_SERVICE = { name: "istio-ingressgateway", namespace: INGRESS_NAMESPACE, port: 80 } as const;

export type BenchPath = "baseline" | "mesh" | "ingress";
export const BENCH_PATHS: readonly BenchPath[] = ["baseline", "mesh", "ingress"];

export interface InClusterPlan {
  /** The run's own namespace, e.g. mesh-bench-lz3k2a. */
  readonly namespace: string;
  /**
   * The backend namespace: where the app's Istio Gateway lives (istio cell), and the one namespace the
   * Gateway API Gateway admits routes from (gateway-api cell).
   */
  readonly gatewayNamespace: string;
  /** The target stack's traffic API: what the ingress path's route is. */
  readonly trafficApi: MeshConfig["cell"]["trafficApi"];
  readonly rate: number;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly image: string;
  /** The target stack's data plane: what puts the mesh path's pods in the mesh. */
  readonly dataplane: MeshConfig["cell"]["dataplane"];
  /**
   * With sidecars, the namespace label the stack's injector answers: `istio-injection: enabled`, or with
   * revisions `istio.io/rev: prod-stable` (a revisioned istiod renders no webhook for the plain label).
   */
  readonly injection: Readonly<Record<string, string>>;
}

const LABELS = {
  "app.kubernetes.io/part-of": "istio-mesh",
  "app.kubernetes.io/managed-by": "istio-mesh-bench",
} as const;
const NO_SIDECAR = { "sidecar.istio.io/inject": "false" } as const;
// Native sidecars (Istio's default since 1.27, set here anyway): the proxy stops when fortio exits, so the Job completes.
const SIDECAR = { "sidecar.istio.io/inject": "true" } as const;
const NATIVE_SIDECAR = { "sidecar.istio.io/nativeSidecar": "true" } as const;

const AMBIENT = { [DATAPLANE_MODE_LABEL]: DATAPLANE_MODE_AMBIENT } as const;

/** The pod labels (and annotations) that put a mesh-path pod in the mesh, or keep another one out. */
function membership(plan: InClusterPlan, inMesh: boolean) {
  if (plan.dataplane === "ambient") return { labels: inMesh ? AMBIENT : {}, annotations: {} };
  return inMesh ? { labels: SIDECAR, annotations: NATIVE_SIDECAR } : { labels: NO_SIDECAR, annotations: {} };
}

export const SERVERS = { plain: "fortio-server-plain", mesh: "fortio-server-mesh" } as const;

/** A lowercase id for the namespace name, from the time of the run. */
export function benchNamespace(startedAtMs: number): string {
  return `mesh-bench-${startedAtMs.toString(36)}`;
}

/** The host the ingress path asks for; the bench's VirtualService or HTTPRoute routes it to the mesh server. */
export function ingressHost(plan: InClusterPlan): string {
  return `${plan.namespace}.bench.internal`;
}

const meta = (name: string, namespace: string | undefined, labels: Record<string, string> = {}) => ({
  name,
  ...(namespace !== undefined && { namespace }),
  labels: { ...labels, ...LABELS },
});

/** The namespace, both servers, STRICT mTLS for the mesh server, and the ingress route: applied once, first. */
export function serverManifests(plan: InClusterPlan): object[] {
  const ns = plan.namespace;
  const namespace: Namespace = {
    apiVersion: "v1",
    kind: "Namespace",
    // sidecar: injection is decided per pod below; the namespace label lets the webhook see them at all.
    metadata: meta(ns, undefined, plan.dataplane === "ambient" ? {} : plan.injection),
  };
  return [
    namespace,
    ...server(plan, SERVERS.plain, membership(plan, false).labels),
    ...server(plan, SERVERS.mesh, membership(plan, true).labels),
    {
      apiVersion: "security.istio.io/v1",
      kind: "PeerAuthentication",
      metadata: meta(SERVERS.mesh, ns),
      spec: { selector: { matchLabels: { app: SERVERS.mesh } }, mtls: { mode: "STRICT" } },
    },
    ...ingressRoute(plan),
  ];
}

const GATEWAY_GROUP = "gateway.networking.k8s.io";

/** The ingress path's route, in the stack's traffic API, and what it needs to reach the mesh server. */
function ingressRoute(plan: InClusterPlan): object[] {
  const ns = plan.namespace;
  if (plan.trafficApi === "istio") {
    return [
      {
        apiVersion: "networking.istio.io/v1",
        kind: "VirtualService",
        metadata: meta("fortio-ingress", ns),
        spec: {
          hosts: [ingressHost(plan)],
          gateways: [`${plan.gatewayNamespace}/${APP_GATEWAY}`],
          http: [{ route: [{ destination: { host: serviceHost(SERVERS.mesh, ns), port: { number: FORTIO_PORT } } }] }],
        },
      },
    ];
  }
  return [
    {
      // v1beta1: what istiod 1.30.3 watches (pkg/config/schema/gvr ReferenceGrant); Gateway API v1.5.1
      // serves it beside v1, and older CRD bundles serve only it.
      apiVersion: `${GATEWAY_GROUP}/v1beta1`,
      kind: "ReferenceGrant",
      metadata: meta(SERVERS.mesh, ns),
      spec: {
        from: [{ group: GATEWAY_GROUP, kind: "HTTPRoute", namespace: plan.gatewayNamespace }],
        to: [{ group: "", kind: "Service", name: SERVERS.mesh }],
      },
    },
    {
      apiVersion: `${GATEWAY_GROUP}/v1`,
      kind: "HTTPRoute",
      metadata: meta(ingressRouteName(plan), plan.gatewayNamespace),
      spec: {
        // The HTTP listener has no hostname, so it admits the route's: the client's Host header.
        parentRefs: [
          {
            group: GATEWAY_GROUP,
            kind: "Gateway",
            name: APP_GATEWAY,
            namespace: INGRESS_NAMESPACE,
            sectionName: HTTP_LISTENER,
          },
        ],
        hostnames: [ingressHost(plan)],
        rules: [
          { backendRefs: [{ group: "", kind: "Service", name: SERVERS.mesh, namespace: ns, port: FORTIO_PORT }] },
        ],
      },
    },
  ];
}

/** The gateway-api cell's HTTPRoute, in the backend namespace: named after the run, so runs never collide. */
export function ingressRouteName(plan: InClusterPlan): string {
  return plan.namespace;
}

/**
 * kubectl calls that remove everything a run created, in order: the HTTPRoute outside the run's
 * namespace first (by name; nothing else deletes it), then the namespace and all in it. --wait=false:
 * kubectl returns once the namespace's deletion is accepted. --ignore-not-found: a run that stopped
 * before applying anything still cleans up quietly.
 */
export function cleanupCalls(plan: InClusterPlan): string[][] {
  const route =
    plan.trafficApi === "gateway-api"
      ? [["delete", "httproute", ingressRouteName(plan), "--namespace", plan.gatewayNamespace, "--ignore-not-found"]]
      : [];
  return [...route, ["delete", "namespace", plan.namespace, "--ignore-not-found", "--wait=false"]];
}

function server(plan: InClusterPlan, name: string, injection: Record<string, string>): [Deployment, Service] {
  const labels = { app: name };
  return [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta(name, plan.namespace, labels),
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels: { ...labels, ...injection, ...LABELS } },
          spec: {
            containers: [
              {
                name: "fortio",
                image: plan.image,
                args: ["server", "-http-port", String(FORTIO_PORT)],
                ports: [{ name: "http", containerPort: FORTIO_PORT }],
                readinessProbe: { httpGet: { path: "/debug", port: FORTIO_PORT } },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(name, plan.namespace, labels),
      spec: { selector: labels, ports: [{ name: "http", port: FORTIO_PORT, targetPort: FORTIO_PORT }] },
    },
  ];
}

export function jobName(path: BenchPath): string {
  return `fortio-${path}`;
}

/** The URL a path's client loads, and the Host header it sends. */
export function pathTarget(plan: InClusterPlan, path: BenchPath): { url: string; host?: string } {
  if (path === "baseline") return { url: `http://${serviceHost(SERVERS.plain, plan.namespace)}:${FORTIO_PORT}/echo` };
  if (path === "mesh") return { url: `http://${serviceHost(SERVERS.mesh, plan.namespace)}:${FORTIO_PORT}/echo` };
  const gateway = serviceHost(INGRESS_SERVICE.name, INGRESS_SERVICE.namespace);
  return { url: `http://${gateway}:${INGRESS_SERVICE.port}/echo`, host: ingressHost(plan) };
}

/**
 * One path's load: `fortio load` at the plan's rate and connections with 1 kB payloads (a POST the
 * echo server sends back), results as JSON on stdout. `-uniform` spreads the connections' start
 * times; fortio's default catch-up (no -nocatchup) keeps the rate after a slow answer.
 */
export function loadJob(plan: InClusterPlan, path: BenchPath): Job {
  const { url, host } = pathTarget(plan, path);
  const { labels, annotations } = membership(plan, path === "mesh");
  const podLabels = { app: jobName(path), ...labels, ...LABELS };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: meta(jobName(path), plan.namespace, { app: jobName(path) }),
    spec: {
      backoffLimit: 0,
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels: podLabels, ...(Object.keys(annotations).length > 0 && { annotations }) },
        spec: {
          restartPolicy: "Never",
          containers: [
            {
              name: "fortio",
              image: plan.image,
              args: [
                "load",
                "-qps",
                String(plan.rate),
                "-c",
                String(plan.connections),
                "-t",
                `${plan.durationSeconds}s`,
                "-payload-size",
                String(PAYLOAD_BYTES),
                "-uniform",
                "-p",
                "50,90,99,99.9",
                "-labels",
                path,
                "-json",
                "-",
                ...(host ? ["-H", `Host: ${host}`] : []),
                url,
              ],
            },
          ],
        },
      },
    },
  };
}
