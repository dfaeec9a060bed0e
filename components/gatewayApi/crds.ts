import { parse, stringify } from "yaml";
import type { MeshConfig } from "../../config/types";
import type { PinnedFile, PinnedLoad } from "../pinnedFiles";

/**
 * The Gateway API CRDs the program installs: v1.5.1, the release Istio 1.30.3 builds against
 * (go.mod: sigs.k8s.io/gateway-api v1.5.1), experimental channel. The experimental channel because the lab's
 * retries need HTTPRoute `rules[].retry` (GEP-1731), which v1.5.1 ships in the experimental channel only
 * (the standard httproutes CRD has `timeouts` but no `retry`), and istiod 1.30.3 translates it
 * (pilot/pkg/config/kube/gateway/conversion.go). The experimental CRDs are a superset of the standard
 * ones, so every standard object validates too.
 *
 * The channel's `vap_safeupgrades.yaml` (a ValidatingAdmissionPolicy that refuses experimental CRDs over
 * standard ones and pre-1.5 bundles) is not installed: it is a cluster-wide guard over every tool's
 * CRD installs, not a CRD the mesh needs.
 */
export const GATEWAY_API_VERSION = "v1.5.1";
export const GATEWAY_API_CHANNEL = "experimental";

/** `gateway.networking.k8s.io_httproutes.yaml` → `httproutes.gateway.networking.k8s.io`, the CRD's name. */
export const crdName = (file: string) => {
  const [group = "", plural = ""] = file.replace(/\.yaml$/, "").split("_");
  return `${plural}.${group}`;
};

export const crdUrl = (file: string) =>
  `https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/${GATEWAY_API_VERSION}/config/crd/${GATEWAY_API_CHANNEL}/${file}`;

const pin = (file: string, sha256: string): PinnedFile => ({ file, sha256, url: crdUrl(file) });

/** sha256 of each file as tagged upstream (kubernetes-sigs/gateway-api@v1.5.1, config/crd/experimental/). */
export const GATEWAY_API_CRDS: readonly PinnedFile[] = [
  pin(
    "gateway.networking.k8s.io_backendtlspolicies.yaml",
    "84ce6da8f5041c93212ac3cec5954076abae05e73f82100351a68aefbd49a535",
  ),
  pin(
    "gateway.networking.k8s.io_gatewayclasses.yaml",
    "b0da5c35c796ca21566bbca2964e97b3d9d1b020fa77b4b62001f4aea0bc22c7",
  ),
  pin("gateway.networking.k8s.io_gateways.yaml", "ecb21e3a23757108e74399c49365864f5e0d87c694679d63e4c34c7ccf579e2a"),
  pin("gateway.networking.k8s.io_grpcroutes.yaml", "0810b89144989fd7dc7a1a19af513f44b72a16ac55bfdd71672f89bba2238465"),
  pin("gateway.networking.k8s.io_httproutes.yaml", "9012253cf248583189ff74426140556fafa38b66dc57553fd79f9ae34b2eee9f"),
  pin(
    "gateway.networking.k8s.io_listenersets.yaml",
    "2d56eb06f1bf20e153255c2fcca614022e6b3120d1ac2d080c83a865863157e5",
  ),
  pin(
    "gateway.networking.k8s.io_referencegrants.yaml",
    "aebb91539c82a18b0b79bba4209eb1f0b7b61eccc69da8f450260d9ad47b2a9a",
  ),
  pin("gateway.networking.k8s.io_tcproutes.yaml", "b7e8dde43172272e5b006ff849aedad464b2a5688f34305ae55d0faf61378030"),
  pin("gateway.networking.k8s.io_tlsroutes.yaml", "6a74bbe019916d1b53ec270634185aec2eeee1a4e100d6029a53f63ae448f77c"),
  pin("gateway.networking.k8s.io_udproutes.yaml", "37b81ef54569cd18bcdf90e83fbaf572edecb6b4795bc47b0b18ca2a9d61b5c6"),
  pin(
    "gateway.networking.x-k8s.io_xbackendtrafficpolicies.yaml",
    "55f496a32c84ff3dceafb8379113b4afb667d0fe805a7238353b719f5daeeece",
  ),
  pin("gateway.networking.x-k8s.io_xmeshes.yaml", "a8ae165ddf5724f06edd021979dd5256b405309bc2d6faca5f65a8b161d1c109"),
];

/**
 * The cell needs the CRDs when it routes with Gateway API, and in ambient, whose waypoints are
 * Gateway API `Gateway`s (gatewayClassName istio-waypoint) even when routing stays on Istio's objects.
 */
export const needsGatewayApiCrds = (cfg: MeshConfig): boolean =>
  cfg.cell.trafficApi === "gateway-api" || cfg.cell.dataplane === "ambient";

/**
 * The stack installs the CRDs only with its own Istio. A cluster whose Istio a platform runs has them
 * already (Istio's ambient and Gateway API guides install them first): a plain create would stop `up` with
 * AlreadyExists, and importing them would hand the platform's cluster-wide CRDs to this stack. With
 * existingIstio the pre-flight checks the cluster's instead (tools/preflight/gatewayApiCrds.ts).
 */
export const installsGatewayApiCrds = (cfg: MeshConfig): boolean =>
  needsGatewayApiCrds(cfg) && cfg.profile.existingIstio === undefined;

/**
 * `HTTPRoute` → `httproutes`: the plurals of the pinned CRDs' kinds (…s → …ses, consonant + y → …ies,
 * else …s: Gateway → gateways, BackendTLSPolicy → backendtlspolicies).
 */
const pluralOf = (kind: string) => {
  const lower = kind.toLowerCase();
  if (lower.endsWith("s")) return `${lower}es`;
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
};

/** A Gateway API CRD the stack's objects need, and why it must be the experimental channel, if it must. */
export interface UsedCrd {
  readonly name: string;
  readonly experimental?: string;
}

/**
 * The fields of the stack's objects that v1.5.1 ships in the experimental channel only (the standard
 * CRD's schema prunes or refuses them): HTTPRoute `rules[].retry` (GEP-1731; see resilience.ts).
 */
const experimentalFields = (o: { kind: string; spec?: unknown }): string | undefined => {
  const rules = (o.spec as { rules?: { retry?: unknown }[] } | undefined)?.rules ?? [];
  return o.kind === "HTTPRoute" && rules.some((r) => r.retry !== undefined)
    ? "HTTPRoute rules[].retry (GEP-1731), which v1.5.1 ships in the experimental channel only"
    : undefined;
};

/**
 * The pinned CRDs the given objects need: one per Gateway API kind among them, plus GatewayClass, which
 * their Gateways name (istiod creates the classes, into that CRD). Names come from GATEWAY_API_CRDS.
 */
export function usedCrds(objects: readonly { apiVersion: string; kind: string; spec?: unknown }[]): UsedCrd[] {
  const pinned = new Set(GATEWAY_API_CRDS.map((p) => crdName(p.file)));
  const used = new Map<string, string | undefined>();
  for (const o of objects) {
    const group = o.apiVersion.split("/")[0] ?? "";
    if (!group.startsWith("gateway.networking.")) continue;
    const own = `${pluralOf(o.kind)}.${group}`;
    used.set(own, used.get(own) ?? experimentalFields(o));
    if (o.kind === "Gateway") used.set(`gatewayclasses.${group}`, used.get(`gatewayclasses.${group}`));
  }
  return [...pinned].filter((n) => used.has(n)).map((name) => ({ name, experimental: used.get(name) }));
}

/** A CRD as parsed from its pinned file: what the CustomResourceDefinition resource is given. */
export interface CrdObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly annotations?: Record<string, string> };
  readonly spec: Record<string, unknown>;
}

/**
 * The parsed CRDs, file → object, or an Error naming every file that is missing or not the CRD its name
 * says: without them no Gateway API object can be admitted, so, unlike Grafana's dashboards, this is fatal.
 */
export function crdObjects(load: PinnedLoad): ReadonlyMap<string, CrdObject> | Error {
  const problems = load.missing.map((m) => `${m.file}: ${m.reason}`);
  const objects = new Map<string, CrdObject>();
  for (const { file } of GATEWAY_API_CRDS) {
    const text = load.contents[file];
    if (text === undefined) {
      if (!load.missing.some((m) => m.file === file)) problems.push(`${file}: not loaded`);
      continue;
    }
    const doc = parse(text) as CrdObject;
    if (doc?.kind !== "CustomResourceDefinition" || doc.metadata?.name !== crdName(file)) {
      problems.push(`${file}: not the CustomResourceDefinition ${crdName(file)}`);
      continue;
    }
    objects.set(file, doc);
  }
  return problems.length > 0
    ? new Error(
        `Gateway API ${GATEWAY_API_VERSION} CRDs unavailable (needed by trafficApi=gateway-api and dataplane=ambient): ${problems.join("; ")}`,
      )
    : objects;
}

/** A Gateway API CRD without its schema: what render writes and the mesh diff compares. */
export function crdShell(name: string): CrdObject {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name,
      annotations: {
        "gateway.networking.k8s.io/bundle-version": GATEWAY_API_VERSION,
        "gateway.networking.k8s.io/channel": GATEWAY_API_CHANNEL,
      },
    },
    spec: {},
  };
}

/**
 * Every pinned file as its shell: for runs that evaluate the program without a cluster or network
 * (the policy run, tests), where the CRDs' schemas matter to no one.
 */
export async function crdShellLoad(): Promise<PinnedLoad> {
  return {
    contents: Object.fromEntries(GATEWAY_API_CRDS.map((p) => [p.file, stringify(crdShell(crdName(p.file)))])),
    missing: [],
  };
}
