/**
 * istiod as revisions, and the revision tags namespaces and gateways point at, as Istio's canary-upgrade
 * guide runs them (istio.io/latest/docs/setup/upgrade/canary, "Stable revision labels"). Everything is
 * derived from Istio releases: `1.30.3` installs the istiod chart 1.30.3, images tagged 1.30.3, as the
 * revision `1-30-3` (release and Pulumi resource `istiod-1-30-3`, Service `istiod-1-30-3`).
 *
 * The tags are this program's own objects, not values of an istiod release. The chart's `revisionTags`
 * renders a tag's MutatingWebhookConfiguration inside the release of the revision it points at, so moving
 * a tag would have one release create `istio-revision-tag-prod-canary` while the other still owns it, and
 * Helm refuses to adopt an object another release owns ("invalid ownership metadata"). Istio's Helm guide
 * renders the tag with `helm template ... -s templates/revision-tags-mwc.yaml | kubectl apply`: an object
 * no release owns, updated in place when the tag moves. These builders render exactly that template's
 * objects (tests/revisions.test.ts compares them with the chart's own output), so a move is one in-place
 * update: the webhook's Service and `istio.io/rev` label change and no pod is ever created without one.
 * The CA bundle is not ours: istiod patches every injector webhook labelled with its revision
 * (pkg/webhooks/webhookpatch.go), the tag's too once it points there.
 */
import type { MeshConfig } from "../../config/types";
import type { HelmValues } from "../chartRelease";
import { ISTIO_NAMESPACE, type NamedObject, objectMeta } from "../meta";

export const REVISION_TAGS = { stable: "prod-stable", canary: "prod-canary" } as const;
export type RevisionTag = (typeof REVISION_TAGS)[keyof typeof REVISION_TAGS];

/** `1.30.3` → `1-30-3`: a revision is a DNS label, and Istio's docs name revisions this way. */
export function revisionName(version: string): string {
  return version.replaceAll(".", "-");
}

/** The releases installed, the current one first, then the upgrade's. */
export function installedVersions(cfg: MeshConfig): readonly string[] {
  const upgrade = cfg.revisions.upgradeTo;
  return upgrade === undefined ? [cfg.istio.version] : [cfg.istio.version, upgrade];
}

/** Where each tag points now: a release, and so a revision. */
export function tagVersions(cfg: MeshConfig): Readonly<Record<RevisionTag, string>> {
  return { "prod-stable": cfg.revisions.stableVersion, "prod-canary": cfg.revisions.canaryVersion };
}

/** The newest of two releases (numeric, per part): the base chart's CRDs follow the newest revision. */
export function newestVersion(versions: readonly string[]): string {
  const parts = (v: string) => v.split(".").map(Number);
  return [...versions].sort((a, b) => {
    const [pa, pb] = [parts(a), parts(b)];
    const i = pa.findIndex((n, k) => n !== pb[k]);
    return i === -1 ? 0 : (pa[i] ?? 0) - (pb[i] ?? 0);
  })[versions.length - 1] as string;
}

/** The cluster's istiod revision this stack uses (`existingIstio`), unless it is the default one. */
export function adoptedRevision(cfg: MeshConfig): string | undefined {
  const revision = cfg.profile.existingIstio?.revision;
  return revision === "default" ? undefined : revision;
}

/**
 * The label that puts a namespace's pods under a tag; with `existingIstio`, under the cluster's revision;
 * without revisions, the default injector's.
 */
export function injectionLabels(cfg: MeshConfig, tag: RevisionTag = REVISION_TAGS.stable): Record<string, string> {
  const revision = cfg.revisions.enabled ? tag : adoptedRevision(cfg);
  return revision === undefined ? { "istio-injection": "enabled" } : { "istio.io/rev": revision };
}

/**
 * A gateway's chart release: its tag's. The chart puts its version in the pod template's labels, so a
 * gateway rolls when its tag moves (and back when the tag moves back), and not again when the old
 * revision is removed.
 */
export function gatewayChartVersion(cfg: MeshConfig, tag: RevisionTag): string {
  return cfg.revisions.enabled ? tagVersions(cfg)[tag] : cfg.istio.version;
}

/**
 * The gateway chart's `revision` value: its pods carry `istio.io/rev: <tag>`, so the tag's webhook injects
 * them (with `existingIstio`, the cluster's revision's). Without one the pods carry only
 * `sidecar.istio.io/inject: "true"`, which the default injector's `object.sidecar-injector.istio.io` takes.
 */
export function gatewayRevisionValues(cfg: MeshConfig, tag: RevisionTag): HelmValues {
  const revision = cfg.revisions.enabled ? tag : adoptedRevision(cfg);
  return revision === undefined ? {} : { revision };
}

const TAG_LABELS = (tag: RevisionTag, revision: string) => ({
  "istio.io/tag": tag,
  "istio.io/rev": revision,
});

/** A webhook of templates/revision-tags-mwc.yaml's "core", with its selectors. */
function injectorWebhook(prefix: string, revision: string, selectors: object) {
  return {
    name: `${prefix}sidecar-injector.istio.io`,
    admissionReviewVersions: ["v1"],
    clientConfig: {
      service: { name: `istiod-${revision}`, namespace: ISTIO_NAMESPACE, path: "/inject", port: 443 },
    },
    failurePolicy: "Fail",
    reinvocationPolicy: "Never",
    rules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"] }],
    sideEffects: "None",
    ...selectors,
  };
}

const expr = (key: string, operator: string, values?: string[]) => ({ key, operator, ...(values && { values }) });

/** istio-revision-tag-<tag>: injects pods of namespaces (or pods) labelled `istio.io/rev: <tag>`. */
export function revisionTagWebhook(tag: RevisionTag, revision: string): NamedObject {
  const notOptedOut = expr("sidecar.istio.io/inject", "NotIn", ["false"]);
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: objectMeta(`istio-revision-tag-${tag}`, undefined, {
      app: "sidecar-injector",
      "app.kubernetes.io/name": "istiod",
      "install.operator.istio.io/owning-resource": "unknown",
      "operator.istio.io/component": "Pilot",
      ...TAG_LABELS(tag, revision),
    }),
    webhooks: [
      injectorWebhook("rev.namespace.", revision, {
        namespaceSelector: {
          matchExpressions: [expr("istio.io/rev", "In", [tag]), expr("istio-injection", "DoesNotExist")],
        },
        objectSelector: { matchExpressions: [notOptedOut] },
      }),
      injectorWebhook("rev.object.", revision, {
        namespaceSelector: {
          matchExpressions: [expr("istio.io/rev", "DoesNotExist"), expr("istio-injection", "DoesNotExist")],
        },
        objectSelector: { matchExpressions: [notOptedOut, expr("istio.io/rev", "In", [tag])] },
      }),
    ],
  } as NamedObject;
}

/** istiod-revision-tag-<tag>: the tag's revision's istiod, under the tag's name (templates/revision-tags-svc.yaml). */
export function revisionTagService(tag: RevisionTag, revision: string): NamedObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: objectMeta(`istiod-revision-tag-${tag}`, ISTIO_NAMESPACE, {
      app: "istiod",
      istio: "pilot",
      "app.kubernetes.io/name": "istiod",
      "install.operator.istio.io/owning-resource": "unknown",
      "operator.istio.io/component": "Pilot",
      ...TAG_LABELS(tag, revision),
    }),
    spec: {
      ports: [
        { name: "grpc-xds", port: 15010, protocol: "TCP" },
        { name: "https-dns", port: 15012, protocol: "TCP" },
        { name: "https-webhook", port: 443, protocol: "TCP", targetPort: 15017 },
        { name: "http-monitoring", port: 15014, protocol: "TCP" },
      ],
      selector: { app: "istiod", "istio.io/rev": revision },
    },
  } as NamedObject;
}

/** Both tags' webhook and Service, each pointing at its release's revision. */
export function revisionTagObjects(cfg: MeshConfig): readonly NamedObject[] {
  return Object.entries(tagVersions(cfg)).flatMap(([tag, version]) => [
    revisionTagWebhook(tag as RevisionTag, revisionName(version)),
    revisionTagService(tag as RevisionTag, revisionName(version)),
  ]);
}
