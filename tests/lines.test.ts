import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LineAssembler } from "../tools/lib/lines";

describe("whole lines out of a child's output chunks", () => {
  test("a line cut across chunks arrives once, whole", () => {
    const lines: string[] = [];
    const assembler = new LineAssembler((l) => lines.push(l));
    // How the CLI's policy report can reach onOutput: cut mid-word, two lines in one chunk.
    for (const chunk of [
      "Policies:\n    - [manda",
      "tory]  canary-weight-limit  (kubernetes:networking",
      ".istio.io/v1:VirtualService: user-service)\n",
      "a\nb",
    ]) {
      assembler.push(chunk);
    }
    assert.deepEqual(lines, [
      "Policies:",
      "    - [mandatory]  canary-weight-limit  (kubernetes:networking.istio.io/v1:VirtualService: user-service)",
      "a",
    ]);
    assembler.flush();
    assert.deepEqual(lines.at(-1), "b");
    assembler.flush();
    assert.equal(lines.length, 4, "flush after flush adds nothing");
  });
});
