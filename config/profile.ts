import { configKey, optional, type RawConfig, type Readers } from "./readers";
import { fieldsOf, keyReference, PROFILES } from "./reference";
import type { ExistingIstio, MeshProfile } from "./types";

/** The lab or production shape of the same mesh, and what only production reads. */

/** A Kubernetes annotation name: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters. */
const ANNOTATION_NAME =
  /^(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

export function parseProfileArea(raw: RawConfig, read: Readers): MeshProfile {
  const mode = raw.clusterMode === "existing" ? "existing" : "kind";
  const name = optional(raw, "profile", (v, k) => read.oneOf(k, v, PROFILES)) ?? defaultProfile(mode);
  // kind runs one node and no load-balancer controller: production's spread and LoadBalancer would never settle.
  if (name === "production" && mode === "kind") {
    read.fail(configKey("profile"), raw.profile, "lab with clusterMode kind (production needs clusterMode existing)");
  }
  const annotations = optional(raw, "ingressServiceAnnotations", (v, k) => annotationMap(read, k, v));
  if (annotations !== undefined && Object.keys(annotations).length > 0 && name !== "production") {
    read.fail(
      configKey("ingressServiceAnnotations"),
      raw.ingressServiceAnnotations,
      "only used with profile production (the lab's ingress is a NodePort); remove it",
    );
  }
  // On kind the cluster is the stack's own; config/cluster.ts refuses the key there.
  const existingIstio =
    mode === "existing" ? optional(raw, "existingIstio", (v, k) => parseExistingIstio(read, k, v)) : undefined;
  return { name, ingressServiceAnnotations: annotations ?? {}, ...(existingIstio && { existingIstio }) };
}

/** A revision or tag is a label value that also names a Service (`istiod-<revision>`): a DNS label. */
const REVISION = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

function parseExistingIstio(read: Readers, key: string, value: unknown): ExistingIstio | undefined {
  const fields = read.object(key, value, fieldsOf("existingIstio"));
  if (!fields) return undefined;
  const allowed = keyReference("existingIstio").fields?.revision?.allowed ?? "";
  const revision =
    fields.revision === undefined
      ? read.missing(key, `${key}.revision`, allowed)
      : read.string(`${key}.revision`, fields.revision, REVISION, allowed);
  return revision === undefined ? undefined : { revision };
}

/** `lab` on kind, `production` on a cluster of one's own. */
export const defaultProfile = (mode: "kind" | "existing"): MeshProfile["name"] =>
  mode === "existing" ? "production" : "lab";

function annotationMap(read: Readers, key: string, value: unknown): Record<string, string> | undefined {
  const record = read.object(key, value);
  if (record === undefined) return undefined;
  const allowed = keyReference("ingressServiceAnnotations").allowed;
  const entries = Object.entries(record);
  const bad = entries.filter(([k, v]) => !ANNOTATION_NAME.test(k) || typeof v !== "string");
  if (bad.length > 0) return read.fail(key, value, allowed);
  return Object.fromEntries(entries) as Record<string, string>;
}
