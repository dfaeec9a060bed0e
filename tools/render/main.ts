/**
 * Renders a stack's mesh to plain YAML with the program's own builders: no Pulumi CLI, no cluster.
 *
 *   npm run render -- [--stack dev] [--out rendered/<stack>]     (--help for the rest)
 *
 * Top-level files are the owned objects, numbered so `kubectl apply -f <out>/` takes namespaces
 * first. helm/ and kind/ hold inputs for other tools; kubectl -f without -R does not descend there.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { buildMeshSpec, helmReleases, ownedObjects } from "../../components/meshSpec";
import { parseMeshConfig } from "../../config/parse";
import { projectConfig } from "../../config/readers";
import { readStackFile, secretProjectKeys } from "../../config/stackFile";
import { CliError, EXIT, fileStack, parseCli, reportFailure } from "../lib/cli";

export interface RenderedFile {
  /** Relative to the output dir, `/`-separated. */
  readonly path: string;
  readonly content: string;
}

/** A problem the user fixes (arguments, stack file, output dir): one line, exit 2. */
export class RenderError extends CliError {
  override name = "RenderError";
}

export const HELP = `usage: npm run render -- [--stack NAME] [--out DIR]

Renders a stack's mesh to plain YAML with the program's own builders, from Pulumi.<stack>.yaml: no
Pulumi CLI, no cluster. Top-level files are the owned objects, numbered so \`kubectl apply -f DIR/\`
takes namespaces first; helm/ holds the charts' values and kind/ the cluster's config.

  --stack NAME   the stack file Pulumi.NAME.yaml (default: $STACK, else dev, as npm run up)
  --out DIR      where to write (default rendered/<stack>); cleared first, if render wrote it

Exit status: 0 written, 2 could not render (bad flag, missing stack file, invalid or encrypted config,
an --out dir holding other files).`;

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
  const spec = buildMeshSpec(parseMeshConfig(projectConfig(stackConfig)));
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

/** The CLI: reads the stack file, writes the files, returns the exit code; never throws. */
export function main(
  argv: readonly string[],
  projectRoot: string,
  io: Io = consoleIo,
  env: NodeJS.ProcessEnv = process.env,
): number {
  try {
    const parsed = parseCli("render", argv, { stack: { type: "string" }, out: { type: "string" } });
    if (parsed === undefined) {
      io.stdout(HELP);
      return EXIT.ok;
    }
    const { values } = parsed;
    const stack = fileStack(values.stack, env);
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
    return EXIT.ok;
  } catch (error) {
    return reportFailure("render", error, io.stderr);
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2), path.resolve(__dirname, "..", ".."));
