/**
 * Compares two mesh snapshots object by object. Routing gets a reviewer's summary
 * (`/users weights v1 90→75, v2 10→25`, faults); everything else is listed as `path: old → new`.
 */
import { type MeshObject, type MeshSnapshot, objectKey } from "./snapshot";

export interface MeshChange {
  readonly change: "added" | "removed" | "changed";
  readonly kind: string;
  readonly id: string;
  /** For a changed object: one readable line per change. */
  readonly details: readonly string[];
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

function details(kind: string, before: Json, after: Json): string[] {
  const changes = fieldChanges(before, after);
  const summary =
    kind === "VirtualService" ? virtualServiceSummary(before, after) : { lines: [], covered: () => false };
  const generic = changes
    .filter((c) => !summary.covered(c))
    .map((c) => `${showPath(c.path)}: ${showValue(c.before)} → ${showValue(c.after)}`);
  return [...summary.lines, ...generic];
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
  "DestinationRule",
];
const rank = (kind: string) => {
  const i = KIND_ORDER.indexOf(kind);
  return i === -1 ? KIND_ORDER.length : i;
};

export function diffSnapshots(base: MeshSnapshot, head: MeshSnapshot): MeshChange[] {
  const keys = [...new Set([...base.keys(), ...head.keys()])];
  const changes: MeshChange[] = [];
  for (const key of keys) {
    const [b, h] = [base.get(key), head.get(key)];
    const o = (h ?? b) as MeshObject;
    if (!b) changes.push({ change: "added", kind: o.kind, id: o.id, details: [] });
    else if (!h) changes.push({ change: "removed", kind: o.kind, id: o.id, details: [] });
    else if (!same(b.body, h.body)) {
      changes.push({ change: "changed", kind: o.kind, id: o.id, details: details(o.kind, b.body, h.body) });
    }
  }
  return changes.sort((x, y) => rank(x.kind) - rank(y.kind) || objectKey(x).localeCompare(objectKey(y)));
}
