/**
 * One `pulumi` process, as every tool starts it: the one place that spawns the Pulumi CLI (target.ts
 * spawnPulumi reads through it, stackWorkspace.ts drives a stack through it). It runs in the project
 * (Pulumi.yaml names the state backend) with stdin closed: its output is read here, so it never
 * prompts (cmdutil/console.go Interactive wants stdin and stdout on a terminal). It is not detached, so
 * a terminal's Ctrl-C reaches it as it reaches the tool.
 */
import { spawn } from "node:child_process";

export interface PulumiProcessOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** The executable (default: `pulumi` on the env's PATH). */
  readonly binary?: string;
  /** Stdout as it comes; then the promise resolves to "" instead of holding it all. */
  readonly onOutput?: (text: string) => void;
  /** Stderr as it comes (it is kept for the failure too). */
  readonly onError?: (text: string) => void;
  /** Aborting sends the CLI one SIGINT: it cancels the operation and ends by itself. */
  readonly signal?: AbortSignal;
}

/** The CLI ran and failed: its exit (or the signal that ended it) and its stderr. */
export class PulumiExit extends Error {
  override name = "PulumiExit";
  constructor(
    readonly args: readonly string[],
    readonly code: number | null,
    readonly signalName: NodeJS.Signals | null,
    readonly stderr: string,
  ) {
    super(`pulumi ${args[0] ?? ""} ended by ${signalName ?? `exit ${code}`}`);
  }
}

/**
 * `pulumi <args>`: resolves to its stdout when it exits 0; rejects with a PulumiExit when it fails,
 * or with the spawn error (`code` ENOENT: no such executable) when it cannot start.
 */
export function runPulumi(args: readonly string[], options: PulumiProcessOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(options.binary ?? "pulumi", args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    // Decoded as a stream, so a character split across two chunks arrives whole.
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (text: string) => {
      if (options.onOutput) options.onOutput(text);
      else stdout += text;
    });
    child.stderr.on("data", (text: string) => {
      stderr += text;
      options.onError?.(text);
    });
    const abort = () => child.kill("SIGINT");
    options.signal?.addEventListener("abort", abort, { once: true });
    // The tool's 'exit' (a second Ctrl-C's process.exit) sends the CLI SIGTERM rather than leaving it
    // orphaned, as the Automation API's runner did (execa's `cleanup`). A SIGTERM to the tool reaches
    // this only under `npm run` (tsx): tsx's preflight turns a SIGTERM with no listener into
    // process.exit(143) (node_modules/tsx/dist/preflight.cjs). Plain Node (the bundled tool the tests
    // run) dies without 'exit'; execa's signal-exit covered that and SIGHUP too. Either way the tool is
    // gone, so `pulumi up`'s stdout pipe is closed: its next write gets SIGPIPE and it dies mid-update,
    // leaving its lock, which the preflight names and `pulumi cancel` clears (diy/backend.go
    // CancelCurrentUpdate). Waiting for it instead would mean a restore: the first Ctrl-C's path.
    const orphaned = () => child.kill("SIGTERM");
    process.once("exit", orphaned);
    const settled = () => {
      process.removeListener("exit", orphaned);
      options.signal?.removeEventListener("abort", abort);
    };
    child.on("error", (error) => {
      settled();
      reject(error);
    });
    child.on("close", (code, signal) => {
      settled();
      if (code === 0) resolve(stdout);
      else reject(new PulumiExit(args, code, signal, stderr));
    });
  });
}
