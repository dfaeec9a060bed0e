/**
 * Ctrl-C while `pulumi up` runs. Pulumi cancels on its first SIGINT and terminates at once on a second
 * (pkg/backend/cancellation_scope.go), which can orphan resources, so it must get exactly one:
 *
 *   - From a terminal, Ctrl-C reaches the whole foreground process group, `pulumi up` included
 *     (pulumiProcess.ts spawns it not detached, as the Automation API did). Sending another would
 *     terminate it.
 *   - When only our process was signalled (`kill -INT <pid>`, a supervisor), it got nothing: forward
 *     one through `UpOptions.signal` (its abort sends the CLI one SIGINT, as the Automation API's did).
 *
 * Which case it was shows in the CLI's own output: it prints "^C received; cancelling" when the signal
 * arrives (an engine stdout event, which the non-interactive display writes to stdout:
 * pkg/backend/display/jsonmessage.go systemMessage; stderr is watched as well). So: wait up to ACK_GRACE_MS for that line; without it, and unless we are the terminal's
 * foreground process group (then the terminal did deliver it), forward one. npm and tsx each relay
 * the terminal's Ctrl-C to us once more, so signals within DEBOUNCE_MS count as one press.
 */
import { readFileSync } from "node:fs";
import { LineAssembler } from "./lines";
import type { UpOptions } from "./stackWorkspace";

/** What `pulumi up` prints when its first SIGINT/SIGTERM arrives (pkg/backend/cancellation_scope.go). */
export const CANCEL_ACK = /(\^C|SIGTERM) received; cancelling/;

export const ACK_GRACE_MS = 3000;
export const DEBOUNCE_MS = 1000;

/** Linux: whether this process's group is its terminal's foreground group (/proc/self/stat: pgrp, tpgid). */
export function foregroundOfTerminal(): boolean {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const pgrp = Number(fields[2]);
    const tpgid = Number(fields[5]);
    return tpgid > 0 && tpgid === pgrp;
  } catch {
    return false;
  }
}

export class CtrlC {
  private readonly controller = new AbortController();
  private lastAt = 0;
  private onUpInterrupt: (() => void) | undefined;

  constructor(
    private readonly onSecond: () => void,
    private readonly now: () => number = Date.now,
    private readonly isForeground: () => boolean = foregroundOfTerminal,
    /** What the tool does once `up` has cancelled, for the line Ctrl-C prints. */
    private readonly thenWhat = "restoring the last good weights",
  ) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Call on every SIGINT our process receives. */
  received(): void {
    const at = this.now();
    if (this.controller.signal.aborted) {
      if (at - this.lastAt >= DEBOUNCE_MS) this.onSecond();
      return;
    }
    this.lastAt = at;
    this.controller.abort();
    this.onUpInterrupt?.();
  }

  /** Runs `up` so that a Ctrl-C during it reaches the CLI exactly once. */
  async guardedUp(up: (options: UpOptions) => Promise<void>, log: (line: string) => void): Promise<void> {
    const forward = new AbortController();
    let acknowledged = false;
    const output = new LineAssembler((line) => {
      if (CANCEL_ACK.test(line)) acknowledged = true;
    });
    let timer: NodeJS.Timeout | undefined;
    this.onUpInterrupt = () => {
      log(`Ctrl-C: letting \`pulumi up\` cancel cleanly, then ${this.thenWhat} (Ctrl-C again exits at once)`);
      timer = setTimeout(() => {
        if (acknowledged || this.isForeground()) return;
        log("`pulumi up` did not get the signal: sending it one SIGINT");
        forward.abort();
      }, ACK_GRACE_MS);
    };
    if (this.controller.signal.aborted) this.onUpInterrupt = undefined;
    try {
      await up({
        signal: forward.signal,
        onOutput: (text) => {
          output.push(text);
          log(text);
        },
      });
    } finally {
      this.onUpInterrupt = undefined;
      if (timer) clearTimeout(timer);
    }
  }
}
