/**
 * Renders one checkout of the project with that checkout's own code (its tools/render/main.ts and the
 * builders behind it). `npm run diff` calls it in-process for the working tree and as a child
 * process for the base commit, whose code may differ:
 *
 *   node --import tsx tools/diff/renderTree.ts <project dir> <stack>   → JSON on stdout
 *
 * Exit 1: render failed, or the stack file does not exist there (npm run diff checks that first).
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import type { RenderedFile } from "./snapshot";

type RenderMesh = (stackConfig: Record<string, unknown>) => RenderedFile[];

export class RenderCheckoutError extends Error {
  override name = "RenderCheckoutError";
}

/** The rendered files, or undefined when that checkout has no Pulumi.<stack>.yaml. */
export function renderCheckout(dir: string, stack: string): RenderedFile[] | undefined {
  const stackFile = path.join(dir, `Pulumi.${stack}.yaml`);
  if (!existsSync(stackFile)) return undefined;
  const doc = YAML.parse(readFileSync(stackFile, "utf8")) as { config?: Record<string, unknown> } | null;
  // A checkout from before the tools/ layout keeps its renderer at scripts/render.ts.
  const renderModule =
    [path.join(dir, "tools", "render", "main.ts"), path.join(dir, "scripts", "render.ts")].find(existsSync) ??
    path.join(dir, "tools", "render", "main.ts");
  const { renderMesh } = (existsSync(renderModule) ? require(renderModule) : {}) as { renderMesh?: RenderMesh };
  if (typeof renderMesh !== "function") {
    throw new RenderCheckoutError(`${renderModule} exports no renderMesh(stackConfig); cannot render that commit`);
  }
  try {
    return renderMesh(doc?.config ?? {});
  } catch (error) {
    throw new RenderCheckoutError(`rendering stack ${stack} failed:\n${(error as Error).message}`);
  }
}

if (require.main === module) {
  const [dir, stack] = process.argv.slice(2);
  if (!dir || !stack) {
    console.error("usage: renderTree.ts <project dir> <stack>");
    process.exitCode = 2;
  } else {
    try {
      const files = renderCheckout(dir, stack);
      if (files === undefined) throw new Error(`no Pulumi.${stack}.yaml in ${dir}`);
      process.stdout.write(JSON.stringify(files));
    } catch (error) {
      console.error((error as Error).message);
      process.exitCode = 1;
    }
  }
}
