import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { DOC_EXAMPLES, DOC_FILES, exampleBlock, PROJECT_ROOT, readPage } from "../scripts/docs/examples";
import { between, markerNames } from "../scripts/docs/markers";

/**
 * Every generated part of the docs is what the tools print now: run `npm run docs:examples` after
 * changing a tool's output, a config key, a builder, or an example's page.
 */
describe("generated docs", () => {
  for (const example of DOC_EXAMPLES) {
    test(`${example.page}: example ${example.name} is what the tool prints now`, async () => {
      const committed = between(readPage(example.page), example.name, example.page);
      assert.equal(committed, await exampleBlock(example), "stale: run `npm run docs:examples`");
    });
  }

  for (const file of DOC_FILES) {
    test(`${file.path} is what the tool draws now`, async () => {
      assert.equal(readPage(file.path), await file.produce(), "stale: run `npm run docs:examples`");
    });
  }

  test("every example marker in the docs has a producer, so none is left to go stale by hand", () => {
    const pages = [
      "README.md",
      ...readdirSync(join(PROJECT_ROOT, "docs"))
        .filter((f) => f.endsWith(".md"))
        .map((f) => `docs/${f}`),
    ];
    const known = new Set(DOC_EXAMPLES.map((e) => `${e.page}#${e.name}`));
    for (const page of pages) {
      for (const name of markerNames(readPage(page))) assert.ok(known.has(`${page}#${name}`), `${page}: ${name}`);
    }
  });
});
