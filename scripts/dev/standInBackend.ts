/**
 * A stand-in for the mesh's routes on 127.0.0.1: /users, /products and /orders answer what the
 * backends' http-echo answers. Each route can be made slow or failing, deterministically, so tests
 * can count exactly. The bench tests and `scripts/dev/bench-ceiling.ts` use it; nothing else.
 *
 *   tsx scripts/dev/standInBackend.ts [--port 0]    prints "listening <url>", serves until killed
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { BACKEND_SERVICES } from "../../config/defaults";

export interface RouteBehaviour {
  readonly body: string;
  /** Status of an ordinary response (default 200). */
  readonly status?: number;
  /** Every `every`-th request on this route (the `every`-th, 2×`every`-th, ...) gets `status` instead. */
  readonly failEvery?: { readonly every: number; readonly status: number };
  readonly delayMs?: number;
  /**
   * The server stalls: from the `atRequest`-th request on this route, everything that arrives in the
   * next `forMs` (that request included) is answered only when the stall ends, as a GC pause or a
   * saturated upstream would.
   */
  readonly stall?: { readonly atRequest: number; readonly forMs: number };
  /** Extra response headers, e.g. Envoy's `server: istio-envoy` or the rate limit's `x-local-rate-limit`. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Keep each request's arrival time (performance.now(), ms) in `arrivals`. */
  readonly recordArrivals?: boolean;
}

export interface StandIn {
  readonly url: string;
  /** Requests seen per route prefix (unknown paths under "other"). */
  readonly hits: Map<string, number>;
  /** Arrival times (performance.now(), ms) per route prefix, for routes with `recordArrivals`. */
  readonly arrivals: Map<string, number[]>;
  /** Headers of the last request seen. */
  lastHeaders(): IncomingHttpHeaders | undefined;
  close(): Promise<void>;
}

/** The stable version's answer on each ingress route. */
export const MESH_ROUTES: Readonly<Record<string, RouteBehaviour>> = Object.fromEntries(
  BACKEND_SERVICES.map((s) => [s.pathPrefix, { body: s.versions[0]?.responseText ?? s.name }]),
);

export function startStandIn(
  routes: Readonly<Record<string, RouteBehaviour>> = MESH_ROUTES,
  port = 0,
): Promise<StandIn> {
  const hits = new Map<string, number>();
  const arrivals = new Map<string, number[]>();
  const stalledUntil = new Map<string, number>();
  let last: IncomingHttpHeaders | undefined;
  const prefixes = Object.keys(routes);
  const delayed = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    last = req.headers;
    const path = req.url ?? "/";
    const prefix = prefixes.find((p) => path === p || path.startsWith(`${p}/`) || path.startsWith(`${p}?`));
    const seen = (hits.get(prefix ?? "other") ?? 0) + 1;
    hits.set(prefix ?? "other", seen);
    const route = prefix === undefined ? undefined : routes[prefix];
    const now = performance.now();
    if (route?.recordArrivals && prefix !== undefined) {
      const seenAt = arrivals.get(prefix) ?? [];
      seenAt.push(now);
      arrivals.set(prefix, seenAt);
    }
    if (route?.stall && prefix !== undefined && seen === route.stall.atRequest) {
      stalledUntil.set(prefix, now + route.stall.forMs);
    }
    const stallMs = prefix === undefined ? 0 : Math.max(0, (stalledUntil.get(prefix) ?? 0) - now);
    const answer = () => {
      if (!route) {
        res.writeHead(404, { "content-type": "text/plain" }).end("no route\n");
        return;
      }
      const failing = route.failEvery !== undefined && seen % route.failEvery.every === 0;
      const status = failing ? (route.failEvery?.status ?? 500) : (route.status ?? 200);
      res.writeHead(status, { "content-type": "text/plain", ...route.headers }).end(`${route.body}\n`);
    };
    const waitMs = Math.max(route?.delayMs ?? 0, stallMs);
    if (waitMs > 0) {
      const timer = setTimeout(() => {
        delayed.delete(timer);
        answer();
      }, waitMs);
      delayed.add(timer);
    } else answer();
  });
  server.keepAliveTimeout = 30_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const { port: bound } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${bound}`,
        hits,
        arrivals,
        lastHeaders: () => last,
        close: () =>
          new Promise<void>((done) => {
            for (const timer of delayed) clearTimeout(timer);
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

if (require.main === module) {
  const { values } = parseArgs({ options: { port: { type: "string", default: "0" } } });
  startStandIn(MESH_ROUTES, Number(values.port)).then((standIn) => console.log(`listening ${standIn.url}`));
}
