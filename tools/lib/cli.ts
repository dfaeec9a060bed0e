/**
 * What every `npm run <tool>` shares as a command-line program: `--help`, one clear line on any
 * failure with the exit code its help documents, and never a Node stack trace (set DEBUG=istio-mesh
 * to see one). Tools keep their own flags and exit codes; this module only makes them behave alike.
 *
 * Exit codes every tool uses the same way: 0 success, 1 the tool ran and found a failure (a check,
 * a gate, a finding), 2 it could not run (bad flag, config, missing CLI or file, unreachable
 * target), 130 interrupted (Ctrl-C). A tool may add its own (canary's 3 "paused"), documented in
 * its --help.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** A failure to report as one line, with the exit code the tool's help documents. */
export class CliError extends Error {
  override name = "CliError";
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * node:util parseArgs with `--help`/`-h` added, and its errors turned into a CliError whose line
 * points at --help. Returns undefined when help was asked for (the caller prints it, exits 0).
 */
export function parseCli<O extends Options>(
  tool: string,
  argv: readonly string[],
  options: O,
  allowPositionals = false,
):
  | { values: ReturnType<typeof parseArgs<{ options: O; allowPositionals: boolean }>>["values"]; positionals: string[] }
  | undefined {
  if (argv.includes("--help") || argv.includes("-h")) return undefined;
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals, strict: true });
    return { values, positionals };
  } catch (error) {
    throw new CliError(`${(error as Error).message.split("\n")[0]} (see npm run ${tool} -- --help)`, EXIT.usage);
  }
}

/** The stack a tool acts on: --stack, else STACK from the environment, else undefined (the selected one). */
export function stackChoice(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (flag !== undefined && flag !== "") return flag;
  const fromEnv = env.STACK;
  return fromEnv !== undefined && fromEnv !== "" ? fromEnv : undefined;
}

/**
 * The stack a tool that reads Pulumi.<stack>.yaml itself (render, diff) reads: --stack, else $STACK,
 * else dev, as `npm run up` picks it (scripts/pulumi.sh). It has no Pulumi CLI to ask for the selected one.
 */
export function fileStack(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return stackChoice(flag, env) ?? "dev";
}

export type ErrorSink = (line: string) => void;

/**
 * The one place a tool's failure becomes output: `<tool>: <first line of the message>` (a CliError
 * or a config error may carry more lines: they are kept), and the exit code. Unknown errors exit 2
 * too, as "could not run"; DEBUG=istio-mesh adds the stack for a bug report.
 */
export function reportFailure(
  tool: string,
  error: unknown,
  stderr: ErrorSink,
  env: NodeJS.ProcessEnv = process.env,
): number {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof CliError ? error.exitCode : EXIT.usage;
  stderr(`${tool}: ${message.trim()}`);
  if (env.DEBUG?.split(",").includes("istio-mesh") && error instanceof Error && error.stack) stderr(error.stack);
  return code;
}

/** Runs a tool's main, so no exception ever reaches Node's own handler (which prints a stack). */
export async function runCli(
  tool: string,
  main: () => Promise<number> | number,
  stderr: ErrorSink = (line) => process.stderr.write(`${line}\n`),
): Promise<number> {
  try {
    return await main();
  } catch (error) {
    return reportFailure(tool, error, stderr);
  }
}
