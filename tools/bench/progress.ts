/** A one-line progress display, redrawn in place on a terminal and silent anywhere else (CI logs, pipes). */
import type { LoadProgress, LoadShape } from "./load";

export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

export interface ProgressDisplay {
  /** A new run begins; `label` says which, e.g. "/users gateway". */
  start(label: string, shape: LoadShape): void;
  update(progress: LoadProgress): void;
  /** Clears the line, so the report prints on a clean screen. */
  end(): void;
}

const BAR_WIDTH = 20;
const CLEAR_LINE = "\r\x1b[2K";

export function progressDisplay(stream: ProgressStream): ProgressDisplay {
  if (!stream.isTTY) return { start() {}, update() {}, end() {} };
  let label = "";
  let shape: LoadShape | undefined;
  return {
    start(next, nextShape) {
      label = next;
      shape = nextShape;
      stream.write(`${CLEAR_LINE}${label} starting`);
    },
    update(progress) {
      if (!shape) return;
      const line = progressLine(label, shape, progress);
      stream.write(CLEAR_LINE + line.slice(0, Math.max(20, (stream.columns ?? 80) - 1)));
    },
    end() {
      shape = undefined;
      stream.write(CLEAR_LINE);
    },
  };
}

/** `/users gateway  [#########-----------]  4.6s/10s  15230 responses  3 errors` */
export function progressLine(label: string, shape: LoadShape, p: LoadProgress): string {
  const fraction =
    shape.requests !== undefined ? (p.responses + p.errors) / shape.requests : p.elapsedMs / shape.durationMs;
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * BAR_WIDTH);
  const bar = `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}]`;
  const where =
    shape.requests !== undefined
      ? `${p.responses + p.errors}/${shape.requests} requests`
      : `${(p.elapsedMs / 1000).toFixed(1)}s/${shape.durationMs / 1000}s`;
  return `${label}  ${bar}  ${where}  ${p.responses} responses  ${p.errors} errors`;
}
