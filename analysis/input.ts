/**
 * The analyzer's two inputs. A stack: the program's own objects under the same engine-free evaluation
 * as `npm run render` (config → MeshSpec → objects), the objects only `pulumi up` fills in (the
 * RequestAuthentication, the TLS Secret) as shells, the charts' objects from their values, the pods
 * with the sidecars the injector would add (injection.ts), and the mesh config istiod gets. Or a folder of YAML manifests, read as istioctl reads files: nothing added.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { buildMeshSpec, helmReleases, ownedObjects } from "../components/meshSpec";
import { requestAuthentication } from "../components/security/jwt";
import type { MeshConfig } from "../config/types";
import { record, text } from "../policies/lib/kube";
import { GENERATED_DATA } from "./analyzers/gateway/secret";
import { chartObjects, waypointObjects } from "./chartObjects";
import { meshFactsOf, PROJECT_LOAD } from "./facts";
import { withInjectedSidecars } from "./injection";
import { type AnalysisInput, DEFAULT_MESH, type Resource, toResource } from "./model";

/** A stack's objects: the program's, the ones `pulumi up` completes, and the charts'. */
export function stackInput(cfg: MeshConfig): AnalysisInput {
  const spec = buildMeshSpec(cfg);
  const releases = helmReleases(spec);
  const pending = { [GENERATED_DATA]: "pulumi up generates this object's key material" };
  const shells = [
    requestAuthentication(cfg, "(JWKS of the stack's signing key)"),
    { ...spec.security.tlsSecret, metadata: { ...spec.security.tlsSecret.metadata, annotations: pending } },
  ];
  const resources = [
    ...[...ownedObjects(spec), ...shells].flatMap((o) => toResource(o, "program") ?? []),
    ...chartObjects(releases),
    ...(spec.ambient ? waypointObjects(spec.ambient.waypoint) : []),
    ...(spec.egress.waypoint ? waypointObjects(spec.egress.waypoint.waypoint) : []),
  ];
  return { resources: withInjectedSidecars(resources), mesh: meshFactsOf(releases), load: PROJECT_LOAD, mode: "stack" };
}

export class InputError extends Error {
  override name = "InputError";
}

/** `*.yaml`/`*.yml`/`*.json` directly in `dir` (not below it: istioctl analyze without --recursive). */
export function filesInput(dir: string): AnalysisInput {
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new InputError(`${dir} is not a directory`);
    entries = readdirSync(dir)
      .filter((f) => /\.(?:ya?ml|json)$/.test(f))
      .sort();
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`cannot read ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (entries.length === 0) throw new InputError(`${dir} holds no .yaml, .yml or .json files`);
  const resources: Resource[] = [];
  for (const file of entries) {
    const full = path.join(dir, file);
    const docs = YAML.parseAllDocuments(readFileSync(full, "utf8"));
    for (const doc of docs) {
      if (doc.errors.length > 0) throw new InputError(`${full}: ${doc.errors[0]?.message.split("\n")[0]}`);
      const value = doc.toJS() as unknown;
      const items = text(record(value).kind) === "List" ? (record(value).items as unknown[]) : [value];
      for (const item of items ?? []) {
        const r = toResource(item, "file", file);
        if (r) resources.push(r);
      }
    }
  }
  return { resources, mesh: DEFAULT_MESH, load: PROJECT_LOAD, mode: "files" };
}
