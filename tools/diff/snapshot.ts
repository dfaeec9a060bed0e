/**
 * A mesh as a reviewer thinks of it: one entry per object (`Kind namespace/name`), from the files
 * `npm run render` writes. Keyed by object, not by file name, so a renumbered file is no change.
 */
import * as YAML from "yaml";

export interface RenderedFile {
  readonly path: string;
  readonly content: string;
}

export interface MeshObject {
  readonly kind: string;
  /** `namespace/name`, or `name` for cluster-scoped objects. */
  readonly id: string;
  readonly body: unknown;
}

export type MeshSnapshot = ReadonlyMap<string, MeshObject>;

export const objectKey = (o: Pick<MeshObject, "kind" | "id">) => `${o.kind} ${o.id}`;

/** `# chart: base, version: 1.30.3, repo: https://…, namespace: istio-system` → its fields. */
function helmHeader(content: string): Record<string, string> {
  const first = content.split("\n", 1)[0] ?? "";
  return Object.fromEntries(
    first
      .replace(/^#\s*/, "")
      .split(/,\s*/)
      .map((part) => part.split(/:\s*/))
      .filter((kv): kv is [string, string] => kv.length >= 2)
      .map(([k, ...v]) => [k, v.join(":")]),
  );
}

export function snapshotOf(files: readonly RenderedFile[]): MeshSnapshot {
  const objects = new Map<string, MeshObject>();
  const add = (o: MeshObject) => objects.set(objectKey(o), o);
  for (const file of files) {
    const body: unknown = YAML.parse(file.content);
    // By release name, wherever render files it (the addons sit in helm/addons/ for chart-render's sake).
    const helm = /^helm\/(?:.+\/)?([^/]+)\.values\.yaml$/.exec(file.path);
    if (helm) {
      const { chart, version, repo, namespace } = helmHeader(file.content);
      add({
        kind: "HelmRelease",
        id: `${namespace ?? "?"}/${helm[1]}`,
        body: { chart, version, repo, values: body ?? {} },
      });
      continue;
    }
    if (file.path.startsWith("kind/")) {
      const name = (body as { name?: string } | null)?.name ?? file.path;
      add({ kind: "KindCluster", id: name, body });
      continue;
    }
    const o = body as { kind?: string; metadata?: { name?: string; namespace?: string } } | null;
    if (!o?.kind || !o.metadata?.name) continue;
    const id = o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
    add({ kind: o.kind, id, body });
  }
  return objects;
}
