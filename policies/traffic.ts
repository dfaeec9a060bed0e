/** Routing invariants: weights, subsets, deprecated DestinationRule fields, fault injection. */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import {
  hostCovers,
  ISTIO_NETWORKING,
  isKind,
  istioHost,
  list,
  namespaceOf,
  objectRef,
  type Props,
  record,
  routeLabel,
  text,
  walkObjects,
} from "./lib/kube";
import { resourcesInView } from "./lib/visibility";

const isVirtualService = (type: string) => isKind(type, ISTIO_NETWORKING, "VirtualService");
const isDestinationRule = (type: string) => isKind(type, ISTIO_NETWORKING, "DestinationRule");
const GATEWAY_NETWORKING = "gateway.networking.k8s.io";
const isHttpRoute = (type: string) => isKind(type, GATEWAY_NETWORKING, "HTTPRoute");
const isKubeGateway = (type: string) => isKind(type, GATEWAY_NETWORKING, "Gateway");
const isService = (type: string) => isKind(type, "core", "Service");

/** Every route list of a VirtualService (HTTP, TCP, TLS), labelled for messages. */
function routeLists(spec: Props): { label: string; route: Props; destinations: Props[] }[] {
  return (["http", "tcp", "tls"] as const).flatMap((protocol) =>
    list(spec[protocol]).map((r, i) => {
      const route = record(r);
      const label = protocol === "http" ? routeLabel(route, i) : `${protocol} #${i}`;
      return { label, route, destinations: list(route.route).map(record) };
    }),
  );
}

const destinationName = (d: Props) => {
  const dest = record(d.destination);
  return text(dest.subset) ?? text(dest.host) ?? "?";
};

export const virtualServiceWeights: ResourceValidationPolicy = {
  name: "virtualservice-weights-sum-to-100",
  description: "Each VirtualService route splits traffic with integer weights that add up to 100.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (!isVirtualService(args.type)) return;
    for (const { label, destinations } of routeLists(record(args.props.spec))) {
      const weights = destinations.map((d) => d.weight);
      // One destination takes everything; Istio reads a missing weight as 100.
      if (destinations.length === 1 && (weights[0] === undefined || weights[0] === 100)) continue;
      if (destinations.length === 0) continue;
      const shown = destinations.map((d) => `${destinationName(d)}=${String(d.weight ?? "unset")}`).join(", ");
      const bad = weights.some((w) => typeof w !== "number" || !Number.isInteger(w) || w < 0 || w > 100);
      const sum = weights.reduce<number>((total, w) => total + (typeof w === "number" ? w : 0), 0);
      if (bad || sum !== 100) {
        reportViolation(
          `VirtualService ${objectRef(args.props)} route ${label}: weights must be integers 0-100 that sum to 100 ` +
            `(have ${shown}${bad ? "" : `, sum ${sum}`})`,
        );
      }
    }
  },
};

/** The subsets a VirtualService sends traffic to: route destinations and mirrors. */
function namedSubsets(spec: Props): { label: string; host: string; subset: string }[] {
  const found: { label: string; host: string; subset: string }[] = [];
  const add = (label: string, destination: unknown) => {
    const d = record(destination);
    const host = text(d.host);
    const subset = text(d.subset);
    if (host && subset) found.push({ label, host, subset });
  };
  for (const { label, route, destinations } of routeLists(spec)) {
    for (const d of destinations) add(label, d.destination);
    add(label, route.mirror);
    for (const m of list(route.mirrors)) add(label, record(m).destination);
  }
  return found;
}

export const routeSubsetsExist: StackValidationPolicy = {
  name: "route-subsets-exist",
  description: "Every subset a VirtualService route names is defined by a DestinationRule for that host.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const resources = resourcesInView(
      routeSubsetsExist.name,
      args,
      reportViolation,
      (type) => isDestinationRule(type) || isVirtualService(type),
    );
    if (!resources) return;
    const rules = resources
      .filter((r) => isDestinationRule(r.type))
      .map((r) => {
        const spec = record(r.props.spec);
        return {
          host: istioHost(text(spec.host) ?? "", namespaceOf(r.props)),
          subsets: new Set(list(spec.subsets).map((s) => text(record(s).name))),
        };
      });
    for (const vs of resources.filter((r) => isVirtualService(r.type))) {
      for (const { label, host, subset } of namedSubsets(record(vs.props.spec))) {
        const fqdn = istioHost(host, namespaceOf(vs.props));
        const exact = rules.filter((r) => r.host === fqdn);
        const candidates = exact.length > 0 ? exact : rules.filter((r) => hostCovers(r.host, fqdn));
        if (candidates.some((r) => r.subsets.has(subset))) continue;
        const why =
          candidates.length === 0
            ? `no DestinationRule in this stack has host ${fqdn}`
            : `the DestinationRule for ${fqdn} defines ${[...(candidates[0]?.subsets ?? [])].join(", ") || "no subsets"}`;
        reportViolation(
          `VirtualService ${objectRef(vs.props)} route ${label} sends traffic to subset "${subset}" of ${host}, but ${why}`,
          vs.urn,
        );
      }
    }
  },
};

/** Field → replacement, for fields Istio's DestinationRule schema marks deprecated (or dropped from its docs). */
const DEPRECATED_FIELDS: readonly { parent: string; field: string; instead: string }[] = [
  {
    parent: "outlierDetection",
    field: "consecutiveErrors",
    instead: "consecutive5xxErrors (or consecutiveGatewayErrors)",
  },
  { parent: "consistentHash", field: "minimumRingSize", instead: "consistentHash.ringHash.minimumRingSize" },
  { parent: "loadBalancer", field: "warmupDurationSecs", instead: "loadBalancer.warmup.duration" },
];

export const noDeprecatedDestinationRuleFields: ResourceValidationPolicy = {
  name: "no-deprecated-destinationrule-fields",
  description: "DestinationRules use no deprecated fields (consecutiveErrors, minimumRingSize, warmupDurationSecs).",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (!isDestinationRule(args.type)) return;
    walkObjects(args.props.spec, (obj, path) => {
      const parent = path
        .split(".")
        .pop()
        ?.replace(/\[\d+\]$/, "");
      for (const d of DEPRECATED_FIELDS) {
        if (parent === d.parent && d.field in obj) {
          reportViolation(
            `DestinationRule ${objectRef(args.props)}: spec.${path}.${d.field} is deprecated; use ${d.instead}`,
          );
        }
      }
    });
  },
};

function describeFault(fault: Props): string[] {
  const percentOf = (f: Props) => {
    const value = record(f.percentage).value ?? f.percent;
    return typeof value === "number" ? `${value}%` : "0% (no percentage set)";
  };
  const parts: string[] = [];
  const delay = record(fault.delay);
  if (Object.keys(delay).length > 0) {
    parts.push(`a ${text(delay.fixedDelay) ?? "?"} delay into ${percentOf(delay)} of requests`);
  }
  const abort = record(fault.abort);
  if (Object.keys(abort).length > 0) {
    const code =
      abort.httpStatus !== undefined
        ? `HTTP ${String(abort.httpStatus)}`
        : abort.grpcStatus !== undefined
          ? `gRPC ${String(abort.grpcStatus)}`
          : `HTTP/2 ${String(abort.http2Error ?? "?")}`;
    parts.push(`${code} aborts into ${percentOf(abort)} of requests`);
  }
  return parts;
}

export const FAULT_INJECTION = "fault-injection";

export const faultInjection: ResourceValidationPolicy = {
  name: FAULT_INJECTION,
  description:
    "Names every route that injects faults and the share of requests it hits. Mandatory (faults off) by default; " +
    "a stack that runs fault experiments sets it to advisory in policies/config/<stack>.json.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (!isVirtualService(args.type)) return;
    list(record(args.props.spec).http).forEach((r, i) => {
      const route = record(r);
      const fault = record(route.fault);
      for (const part of describeFault(fault)) {
        reportViolation(`VirtualService ${objectRef(args.props)} route ${routeLabel(route, i)} injects ${part}`);
      }
    });
  },
};

/** `kind/namespace/name`: how a Gateway API reference is looked up. */
const refKey = (kind: string, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

/**
 * route-subsets-exist's Gateway API analogue (trafficApi: gateway-api): Gateway API has no subsets, a
 * route names Services, so each backendRef must be a Service of this stack on a port it exposes, and
 * each parentRef a Gateway or (GAMMA) a Service of this stack. istiod accepts a dangling reference and
 * answers 500 for it at run time (pilot/pkg/config/kube/gateway/conversion.go, ResolvedRefs=False).
 * A stack without HTTPRoutes (trafficApi: istio) passes.
 */
export const routeBackendsExist: StackValidationPolicy = {
  name: "route-backends-exist",
  description: "Every HTTPRoute parentRef is a Gateway or Service, and every backendRef a Service port, of this stack.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const resources = resourcesInView(
      routeBackendsExist.name,
      args,
      reportViolation,
      (type) => isHttpRoute(type) || isKubeGateway(type) || isService(type),
    );
    if (!resources) return;
    const ports = new Map<string, number[]>();
    for (const r of resources.filter((x) => !isHttpRoute(x.type))) {
      const kind = isService(r.type) ? "Service" : "Gateway";
      const exposed = list(record(r.props.spec).ports).map((p) => Number(record(p).port));
      ports.set(refKey(kind, namespaceOf(r.props), text(record(r.props.metadata).name) ?? ""), exposed);
    }
    for (const route of resources.filter((r) => isHttpRoute(r.type))) {
      const ns = namespaceOf(route.props);
      const spec = record(route.props.spec);
      const where = `HTTPRoute ${objectRef(route.props)}`;
      for (const parent of list(spec.parentRefs).map(record)) {
        const kind = text(parent.kind) ?? "Gateway";
        const target = refKey(kind, text(parent.namespace) ?? ns, text(parent.name) ?? "");
        if (!ports.has(target)) reportViolation(`${where}: parentRef ${target} is not in this stack`, route.urn);
      }
      list(spec.rules).forEach((rule, i) => {
        const label = text(record(rule).name) ?? `#${i}`;
        for (const ref of list(record(rule).backendRefs).map(record)) {
          const target = refKey(text(ref.kind) ?? "Service", text(ref.namespace) ?? ns, text(ref.name) ?? "");
          const exposed = ports.get(target);
          if (!exposed) reportViolation(`${where} rule ${label}: backendRef ${target} is not in this stack`, route.urn);
          else if (!exposed.includes(Number(ref.port)))
            reportViolation(`${where} rule ${label}: ${target} exposes no port ${String(ref.port)}`, route.urn);
        }
      });
    }
  },
};

export const trafficPolicies = [
  virtualServiceWeights,
  routeSubsetsExist,
  routeBackendsExist,
  noDeprecatedDestinationRuleFields,
  faultInjection,
] as const;
