/**
 * A tool's entry point bundled once per test process with esbuild (the transform tsx runs on each
 * file), for tests that start the same tool many times: a two-step canary run as `node <bundle>` took
 * 0.6–0.8 s of CPU where `node --import tsx <main.ts>` took 1.4–1.6 s (2026-12-02, after the canary
 * stopped loading the Pulumi SDK; ~1.7 s and ~3 s before). Packages stay external and resolve from this
 * project's node_modules (a symlink beside the bundle, so `require` and `import()` both find them),
 * except INLINED ones, and every module keeps its own __dirname and __filename, as under tsx, so files
 * read beside a module (components/cluster/kind-cluster.sh) are found.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { build, type Plugin } from "esbuild";
import { PROJECT_ROOT } from "./configs";

/** Each .ts module's __dirname/__filename as constants: a bundle would otherwise share the bundle's. */
const ownLocation: Plugin = {
  name: "own-location",
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      const source = fs.readFileSync(args.path, "utf8");
      if (!/__dirname|__filename/.test(source)) return undefined;
      const prologue = `const __dirname = ${JSON.stringify(path.dirname(args.path))}, __filename = ${JSON.stringify(args.path)};\n`;
      return { contents: prologue + source, loader: "ts" };
    });
  },
};

/**
 * Plain JavaScript packages that read no files of their own, bundled in: @stdlib alone is 500 small
 * modules, and Node's resolving and loading them one by one cost the canary's start 0.35 s of CPU
 * (--help: 0.54 s → 0.19 s), on every one of the dozen starts a test file makes. Anything else stays
 * external: @pulumi/pulumi reads files beside its modules (its vendored TypeScript, protobufs).
 */
const INLINED = /^(@stdlib\/|yaml$|jose$)/;

const externalPackages: Plugin = {
  name: "external-packages",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => (INLINED.test(args.path) ? undefined : { external: true }));
  },
};

const built = new Map<string, Promise<string>>();

/** The path of `entry` (relative to the project root) bundled to CommonJS; run it with `node <path>`. */
export function bundledTool(entry: string): Promise<string> {
  let bundle = built.get(entry);
  if (!bundle) {
    bundle = bundleOnce(entry);
    built.set(entry, bundle);
  }
  return bundle;
}

// esbuild runs plugins in its async API only.
async function bundleOnce(entry: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bundled-tool-"));
  fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  const out = path.join(dir, `${path.basename(entry, ".ts")}.cjs`);
  await build({
    entryPoints: [path.join(PROJECT_ROOT, entry)],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    plugins: [externalPackages, ownLocation],
    outfile: out,
    logLevel: "error",
  });
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  return out;
}
