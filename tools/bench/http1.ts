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

/**
 * Envoy's router adds `x-envoy-upstream-service-time` to every response it got from an upstream;
 * a filter's own reply (fault abort, local rate limit, circuit-breaker overflow, no healthy upstream)
 * never went upstream and lacks it (envoy: source/common/router/router.cc, `onUpstreamHeaders`).
 * The project's rate limit also tags its 429s with `x-local-rate-limit` (components/security/rateLimit.ts).
 */
export function isLocalReply(status: number, lowerHeaders: string): boolean {
  if (status < 400) return false;
  if (lowerHeaders.includes("\r\nx-local-rate-limit:")) return true;
  return (
    lowerHeaders.includes("\r\nserver: istio-envoy") && !lowerHeaders.includes("\r\nx-envoy-upstream-service-time:")
  );
}

type BodyState =
  | { kind: "head" }
  | { kind: "length"; remaining: number }
  | { kind: "chunk-size" }
  | { kind: "chunk-data"; remaining: number }
  | { kind: "trailers" }
  | { kind: "until-close" };

/** An incremental parser of HTTP/1.1 responses; `push` returns the responses completed by a chunk. */
export class ResponseParser {
  private buffer: Buffer = Buffer.alloc(0);
  private state: BodyState = { kind: "head" };
  private head: Omit<ParsedResponse, never> | undefined;

  push(chunk: Buffer): ParsedResponse[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const done: ParsedResponse[] = [];
    for (;;) {
      const finished = this.step();
      if (finished === "more") break;
      if (finished) done.push(finished);
    }
    return done;
  }

  /** The connection closed: a body read until close ends here. */
  end(): ParsedResponse | undefined {
    if (this.state.kind === "until-close" && this.head) {
      const head = this.head;
      this.reset();
      return head;
    }
    return undefined;
  }

  /** A response is in progress (bytes of it have arrived, or a body is being read). */
  get partial(): boolean {
    return this.state.kind !== "head" || this.buffer.length > 0;
  }

  private reset(): void {
    this.state = { kind: "head" };
    this.head = undefined;
  }

  /** One step of the state machine: a completed response, null (progress, go on), or "more" (need bytes). */
  private step(): ParsedResponse | null | "more" {
    const s = this.state;
    switch (s.kind) {
      case "head": {
        const end = this.buffer.indexOf(CRLFCRLF);
        if (end < 0) return "more";
        const text = this.buffer.toString("latin1", 0, end + 2).toLowerCase();
        this.buffer = this.buffer.subarray(end + 4);
        const status = Number(text.slice(9, 12));
        if (!/^http\/1\.[01] $/.test(text.slice(0, 9)) || !(status >= 100 && status <= 999)) {
          throw new Error(`not an HTTP/1.1 response: ${JSON.stringify(text.slice(0, 40))}`);
        }
        if (status >= 100 && status < 200) return null; // 100 Continue and friends: the real one follows
        const close = /\r\nconnection: *close/.test(text) || text.startsWith("http/1.0");
        this.head = { status, localReply: isLocalReply(status, text), close };
        if (status === 204 || status === 304) return this.complete();
        if (/\r\ntransfer-encoding:[^\r]*chunked/.test(text)) {
          this.state = { kind: "chunk-size" };
          return null;
        }
        const length = /\r\ncontent-length: *(\d+)/.exec(text);
        if (length) {
          this.state = { kind: "length", remaining: Number(length[1]) };
          return null;
        }
        this.state = { kind: "until-close" };
        return null;
      }
      case "length": {
        if (s.remaining === 0) return this.complete();
        if (this.buffer.length === 0) return "more";
        const take = Math.min(s.remaining, this.buffer.length);
        this.buffer = this.buffer.subarray(take);
        this.state = { kind: "length", remaining: s.remaining - take };
        return s.remaining - take === 0 ? this.complete() : "more";
      }
      case "chunk-size": {
        const eol = this.buffer.indexOf(CRLF);
        if (eol < 0) return "more";
        const size = Number.parseInt(this.buffer.toString("latin1", 0, eol).split(";")[0] ?? "", 16);
        if (Number.isNaN(size)) throw new Error("bad chunk size");
        this.buffer = this.buffer.subarray(eol + 2);
        this.state = size === 0 ? { kind: "trailers" } : { kind: "chunk-data", remaining: size + 2 };
        return null;
      }
      case "chunk-data": {
        if (this.buffer.length === 0) return "more";
        const take = Math.min(s.remaining, this.buffer.length);
        this.buffer = this.buffer.subarray(take);
        const remaining = s.remaining - take;
        this.state = remaining === 0 ? { kind: "chunk-size" } : { kind: "chunk-data", remaining };
        return remaining === 0 ? null : "more";
      }
      case "trailers": {
        const eol = this.buffer.indexOf(CRLF);
        if (eol < 0) return "more";
        this.buffer = this.buffer.subarray(eol + 2);
        return eol === 0 ? this.complete() : null;
      }
      case "until-close":
        this.buffer = Buffer.alloc(0);
        return "more";
    }
  }

  private complete(): ParsedResponse {
    const head = this.head as ParsedResponse;
    this.reset();
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

/** A TCP or TLS socket to the target, Nagle off (one small request per write). */
export function connect(url: URL): net.Socket {
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, "");
  // The load generator does not verify certificates (the preflight request does, against --ca-cert).
  const socket =
    url.protocol === "https:"
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: false })
      : net.connect({ host, port });
  socket.setNoDelay(true);
  return socket;
}
