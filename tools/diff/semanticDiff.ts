/**
 * Compares two mesh snapshots object by object. Routing gets a reviewer's summary
 * (`/users weights v1 90→75, v2 10→25`, faults), a Helm release one line per version bump;
 * everything else is listed as `path: old → new`. A change that makes Pulumi replace something
 * (the kind cluster, a Helm release, a Deployment's selector) carries why, for the loud warning.
 */
import { type MeshObject, type MeshSnapshot, objectKey } from "./snapshot";

export interface MeshChange {
  readonly change: "added" | "removed" | "changed";
  readonly kind: string;
  readonly id: string;
  /** For a changed object: one readable line per change. */
  readonly details: readonly string[];
  /** Set when `up` deletes and recreates (or only deletes) more than this object's fields: what and why. */
  readonly replaces?: string;
}

type Json = unknown;
/** A field name, a list index, or the key of a list element matched by identity (a route's name). */
type Segment = string | number | { readonly key: string };
interface FieldChange {
  readonly path: readonly Segment[];
  /** `undefined`: absent on that side. */
  readonly before: Json;
  readonly after: Json;
}

const isObject = (v: Json): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);
/** Key order is an accident of the builder that wrote the object; it is no change. */
const canonical = (v: Json): Json =>
  Array.isArray(v)
    ? v.map(canonical)
    : isObject(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, canonical(v[k])]),
        )
      : v;
const same = (a: Json, b: Json) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));

/** What identifies a list element across versions: its name, its destination, or its port (a Gateway server). */
function elementKey(el: Json): string | undefined {
  if (!isObject(el)) return undefined;
  if (typeof el.name === "string") return el.name;
  const destination = el.destination;
  if (isObject(destination) && typeof destination.host === "string") {
    return typeof destination.subset === "string" ? destination.subset : destination.host;
  }
  const port = el.port;
  if (isObject(port) && typeof port.name === "string") return port.name;
  if (isObject(port) && typeof port.number === "number") return `port ${port.number}`;
  return undefined;
}

function keyed(list: readonly Json[]): Map<string, Json> | undefined {
  const keys = list.map(elementKey);
  if (keys.some((k) => k === undefined) || new Set(keys).size !== keys.length) return undefined;
  return new Map(list.map((el, i) => [keys[i] as string, el]));
}

function fieldChanges(before: Json, after: Json, path: Segment[] = []): FieldChange[] {
  if (same(before, after)) return [];
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((k) => fieldChanges(before[k], after[k], [...path, k]));
  }
  if (Array.isArray(before) && Array.isArray(after) && before.some(isObject)) {
    const a = keyed(before);
    const b = keyed(after);
    if (a && b) {
      const keys = [...new Set([...a.keys(), ...b.keys()])];
      return keys.flatMap((k) => fieldChanges(a.get(k), b.get(k), [...path, { key: k }]));
    }
    if (before.length === after.length) return before.flatMap((el, i) => fieldChanges(el, after[i], [...path, i]));
  }
  return [{ path, before, after }];
}

const segmentText = (s: Segment) => (typeof s === "object" ? s.key : String(s));

export function showPath(path: readonly Segment[]): string {
  return path.reduce<string>((out, s) => {
    if (typeof s === "number" || typeof s === "object") return `${out}[${segmentText(s)}]`;
    return out === "" ? s : `${out}.${s}`;
  }, "");
}

export function showValue(v: Json): string {
  if (v === undefined) return "(none)";
  if (typeof v === "string") return /^[\w./:@*+-]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v !== "object" || v === null) return String(v);
  const text = JSON.stringify(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

// ---- VirtualService: weights and faults per route ----

type Route = Record<string, Json>;

function routeLabel(route: Route): string {
  const match = Array.isArray(route.match) && isObject(route.match[0]) ? route.match[0] : {};
  const uri = isObject(match.uri) ? match.uri : {};
  const path = [uri.prefix, uri.exact, uri.regex].find((p) => typeof p === "string") as string | undefined;
  const headers = isObject(match.headers)
    ? Object.entries(match.headers).map(([h, m]) => `${h}=${isObject(m) ? String(Object.values(m)[0]) : "?"}`)
    : [];
  const label = [path, ...headers].filter(Boolean).join(" ");
  return label || (typeof route.name === "string" ? route.name : "route");
}

/** Destination (subset, or host) → percent; a lone destination takes 100. */
function weights(route: Route | undefined): Map<string, number> {
  const list = Array.isArray(route?.route) ? route.route.filter(isObject) : [];
  return new Map(
    list.map((d) => [elementKey(d) ?? "?", typeof d.weight === "number" ? d.weight : list.length === 1 ? 100 : 0]),
  );
}

function faultText(route: Route | undefined): string {
  const fault = isObject(route?.fault) ? route.fault : {};
  const percent = (f: Record<string, Json>) => {
    const p = isObject(f.percentage) ? f.percentage.value : f.percent;
    return `${String(p ?? 0)}%`;
  };
  const parts: string[] = [];
  if (isObject(fault.delay)) parts.push(`delay ${String(fault.delay.fixedDelay ?? "?")} ${percent(fault.delay)}`);
  if (isObject(fault.abort)) {
    const code = fault.abort.httpStatus ?? fault.abort.grpcStatus ?? fault.abort.http2Error ?? "?";
    parts.push(`abort ${String(code)} ${percent(fault.abort)}`);
  }
  return parts.join(" + ") || "none";
}

function routesByKey(body: Json): Map<string, Route> {
  const http = isObject(body) && isObject(body.spec) && Array.isArray(body.spec.http) ? body.spec.http : [];
  return keyed(http) ?? new Map(http.map((r, i) => [String(i), r]));
}

function virtualServiceSummary(before: Json, after: Json): { lines: string[]; covered: (c: FieldChange) => boolean } {
  const a = routesByKey(before);
  const b = routesByKey(after);
  const lines: string[] = [];
  const summarized = new Set<string>();
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const [r0, r1] = [a.get(key) as Route | undefined, b.get(key) as Route | undefined];
    if (!r0 || !r1) continue;
    const label = routeLabel(r1);
    const [w0, w1] = [weights(r0), weights(r1)];
    if (!same([...w0], [...w1])) {
      const moved = [...new Set([...w0.keys(), ...w1.keys()])]
        .filter((d) => w0.get(d) !== w1.get(d))
        .map((d) => `${d} ${w0.has(d) ? w0.get(d) : "(none)"}→${w1.has(d) ? w1.get(d) : "(none)"}`);
      if (moved.length > 0) lines.push(`${label} weights ${moved.join(", ")}`);
      summarized.add(`${key}/route`);
    }
    const [f0, f1] = [faultText(r0), faultText(r1)];
    if (f0 !== f1) {
      lines.push(`${label} fault ${f0} → ${f1}`);
      summarized.add(`${key}/fault`);
    }
  }
  const covered = (c: FieldChange) =>
    c.path[0] === "spec" &&
    c.path[1] === "http" &&
    c.path[2] !== undefined &&
    c.path[3] !== undefined &&
    summarized.has(`${segmentText(c.path[2])}/${segmentText(c.path[3])}`);
  return { lines, covered };
}

// ---- HTTPRoute (trafficApi: gateway-api): backend weights per rule ----

/** backendRef (a Service, one per version for a split) → weight; Gateway API's default weight is 1. */
function backendWeights(rule: Route | undefined): Map<string, number> {
  const refs = Array.isArray(rule?.backendRefs) ? rule.backendRefs.filter(isObject) : [];
  return new Map(
    refs.map((r) => [String(r.name ?? "?"), typeof r.weight === "number" ? r.weight : refs.length === 1 ? 100 : 1]),
  );
}

function httpRouteSummary(before: Json, after: Json): { lines: string[]; covered: (c: FieldChange) => boolean } {
  const rules = (body: Json) => {
    const list = isObject(body) && isObject(body.spec) && Array.isArray(body.spec.rules) ? body.spec.rules : [];
    return keyed(list) ?? new Map(list.map((r, i) => [String(i), r]));
  };
  const [a, b] = [rules(before), rules(after)];
  const lines: string[] = [];
  const summarized = new Set<string>();
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const [r0, r1] = [a.get(key) as Route | undefined, b.get(key) as Route | undefined];
    if (!r0 || !r1) continue;
    const [w0, w1] = [backendWeights(r0), backendWeights(r1)];
    if (same([...w0], [...w1])) continue;
    const moved = [...new Set([...w0.keys(), ...w1.keys()])]
      .filter((d) => w0.get(d) !== w1.get(d))
      .map((d) => `${d} ${w0.has(d) ? w0.get(d) : "(none)"}→${w1.has(d) ? w1.get(d) : "(none)"}`);
    lines.push(`${key} weights ${moved.join(", ")}`);
    summarized.add(key);
  }
  const covered = (c: FieldChange) =>
    c.path[0] === "spec" &&
    c.path[1] === "rules" &&
    c.path[2] !== undefined &&
    c.path[3] === "backendRefs" &&
    summarized.has(segmentText(c.path[2]));
  return { lines, covered };
}

// ---- HelmRelease: a version bump is one line ----

/** `old → new` of every Helm release whose chart version changes: values may carry the same bump. */
export type VersionBump = readonly [string, string];

const isRecord = (v: Json): v is Record<string, Json> => isObject(v);

function versionBumps(base: MeshSnapshot, head: MeshSnapshot): VersionBump[] {
  const bumps = new Map<string, VersionBump>();
  for (const [key, h] of head) {
    const b = base.get(key);
    if (h.kind !== "HelmRelease" || !b || !isRecord(b.body) || !isRecord(h.body)) continue;
    const [v0, v1] = [b.body.version, h.body.version];
    if (typeof v0 === "string" && typeof v1 === "string" && v0 !== v1) bumps.set(`${v0}→${v1}`, [v0, v1]);
  }
  return [...bumps.values()];
}

/** True when a value changed only by a version bump (a dashboard URL that names the Istio release). */
function followsBump(c: FieldChange, bumps: readonly VersionBump[]): boolean {
  const { before, after } = c;
  if (typeof before !== "string" || typeof after !== "string") return false;
  return bumps.some(([v0, v1]) => before.includes(v0) && after === before.split(v0).join(v1));
}

/** The dotted path every change shares (`values.dashboards.istio`). */
function commonPath(changes: readonly FieldChange[]): string {
  const paths = changes.map((c) => c.path.map(segmentText));
  const first = paths[0] ?? [];
  let n = 0;
  while (n < first.length - 1 && paths.every((p) => p[n] === first[n])) n++;
  return first.slice(0, n).join(".");
}

function helmReleaseDetails(changes: readonly FieldChange[], bumps: readonly VersionBump[]): string[] {
  const version = changes.find((c) => c.path.length === 1 && c.path[0] === "version");
  const followers = changes.filter((c) => c !== version && followsBump(c, bumps));
  const rest = changes.filter((c) => c !== version && !followers.includes(c));
  const lines: string[] = [];
  const bump = (c: FieldChange) => `${showValue(c.before)} → ${showValue(c.after)}`;
  if (version) {
    const also =
      followers.length === 0
        ? ""
        : followers.length === 1
          ? ` (${showPath((followers[0] as FieldChange).path)} follows)`
          : ` (${followers.length} values under ${commonPath(followers)} follow)`;
    lines.push(`version ${bump(version)}${also}`);
  } else if (followers.length > 0) {
    const [v0, v1] = bumps.find(([a]) => followers.every((c) => String(c.before).includes(a))) ?? ["?", "?"];
    const what =
      followers.length === 1
        ? showPath((followers[0] as FieldChange).path)
        : `${followers.length} values under ${commonPath(followers)}`;
    lines.push(`${what} follow${followers.length === 1 ? "s" : ""} ${v0} → ${v1}`);
  }
  return [...lines, ...rest.map((c) => `${showPath(c.path)}: ${showValue(c.before)} → ${showValue(c.after)}`)];
}

function details(kind: string, before: Json, after: Json, bumps: readonly VersionBump[]): string[] {
  const changes = fieldChanges(before, after);
  if (kind === "HelmRelease") return helmReleaseDetails(changes, bumps);
  const summary =
    kind === "VirtualService"
      ? virtualServiceSummary(before, after)
      : kind === "HTTPRoute"
        ? httpRouteSummary(before, after)
        : { lines: [], covered: () => false };
  const generic = changes
    .filter((c) => !summary.covered(c))
    .map((c) => `${showPath(c.path)}: ${showValue(c.before)} → ${showValue(c.after)}`);
  return [...summary.lines, ...generic];
}

// ---- Replacements: what `up` deletes and creates again ----

/** Workloads whose spec.selector the API server refuses to change: the Kubernetes provider replaces them. */
const IMMUTABLE_SELECTOR = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"]);

const chartOf = (o: MeshObject | undefined) => (o && isRecord(o.body) ? o.body.chart : undefined);

/**
 * Why a change replaces something, or undefined. The kind cluster: components/cluster/cluster.ts
 * makes its config the Command's replace trigger (and the cluster holds every other object). A
 * Helm release: the Kubernetes provider replaces one whose name or namespace changes
 * (helm_release.go Diff, forceNewFields), which here is one release going and another coming.
 */
function replacement(
  change: MeshChange["change"],
  base: MeshObject | undefined,
  head: MeshObject | undefined,
  added: readonly MeshObject[],
): string | undefined {
  const o = (head ?? base) as MeshObject;
  if (o.kind === "KindCluster") {
    if (change === "changed") return "replaces the cluster and everything in it (the kind config changed)";
    if (change === "removed") return "deletes the cluster and everything in it";
  }
  if (o.kind === "HelmRelease" && change === "removed") {
    const successor = added.find((a) => a.kind === "HelmRelease" && chartOf(a) === chartOf(base));
    return successor
      ? `replaces the Helm release with ${successor.id}: uninstalls it (deleting what the chart created) and installs anew`
      : "uninstalls the Helm release, deleting everything the chart created";
  }
  if (IMMUTABLE_SELECTOR.has(o.kind) && change === "changed" && base && head) {
    const selector = (x: MeshObject) => (isRecord(x.body) && isRecord(x.body.spec) ? x.body.spec.selector : undefined);
    if (!same(selector(base), selector(head))) {
      return `replaces the ${o.kind}: spec.selector is immutable, so it is deleted and created again`;
    }
  }
  return undefined;
}

/** Order a reviewer reads in: namespaces and the control plane, workloads, then traffic and policy. */
const KIND_ORDER = [
  "KindCluster",
  "Namespace",
  "HelmRelease",
  "ServiceAccount",
  "Service",
  "Deployment",
  "Gateway",
  "VirtualService",
  "HTTPRoute",
  "DestinationRule",
];
const rank = (kind: string) => {
  const i = KIND_ORDER.indexOf(kind);
  return i === -1 ? KIND_ORDER.length : i;
};

export function diffSnapshots(base: MeshSnapshot, head: MeshSnapshot): MeshChange[] {
  const keys = [...new Set([...base.keys(), ...head.keys()])];
  const bumps = versionBumps(base, head);
  const added = keys.filter((k) => !base.has(k)).map((k) => head.get(k) as MeshObject);
  const changes: MeshChange[] = [];
  for (const key of keys) {
    const [b, h] = [base.get(key), head.get(key)];
    const o = (h ?? b) as MeshObject;
    const change: MeshChange["change"] | undefined = !b
      ? "added"
      : !h
        ? "removed"
        : same(b.body, h.body)
          ? undefined
          : "changed";
    if (!change) continue;
    const replaces = replacement(change, b, h, added);
    changes.push({
      change,
      kind: o.kind,
      id: o.id,
      details: change === "changed" ? details(o.kind, b?.body, h?.body, bumps) : [],
      ...(replaces && { replaces }),
    });
  }
  return changes.sort((x, y) => rank(x.kind) - rank(y.kind) || objectKey(x).localeCompare(objectKey(y)));
}
