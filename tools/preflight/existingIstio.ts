/**
 * With `existingIstio`, what the cluster's own control plane must offer before this stack relies on it:
 * an istiod serving the revision (directly, or behind a revision tag), at istioVersion's minor; in
 * ambient, its node agents; and the MeshConfig the stack's objects need. Pure: main.ts gathers the facts.
 */
import { parse } from "yaml";
import { matchesSelector } from "../../analysis/labels";
import { meshConfigValues } from "../../components/controlPlane/helmValues";
import { needsGatewayApiCrds } from "../../components/gatewayApi/crds";
import { meshDefaultNamespaces } from "../../components/meshScope";
import { buildMeshSpec, ownedObjects } from "../../components/meshSpec";
import { INGRESS_NAMESPACE, ISTIO_NAMESPACE } from "../../components/meta";
import { observabilityFootprint } from "../../components/observability/spec";
import type { ExistingIstio, MeshConfig } from "../../config/types";
import { istiodEnvFlag, istiodMinor, servingIstiods } from "../lib/istiodRevision";
import type { Finding, ListedObject, StackHoldings } from "./checks";
import { gatewayApiCrdFindings } from "./gatewayApiCrds";

/** What kubectl reports of the cluster's Istio (main.ts asks only when the stack uses it). */
export interface ExistingIstioFacts {
  /** MutatingWebhookConfigurations labelled `istio.io/tag=<revision>`: the revision tags of that name. */
  readonly tags: readonly ListedObject[];
  /** DaemonSets in istio-system (ambient only; absent with sidecars). */
  readonly daemonSets?: readonly ListedObject[];
  /** ConfigMaps labelled `istio.io/rev`, in every namespace: the mesh configs among them. */
  readonly configMaps: readonly ListedObject[];
  /**
   * The objects of istio-system whose kind and name observability's tools take (only when observability is
   * on: its tools go there), got by name as toolObjectQueries says.
   */
  readonly toolObjects?: readonly ListedObject[];
  /** Names of a kind kubectl was forbidden to get (RBAC): their collision is not checked, and a note says so. */
  readonly toolObjectsUnchecked?: readonly ToolObjectsUnchecked[];
  /** CustomResourceDefinitions (only when the cell uses Gateway API: gateway-api or ambient). */
  readonly crds?: readonly ListedObject[];
}

/**
 * The node agents Istio's ambient Helm charts install in istio-system (1.30.3: cni's templates/daemonset.yaml
 * `istio-cni-node`, ztunnel's `ztunnel` unless `resourceName` renames it).
 */
const AMBIENT_NODE_AGENTS = ["ztunnel", "istio-cni-node"] as const;

/** The Helm release an object's meta.helm.sh annotations name (helm pkg/action/validate.go). */
export const helmRelease = (o: ListedObject) => ({
  name: o.metadata?.annotations?.["meta.helm.sh/release-name"],
  namespace: o.metadata?.annotations?.["meta.helm.sh/release-namespace"],
});

/** Whether `o` belongs to a Helm release this stack's state holds. */
export function inHeldRelease(o: ListedObject, state: StackHoldings): boolean {
  const release = helmRelease(o);
  return state.releases.some((r) => r.name === release.name && r.namespace === release.namespace);
}

const REV = "istio.io/rev";
const label = (o: ListedObject, key: string) => o.metadata?.labels?.[key];
const where = (o: ListedObject) => `${o.metadata?.namespace}/${o.metadata?.name}`;
const finding = (check: Finding["check"], level: Finding["level"], message: string): Finding => ({
  check,
  level,
  message,
});

const minorOf = (version: string) => version.split(".").slice(0, 2).join(".");

/**
 * A serving istiod this stack's own state holds (its Helm release, or its namespace): the stack installed
 * it, and with existingIstio the next `up` drops base and istiod from the program, so it would uninstall
 * the istiod it is told to use and delete its namespace.
 */
function heldByThisStack(o: ListedObject, state: StackHoldings): string | undefined {
  if (inHeldRelease(o, state)) {
    const release = helmRelease(o);
    return `its Helm release ${release.namespace}/${release.name}`;
  }
  const ns = o.metadata?.namespace;
  return ns !== undefined && state.namespaces.includes(ns) ? `its namespace ${ns}` : undefined;
}

function istiodFindings(
  cfg: MeshConfig,
  existing: ExistingIstio,
  istiods: readonly ListedObject[],
  facts: ExistingIstioFacts,
  state: StackHoldings,
) {
  const serving = servingIstiods(existing.revision, istiods, facts.tags);
  const key = "istio-mesh:existingIstio.revision";
  if (serving.istiods.length === 0) {
    const found = istiods.map((o) => `${where(o)} (revision ${label(o, REV) ?? "none"})`).join(", ") || "none";
    const tag = serving.via
      ? `; tag ${existing.revision} points at revision ${serving.via}, which no istiod serves`
      : "";
    return {
      findings: [
        finding(
          "existing-istiod",
          "error",
          `no istiod serves revision ${existing.revision} (${key}): istiods found: ${found}${tag}. Name a revision ` +
            "or tag the cluster runs, or remove existingIstio to install Istio with this stack",
        ),
      ],
    };
  }
  const wanted = minorOf(cfg.istio.version);
  const findings: Finding[] = [];
  for (const o of serving.istiods) {
    if (o.metadata?.namespace !== ISTIO_NAMESPACE) {
      findings.push(
        finding(
          "existing-istiod",
          "error",
          `istiod ${where(o)} serving revision ${existing.revision} runs outside ${ISTIO_NAMESPACE}: this program ` +
            `puts its observability tools in ${ISTIO_NAMESPACE} and lets the backends' egress reach istiod only ` +
            `there, so it supports only an istiod in ${ISTIO_NAMESPACE}; use a cluster whose Istio runs there, or ` +
            "remove existingIstio",
        ),
      );
    }
    const held = heldByThisStack(o, state);
    if (held) {
      findings.push(
        finding(
          "existing-istiod",
          "error",
          `istiod ${where(o)} serving revision ${existing.revision} is this stack's own (its state holds ${held}): ` +
            "with existingIstio the next up would uninstall it and delete its namespace. Keep this stack " +
            "installing Istio (remove existingIstio), or install that istiod outside this stack first",
        ),
      );
    }
  }
  for (const o of serving.istiods) {
    const minor = istiodMinor(o);
    if (minor !== wanted) {
      findings.push(
        finding(
          "existing-istiod",
          "error",
          `istiod ${where(o)} serving revision ${existing.revision} is Istio ${minor ?? "of an unknown version (no x.y.z image tag, app.kubernetes.io/version label other than 1.0.0, or x-y-z revision)"}, ` +
            `but istioVersion is ${cfg.istio.version}: the gateways are installed from that chart and the mesh's ` +
            `objects target Istio ${wanted}. Set istioVersion to the cluster's release, or name a ${wanted} revision`,
        ),
      );
    }
  }
  if (findings.length === 0) {
    const via = serving.via ? ` (tag ${existing.revision} → revision ${serving.via})` : "";
    findings.push(
      finding(
        "existing-istiod",
        "note",
        `using istiod ${serving.istiods.map(where).join(", ")}${via}, Istio ${wanted}; this stack installs no control plane`,
      ),
    );
  }
  return {
    findings,
    revision: serving.via ?? existing.revision,
    namespace: serving.istiods[0]?.metadata?.namespace,
    istiods: serving.istiods,
  };
}

function nodeAgentFindings(daemonSets: readonly ListedObject[]): Finding[] {
  const present = new Set(daemonSets.map((d) => d.metadata?.name));
  const missing = AMBIENT_NODE_AGENTS.filter((name) => !present.has(name));
  if (missing.length === 0) return [];
  return [
    finding(
      "existing-ambient",
      "error",
      `dataplane ambient needs the cluster's ambient node agents, and DaemonSet${missing.length > 1 ? "s" : ""} ` +
        `${missing.join(" and ")} ` +
        `${missing.length > 1 ? "are" : "is"} missing in ${ISTIO_NAMESPACE}: install Istio's ambient data plane ` +
        "(cni and ztunnel charts) there, or use dataplane sidecar",
    ),
  ];
}

/** A flag set through `valueFrom`: said, not judged (the Deployment does not hold its value). */
const unreadableFlag = (check: Finding["check"], o: ListedObject, name: string, consequence: string) =>
  finding(
    check,
    "note",
    `istiod ${where(o)} sets ${name} through valueFrom, which the pre-flight cannot read: ${consequence}`,
  );

/**
 * Ambient needs istiod's `PILOT_ENABLE_AMBIENT=true` (pilot/pkg/features/ambient.go, default false; the
 * istiod chart's ambient profile sets it): without it istiod never deploys the waypoints.
 */
function ambientIstiodFindings(istiods: readonly ListedObject[]): Finding[] {
  return istiods.flatMap((o) => {
    const enabled = istiodEnvFlag(o, "PILOT_ENABLE_AMBIENT");
    if (enabled === true) return [];
    if (enabled === "unreadable") {
      return [unreadableFlag("existing-ambient", o, "PILOT_ENABLE_AMBIENT", "ambient needs it true (not checked)")];
    }
    return [
      finding(
        "existing-ambient",
        "error",
        `dataplane ambient needs istiod ${where(o)} to run with PILOT_ENABLE_AMBIENT=true (the istiod chart's ` +
          "ambient profile), and it does not: it would never deploy the waypoints. Install that istiod with " +
          "profile ambient, or use dataplane sidecar",
      ),
    ];
  });
}

/**
 * `PILOT_SCOPE_GATEWAY_TO_NAMESPACE=true` (pilot/pkg/features/pilot.go, default false) makes a gateway pod
 * take only the Istio `Gateway`s of its own namespace (model/push_context.go initGateways). The stack's
 * classic ingress `Gateway` lives in the backend namespace with the routes, its pods in istio-ingress: they
 * would get no servers. (The egress Gateway is in its pods' namespace; the Gateway API cells' is in
 * istio-ingress.)
 */
function gatewayScopeFindings(cfg: MeshConfig, istiods: readonly ListedObject[]): Finding[] {
  if (cfg.cell.trafficApi !== "istio") return [];
  return istiods.flatMap((o) => {
    const scoped = istiodEnvFlag(o, "PILOT_SCOPE_GATEWAY_TO_NAMESPACE");
    if (scoped === false) return [];
    if (scoped === "unreadable") {
      return [
        unreadableFlag(
          "existing-istiod",
          o,
          "PILOT_SCOPE_GATEWAY_TO_NAMESPACE",
          "if true, the ingress gateway would take no config (not checked)",
        ),
      ];
    }
    return [
      finding(
        "existing-istiod",
        "error",
        `istiod ${where(o)} runs with PILOT_SCOPE_GATEWAY_TO_NAMESPACE=true: a gateway then takes only the ` +
          `Gateways of its own namespace, and this stack's ingress Gateway lives in ${cfg.backend.namespace} while its ` +
          `pods run in ${INGRESS_NAMESPACE}, so ingress would serve nothing. Use an istiod without it (another ` +
          "revision), or trafficApi gateway-api, whose Gateway binds through the Service",
      ),
    ];
  });
}

/**
 * The stack's namespaces where its proxies run (meshDefaultNamespaces) that none of the mesh's
 * `discoverySelectors` selects: istiod ignores such a namespace (no endpoints, no config for its pods).
 * Selectors are ORed; the API server labels every namespace `kubernetes.io/metadata.name`.
 */
function unselectedNamespaces(cfg: MeshConfig, selectors: readonly Record<string, unknown>[]): string[] {
  const namespaces = ownedObjects(buildMeshSpec(cfg)).filter((o) => o.kind === "Namespace");
  return meshDefaultNamespaces(cfg).filter((name) => {
    const own = namespaces.find((n) => n.metadata.name === name)?.metadata.labels ?? {};
    const labels = { ...own, "kubernetes.io/metadata.name": name };
    return !selectors.some((s) => matchesSelector(s, labels));
  });
}

type Mesh = {
  rootNamespace?: string;
  discoverySelectors?: Record<string, unknown>[];
  outboundTrafficPolicy?: { mode?: string };
  accessLogFile?: string;
  extensionProviders?: { name?: string }[];
};

/**
 * The mesh config of the revision's istiod (ConfigMap `istio`, or `istio-<revision>`, key `mesh`) against
 * what the stack's objects need: a Telemetry naming a provider the mesh lacks is refused by nothing but
 * traces nowhere, so that is an error; the egress mode and access log only change behaviour: notes.
 */
export function meshConfigFindings(
  cfg: MeshConfig,
  revision: string,
  namespace: string,
  configMaps: readonly ListedObject[],
): Finding[] {
  const name = revision === "default" ? "istio" : `istio-${revision}`;
  const map = configMaps.find((c) => c.metadata?.name === name && c.metadata?.namespace === namespace);
  const text = map?.data?.mesh;
  if (text === undefined) {
    return [
      finding(
        "existing-mesh-config",
        "note",
        `cannot read ConfigMap ${namespace}/${name} (key mesh): its mesh config is not compared`,
      ),
    ];
  }
  let mesh: Mesh;
  try {
    mesh = (parse(text) ?? {}) as Mesh;
  } catch {
    return [finding("existing-mesh-config", "note", `ConfigMap ${namespace}/${name}'s mesh is not YAML: not compared`)];
  }
  const wanted = meshConfigValues(cfg);
  const out: Finding[] = [];
  // meshconfig's default root is istio-system (pkg/config/mesh/mesh.go); the chart sets istiod's namespace.
  const root = mesh.rootNamespace ?? ISTIO_NAMESPACE;
  if (root !== ISTIO_NAMESPACE) {
    out.push(
      finding(
        "existing-mesh-config",
        "error",
        `the mesh's rootNamespace (${namespace}/${name}) is ${root}, not ${ISTIO_NAMESPACE}, which this program ` +
          "takes as the mesh's root (Kiali's root_namespace, the access evaluator): use a cluster whose Istio " +
          "keeps istio-system as its root, or remove existingIstio",
      ),
    );
  }
  const selectors = Array.isArray(mesh.discoverySelectors) ? mesh.discoverySelectors : [];
  const unselected = selectors.length > 0 ? unselectedNamespaces(cfg, selectors) : [];
  if (unselected.length > 0) {
    out.push(
      finding(
        "existing-mesh-config",
        "error",
        `the mesh's discoverySelectors (${namespace}/${name}) select none of namespace ${unselected.join(", ")}: ` +
          "istiod would ignore them (no endpoints, no config). Add a selector that matches them (e.g. on " +
          "kubernetes.io/metadata.name), or remove existingIstio",
      ),
    );
  }
  const providers = new Set((mesh.extensionProviders ?? []).map((p) => p.name));
  for (const provider of wanted.extensionProviders ?? []) {
    if (!providers.has(provider.name)) {
      out.push(
        finding(
          "existing-mesh-config",
          "error",
          `the mesh config (${namespace}/${name}) has no extensionProvider ${provider.name}, which this stack's ` +
            `Telemetry names for tracing: add ${JSON.stringify(provider)} to its meshConfig.extensionProviders, ` +
            "or set observability.enabled false",
        ),
      );
    }
  }
  // Istio's default outbound policy is ALLOW_ANY (meshconfig's OutboundTrafficPolicy).
  const mode = mesh.outboundTrafficPolicy?.mode ?? "ALLOW_ANY";
  if (mode !== wanted.outboundTrafficPolicy.mode) {
    out.push(
      finding(
        "existing-mesh-config",
        "note",
        `the mesh's outboundTrafficPolicy is ${mode}, not ${wanted.outboundTrafficPolicy.mode} as ` +
          "istio-mesh:outboundTrafficPolicy says: unknown hosts are treated the mesh's way",
      ),
    );
  }
  if ((mesh.accessLogFile ?? "") !== wanted.accessLogFile) {
    out.push(
      finding(
        "existing-mesh-config",
        "note",
        `the mesh's accessLogFile is ${JSON.stringify(mesh.accessLogFile ?? "")}, not ${JSON.stringify(wanted.accessLogFile)}: ` +
          "the proxies' access logs the docs read may be absent",
      ),
    );
  }
  return out;
}

/**
 * The kubectl resource of each kind observabilityFootprint yields, and the plural a note names. A kind the
 * footprint gains and this table lacks is a programming error: kubectlResource throws (a test runs every
 * footprint through it), rather than the pre-flight silently not looking.
 */
const TOOL_RESOURCES = {
  Deployment: { resource: "deployments", plural: "Deployments" },
  Service: { resource: "services", plural: "Services" },
  ConfigMap: { resource: "configmaps", plural: "ConfigMaps" },
  Secret: { resource: "secrets", plural: "Secrets" },
  Telemetry: { resource: "telemetries.telemetry.istio.io", plural: "Telemetries" },
} as const satisfies Record<string, { resource: string; plural: string }>;

export type ToolKind = keyof typeof TOOL_RESOURCES;

/** `kubectl get <resource>` of a footprint kind; throws for a kind the table above does not map. */
export function kubectlResource(kind: string): (typeof TOOL_RESOURCES)[ToolKind] {
  if (!Object.hasOwn(TOOL_RESOURCES, kind)) {
    throw new Error(
      `preflight: observabilityFootprint yields kind ${kind}, which TOOL_RESOURCES does not map to a resource`,
    );
  }
  return TOOL_RESOURCES[kind as ToolKind];
}

/** One `kubectl get <resource> <names…> --namespace istio-system` the pre-flight sends. */
export interface ToolObjectQuery {
  readonly kind: ToolKind;
  readonly resource: string;
  readonly names: readonly string[];
}

/** A kind whose objects kubectl could not get (Forbidden), and the server's reason. */
export interface ToolObjectsUnchecked {
  readonly kind: ToolKind;
  readonly names: readonly string[];
  readonly why: string;
}

const toolFootprint = (cfg: MeshConfig) => {
  const spec = buildMeshSpec(cfg).observability;
  return spec ? observabilityFootprint(spec) : undefined;
};

/**
 * What main.ts asks kubectl for the existing-observability check: one get by name per kind of the footprint,
 * in the footprint's order. By name, not a list: a tenant of a platform cluster may get Secrets it may not list.
 */
export function toolObjectQueries(cfg: MeshConfig): ToolObjectQuery[] {
  const queries: { kind: ToolKind; resource: string; names: string[] }[] = [];
  for (const { kind, name } of toolFootprint(cfg) ?? []) {
    const { resource } = kubectlResource(kind);
    const query = queries.find((q) => q.kind === kind);
    if (!query) queries.push({ kind: kind as ToolKind, resource, names: [name] });
    else if (!query.names.includes(name)) query.names.push(name);
  }
  return queries;
}

/** A kind kubectl was forbidden to get: said, not judged (the cluster may hold them or not). */
const uncheckedNote = (u: ToolObjectsUnchecked) =>
  finding(
    "existing-observability",
    "note",
    `cannot get ${TOOL_RESOURCES[u.kind].plural} in ${ISTIO_NAMESPACE} (forbidden: ${u.why}): a collision with ` +
      `${u.kind} ${u.names.join(", ")} is not checked, and up would stop with AlreadyExists if one exists. ` +
      "Grant get on them, or check by hand",
  );

/**
 * Objects in istio-system (the cluster's, with existingIstio) of the kind and name the stack's observability
 * tools would create, that this stack's state does not hold: Istio's samples/addons applied by hand, or
 * another owner's releases. Helm refuses to take them over ("invalid ownership metadata", helm
 * pkg/action/validate.go) and the provider refuses to create what exists, so `up` would fail halfway.
 * Kinds kubectl was forbidden to get are notes.
 */
export function toolObjectFindings(
  cfg: MeshConfig,
  objects: readonly ListedObject[],
  state: StackHoldings,
  unchecked: readonly ToolObjectsUnchecked[] = [],
): Finding[] {
  const footprint = toolFootprint(cfg);
  if (!footprint) return [];
  const ours = (o: ListedObject) => {
    return (
      inHeldRelease(o, state) ||
      (state.objects ?? []).some(
        (s) => s.kind === o.kind && s.namespace === o.metadata?.namespace && s.name === o.metadata?.name,
      )
    );
  };
  const taken = objects.filter(
    (o) => footprint.some((f) => f.kind === o.kind && f.name === o.metadata?.name) && !ours(o),
  );
  const notes = unchecked.map(uncheckedNote);
  if (taken.length === 0) return notes;
  const names = taken.map((o) => `${o.kind} ${o.metadata?.name}`).join(", ");
  return [
    finding(
      "existing-observability",
      "error",
      `${ISTIO_NAMESPACE} already holds ${names}, not this stack's (Istio's sample addons, or another owner's): ` +
        "the stack's Prometheus, Grafana, Kiali and Jaeger would collide with them (Helm: invalid ownership " +
        "metadata; the Kubernetes provider: AlreadyExists). Set istio-mesh:observability's enabled to false " +
        "and use the cluster's tools, or remove them",
    ),
    ...notes,
  ];
}

export function existingIstioFindings(
  cfg: MeshConfig,
  existing: ExistingIstio,
  istiods: readonly ListedObject[],
  facts: ExistingIstioFacts,
  state: StackHoldings,
): Finding[] {
  const istiod = istiodFindings(cfg, existing, istiods, facts, state);
  const scope = gatewayScopeFindings(cfg, istiod.istiods ?? []);
  const agents =
    cfg.cell.dataplane === "ambient"
      ? [...nodeAgentFindings(facts.daemonSets ?? []), ...ambientIstiodFindings(istiod.istiods ?? [])]
      : [];
  const mesh =
    istiod.revision !== undefined && istiod.namespace !== undefined
      ? meshConfigFindings(cfg, istiod.revision, istiod.namespace, facts.configMaps)
      : [];
  const tools = toolObjectFindings(cfg, facts.toolObjects ?? [], state, facts.toolObjectsUnchecked);
  const crds = needsGatewayApiCrds(cfg) ? gatewayApiCrdFindings(cfg, facts.crds ?? []) : [];
  return [...istiod.findings, ...scope, ...agents, ...mesh, ...tools, ...crds];
}
