/**
 * One thread's share of a load run, on raw keep-alive sockets (./http1.ts). Two models:
 *
 * - closed (the default): each connection sends its next request as soon as the last one is
 *   answered, as fast as it goes (wrk, ab). Latency is from send to answer.
 * - open (`--rate`): each request has its own intended start (./schedule.ts), kept whatever the
 *   server does. A request that comes due while every connection is busy waits for the next free
 *   one, and its latency still counts from its intended start: coordinated omission corrected, as
 *   wrk2 does. A request that could not be sent within the timeout, or before the window closed, is
 *   dropped and counted (k6's dropped_iterations). The time from send to answer is kept apart as the
 *   service time, which is what an uncorrected tool would report.
 *
 * Latencies go into HDR histograms in microseconds; the caller merges threads (./load.ts).
 */
import type { Socket } from "node:net";
import * as hdr from "hdr-histogram-js";
import { connect, ResponseParser, requestBytes } from "./http1";
import { intendedTimes, type ScheduleShare } from "./schedule";

export type EngineModel =
  | { readonly kind: "closed"; readonly durationMs: number; readonly requests?: number | undefined }
  | { readonly kind: "open"; readonly schedule: ScheduleShare };

export interface EngineOptions {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly connections: number;
  readonly timeoutMs: number;
  readonly model: EngineModel;
}

export interface EngineResult {
  readonly elapsedMs: number;
  /** Answers received, whatever their status. */
  readonly responses: number;
  readonly statuses: Record<string, number>;
  /** Statuses ≥ 400 by code, and requests with no answer by cause. */
  readonly errors: Record<string, number>;
  readonly errorCount: number;
  /** Answers Envoy made itself (./http1.ts isLocalReply). */
  readonly localReplies: number;
  /** Open model: requests scheduled, sent, and dropped (never sent). Closed: sent = scheduled. */
  readonly scheduled: number;
  readonly sent: number;
  readonly dropped: number;
  /** HDR histograms (µs), compressed base64: latency (open: from the intended start), service time, send lag. */
  readonly latency: string;
  readonly serviceTime: string;
  readonly sendLag: string;
}

export interface EngineCounters {
  readonly responses: number;
  readonly errors: number;
}

/** Set by a test to see every send: the intended and the actual start, ms from the run's start. */
export type SendProbe = (intendedMs: number, sentMs: number) => void;

export function newHistogram(): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

interface Connection {
  socket: Socket;
  parser: ResponseParser;
  /** In flight: when it was meant to start and when it was sent (ms from the run's start). */
  intendedMs: number;
  sentMs: number;
  busy: boolean;
  dead: boolean;
}

const RECONNECT_DELAY_MS = 20;

/** Milliseconds → whole microseconds, at least 1 (the histograms' lowest value). No closure per call on the hot path. */
function micros(ms: number): number {
  return Math.max(1, Math.round(ms * 1000));
}

export class Engine {
  private readonly request: Buffer;
  private readonly isOpen: boolean;
  private readonly url: URL;
  private readonly latency = newHistogram();
  private readonly serviceTime = newHistogram();
  private readonly sendLag = newHistogram();
  /** Answers by status code (100–999, as the parser allows), indexed by the code: no Map lookup per answer. */
  private readonly statuses = new Float64Array(1000);
  private readonly errors = new Map<string, number>();
  private responses = 0;
  /** Requests that ended: answered, or failed without an answer. */
  private finished = 0;
  private errorCount = 0;
  private localReplies = 0;
  private scheduled = 0;
  private sent = 0;
  private dropped = 0;
  private readonly connections = new Set<Connection>();
  private readonly idle: Connection[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private t0 = 0;
  private endedAtMs: number | undefined;
  private running = false;
  private finish: () => void = () => {};
  // Open model: what the schedule holds next, and the requests that came due with no free connection.
  private schedule: Generator<number, void, void> | undefined;
  private nextIntended: number | undefined;
  private backlog: number[] = [];
  private backlogHead = 0;
  private pumpTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: EngineOptions,
    private readonly probe?: SendProbe,
  ) {
    this.url = new URL(options.url);
    this.isOpen = options.model.kind === "open";
    this.request = requestBytes({ url: this.url, headers: options.headers });
  }

  get counters(): EngineCounters {
    return { responses: this.responses, errors: this.errorCount };
  }

  run(): Promise<EngineResult> {
    this.t0 = performance.now();
    this.running = true;
    const done = new Promise<void>((resolve) => {
      this.finish = resolve;
    });
    const { model, timeoutMs } = this.options;
    for (let i = 0; i < this.options.connections; i++) this.open();
    this.every(Math.min(100, Math.max(10, timeoutMs / 10)), () => this.sweepTimeouts());
    if (model.kind === "closed") {
      this.later(model.durationMs, () => this.stop(), model.requests === undefined);
      this.sendOnIdle();
    } else {
      this.schedule = intendedTimes(model.schedule);
      this.nextIntended = this.takeNext();
      this.pump();
    }
    return done.then(() => this.result());
  }

  /** Ends the run now: what was answered so far is the result; requests in flight are abandoned. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.endedAtMs = this.now();
    for (const timer of this.timers) clearTimeout(timer);
    clearTimeout(this.pumpTimer);
    // Requests that came due but never left count as dropped.
    this.dropped += this.backlog.length - this.backlogHead;
    this.backlog = [];
    this.backlogHead = 0;
    for (const c of this.connections) {
      c.dead = true;
      c.socket.destroy();
    }
    this.finish();
  }

  private now(): number {
    return performance.now() - this.t0;
  }

  private later(ms: number, fn: () => void, when = true): void {
    if (!when) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    this.timers.add(timer);
  }

  private open(): void {
    if (!this.running) return;
    const c: Connection = {
      socket: undefined as unknown as Socket,
      parser: new ResponseParser((status, localReply, close) => this.answered(c, status, localReply, close)),
      intendedMs: 0,
      sentMs: 0,
      busy: false,
      dead: false,
    };
    c.socket = connect(this.url, (chunk, length) => {
      try {
        c.parser.feed(chunk, length);
      } catch {
        this.fail(c, "bad-response");
      }
    });
    this.connections.add(c);
    this.idle.push(c);
    c.socket.on("error", (error: NodeJS.ErrnoException) => this.fail(c, error.code ?? "error"));
    c.socket.on("close", () => {
      if (c.dead) return;
      const last = c.parser.end();
      if (last && c.busy) this.answered(c, last.status, last.localReply, true);
      else this.fail(c, "closed");
    });
  }

  /** The connection is gone: a request in flight on it is an error; a fresh connection replaces it. */
  private fail(c: Connection, cause: string): void {
    if (c.dead) return;
    c.dead = true;
    c.socket.destroy();
    this.connections.delete(c);
    const at = this.idle.indexOf(c);
    if (at >= 0) this.idle.splice(at, 1);
    if (c.busy) {
      this.finished++;
      this.countError(cause);
    }
    if (!this.running) return;
    // A refused connection would otherwise spin; a short pause keeps the error count meaningful.
    this.later(RECONNECT_DELAY_MS, () => {
      this.open();
      this.afterFree();
    });
    this.checkDone();
  }

  private countError(cause: string): void {
    this.bump(this.errors, cause);
    this.errorCount++;
  }

  private bump(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  private send(c: Connection, intendedMs: number, sentMs = this.now()): void {
    c.busy = true;
    c.intendedMs = intendedMs;
    c.sentMs = sentMs;
    this.sent++;
    // Closed loop: sent when due, by definition, and the service time is the latency.
    if (this.isOpen) this.sendLag.recordValue(micros(sentMs - intendedMs));
    this.probe?.(intendedMs, sentMs);
    c.socket.write(this.request);
  }

  private answered(c: Connection, status: number, localReply: boolean, close: boolean): void {
    if (!c.busy || !this.running) return;
    const doneMs = this.now();
    c.busy = false;
    this.responses++;
    this.finished++;
    this.latency.recordValue(micros(doneMs - c.intendedMs));
    if (this.isOpen) this.serviceTime.recordValue(micros(doneMs - c.sentMs));
    this.statuses[status] = (this.statuses[status] as number) + 1;
    if (status >= 400) {
      this.bump(this.errors, String(status));
      this.errorCount++;
    }
    if (localReply) this.localReplies++;
    if (close) {
      c.dead = true;
      c.socket.destroy();
      this.connections.delete(c);
      this.open();
    } else this.idle.push(c);
    this.afterFree(doneMs);
  }

  /** A connection is free (at `nowMs`, when the caller knows it): the next request goes on it. */
  private afterFree(nowMs?: number): void {
    if (!this.running) return;
    const { model } = this.options;
    if (model.kind === "open") {
      this.pump();
      return;
    }
    if (model.requests !== undefined && this.finished >= model.requests) {
      this.stop();
      return;
    }
    this.sendOnIdle(nowMs);
  }

  /** Closed loop: every idle connection sends its next request, while the count allows. */
  private sendOnIdle(nowMs = this.now()): void {
    const { model } = this.options;
    if (model.kind !== "closed") return;
    while (this.running && this.idle.length > 0) {
      if (model.requests !== undefined && this.sent >= model.requests) return;
      this.scheduled++;
      // The answer that freed the connection was just timed: that instant is this send's start too.
      this.send(this.idle.pop() as Connection, nowMs, nowMs);
    }
  }

  private takeNext(): number | undefined {
    const next = this.schedule?.next();
    if (!next || next.done) return undefined;
    this.scheduled++;
    return next.value;
  }

  /** Open model: queue what is due, drop what waited too long, send on every free connection, sleep. */
  private pump(): void {
    if (!this.running || this.options.model.kind !== "open") return;
    clearTimeout(this.pumpTimer);
    const now = this.now();
    while (this.nextIntended !== undefined && this.nextIntended <= now) {
      this.backlog.push(this.nextIntended);
      this.nextIntended = this.takeNext();
    }
    while (
      this.backlogHead < this.backlog.length &&
      now - (this.backlog[this.backlogHead] ?? now) > this.options.timeoutMs
    ) {
      this.backlogHead++;
      this.dropped++;
    }
    while (this.backlogHead < this.backlog.length && this.idle.length > 0) {
      const c = this.idle.pop() as Connection;
      this.send(c, this.backlog[this.backlogHead++] as number);
    }
    if (this.backlogHead === this.backlog.length) {
      this.backlog = [];
      this.backlogHead = 0;
    } else if (this.backlogHead > 4096) {
      this.backlog = this.backlog.slice(this.backlogHead);
      this.backlogHead = 0;
    }
    const windowMs = this.options.model.schedule.windowMs;
    if (this.nextIntended !== undefined) {
      this.pumpTimer = setTimeout(() => this.pump(), Math.max(0, this.nextIntended - now));
    } else if (this.backlog.length > this.backlogHead) {
      // The schedule is over; whatever has not left when the window closes never will.
      this.pumpTimer = setTimeout(() => this.closeWindow(), Math.max(0, windowMs - now));
    }
    this.checkDone();
  }

  private closeWindow(): void {
    this.dropped += this.backlog.length - this.backlogHead;
    this.backlog = [];
    this.backlogHead = 0;
    this.checkDone();
  }

  /** Open model: the run is over when the schedule is spent and nothing waits or is in flight. */
  private checkDone(): void {
    if (!this.running || this.options.model.kind !== "open") return;
    if (this.nextIntended !== undefined || this.backlog.length > this.backlogHead) return;
    for (const c of this.connections) if (c.busy) return;
    this.stop();
  }

  private sweepTimeouts(): void {
    const now = this.now();
    for (const c of [...this.connections]) {
      if (c.busy && now - c.sentMs > this.options.timeoutMs) this.fail(c, "timeout");
    }
    if (this.options.model.kind === "open") this.pump();
  }

  private result(): EngineResult {
    const encode = (h: hdr.Histogram) => {
      const text = hdr.encodeIntoCompressedBase64(h);
      h.destroy();
      return text;
    };
    const sorted = (map: Map<string, number>) =>
      Object.fromEntries([...map.entries()].sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true })));
    return {
      elapsedMs: this.endedAtMs ?? this.now(),
      responses: this.responses,
      statuses: Object.fromEntries(
        [...this.statuses.entries()].filter(([, n]) => n > 0).map(([code, n]) => [String(code), n]),
      ),
      errors: sorted(this.errors),
      errorCount: this.errorCount,
      localReplies: this.localReplies,
      scheduled: this.scheduled,
      sent: this.sent,
      dropped: this.dropped,
      latency: encode(this.latency),
      serviceTime: encode(this.serviceTime),
      sendLag: encode(this.sendLag),
    };
  }
}
