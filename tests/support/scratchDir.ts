/**
 * A temporary directory for one test's world (a stack, a stub CLI's state, written files), removed when
 * the test process exits. A shard process runs many files, and a world still in use by a stub's server
 * thread or a child cannot be removed earlier without a race; at exit nothing uses it any more.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export function scratchDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
