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

const CRLFCRLF = Buffer.from("\r\n\r\n");
const CRLF = Buffer.from("\r\n");

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

type BodyState = "head" | "length" | "chunk-size" | "chunk-data" | "trailers" | "until-close";

const EMPTY = Buffer.alloc(0);
const LOWER = 0x20;

/** Does text[at, at + length) spell `name` (lowercase ASCII), ignoring case? */
function nameIs(text: string, at: number, length: number, name: string): boolean {
  if (length !== name.length) return false;
  for (let i = 0; i < length; i++) if ((text.charCodeAt(at + i) | LOWER) !== name.charCodeAt(i)) return false;
  return true;
}

/** A header's value, trimmed and lowercased. A module function, not a closure: tsx names every closure it creates. */
function headerValue(text: string, colon: number, eol: number): string {
  return text
    .slice(colon + 1, eol)
    .trim()
    .toLowerCase();
}

/**
 * An incremental parser of HTTP/1.1 responses; `push` returns the responses completed by a chunk.
 * It walks the bytes with an offset and reads only the headers it needs, byte by byte: no string
 * per head, no slices per step (this is the engine's hot path).
 */
export class ResponseParser {
  private buffer: Buffer = EMPTY;
  private offset = 0;
  private state: BodyState = "head";
  private remaining = 0;
  private head: ParsedResponse | undefined;

  push(chunk: Buffer): ParsedResponse[] {
    this.buffer = this.offset < this.buffer.length ? Buffer.concat([this.buffer.subarray(this.offset), chunk]) : chunk;
    this.offset = 0;
    const done: ParsedResponse[] = [];
    for (;;) {
      const finished = this.step();
      if (finished === "more") break;
      if (finished) done.push(finished);
    }
    // The chunk may be a reused read buffer (connect's onread): keep a copy of what is left.
    this.buffer = this.offset < this.buffer.length ? Buffer.from(this.buffer.subarray(this.offset)) : EMPTY;
    this.offset = 0;
    return done;
  }

  /** The connection closed: a body read until close ends here. */
  end(): ParsedResponse | undefined {
    if (this.state === "until-close" && this.head) return this.complete();
    return undefined;
  }

  /** A response is in progress (bytes of it have arrived, or a body is being read). */
  get partial(): boolean {
    return this.state !== "head" || this.offset < this.buffer.length;
  }

  /** One step of the state machine: a completed response, null (progress, go on), or "more" (need bytes). */
  private step(): ParsedResponse | null | "more" {
    const buf = this.buffer;
    const available = buf.length - this.offset;
    switch (this.state) {
      case "head":
        return this.readHead();
      case "length": {
        const take = Math.min(this.remaining, available);
        this.offset += take;
        this.remaining -= take;
        return this.remaining === 0 ? this.complete() : "more";
      }
      case "chunk-size": {
        const eol = buf.indexOf(CRLF, this.offset);
        if (eol < 0) return "more";
        const size = Number.parseInt(buf.toString("latin1", this.offset, eol).split(";")[0] ?? "", 16);
        if (Number.isNaN(size)) throw new Error("bad chunk size");
        this.offset = eol + 2;
        this.state = size === 0 ? "trailers" : "chunk-data";
        this.remaining = size + 2;
        return null;
      }
      case "chunk-data": {
        if (available === 0) return "more";
        const take = Math.min(this.remaining, available);
        this.offset += take;
        this.remaining -= take;
        if (this.remaining > 0) return "more";
        this.state = "chunk-size";
        return null;
      }
      case "trailers": {
        const eol = buf.indexOf(CRLF, this.offset);
        if (eol < 0) return "more";
        const empty = eol === this.offset;
        this.offset = eol + 2;
        return empty ? this.complete() : null;
      }
      case "until-close":
        this.offset = buf.length;
        return "more";
    }
  }

  private readHead(): ParsedResponse | null | "more" {
    const buf = this.buffer;
    const at = this.offset;
    const end = buf.indexOf(CRLFCRLF, at);
    if (end < 0) return "more";
    const version = buf.toString("latin1", at, at + 9);
    const status = ((buf[at + 9] ?? 0) - 48) * 100 + ((buf[at + 10] ?? 0) - 48) * 10 + ((buf[at + 11] ?? 0) - 48);
    if ((version !== "HTTP/1.1 " && version !== "HTTP/1.0 ") || !(status >= 100 && status <= 999)) {
      throw new Error(
        `not an HTTP/1.1 response: ${JSON.stringify(buf.toString("latin1", at, Math.min(end, at + 40)))}`,
      );
    }
    this.offset = end + 4;
    if (status < 200) return null; // 100 Continue and friends: the real answer follows
    let length = -1;
    let chunked = false;
    let close = version === "HTTP/1.0 ";
    let envoy = false;
    let upstream = false;
    let localRateLimit = false;
    // One string for the head (a single native call), then plain string scanning.
    const text = buf.toString("latin1", at, end + 2);
    for (let line = text.indexOf("\r\n") + 2; line < text.length; ) {
      const eol = text.indexOf("\r\n", line);
      const colon = text.indexOf(":", line);
      if (colon > line && colon < eol) {
        const n = colon - line;
        switch (text.charCodeAt(line) | LOWER) {
          case 99: // c
            if (nameIs(text, line, n, "content-length")) length = Number(headerValue(text, colon, eol));
            else if (nameIs(text, line, n, "connection")) close = headerValue(text, colon, eol).includes("close");
            break;
          case 116: // t
            if (nameIs(text, line, n, "transfer-encoding")) chunked = headerValue(text, colon, eol).includes("chunked");
            break;
          case 115: // s
            if (nameIs(text, line, n, "server")) envoy = headerValue(text, colon, eol).startsWith("istio-envoy");
            break;
          case 120: // x
            if (nameIs(text, line, n, "x-local-rate-limit")) localRateLimit = true;
            else if (nameIs(text, line, n, "x-envoy-upstream-service-time")) upstream = true;
            break;
        }
      }
      line = eol + 2;
    }
    this.head = { status, localReply: isLocalReply(status, { envoy, upstream, localRateLimit }), close };
    if (status === 204 || status === 304) return this.complete();
    if (chunked) {
      this.state = "chunk-size";
      return null;
    }
    if (length >= 0) {
      this.state = "length";
      this.remaining = length;
      return null;
    }
    this.state = "until-close";
    return null;
  }

  private complete(): ParsedResponse {
    const head = this.head as ParsedResponse;
    this.state = "head";
    this.head = undefined;
    return head;
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
export function connect(url: URL, onChunk: (chunk: Buffer) => void): net.Socket {
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let socket: net.Socket;
  if (url.protocol === "https:") {
    // The load generator does not verify certificates (the preflight request does, against --ca-cert).
    socket = tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: false });
    socket.on("data", onChunk);
  } else {
    const buffer = Buffer.allocUnsafe(64 * 1024);
    const callback = (n: number) => {
      onChunk(buffer.subarray(0, n));
      return true;
    };
    socket = net.connect({ host, port, onread: { buffer, callback } });
  }
  socket.setNoDelay(true);
  return socket;
}
