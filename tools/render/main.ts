/**
 * Renders a stack's mesh to plain YAML with the program's own builders: no Pulumi CLI, no cluster.
 *
 *   tsx tools/render/main.ts [--stack dev] [--out rendered/<stack>]
 *
 * Top-level files are the owned objects, numbered so `kubectl apply -f <out>/` takes namespaces
 * first. helm/ and kind/ hold inputs for other tools; kubectl -f without -R does not descend there.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import * as YAML from "yaml";
import { buildMeshSpec, helmReleases, ownedObjects } from "../../components/meshSpec";
import { ConfigError } from "../../config/issues";
import { parseStackConfig } from "../../config/parse";
import { readStackFile, StackFileError, secretProjectKeys } from "../../config/stackFile";

export interface RenderedFile {
  /** Relative to the output dir, `/`-separated. */
  readonly path: string;
  readonly content: string;
}

/** A problem the user fixes (arguments, stack file, output dir); reported without a stack trace. */
export class RenderError extends Error {
  override name = "RenderError";
}

// kubectl and Helm read YAML 1.1, where bare `yes`/`on`/`0755` are not strings: 1.1 output quotes them.
const toYaml = (value: unknown) => YAML.stringify(value, { version: "1.1", aliasDuplicateObjects: false });

/** The files for a stack's `config:` map (full `namespace:key` keys). Pure: tests call it directly. */
export function renderMesh(stackConfig: Record<string, unknown>): RenderedFile[] {
  const secret = secretProjectKeys(stackConfig);
  if (secret.length > 0) {
    throw new RenderError(
      `render cannot decrypt secrets; use \`pulumi preview\` for a stack that sets ${secret.join(", ")}`,
    );
  }
  const spec = buildMeshSpec(parseStackConfig(stackConfig));
  const objects = ownedObjects(spec);
  const width = Math.max(2, String(objects.length - 1).length);
  const files: RenderedFile[] = objects.map((o, i) => ({
    path: `${String(i).padStart(width, "0")}-${o.kind.toLowerCase()}-${o.metadata.namespace ?? "cluster"}-${o.metadata.name}.yaml`,
    content: toYaml(o),
  }));
  for (const r of helmReleases(spec)) {
    const header = `# chart: ${r.chart}, version: ${r.version}, repo: ${r.repo}, namespace: ${r.namespace}\n`;
    files.push({ path: `helm/${r.name}.values.yaml`, content: header + toYaml(r.values) });
  }
  // A folder of its own: chart-render reads helm/*.values.yaml for Istio's charts only.
  for (const r of spec.observability?.releases ?? []) {
    const header = `# chart: ${r.chart}, version: ${r.version}, repo: ${r.repo}, namespace: ${r.namespace}\n`;
    files.push({ path: `helm/addons/${r.name}.values.yaml`, content: header + toYaml(r.values) });
  }
  if (spec.kindCluster) files.push({ path: "kind/cluster.yaml", content: toYaml(spec.kindCluster) });
  return files;
}

/** What a previous render leaves behind; anything else means `out` is not ours to delete. */
const OWNED_ENTRY = /^(?:\d+-.+\.yaml|helm|kind)$/;

function clearOutDir(dir: string): void {
  if (existsSync(dir)) {
    const foreign = readdirSync(dir).filter((entry) => !OWNED_ENTRY.test(entry));
    if (foreign.length > 0) {
      throw new RenderError(
        `${dir} holds files render did not write (${foreign.slice(0, 3).join(", ")}); not clearing it`,
      );
    }
    rmSync(dir, { recursive: true });
  }
  mkdirSync(dir, { recursive: true });
}

export interface Io {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
}

const consoleIo: Io = { stdout: (line) => console.log(line), stderr: (line) => console.error(line) };

/** The CLI: reads the stack file, writes the files, returns the exit code. */
export function main(argv: string[], projectRoot: string, io: Io = consoleIo): number {
  try {
    let values: { stack?: string | undefined; out?: string | undefined };
    try {
      ({ values } = parseArgs({ args: argv, options: { stack: { type: "string" }, out: { type: "string" } } }));
    } catch (error) {
      throw new RenderError(
        `${(error as Error).message}\nusage: tsx tools/render/main.ts [--stack dev] [--out rendered/<stack>]`,
      );
    }
    const stack = values.stack ?? "dev";
    const files = renderMesh(readStackFile(path.join(projectRoot, `Pulumi.${stack}.yaml`)));
    // Render before clearing, so a bad config leaves the previous output in place.
    const outDir = values.out === undefined ? path.join(projectRoot, "rendered", stack) : path.resolve(values.out);
    clearOutDir(outDir);
    for (const file of files) {
      const target = path.join(outDir, file.path);
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, file.content);
    }
    io.stdout(`render: wrote ${files.length} files for stack ${stack} to ${outDir}`);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError || error instanceof RenderError || error instanceof StackFileError) {
      io.stderr(error.message);
      return 1;
    }
    throw error;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2), path.resolve(__dirname, "..", ".."));
