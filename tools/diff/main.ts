/**
 * What a change does to the mesh, object by object, with no cluster and no Pulumi state:
 *
 *   npm run diff -- --base <git-ref> [--stack dev] [--markdown [--policy-report <policy.json>]] [--graph <dir>]
 *
 * The base commit is exported (`git archive`) to a temp dir and rendered there by its own code in a
 * child process (node_modules linked from here); the working tree is rendered by this code. Both
 * use the program's spec builders, via tools/render/main.ts, so the diff is exactly what `pulumi up`
 * would be asked to change. With --markdown it is the PR comment, and `--policy-report <file>` (the
 * JSON of `npm run policy -- --json`) adds the policy verdicts above the diff (see comment.ts).
 * `--graph <dir>` also draws the mesh before and after, and both with the changes marked (drawing.ts).
 * Exit 0 with or without changes; 2 when it cannot diff or a report cannot be read (HELP).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { readStackFile } from "../../config/stackFile";
import { CliError, EXIT, fileStack, parseCli, reportFailure } from "../lib/cli";
import { styleFor } from "../lib/style";
import { REPORT_SECTIONS, reportFlag, reportSections } from "./comment";
import { diffDrawings, writeDrawings } from "./drawing";
import { type DiffHeader, formatMarkdown, formatText } from "./format";
import { renderCheckout } from "./renderTree";
import { diffSnapshots, type MeshChange } from "./semanticDiff";
import { type RenderedFile, snapshotOf } from "./snapshot";

/** Cannot diff (git, the base ref, a side that does not render): one line, exit 2. */
export class DiffError extends CliError {
  override name = "DiffError";
}

export const HELP = `usage: npm run diff -- --base <git-ref> [--stack NAME] [--markdown [--policy-report FILE]] [--graph DIR]

What a change does to the mesh, object by object: the base commit and the working tree each rendered
by their own code (as npm run render does), compared. No cluster, no Pulumi CLI or state.

  --base REF     the commit to compare against, e.g. origin/main (required)
  --stack NAME   the stack file Pulumi.NAME.yaml (default: $STACK, else dev, as npm run up)
  --markdown     a PR comment instead of plain text
  --policy-report FILE
                 with --markdown: the JSON of npm run policy -- --json, shown above the diff
  --graph DIR    also draw the mesh (as npm run graph does) before and after, and both in one picture
                 with what changed marked: DIR/mesh-NAME-{base,head,changes}.{svg,mmd}; both sides drawn
                 by this checkout's graph code from each side's stack file

Exit status: 0 diff printed (with or without changes), 2 could not diff (bad flag, not a commit, git
missing, a side that does not render, a report that cannot be read, a side --graph cannot draw).`;

function git(cwd: string, args: string[]): string {
  const run = spawnSync("git", args, { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (run.error) throw new DiffError(`git is needed for the diff: ${run.error.message}`);
  if (run.status !== 0) throw new DiffError(`git ${args.join(" ")} failed: ${run.stderr.trim()}`);
  return run.stdout.trim();
}

/** One side of the diff: its rendered files and its stack file's config (both absent: no such stack file). */
interface Side {
  readonly files: RenderedFile[];
  readonly stackConfig: Record<string, unknown>;
}

/** Exports `commit` into a temp dir and renders the project there, with that commit's code. */
function renderCommit(projectRoot: string, commit: string, stack: string): Side | undefined {
  const prefix = git(projectRoot, ["rev-parse", "--show-prefix"]);
  // A stack the change adds: nothing to export or render (a render costs a process that loads the program).
  const inBase = spawnSync("git", ["cat-file", "-e", `${commit}:${prefix}Pulumi.${stack}.yaml`], { cwd: projectRoot });
  if (inBase.status !== 0) return undefined;
  const tmp = mkdtempSync(path.join(tmpdir(), "mesh-diff-"));
  try {
    const tar = path.join(tmp, "base.tar");
    git(projectRoot, ["archive", "--format=tar", `--output=${tar}`, commit]);
    const tree = path.join(tmp, "tree");
    mkdirSync(tree);
    const untar = spawnSync("tar", ["-xf", tar, "-C", tree], { encoding: "utf8" });
    if (untar.status !== 0) throw new DiffError(`extracting ${commit} failed: ${untar.stderr || untar.error?.message}`);
    const dir = path.join(tree, prefix);
    // The base's code runs against this checkout's installed packages.
    if (!existsSync(path.join(dir, "node_modules")))
      symlinkSync(path.join(projectRoot, "node_modules"), path.join(dir, "node_modules"));
    const child = spawnSync(process.execPath, ["--import", "tsx", path.join(__dirname, "renderTree.ts"), dir, stack], {
      cwd: dir,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, NODE_OPTIONS: "" },
    });
    if (child.status !== 0) {
      throw new DiffError(
        `cannot render the base (${commit.slice(0, 12)}):\n${(child.stderr || child.error?.message || "").trim()}`,
      );
    }
    const stackConfig = readStackFile(path.join(dir, `Pulumi.${stack}.yaml`));
    return { files: JSON.parse(child.stdout) as RenderedFile[], stackConfig };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export interface MeshDiff {
  readonly changes: readonly MeshChange[];
  readonly header: DiffHeader;
  /** Each side's stack file config, for the drawings (`--graph`); the base's is absent for a new stack. */
  readonly configs: { readonly base?: Record<string, unknown>; readonly head: Record<string, unknown> };
}

/** The diff between `baseRef` and the working tree at `projectRoot`, for one stack. */
export function meshDiff(projectRoot: string, baseRef: string, stack: string): MeshDiff {
  let baseCommit: string;
  try {
    baseCommit = git(projectRoot, ["rev-parse", "--verify", "--quiet", `${baseRef}^{commit}`]);
  } catch {
    throw new DiffError(`--base ${baseRef} is not a commit in ${projectRoot}`);
  }
  const head = renderCheckout(projectRoot, stack);
  if (head === undefined)
    throw new DiffError(`stack file not found: ${path.join(projectRoot, `Pulumi.${stack}.yaml`)}`);
  const base = renderCommit(projectRoot, baseCommit, stack);
  const header: DiffHeader = {
    stack,
    baseRef,
    baseCommit,
    ...(base === undefined && { note: `Pulumi.${stack}.yaml is new since ${baseRef}: every object is added` }),
  };
  return {
    changes: diffSnapshots(snapshotOf(base?.files ?? []), snapshotOf(head)),
    header,
    configs: {
      ...(base && { base: base.stackConfig }),
      head: readStackFile(path.join(projectRoot, `Pulumi.${stack}.yaml`)),
    },
  };
}

export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly isTTY?: boolean;
}

const consoleIo: Io = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  isTTY: process.stdout.isTTY,
};

const reportOptions = Object.fromEntries(
  Object.keys(REPORT_SECTIONS).map((name) => [reportFlag(name), { type: "string" as const }]),
);

/** The CLI; never throws: a failure is one line on stderr and the exit code HELP documents. */
export function main(
  argv: readonly string[],
  projectRoot: string,
  io: Io = consoleIo,
  env: NodeJS.ProcessEnv = process.env,
): number {
  try {
    const parsed = parseCli("diff", argv, {
      base: { type: "string" },
      stack: { type: "string" },
      markdown: { type: "boolean" },
      graph: { type: "string" },
      ...reportOptions,
    });
    if (parsed === undefined) {
      io.stdout(`${HELP}\n`);
      return EXIT.ok;
    }
    const { values } = parsed;
    if (!values.base) throw new CliError("--base is required (see npm run diff -- --help)");
    const flags = values as Record<string, string | boolean | undefined>;
    const sections = reportSections(
      Object.fromEntries(
        Object.keys(REPORT_SECTIONS).map((name) => [name, flags[reportFlag(name)] as string | undefined]),
      ),
    );
    const { changes, header, configs } = meshDiff(
      projectRoot,
      values.base as string,
      fileStack(values.stack as string | undefined, env),
    );
    io.stdout(
      values.markdown
        ? formatMarkdown(changes, header, sections)
        : formatText(changes, header, styleFor({ isTTY: io.isTTY ?? false })),
    );
    if (typeof values.graph === "string") {
      let drawings: ReturnType<typeof diffDrawings>;
      try {
        drawings = diffDrawings(header.stack, header.baseRef, configs.base, configs.head);
      } catch (error) {
        // A base whose config this checkout's rules refuse (a key renamed since) cannot be drawn by them.
        throw new DiffError(`cannot draw the mesh (--graph): ${(error as Error).message}`);
      }
      // stderr: stdout is the diff itself (with --markdown, the PR comment).
      io.stderr(`${writeDrawings(path.resolve(projectRoot, values.graph), drawings, projectRoot)}\n`);
    }
    return EXIT.ok;
  } catch (error) {
    return reportFailure("diff", error, (line) => io.stderr(`${line}\n`));
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2), path.resolve(__dirname, "..", ".."));
