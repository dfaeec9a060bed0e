/**
 * The cluster's own istiod that serves a revision (`existingIstio`), found as the pre-flight and
 * verify both look for it: from the objects `kubectl get` / the API server list.
 */

/** The few fields read of a listed Deployment or webhook configuration. */
export interface ListedIstioObject {
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
  };
  readonly spec?: {
    readonly template?: {
      readonly spec?: {
        readonly containers?: readonly {
          readonly image?: string;
          readonly env?: readonly {
            readonly name?: string;
            readonly value?: string;
            readonly valueFrom?: Readonly<Record<string, unknown>>;
          }[];
        }[];
      };
    };
  };
}

const REV = "istio.io/rev";
const label = (o: ListedIstioObject, key: string) => o.metadata?.labels?.[key];

/**
 * The istiod Deployments serving `revision`: labelled with it (the istiod chart labels its Deployment
 * `istio.io/rev: <revision or "default">`), else through the tag of that name, whose webhook is labelled
 * with the revision it points at (templates/revision-tags-mwc.yaml: `istio.io/tag`, `istio.io/rev`).
 * For `default` the tag comes first, as in Istio: "Default tag takes precedence over default revision"
 * (pkg/revisions/tag_watcher.go), and `istioctl tag set default` turns the revision-less istiod's
 * injection off (istioctl/pkg/tag/generate.go).
 */
export function servingIstiods<T extends ListedIstioObject>(
  revision: string,
  istiods: readonly T[],
  tags: readonly ListedIstioObject[],
): { readonly via?: string; readonly istiods: readonly T[] } {
  const direct = istiods.filter((o) => label(o, REV) === revision);
  const target = tags.map((t) => label(t, REV)).find((r) => r !== undefined);
  const viaTag = target === undefined ? [] : istiods.filter((o) => label(o, REV) === target);
  if (revision === "default" && target !== undefined && target !== revision) return { via: target, istiods: viaTag };
  if (direct.length > 0) return { istiods: direct };
  if (target === undefined) return { istiods: [] };
  return { via: target, istiods: viaTag };
}

const RELEASE = /^v?(\d+)\.(\d+)\.\d+(?:[-+].*)?$/;

/** `docker.io/istio/pilot:1.30.3-distroless` → `1.30.3-distroless`; none for a digest or a registry port only. */
const imageTag = (image: string) => {
  const name = image.split("@")[0] ?? "";
  const colon = name.lastIndexOf(":");
  return colon > name.lastIndexOf("/") ? name.slice(colon + 1) : undefined;
};

/**
 * major.minor of an istiod: its image tag when it is x.y.z (what runs: `pilot:1.30.3`, `-distroless` too),
 * else the chart's `app.kubernetes.io/version` label (its appVersion through `istio.labels`; for a
 * digest-pinned image), else a `1-30-3` revision. The label comes second because charts built from source
 * carry the placeholder appVersion 1.0.0 (manifests/charts/istio-control/istio-discovery/Chart.yaml:
 * "release-builder will replace it"), which is skipped, and because a `global.tag` override makes the label
 * and the running image disagree.
 */
export function istiodMinor(o: ListedIstioObject): string | undefined {
  const images = (o.spec?.template?.spec?.containers ?? []).map((c) => c.image ?? "");
  for (const image of images) {
    const tag = RELEASE.exec(imageTag(image) ?? "");
    if (tag) return `${tag[1]}.${tag[2]}`;
  }
  const chart = label(o, "app.kubernetes.io/version") ?? "";
  const version = chart === "1.0.0" ? null : RELEASE.exec(chart);
  if (version) return `${version[1]}.${version[2]}`;
  const rev = /^(\d+)-(\d+)(?:-|$)/.exec(label(o, REV) ?? "");
  return rev ? `${rev[1]}.${rev[2]}` : undefined;
}

/** Go's strconv.ParseBool, which Istio's env.BoolVar uses (pkg/env/var.go): anything else is invalid. */
const PARSE_BOOL: Readonly<Record<string, boolean>> = Object.fromEntries([
  ...["1", "t", "T", "TRUE", "true", "True"].map((v) => [v, true]),
  ...["0", "f", "F", "FALSE", "false", "False"].map((v) => [v, false]),
]);

/**
 * An istiod boolean feature flag as its containers set it: unset or not a ParseBool value → the flag's
 * default (Istio logs "Invalid environment variable value" and falls back); set through `valueFrom`
 * (a ConfigMap or Secret key) → "unreadable", since the Deployment does not say. Of duplicate entries the
 * last one counts, as the kubelet applies them in order.
 */
export function istiodEnvFlag(o: ListedIstioObject, name: string, fallback = false): boolean | "unreadable" {
  for (const container of o.spec?.template?.spec?.containers ?? []) {
    const entry = (container.env ?? []).filter((e) => e.name === name).at(-1);
    if (!entry) continue;
    if (entry.value === undefined && entry.valueFrom !== undefined) return "unreadable";
    return PARSE_BOOL[entry.value ?? ""] ?? fallback;
  }
  return fallback;
}
