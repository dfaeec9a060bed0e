/**
 * Colour for people, plain text for machines: every tool marks pass, fail, warn and skip through
 * this one module. Colour is on only when the stream is a TTY and NO_COLOR (https://no-color.org)
 * is unset or empty; FORCE_COLOR=1 turns it on for a pipe (a CI log that renders ANSI). Piped
 * output stays byte-for-byte what the tests and `--json` consumers expect.
 */

export interface StyleStream {
  readonly isTTY?: boolean;
}

export interface Style {
  readonly enabled: boolean;
  pass(text: string): string;
  fail(text: string): string;
  warn(text: string): string;
  skip(text: string): string;
  bold(text: string): string;
  dim(text: string): string;
}

const SGR = { pass: "32", fail: "31", warn: "33", skip: "90", bold: "1", dim: "2" } as const;

/** Whether colour applies to `stream` under `env` (NO_COLOR wins over FORCE_COLOR). */
export function colourEnabled(stream: StyleStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" && env.FORCE_COLOR !== "0") return true;
  return stream.isTTY === true;
}

export function styleFor(stream: StyleStream, env: NodeJS.ProcessEnv = process.env): Style {
  const enabled = colourEnabled(stream, env);
  const paint = (code: string) => (text: string) => (enabled ? `\x1b[${code}m${text}\x1b[0m` : text);
  return {
    enabled,
    pass: paint(SGR.pass),
    fail: paint(SGR.fail),
    warn: paint(SGR.warn),
    skip: paint(SGR.skip),
    bold: paint(SGR.bold),
    dim: paint(SGR.dim),
  };
}

/** A style that never colours: for tests and `--json`. */
export const PLAIN: Style = styleFor({ isTTY: false }, {});
