/**
 * The pods of a stack as a cluster runs them. A stack's Deployments are templates; in the cluster, the
 * sidecar injector adds `istio-proxy` to every pod an injection webhook selects (its namespace's labels
 * and the pod's), with its revision's proxy image and the `sidecar.istio.io/status` annotation. Checks
 * that ask whether a pod is in the mesh (analyzers/util/in_mesh.go: an istio-proxy container, else
 * `sidecar.istio.io/inject`, else `istio-injection=enabled` on the namespace) then see what istioctl
 * sees in a cluster, also where a revision or a tag (`istio.io/rev`) injects instead of istio-injection.
 */
import { list, type Props, record, text } from "../policies/lib/kube";
import { matchesSelector } from "./labels";
import { containersOf, type Resource } from "./model";

const REV = "istio.io/rev";
const PROXY = "istio-proxy";

interface Injector {
  readonly revision: string;
  readonly namespaceSelector?: Props;
  readonly objectSelector?: Props;
}

/** The `*sidecar-injector.istio.io` webhooks, each with the revision its configuration serves. */
function injectors(resources: readonly Resource[]): Injector[] {
  return resources
    .filter((r) => r.kind === "MutatingWebhookConfiguration" && r.labels[REV] !== undefined)
    .flatMap((r) =>
      list(r.body.webhooks)
        .map(record)
        .filter((w) => (text(w.name) ?? "").endsWith("sidecar-injector.istio.io"))
        .map((w) => ({
          revision: r.labels[REV] as string,
          ...(w.namespaceSelector !== undefined && { namespaceSelector: record(w.namespaceSelector) }),
          ...(w.objectSelector !== undefined && { objectSelector: record(w.objectSelector) }),
        })),
    );
}

/** The proxy image a revision injects: its istiod's pilot image, as proxyv2 (same hub and tag). */
function proxyImage(resources: readonly Resource[], revision: string): string | undefined {
  const istiod = resources.find(
    (r) => r.kind === "Deployment" && r.labels.app === "istiod" && r.labels[REV] === revision,
  );
  const spec = record(record(record(istiod?.body.spec).template).spec);
  const pilot = text(containersOf(spec).find((c) => text(c.name) === "discovery")?.image);
  return pilot?.replace(/\/pilot:/, "/proxyv2:");
}

/** `resources` with every Deployment an injector selects carrying the sidecar it would get. */
export function withInjectedSidecars(resources: readonly Resource[]): Resource[] {
  const hooks = injectors(resources);
  const namespaceLabels = new Map(resources.filter((r) => r.kind === "Namespace").map((r) => [r.name, r.labels]));
  return resources.map((r) => {
    if (r.kind !== "Deployment") return r;
    const spec = record(r.body.spec);
    const template = record(spec.template);
    const podSpec = record(template.spec);
    if (containersOf(podSpec).some((c) => text(c.name) === PROXY)) return r;
    const podLabels = record(record(template.metadata).labels) as Record<string, string>;
    const nsLabels = namespaceLabels.get(r.namespace ?? "default") ?? {};
    const hook = hooks.find(
      (h) => matchesSelector(h.namespaceSelector, nsLabels) && matchesSelector(h.objectSelector, podLabels),
    );
    const image = hook && proxyImage(resources, hook.revision);
    if (!hook || !image) return r;
    const metadata = record(template.metadata);
    const status = JSON.stringify({ containers: [PROXY], revision: hook.revision });
    const injected = {
      ...template,
      metadata: { ...metadata, annotations: { ...record(metadata.annotations), "sidecar.istio.io/status": status } },
      spec: { ...podSpec, containers: [...list(podSpec.containers), { name: PROXY, image }] },
    };
    return { ...r, body: { ...r.body, spec: { ...spec, template: injected } } };
  });
}
