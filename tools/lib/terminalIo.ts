/**
 * Line output for a long-running tool on the real terminal: one progress line on stderr that each
 * printed line clears first, on a TTY only (a pipe or CI log gets the lines alone, no escape codes).
 */
export interface LineIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  /** A one-line progress display; drawn only on a terminal. */
  readonly progress: (line: string) => void;
  readonly isTTY: boolean;
}

const CLEAR_LINE = "\r\x1b[K";

export function terminalLineIo(): LineIo {
  const tty = process.stderr.isTTY === true;
  const clear = tty ? CLEAR_LINE : "";
  return {
    stdout: (line) => process.stdout.write(`${clear}${line}\n`),
    stderr: (line) => process.stderr.write(`${clear}${line}\n`),
    progress: (line) => {
      if (tty) process.stderr.write(`${CLEAR_LINE}${line.slice(0, (process.stderr.columns ?? 80) - 1)}`);
    },
    isTTY: tty,
  };
}
