/**
 * The load engine's HTTP/1.1 client: one keep-alive connection per socket, one request at a time
 * (no pipelining, like wrk's default), the request bytes built once. A general HTTP client parses
 * every header into an object per response; the bench only needs the status, where the body ends,
 * and three headers that tell an Envoy local reply from an upstream answer, so that is all this
 * parser reads. That is where most of the gain over autocannon comes from (docs/bench.md).
 */
import * as net from "node:net";
import * as tls from "node:tls";

export interface ParsedResponse {
  readonly status: number;
  /** The response came from Envoy itself (a rate limit, a fault, an overflow), not from the app. */
  readonly localReply: boolean;
  /** The server asked to close the connection after this response. */
  readonly close: boolean;
}

/** What the head of a response says about where it came from. */
export interface ReplyOrigin {
  /** `server: istio-envoy`: Envoy answered, whether or not the app did. */
  readonly envoy: boolean;
  /** `x-envoy-upstream-service-time`: Envoy's router got this answer from an upstream. */
  readonly upstream: boolean;
  /** `x-local-rate-limit`: the project's rate limit refused the request (components/security/rateLimit.ts). */
  readonly localRateLimit: boolean;
}

/**
 * Envoy's router adds `x-envoy-upstream-service-time` to every response it got from an upstream;
 * a filter's own reply (fault abort, local rate limit, circuit-breaker overflow, no healthy upstream)
 * never went upstream and lacks it (envoy: source/common/router/router.cc, `onUpstreamHeaders`).
 */
export function isLocalReply(status: number, origin: ReplyOrigin): boolean {
  if (status < 400) return false;
  return origin.localRateLimit || (origin.envoy && !origin.upstream);
}

const EMPTY = Buffer.alloc(0);
const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
const SPACE = 0x20;
const TAB = 0x09;
/** ORed into an ASCII letter, lowercases it. */
const LOWER = 0x20;

// The parser's states, as small integers: a string compare per step is measurable on this path.
const HEAD = 0;
const LENGTH = 1;
const CHUNK_SIZE = 2;
const CHUNK_DATA = 3;
const TRAILERS = 4;
const UNTIL_CLOSE = 5;

/** Heard once per completed response, without an object per response. */
export type ResponseListener = (status: number, localReply: boolean, close: boolean) => void;

/** Does buf[at, at + length) spell `name` (lowercase ASCII), ignoring case? */
function nameIs(buf: Buffer, at: number, length: number, name: string): boolean {
  if (length !== name.length) return false;
  for (let i = 0; i < length; i++) if (((buf[at + i] as number) | LOWER) !== name.charCodeAt(i)) return false;
  return true;
}

/** Where the value of a header starts: after the colon and any blanks. */
function valueStart(buf: Buffer, colon: number, eol: number): number {
  let at = colon + 1;
  while (at < eol && (buf[at] === SPACE || buf[at] === TAB)) at++;
  return at;
}

/** Does buf[from, to) contain `word` (lowercase ASCII), ignoring case? */
function containsWord(buf: Buffer, from: number, to: number, word: string): boolean {
  const last = to - word.length;
  for (let at = from; at <= last; at++) if (nameIs(buf, at, word.length, word)) return true;
  return false;
}

/** A decimal (content-length) or hexadecimal (chunk size) number at buf[from, to); -1 if there is none. */
function numberAt(buf: Buffer, from: number, to: number, radix: 10 | 16): number {
  let value = 0;
  let digits = 0;
  for (let at = from; at < to; at++) {
    const c = buf[at] as number;
    const digit =
      c >= 0x30 && c <= 0x39
        ? c - 0x30
        : radix === 16 && (c | LOWER) >= 0x61 && (c | LOWER) <= 0x66
          ? (c | LOWER) - 0x57
          : -1;
    if (digit < 0) break;
    value = value * radix + digit;
    digits++;
  }
  return digits === 0 ? -1 : value;
}

/** The index of the next CRLF at or after `from`, before `end`; -1 if none. */
function lineEnd(buf: Buffer, from: number, end: number): number {
  for (let at = from; at + 1 < end; at++) if (buf[at] === CR && buf[at + 1] === LF) return at;
  return -1;
}

/**
 * An incremental parser of HTTP/1.1 responses. It walks the bytes with an offset and reads only the
 * headers it needs, byte by byte: no string, array or object per response (this is the engine's hot
 * path: it used to take longer than the rest of a request's JavaScript together).
 */
export class ResponseParser {
  /** Bytes of a response not yet complete, copied out of the (reused) read buffer. */
  private pending: Buffer = EMPTY;
  private state = HEAD;
  private remaining = 0;
  private status = 0;
  private localReply = false;
  private close = false;
  private collected: ParsedResponse[] | undefined;

  constructor(private readonly listener?: ResponseListener) {}

  /**
   * Bytes [0, length) of `chunk` arrived (a reused read buffer: nothing of it is kept); the listener
   * hears every response they complete.
   */
  feed(chunk: Buffer, length = chunk.length): void {
    let buf = chunk;
    let end = length;
    if (this.pending.length > 0) {
      buf = Buffer.concat([this.pending, chunk.subarray(0, length)]);
      end = buf.length;
    }
    let at = 0;
    while (at < end) {
      const next = this.step(buf, at, end);
      if (next < 0) break;
      at = next;
    }
    this.pending = at < end && this.state !== UNTIL_CLOSE ? Buffer.from(buf.subarray(at, end)) : EMPTY;
  }

  /** The responses completed by `chunk` (for callers without a listener). */
  push(chunk: Buffer): ParsedResponse[] {
    const done: ParsedResponse[] = [];
    this.collected = done;
    try {
      this.feed(chunk);
    } finally {
      this.collected = undefined;
    }
    return done;
  }

  /** The connection closed: a body read until close ends here. */
  end(): ParsedResponse | undefined {
    if (this.state !== UNTIL_CLOSE) return undefined;
    this.state = HEAD;
    return { status: this.status, localReply: this.localReply, close: true };
  }

  /** A response is in progress (bytes of it have arrived, or a body is being read). */
  get partial(): boolean {
    return this.state !== HEAD || this.pending.length > 0;
  }

  /** One step of the state machine from `at`: where the next step starts, or -1 to wait for more bytes. */
  private step(buf: Buffer, at: number, end: number): number {
    switch (this.state) {
      case HEAD:
        return this.readHead(buf, at, end);
      case LENGTH:
      case CHUNK_DATA: {
        const take = Math.min(this.remaining, end - at);
        this.remaining -= take;
        if (this.remaining === 0) {
          if (this.state === LENGTH) this.complete();
          else this.state = CHUNK_SIZE;
        }
        return at + take;
      }
      case CHUNK_SIZE: {
        const eol = lineEnd(buf, at, end);
        if (eol < 0) return -1;
        const size = numberAt(buf, at, eol, 16);
        if (size < 0) throw new Error("bad chunk size");
        this.state = size === 0 ? TRAILERS : CHUNK_DATA;
        this.remaining = size + 2;
        return eol + 2;
      }
      case TRAILERS: {
        const eol = lineEnd(buf, at, end);
        if (eol < 0) return -1;
        if (eol === at) this.complete();
        return eol + 2;
      }
      default: // UNTIL_CLOSE: the body is everything until the connection ends
        return -1;
    }
  }

  private readHead(buf: Buffer, at: number, end: number): number {
    const statusEol = lineEnd(buf, at, end);
    if (statusEol < 0) return -1;
    // A byte past the end is undefined, which makes the status NaN and the check below refuse it.
    const status =
      ((buf[at + 9] as number) - 48) * 100 + ((buf[at + 10] as number) - 48) * 10 + ((buf[at + 11] as number) - 48);
    const http10 = nameIs(buf, at, 9, "http/1.0 ");
    if ((!http10 && !nameIs(buf, at, 9, "http/1.1 ")) || !(status >= 100 && status <= 999)) {
      throw new Error(
        `not an HTTP/1.1 response: ${JSON.stringify(buf.toString("latin1", at, Math.min(statusEol, at + 40)))}`,
      );
    }
    let length = -1;
    let chunked = false;
    let close = http10;
    let envoy = false;
    let upstream = false;
    let localRateLimit = false;
    let line = statusEol + 2;
    for (;;) {
      const eol = lineEnd(buf, line, end);
      if (eol < 0) return -1; // the head is not complete yet: read it again with more bytes
      if (eol === line) break;
      let colon = line;
      while (colon < eol && buf[colon] !== COLON) colon++;
      const n = colon - line;
      if (colon < eol && n > 0) {
        switch ((buf[line] as number) | LOWER) {
          case 99: // c
            if (nameIs(buf, line, n, "content-length")) length = numberAt(buf, valueStart(buf, colon, eol), eol, 10);
            else if (nameIs(buf, line, n, "connection")) close = containsWord(buf, colon + 1, eol, "close");
            break;
          case 116: // t
            if (nameIs(buf, line, n, "transfer-encoding")) chunked = containsWord(buf, colon + 1, eol, "chunked");
            break;
          case 115: // s
            if (nameIs(buf, line, n, "server")) {
              const value = valueStart(buf, colon, eol);
              envoy = eol - value >= 11 && nameIs(buf, value, 11, "istio-envoy");
            }
            break;
          case 120: // x
            if (nameIs(buf, line, n, "x-local-rate-limit")) localRateLimit = true;
            else if (nameIs(buf, line, n, "x-envoy-upstream-service-time")) upstream = true;
            break;
        }
      }
      line = eol + 2;
    }
    const next = line + 2;
    if (status < 200) return next; // 100 Continue and friends: the real answer follows
    this.status = status;
    this.localReply = isLocalReply(status, { envoy, upstream, localRateLimit });
    this.close = close;
    if (status === 204 || status === 304) this.complete();
    else if (chunked) this.state = CHUNK_SIZE;
    else if (length >= 0) {
      this.state = LENGTH;
      this.remaining = length;
      if (length === 0) this.complete();
    } else this.state = UNTIL_CLOSE;
    return next;
  }

  private complete(): void {
    this.state = HEAD;
    if (this.collected) this.collected.push({ status: this.status, localReply: this.localReply, close: this.close });
    else this.listener?.(this.status, this.localReply, this.close);
  }
}

export interface RequestTarget {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
}

/** The request bytes, built once and written as they are for every request. */
export function requestBytes({ url, headers }: RequestTarget): Buffer {
  const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`, "user-agent: istio-mesh-bench"];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
}

/**
 * A TCP or TLS socket to the target, Nagle off (one small request per write). Plain TCP reads into
 * one reused buffer through net's `onread` option, which skips the stream machinery and an allocation
 * per read (nodejs.org/api/net.html#socketconnectoptions-connectlistener); TLS uses 'data' events.
 */
export function connect(url: URL, onChunk: (chunk: Buffer, length: number) => void): net.Socket {
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let socket: net.Socket;
  if (url.protocol === "https:") {
    // The load generator does not verify certificates (the preflight request does, against --ca-cert).
    socket = tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: false });
    socket.on("data", (chunk: Buffer) => onChunk(chunk, chunk.length));
  } else {
    const buffer = Buffer.allocUnsafe(64 * 1024);
    const callback = (n: number) => {
      onChunk(buffer, n);
      return true;
    };
    socket = net.connect({ host, port, onread: { buffer, callback } });
  }
  socket.setNoDelay(true);
  return socket;
}
