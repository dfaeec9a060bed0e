/**
 * `npm run docs:examples`: writes every generated part of the docs (scripts/docs/examples.ts) from
 * what the tools print now. `--check` writes nothing and exits 1 when a page is out of date.
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { DOC_EXAMPLES, DOC_FILES, exampleBlock, PROJECT_ROOT, readPage } from "./examples";
import { between, replaceBetween } from "./markers";

async function run(check: boolean): Promise<number> {
  const stale: string[] = [];
  for (const example of DOC_EXAMPLES) {
    const page = readPage(example.page);
    const block = await exampleBlock(example);
    if (between(page, example.name, example.page) === block) continue;
    stale.push(`${example.page} (${example.name})`);
    if (!check)
      writeFileSync(path.join(PROJECT_ROOT, example.page), replaceBetween(page, example.name, block, example.page));
  }
  for (const file of DOC_FILES) {
    const content = await file.produce();
    let current: string | undefined;
    try {
      current = readPage(file.path);
    } catch {
      current = undefined;
    }
    if (current === content) continue;
    stale.push(file.path);
    if (!check) writeFileSync(path.join(PROJECT_ROOT, file.path), content);
  }
  const verb = check ? "out of date" : "rewritten";
  console.log(stale.length === 0 ? "docs: every example is up to date" : `docs: ${verb}: ${stale.join(", ")}`);
  return check && stale.length > 0 ? 1 : 0;
}

run(process.argv.includes("--check")).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`docs:examples: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 2;
  },
);
