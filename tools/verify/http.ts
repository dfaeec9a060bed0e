import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import * as tls from "node:tls";

/** One response as the checks see it; `error` instead of a status when the exchange failed. */
export interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Wall time from send to the end of the body. */
  readonly ms: number;
  readonly error?: string;
}

export interface RequestOptions {
  readonly headers?: Readonly<Record<string, string>>;
  /** Whole-exchange budget; a fault delay must fit in it. */
  readonly timeoutMs?: number;
  /** TLS: trust these CA certificates (PEM) and present this SNI name. */
  readonly ca?: string;
  readonly servername?: string;
}

/** How long a TCP connect may take before the gateway counts as unreachable. */
export const CONNECT_TIMEOUT_MS = 3000;
const BODY_LIMIT = 64 * 1024;

/**
 * A small HTTP(S) client with keep-alive pools sized to the run's concurrency. Node's own http: we
 * need per-request latency, SNI and a custom CA, and nothing a library adds beyond that.
 */
export class HttpClient {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(maxSockets: number) {
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets });
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets });
  }

  get(url: string, options: RequestOptions = {}): Promise<Reply> {
    const target = new URL(url);
    const secure = target.protocol === "https:";
    const started = performance.now();
    const timeoutMs = options.timeoutMs ?? 15_000;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (reply: Omit<Reply, "ms">) => {
        if (settled) return;
        settled = true;
        clearTimeout(overall);
        resolve({ ...reply, ms: performance.now() - started });
      };
      const failed = (error: string) => finish({ status: 0, headers: {}, body: "", error });
      const request = (secure ? https : http).request(
        target,
        {
          method: "GET",
          headers: options.headers,
          agent: secure ? this.httpsAgent : this.httpAgent,
          ...(secure && { ca: options.ca, servername: options.servername }),
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size <= BODY_LIMIT) chunks.push(chunk);
          });
          response.on("end", () =>
            finish({
              status: response.statusCode ?? 0,
              headers: flatHeaders(response.headers),
              body: Buffer.concat(chunks).toString("utf8"),
            }),
          );
          response.on("error", (e) => failed(e.message));
        },
      );
      const overall = setTimeout(() => {
        request.destroy();
        failed(`no response within ${timeoutMs} ms`);
      }, timeoutMs);
      request.on("socket", (socket) => {
        if (!socket.connecting) return;
        const connectTimer = setTimeout(() => {
          request.destroy();
          failed(`no TCP connection within ${CONNECT_TIMEOUT_MS} ms`);
        }, CONNECT_TIMEOUT_MS);
        socket.once("connect", () => clearTimeout(connectTimer));
        socket.once("close", () => clearTimeout(connectTimer));
      });
      request.on("error", (e: NodeJS.ErrnoException) => failed(e.code ? `${e.code}: ${e.message}` : e.message));
      request.end();
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

function flatHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return flat;
}

/** Resolves when a TCP connection to the URL's host and port opens; rejects with a readable reason. */
export function probeTcp(url: string, timeoutMs = CONNECT_TIMEOUT_MS): Promise<void> {
  const target = new URL(url);
  const port = Number(target.port || (target.protocol === "https:" ? 443 : 80));
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: target.hostname, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs / 1000}s`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.end();
      resolve();
    });
    socket.once("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(e.code ?? e.message));
    });
  });
}

export interface TlsOutcome {
  readonly authorized: boolean;
  readonly authorizationError?: string;
  /** subjectAltName of the served certificate, e.g. "DNS:api.example.com". */
  readonly subjectAltName?: string;
  /** Result of Node's RFC 6125 host check, undefined when the name matches. */
  readonly hostError?: string;
  readonly error?: string;
}

/** A TLS handshake to the URL's address with SNI `servername`, verified against `ca`. */
export function tlsHandshake(url: string, servername: string, ca: string): Promise<TlsOutcome> {
  const target = new URL(url);
  const port = Number(target.port || 443);
  return new Promise((resolve) => {
    const socket = tls.connect({ host: target.hostname, port, servername, ca, rejectUnauthorized: false });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ authorized: false, error: `no TLS handshake within ${CONNECT_TIMEOUT_MS} ms` });
    }, CONNECT_TIMEOUT_MS);
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      const cert = socket.getPeerCertificate();
      const hostError = tls.checkServerIdentity(servername, cert)?.message;
      resolve({
        authorized: socket.authorized,
        ...(socket.authorizationError && { authorizationError: String(socket.authorizationError) }),
        ...(cert.subjectaltname && { subjectAltName: cert.subjectaltname }),
        ...(hostError && { hostError }),
      });
      socket.end();
    });
    socket.once("error", (e) => {
      clearTimeout(timer);
      resolve({ authorized: false, error: e.message });
    });
  });
}
