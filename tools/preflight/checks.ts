/**
 * What must hold on an existing cluster before this program creates anything there, judged from
 * what kubectl reports and what the stack's state holds. Pure: main.ts gathers the facts.
 */
import { buildMeshSpec, helmReleases, ownedObjects } from "../../components/meshSpec";
import { EGRESS_NAMESPACE, INGRESS_NAMESPACE } from "../../components/meta";
import type { MeshConfig } from "../../config/types";
import type { ListedIstioObject } from "../lib/istiodRevision";
import { type ExistingIstioFacts, existingIstioFindings, helmRelease, inHeldRelease } from "./existingIstio";

/**
 * The Kubernetes minors Istio 1.30 supports (istio.io/latest/docs/releases/supported-releases,
 * "Support status of Istio releases": 1.30 → 1.32, 1.33, 1.34, 1.35, 1.36).
 */
export const SUPPORTED_KUBERNETES = { istioMinor: "1.30", min: 32, max: 36 } as const;

/** `kubectl version -o json`'s serverVersion (k8s.io/apimachinery pkg/version Info). */
export interface ServerVersion {
  readonly major?: string;
  /** "35", or "35+" on EKS and GKE. */
  readonly minor?: string;
  readonly gitVersion?: string;
}

/** A Kubernetes object as `kubectl get -o json` lists it: istiod's fields, its annotations, a ConfigMap's data. */
export interface ListedObject extends ListedIstioObject {
  readonly kind?: string;
  readonly metadata?: NonNullable<ListedIstioObject["metadata"]> & {
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly data?: Readonly<Record<string, string>>;
}

/** What the stack's state holds (`pulumi stack export`): its Helm releases, its namespaces, its other objects. */
export interface StackHoldings {
  readonly releases: readonly { readonly name: string; readonly namespace: string }[];
  readonly namespaces: readonly string[];
  /** Kubernetes objects other than releases, by kind (the type's last part), namespace and name. */
  readonly objects?: readonly { readonly kind: string; readonly namespace: string; readonly name: string }[];
}

export interface PreflightFacts {
  readonly server: ServerVersion;
  /** Deployments labelled app=istiod, in every namespace. */
  readonly istiods: readonly ListedObject[];
  readonly namespaces: readonly ListedObject[];
  readonly state: StackHoldings;
  /** With `existingIstio`: what the cluster's own Istio offers. */
  readonly existingIstio?: ExistingIstioFacts;
}

export interface Finding {
  readonly check:
    | "kubernetes-version"
    | "foreign-istiod"
    | "existing-namespace"
    | "existing-istiod"
    | "existing-ambient"
    | "existing-mesh-config"
    | "existing-gateway-api"
    | "existing-observability";
  /** error: up and preview stop; warning: said loudly and passed (a rule the stack chose to override); note: said and passed. */
  readonly level: "error" | "warning" | "note";
  readonly message: string;
}

/** major.minor of the server, from `minor` ("35+" counts as 35), else from gitVersion. */
export function serverMinor(server: ServerVersion): { major: number; minor: number } | undefined {
  const major = Number.parseInt(server.major ?? "", 10);
  const minor = Number.parseInt(server.minor ?? "", 10);
  if (Number.isInteger(major) && Number.isInteger(minor)) return { major, minor };
  const git = /^v?(\d+)\.(\d+)\./.exec(server.gitVersion ?? "");
  return git ? { major: Number(git[1]), minor: Number(git[2]) } : undefined;
}

function versionFinding(cfg: MeshConfig, server: ServerVersion): Finding | undefined {
  const { istioMinor, min, max } = SUPPORTED_KUBERNETES;
  const range = `1.${min}–1.${max}`;
  if (!cfg.istio.version.startsWith(`${istioMinor}.`)) {
    return {
      check: "kubernetes-version",
      level: "note",
      message: `Istio ${cfg.istio.version}: this check knows Istio ${istioMinor}'s range (${range}) only; see istio.io's supported releases`,
    };
  }
  const found = serverMinor(server);
  const shown = server.gitVersion ?? `${server.major ?? "?"}.${server.minor ?? "?"}`;
  if (!found) {
    return { check: "kubernetes-version", level: "error", message: `cannot read the server's version (${shown})` };
  }
  if (found.major === 1 && found.minor >= min && found.minor <= max) return undefined;
  const outside = `Kubernetes ${shown} is outside Istio ${istioMinor}'s supported range ${range} (istio.io supported releases)`;
  if (cfg.cluster.mode === "existing" && cfg.cluster.allowUnsupportedKubernetes) {
    return {
      check: "kubernetes-version",
      level: "warning",
      message: `${outside}; going ahead, as istio-mesh:allowUnsupportedKubernetes says: Istio is not tested there`,
    };
  }
  return {
    check: "kubernetes-version",
    level: "error",
    message:
      `${outside}: use a cluster in that range, or an istioVersion that supports it, or set ` +
      "istio-mesh:allowUnsupportedKubernetes true to go ahead anyway",
  };
}

function istiodFindings(cfg: MeshConfig, facts: PreflightFacts): Finding[] {
  const existing = cfg.profile.existingIstio;
  if (existing) {
    const empty = { tags: [], configMaps: [] };
    return existingIstioFindings(cfg, existing, facts.istiods, facts.existingIstio ?? empty, facts.state);
  }
  return facts.istiods
    .filter((o) => !inHeldRelease(o, facts.state))
    .map((o) => {
      const r = helmRelease(o);
      const what =
        `istiod ${o.metadata?.namespace}/${o.metadata?.name} (revision ` +
        `${o.metadata?.labels?.["istio.io/rev"] ?? "default"}, ` +
        `${r.name ? `Helm release ${r.namespace}/${r.name}` : "not installed by Helm"})`;
      return {
        check: "foreign-istiod" as const,
        level: "error" as const,
        message:
          `${what} runs in this cluster and is not this stack's: a second control plane would fight it over ` +
          "the webhooks and CRDs. Use it instead (istio-mesh:existingIstio, revision " +
          `${o.metadata?.labels?.["istio.io/rev"] ?? "default"}), or remove it`,
      };
    });
}

/** The namespaces the program creates, and the ones its Helm releases install into. */
export function namespacesCreated(cfg: MeshConfig): string[] {
  const spec = buildMeshSpec(cfg);
  const objects = ownedObjects(spec)
    .filter((o) => o.kind === "Namespace")
    .map((o) => o.metadata.name);
  return [...new Set([...objects, ...helmReleases(spec).map((r) => r.namespace)])];
}

/**
 * On a cluster whose Istio a platform team runs, its gateways often live in the gateway namespaces this
 * program creates (Istio's Helm install guide uses istio-ingress). Their names are fixed, so the message
 * says what the user can do instead of deleting the platform's gateway.
 */
const GATEWAY_NAMESPACE_HINT =
  "; with existingIstio it is usually the platform's gateway: this program's gateway namespaces " +
  `(${INGRESS_NAMESPACE}, ${EGRESS_NAMESPACE}) are fixed, so move that gateway to another namespace, or run ` +
  "this stack on a cluster without it";

function namespaceFindings(cfg: MeshConfig, facts: PreflightFacts): Finding[] {
  const existing = new Set(facts.namespaces.map((n) => n.metadata?.name));
  const gateways: readonly string[] = [INGRESS_NAMESPACE, EGRESS_NAMESPACE];
  return namespacesCreated(cfg)
    .filter((name) => existing.has(name) && !facts.state.namespaces.includes(name))
    .map((name) => ({
      check: "existing-namespace" as const,
      level: "error" as const,
      message:
        `namespace ${name} exists and this stack did not create it: this program never adopts a namespace, so ` +
        "that destroy cannot delete it (the provider would refuse it as AlreadyExists). " +
        (cfg.profile.existingIstio && gateways.includes(name)
          ? `Do not delete it${GATEWAY_NAMESPACE_HINT}`
          : "Delete it if nothing else uses it, or use a cluster without it"),
    }));
}

export function preflightFindings(cfg: MeshConfig, facts: PreflightFacts): Finding[] {
  const version = versionFinding(cfg, facts.server);
  return [...(version ? [version] : []), ...istiodFindings(cfg, facts), ...namespaceFindings(cfg, facts)];
}

/** The releases and namespaces a `pulumi stack export` document holds (an empty stack holds none). */
export function stackHoldings(exported: unknown): StackHoldings {
  const resources = (exported as { deployment?: { resources?: unknown[] } })?.deployment?.resources ?? [];
  const releases: { name: string; namespace: string }[] = [];
  const namespaces: string[] = [];
  const objects: { kind: string; namespace: string; name: string }[] = [];
  for (const r of resources as { type?: string; outputs?: Record<string, unknown> }[]) {
    const out = r.outputs ?? {};
    if (r.type === "kubernetes:helm.sh/v3:Release" && typeof out.name === "string") {
      releases.push({ name: out.name, namespace: typeof out.namespace === "string" ? out.namespace : "default" });
    }
    const meta = out.metadata as { name?: unknown; namespace?: unknown } | undefined;
    if (r.type === "kubernetes:core/v1:Namespace" && typeof meta?.name === "string") namespaces.push(meta.name);
    else if (
      r.type?.startsWith("kubernetes:") &&
      typeof meta?.name === "string" &&
      typeof meta.namespace === "string"
    ) {
      objects.push({ kind: r.type.split(":").at(-1) ?? "", namespace: meta.namespace, name: meta.name });
    }
  }
  return { releases, namespaces, objects };
}
