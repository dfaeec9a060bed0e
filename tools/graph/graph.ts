/**
 * The mesh as a picture's model: who reaches whom and on what terms, read from the objects the
 * program builds (the same `buildMeshSpec` that `pulumi up` and `npm run render` use), so the
 * picture cannot drift from what a stack deploys.
 *
 *   route   the ingress gateway's routes: path, header match, weights, fault, retries, and the
 *           destination's circuit breaker
 *   allow   an AuthorizationPolicy admits that workload's mTLS identity (and a JWT where required)
 *   denied  a caller without a sidecar: STRICT mTLS refuses its plaintext
 *   egress  outbound to a ServiceEntry host, through the egress gateway where the mesh routes it so
 *           (in ambient, the egress waypoint of the namespace the ServiceEntry is enrolled in)
 */
import { USE_WAYPOINT_LABEL } from "../../components/ambient/labels";
import { buildMeshSpec, installedControlPlane, type MeshSpec, ownedObjects } from "../../components/meshSpec";
import { parseStackConfig } from "../../config/parse";

export type NodeKind = "client" | "gateway" | "service" | "probe" | "sidecars" | "external";
export type EdgeKind = "route" | "allow" | "denied" | "egress";
/** Set only on a drawing of two graphs (./compare.ts): what the change did to a node or an edge. */
export type Change = "added" | "removed" | "changed";

export interface GraphNode {
  readonly id: string;
  readonly kind: NodeKind;
  /** First line is the name; the rest are details. */
  readonly lines: readonly string[];
  /** A namespace's id, or undefined for outside the cluster. */
  readonly group?: string;
  readonly change?: Change;
}

export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: EdgeKind;
  readonly lines: readonly string[];
  readonly change?: Change;
}

export interface GraphGroup {
  readonly id: string;
  readonly lines: readonly string[];
}

export interface MeshGraph {
  readonly groups: readonly GraphGroup[];
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
}

// The objects are plain Kubernetes/Istio objects; the graph reads the few fields it draws.
// biome-ignore lint/suspicious/noExplicitAny: a structural read of well-formed builder output
type Obj = any;

const INGRESS_PRINCIPAL = /\/ns\/istio-ingress\/sa\//;
const INGRESS = "ingress-gateway";
const EGRESS = "egress-gateway";
const SIDECARS = "backend-sidecars";

/** `user-service.backend.svc.cluster.local` → `user-service`. */
const shortHost = (host: string) => host.replace(/\.svc\.cluster\.local$/, "").split(".")[0] ?? host;
const percent = (p: Obj) => `${p?.percentage?.value ?? p?.percent ?? 100}%`;

function faultText(fault: Obj): string[] {
  if (!fault) return [];
  return [
    ...(fault.delay ? [`fault: delay ${fault.delay.fixedDelay} on ${percent(fault.delay)}`] : []),
    ...(fault.abort ? [`fault: abort ${fault.abort.httpStatus} on ${percent(fault.abort)}`] : []),
  ];
}

function retryText(route: Obj): string[] {
  const parts = [
    ...(route.retries
      ? [`retries ${route.retries.attempts}×${route.retries.perTryTimeout} on ${route.retries.retryOn}`]
      : []),
    ...(route.timeout ? [`timeout ${route.timeout}`] : []),
  ];
  return parts.length > 0 ? [parts.join(", ")] : [];
}

/** An HTTPRoute rule's retry and timeouts, worded as retryText words a VirtualService's. */
function httpRouteRetryText(rule: Obj): string[] {
  const parts = [
    ...(rule.retry
      ? [
          `retries ${rule.retry.attempts}×${rule.timeouts?.backendRequest ?? "-"} on ${(rule.retry.codes ?? []).join(",")}`,
        ]
      : []),
    ...(rule.timeouts?.request ? [`timeout ${rule.timeouts.request}`] : []),
  ];
  return parts.length > 0 ? [parts.join(", ")] : [];
}

function httpRouteMatchText(match: Obj): string {
  const path = match?.path?.value ?? "*";
  const headers = (match?.headers ?? []).map((h: Obj) => `${h.name}: ${h.value}`);
  return headers.length > 0 ? `${path} [${headers.join(", ")}]` : path;
}

function breakerText(rule: Obj): string[] {
  const policy = rule?.spec?.trafficPolicy;
  if (!policy?.connectionPool && !policy?.outlierDetection) return [];
  const pool = policy.connectionPool;
  const outlier = policy.outlierDetection;
  const poolText = pool
    ? `${pool.tcp?.maxConnections ?? "∞"} conn, ${pool.http?.http1MaxPendingRequests ?? "∞"} pending`
    : undefined;
  const ejectText = outlier
    ? `eject after ${outlier.consecutive5xxErrors}×5xx for ${outlier.baseEjectionTime}`
    : undefined;
  return [`breaker: ${[poolText, ejectText].filter(Boolean).join("; ")}`];
}

function matchText(match: Obj): string {
  const uri = match?.uri?.prefix ?? match?.uri?.exact ?? "*";
  const headers = Object.entries(match?.headers ?? {}).map(
    ([name, rule]) => `${name}: ${(rule as Obj).exact ?? (rule as Obj).prefix ?? (rule as Obj).regex}`,
  );
  return headers.length > 0 ? `${uri} [${headers.join(", ")}]` : uri;
}

export function meshGraphOf(spec: MeshSpec): MeshGraph {
  const objects: Obj[] = [...ownedObjects(spec)];
  const of = (kind: string, namespace?: string) =>
    objects.filter((o) => o.kind === kind && (namespace === undefined || o.metadata.namespace === namespace));
  const groups: GraphGroup[] = [];
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];

  // Namespaces: the backend's mTLS mode and default-deny are properties of the whole namespace.
  const peer = of("PeerAuthentication", "backend")[0];
  const denyAll = of("AuthorizationPolicy", "backend").some((p) => p.spec?.action === undefined && !p.spec?.rules);
  groups.push({ id: "istio-ingress", lines: ["namespace istio-ingress"] });
  groups.push({
    id: "backend",
    lines: [
      "namespace backend",
      [peer && `mTLS ${peer.spec.mtls.mode}`, denyAll && "deny by default"].filter(Boolean).join(" · "),
    ].filter((l) => l !== ""),
  });

  // Clients reach the ingress gateway through the kind port mappings (or a node's NodePorts).
  const ports = spec.kindCluster?.nodes?.[0]?.extraPortMappings?.map((m) => `${m.listenAddress}:${m.hostPort}`) ?? [];
  nodes.push({ id: "clients", kind: "client", lines: ["clients", ...(ports.length > 0 ? [ports.join(", ")] : [])] });
  // The ingress Gateway: Istio's (servers) or, with trafficApi gateway-api, Gateway API's (listeners).
  const gatewayApi = spec.traffic.api === "gateway-api";
  const gateway: Obj = spec.traffic.gateway;
  const servers = gatewayApi
    ? (gateway.spec.listeners ?? []).map(
        (l: Obj) => `${l.protocol} :${l.port} ${l.hostname ?? "*"}${l.tls ? ` (TLS ${l.tls.mode})` : ""}`,
      )
    : (gateway?.spec?.servers ?? []).map(
        (s: Obj) => `${s.port.protocol} :${s.port.number} ${s.hosts.join(", ")}${s.tls ? ` (TLS ${s.tls.mode})` : ""}`,
      );
  nodes.push({
    id: INGRESS,
    kind: "gateway",
    group: "istio-ingress",
    lines: ["istio-ingressgateway", `${gatewayApi ? "Gateway API " : ""}Gateway ${gateway?.metadata.name}`, ...servers],
  });
  edges.push({ from: "clients", to: INGRESS, kind: "route", lines: [] });

  // Services, with their versions and replicas, the rate limit where one applies.
  const rateLimits = of("EnvoyFilter", "backend");
  // A version Service (gateway-api's stand-in for a subset) is drawn as its service's version.
  const versionOf = (name: string) => of("Service", "backend").find((s) => s.metadata.name === name)?.spec?.selector;
  for (const service of of("Service", "backend").filter((s) => s.spec?.selector?.version === undefined)) {
    const name = service.metadata.name;
    const versions = of("Deployment", "backend")
      .filter((d) => d.spec.template.metadata.labels.app === name)
      .map((d) => `${d.spec.template.metadata.labels.version}×${d.spec.replicas}`);
    const limited = rateLimits.find((f) => f.spec?.workloadSelector?.labels?.app === name);
    const bucket = JSON.stringify(limited ?? {}).match(/"max_tokens":(\d+).*?"fill_interval":"([^"]+)"/);
    nodes.push({
      id: name,
      kind: "service",
      group: "backend",
      lines: [name, versions.join(", "), ...(bucket ? [`rate limit ${bucket[1]}/${bucket[2]} per pod`] : [])],
    });
  }
  // Keyed by service: in the gateway-api cell a breaker sits on each version Service, labelled with its app.
  const breakers = new Map(
    of("DestinationRule", "backend").map((r) => [r.metadata.labels?.app ?? shortHost(r.spec.host), breakerText(r)]),
  );

  // The ingress routes: one edge per route and destination service.
  for (const route of of("HTTPRoute", "backend").filter((r) =>
    r.spec.parentRefs?.some((p: Obj) => (p.kind ?? "Gateway") === "Gateway"),
  )) {
    for (const rule of route.spec.rules ?? []) {
      const byService = new Map<string, { version?: string; weight?: number }[]>();
      for (const ref of rule.backendRefs ?? []) {
        const selector = versionOf(ref.name);
        const app = selector?.app ?? ref.name;
        byService.set(app, [...(byService.get(app) ?? []), { version: selector?.version, weight: ref.weight }]);
      }
      for (const [app, refs] of byService) {
        const only = refs.length === 1 && refs[0]?.weight === undefined;
        const split = only
          ? refs[0]?.version
            ? [`→ ${refs[0].version} only`]
            : []
          : [refs.map((r) => `${r.version} ${r.weight ?? 1}%`).join(" · ")];
        edges.push({
          from: INGRESS,
          to: app,
          kind: "route",
          lines: [
            (rule.matches ?? [{}]).map(httpRouteMatchText).join(" | "),
            ...split,
            ...httpRouteRetryText(rule),
            ...(breakers.get(app) ?? []),
          ],
        });
      }
    }
  }
  for (const vs of of("VirtualService", "backend").filter((v) => v.spec.gateways?.includes(gateway?.metadata.name))) {
    for (const route of vs.spec.http ?? []) {
      const byService = new Map<string, Obj[]>();
      for (const d of route.route ?? []) {
        const host = shortHost(d.destination.host);
        byService.set(host, [...(byService.get(host) ?? []), d]);
      }
      for (const [host, destinations] of byService) {
        const split =
          destinations.length === 1 && destinations[0].weight === undefined
            ? destinations[0].destination.subset
              ? [`→ ${destinations[0].destination.subset} only`]
              : []
            : [destinations.map((d: Obj) => `${d.destination.subset} ${d.weight ?? 100}%`).join(" · ")];
        edges.push({
          from: INGRESS,
          to: host,
          kind: "route",
          lines: [
            (route.match ?? [{}]).map(matchText).join(" | "),
            ...split,
            ...faultText(route.fault),
            ...retryText(route),
            ...(breakers.get(host) ?? []),
          ],
        });
      }
    }
  }

  // Who may call whom: each ALLOW rule's principals, with the JWT condition where there is one.
  const probes: Obj[] = [...(spec.security.probeClients?.deployments ?? [])];
  for (const probe of probes) {
    const outside = probe.metadata.namespace !== "backend";
    if (outside && !groups.some((g) => g.id === probe.metadata.namespace)) {
      groups.push({ id: probe.metadata.namespace, lines: [`namespace ${probe.metadata.namespace}`, "no sidecar"] });
    }
    nodes.push({
      id: probe.metadata.name,
      kind: "probe",
      group: probe.metadata.namespace,
      lines: [probe.metadata.name, outside ? "curl, no sidecar" : "curl, with sidecar"],
    });
  }
  for (const policy of of("AuthorizationPolicy", "backend")) {
    const target = policy.spec?.selector?.matchLabels?.app;
    if (!target || policy.spec.action !== "ALLOW") continue;
    for (const rule of policy.spec.rules ?? []) {
      const jwt = rule.when?.find((w: Obj) => String(w.key).startsWith("request.auth.claims"));
      const condition = jwt
        ? [`JWT ${String(jwt.key).replace(/^request\.auth\.claims\[(.*)\]$/, "$1")} ∈ ${jwt.values.join("|")}`]
        : [];
      for (const source of rule.from ?? []) {
        for (const principal of source.source?.principals ?? []) {
          const caller = INGRESS_PRINCIPAL.test(principal) ? INGRESS : String(principal).split("/sa/")[1];
          const route = edges.find((e) => e.kind === "route" && e.from === caller && e.to === target);
          if (route) {
            // The gateway's identity is admitted on the same edge its routes draw.
            edges[edges.indexOf(route)] = {
              ...route,
              lines: [...route.lines, `allowed: mTLS identity${condition.length ? `, ${condition[0]}` : ""}`],
            };
          } else if (nodes.some((n) => n.id === caller)) {
            edges.push({ from: caller as string, to: target, kind: "allow", lines: ["mTLS", ...condition] });
          }
        }
      }
    }
  }
  if (peer?.spec?.mtls?.mode === "STRICT") {
    for (const probe of probes.filter((p) => p.metadata.namespace !== "backend")) {
      for (const service of of("Service", "backend").filter((s) => s.spec?.selector?.version === undefined)) {
        edges.push({
          from: probe.metadata.name,
          to: service.metadata.name,
          kind: "denied",
          lines: ["plaintext refused"],
        });
      }
    }
  }

  // Egress: ServiceEntry hosts, reached through the egress gateway where a VirtualService sends them.
  const entries = of("ServiceEntry");
  if (entries.length > 0) {
    // The installed istiod's meshConfig; unknown here when the mesh is the cluster's own (existingIstio).
    const istiod = installedControlPlane(spec)?.istiod;
    const policy: string | undefined = (istiod?.values as Obj | undefined)?.meshConfig?.outboundTrafficPolicy?.mode;
    nodes.push({
      id: SIDECARS,
      kind: "sidecars",
      group: "backend",
      lines: [
        spec.ambient ? "any backend workload (ztunnel)" : "any backend sidecar",
        ...(policy ? [`unknown hosts: ${policy}`] : []),
      ],
    });
  }
  // sidecar cells: the egress gateway, which a VirtualService on `mesh` routes hosts to. ambient: the
  // egress waypoint, which ztunnel sends every ServiceEntry of its enrolled namespace through.
  const egressWaypoint = spec.egress.waypoint?.waypoint;
  const egressGateway = egressWaypoint ?? of("Gateway", "istio-egress")[0];
  if (egressGateway) {
    groups.push({ id: "istio-egress", lines: ["namespace istio-egress"] });
    nodes.push({
      id: EGRESS,
      kind: "gateway",
      group: "istio-egress",
      lines: egressWaypoint
        ? ["egress waypoint", `Gateway ${egressWaypoint.metadata.name} (istio-waypoint)`]
        : ["istio-egressgateway", `Gateway ${egressGateway.metadata.name}`],
    });
  }
  const enrolled = (namespace: string) =>
    of("Namespace").find((n) => n.metadata.name === namespace)?.metadata.labels?.[USE_WAYPOINT_LABEL];
  const throughGateway = new Set(
    egressWaypoint
      ? entries
          .filter((e) => enrolled(e.metadata.namespace) === egressWaypoint.metadata.name)
          .filter((e) => e.metadata.namespace === egressWaypoint.metadata.namespace)
          .flatMap((e) => e.spec.hosts)
      : of("VirtualService", "istio-egress").flatMap((v) => (v.spec.gateways?.includes("mesh") ? v.spec.hosts : [])),
  );
  const toExit = egressWaypoint ? "HBONE (mTLS) to the egress waypoint" : "mTLS to the egress gateway";
  for (const entry of entries) {
    const ports = entry.spec.ports.map((p: Obj) => `${p.protocol} :${p.number}`).join(", ");
    for (const host of entry.spec.hosts) {
      nodes.push({
        id: `external:${host}`,
        kind: "external",
        lines: [host, ports, `ServiceEntry ${entry.metadata.name}`],
      });
      if (egressGateway && throughGateway.has(host)) {
        if (!edges.some((e) => e.from === SIDECARS && e.to === EGRESS)) {
          edges.push({ from: SIDECARS, to: EGRESS, kind: "egress", lines: [toExit] });
        }
        edges.push({ from: EGRESS, to: `external:${host}`, kind: "egress", lines: [ports] });
      } else {
        edges.push({ from: SIDECARS, to: `external:${host}`, kind: "egress", lines: ["direct"] });
      }
    }
  }
  return { groups, nodes, edges };
}

/** The picture's text alternative. */
export const meshTitle = (stack: string) =>
  `The mesh of stack ${stack}: ingress routes, who may call whom, and egress to external hosts`;

/** The graph of a stack file's `config:` map (full `namespace:key` keys), as render reads it. */
export const meshGraph = (stackConfig: Readonly<Record<string, unknown>>): MeshGraph =>
  meshGraphOf(buildMeshSpec(parseStackConfig(stackConfig)));
