/**
 * The objects Istio's charts create, derived from the values the program passes, so analysis sees
 * what a cluster will hold: the gateways' ServiceAccount, Service (ports from `service.ports`) and
 * Deployment (pod labels, `image: auto` proxy), istiod's Deployment and injection webhooks, the base
 * chart's reader account. Only the fields checks read; tests/analysisChartObjects.test.ts compares
 * them with `helm template` output of the 1.30.3 charts for the dev stack.
 */
import { list, record, text } from "../policies/lib/kube";
import { type Resource, toResource } from "./model";

const INJECT = "sidecar.istio.io/inject";

/**
 * A Helm release of one of Istio's charts, as components/controlPlane/helmValues.ts ChartRelease (and
 * a policy's view of a helm.sh/v3 Release) has it; declared here so the policy pack need not compile
 * the program's builders.
 */
export interface ChartRelease {
  readonly name: string;
  readonly chart: string;
  readonly namespace: string;
  readonly version: string;
  readonly values: { readonly [key: string]: unknown };
}

/** gateway chart: `istio` label from values.labels, else the release name without `istio-` (_helpers.tpl). */
function gatewayObjects(r: ChartRelease): unknown[] {
  const values = record(r.values);
  const extra = record(values.labels) as Record<string, string>;
  const istio = extra.istio ?? r.name.replace(/^istio-/, "");
  const selector = { app: r.name, istio };
  const service = record(values.service);
  const revision = text(values.revision);
  const meta = (labels: Record<string, string> = {}) => ({ name: r.name, namespace: r.namespace, labels });
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta() },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta({ ...extra, ...selector }),
      spec: { type: text(service.type) ?? "LoadBalancer", selector, ports: list(service.ports) },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta({ ...extra, ...selector }),
      spec: {
        replicas: typeof values.replicaCount === "number" ? values.replicaCount : 1,
        template: {
          metadata: {
            // _helpers.tpl gateway.sidecarInjectionLabels: `istio.io/rev` too once `revision` is set.
            labels: { [INJECT]: "true", ...(revision && { "istio.io/rev": revision }), ...selector, ...extra },
            annotations: { "inject.istio.io/templates": "gateway" },
          },
          spec: { serviceAccountName: r.name, containers: [{ name: "istio-proxy", image: "auto" }] },
        },
      },
    },
  ];
}

/** istiod chart: the control plane's Deployment (env from pilot.env), Service, account and injection webhooks. */
function istiodObjects(r: ChartRelease): unknown[] {
  const values = record(r.values);
  const revision = text(values.revision) || "default";
  const env = Object.entries(record(record(values.pilot).env)).map(([name, value]) => ({ name, value: String(value) }));
  const labels = { app: "istiod", istio: "pilot", "istio.io/rev": revision };
  const exprs = (...e: [string, string, string[]?][]) => ({
    matchExpressions: e.map(([key, operator, vals]) => ({ key, operator, ...(vals && { values: vals }) })),
  });
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "istiod", namespace: r.namespace } },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "istiod", namespace: r.namespace, labels },
      spec: {
        selector: { app: "istiod", istio: "pilot" },
        ports: [
          { port: 15010, name: "grpc-xds", protocol: "TCP" },
          { port: 15012, name: "https-dns", protocol: "TCP" },
          { port: 443, name: "https-webhook", targetPort: 15017, protocol: "TCP" },
          { port: 15014, name: "http-monitoring", protocol: "TCP" },
        ],
      },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "istiod", namespace: r.namespace, labels },
      spec: {
        replicas: typeof values.replicaCount === "number" ? values.replicaCount : 1,
        template: {
          metadata: { labels: { ...labels, [INJECT]: "false" } },
          spec: {
            serviceAccountName: "istiod",
            containers: [
              {
                name: "discovery",
                image: `${text(record(values.global).hub)}/pilot:${text(record(values.global).tag)}`,
                env,
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "MutatingWebhookConfiguration",
      metadata: { name: "istio-sidecar-injector" },
      webhooks: [
        {
          name: "rev.namespace.sidecar-injector.istio.io",
          namespaceSelector: exprs(["istio.io/rev", "In", [revision]], ["istio-injection", "DoesNotExist"]),
          objectSelector: exprs([INJECT, "NotIn", ["false"]]),
        },
        {
          name: "rev.object.sidecar-injector.istio.io",
          namespaceSelector: exprs(["istio.io/rev", "DoesNotExist"], ["istio-injection", "DoesNotExist"]),
          objectSelector: exprs([INJECT, "NotIn", ["false"]], ["istio.io/rev", "In", [revision]]),
        },
        {
          name: "namespace.sidecar-injector.istio.io",
          namespaceSelector: exprs(["istio-injection", "In", ["enabled"]]),
          objectSelector: exprs([INJECT, "NotIn", ["false"]]),
        },
        {
          name: "object.sidecar-injector.istio.io",
          namespaceSelector: exprs(["istio-injection", "DoesNotExist"], ["istio.io/rev", "DoesNotExist"]),
          objectSelector: exprs([INJECT, "In", ["true"]], ["istio.io/rev", "DoesNotExist"]),
        },
      ],
    },
  ];
}

const baseObjects = (r: ChartRelease): unknown[] => [
  {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "istio-reader-service-account", namespace: r.namespace },
  },
];

/**
 * The ambient charts' node agents (chart-render of 1.30.3's cni and ztunnel charts: DaemonSet
 * istio-cni-node with ServiceAccount istio-cni; DaemonSet ztunnel with ServiceAccount ztunnel), both
 * outside the mesh themselves (`istio.io/dataplane-mode: none`, `sidecar.istio.io/inject: "false"`).
 */
function nodeAgentObjects(r: ChartRelease, daemonSet: string, account: string, app: Record<string, string>): unknown[] {
  const labels = { ...app, [INJECT]: "false", [DATAPLANE_MODE]: "none" };
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: account, namespace: r.namespace } },
    {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: daemonSet, namespace: r.namespace, labels: app },
      spec: { template: { metadata: { labels }, spec: { serviceAccountName: account, containers: [] } } },
    },
  ];
}

const DATAPLANE_MODE = "istio.io/dataplane-mode";

function objectsOf(r: ChartRelease): unknown[] {
  switch (r.chart) {
    case "gateway":
      return gatewayObjects(r);
    case "istiod":
      return istiodObjects(r);
    case "cni":
      return nodeAgentObjects(r, "istio-cni-node", "istio-cni", { "k8s-app": "istio-cni-node" });
    case "ztunnel":
      return nodeAgentObjects(r, "ztunnel", "ztunnel", { app: "ztunnel" });
    default:
      return baseObjects(r);
  }
}

/**
 * What istiod deploys for a Gateway of class istio-waypoint (manifests/charts/istio-control/
 * istio-discovery/files/waypoint.yaml @ 1.30.3): a ServiceAccount and Deployment named after the
 * Gateway (no class suffix, gatewaycommon/classinfo.go), pods outside ambient capture themselves.
 */
export function waypointObjects(gateway: { metadata: { name: string; namespace?: string } }): Resource[] {
  const { name, namespace } = gateway.metadata;
  const labels = {
    "gateway.networking.k8s.io/gateway-name": name,
    "gateway.networking.k8s.io/gateway-class-name": "istio-waypoint",
  };
  const objects = [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace, labels } },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, namespace, labels },
      spec: {
        template: {
          metadata: { labels: { ...labels, [INJECT]: "false", [DATAPLANE_MODE]: "none" } },
          // The template renders istiod's proxy image itself; no injection, so never `image: auto`.
          spec: { serviceAccountName: name, containers: [{ name: "istio-proxy" }] },
        },
      },
    },
  ];
  return objects.flatMap((o) => toResource(o, "chart", `istiod's waypoint for Gateway ${namespace}/${name}`) ?? []);
}

export function chartObjects(releases: readonly ChartRelease[]): Resource[] {
  return releases.flatMap((r) => {
    const objects = objectsOf(r);
    return objects.flatMap((o) => toResource(o, "chart", `${r.name} (${r.chart} ${r.version})`) ?? []);
  });
}
