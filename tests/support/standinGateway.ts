import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import mt19937 from "@stdlib/random-base-mt19937";
import { type CryptoKey, exportSPKI, generateKeyPair, importSPKI, jwtVerify, SignJWT } from "jose";
import { generate } from "selfsigned";

/**
 * A stand-in ingress gateway on 127.0.0.1 that behaves like the dev config (shortened delays): a
 * seeded canary split over 3 v1 pods and 1 v2 pod, beta routing, a delay fault on /products, an
 * abort fault on /orders, JWT on /users, a token bucket per user-service pod, a connection pool on
 * product-service, and HTTPS with a certificate from a test CA. Each behaviour has a faulty switch.
 */
export interface StandinBehaviour {
  readonly seed: number;
  /** Actual v2 share of non-beta /users traffic. */
  readonly v2Share: number;
  readonly betaToV2: boolean;
  readonly productDelay: { readonly fraction: number; readonly ms: number };
  readonly orderAbort: { readonly fraction: number; readonly status: number };
  readonly jwt: { readonly verify: boolean; readonly required: boolean };
  /** Tokens per pod per second, or false for no limit. */
  /** perMs: the fill interval (default 1s); the bucket refills perPod tokens over it, continuously. */
  readonly rateLimit: { readonly perPod: number; readonly perMs?: number; readonly header: boolean } | false;
  /** In-flight /products requests admitted past the delay; beyond that 503, marked as overflow or not. */
  readonly productPool: { readonly capacity: number; readonly marked: boolean } | false;
}

export const GOOD: Omit<StandinBehaviour, "seed"> = {
  v2Share: 0.1,
  betaToV2: true,
  // 1 s: the check calls a reply delayed at half the delay, far above a loaded machine's latency (at
  // 150 ms, ordinary replies took over 75 ms under load and the delay rate flaked).
  productDelay: { fraction: 0.5, ms: 1000 },
  orderAbort: { fraction: 0.3, status: 500 },
  jwt: { verify: true, required: true },
  rateLimit: { perPod: 400, header: true },
  productPool: { capacity: 6, marked: true },
};

export const ISSUER = "https://auth.istio-mesh.local";
export const AUDIENCE = "istio-mesh";
export const HTTPS_HOST = "api.example.com";

export interface TestKeys {
  readonly signingKey: CryptoKey;
  readonly publicPem: string;
  readonly validToken: string;
  readonly ca: { readonly cert: string; readonly key: string };
  readonly leaf: { readonly cert: string; readonly key: string };
  /** Signed by the CA, but for another host. */
  readonly wrongHostLeaf: { readonly cert: string; readonly key: string };
}

/** Keys are made once per test file: EC keys keep that fast. */
export async function makeTestKeys(): Promise<TestKeys> {
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const validToken = await new SignJWT({ role: "user" })
    .setProtectedHeader({ alg: "ES256" })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject("tester")
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(privateKey);
  const ca = await generate([{ name: "commonName", value: "verify test CA" }], {
    keyType: "ec",
    algorithm: "sha256",
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true },
    ],
  });
  const leafFor = async (host: string) => {
    const leaf = await generate([{ name: "commonName", value: host }], {
      keyType: "ec",
      algorithm: "sha256",
      ca: { key: ca.private, cert: ca.cert },
      extensions: [{ name: "subjectAltName", altNames: [{ type: 2, value: host }] }],
    });
    return { cert: leaf.cert, key: leaf.private };
  };
  return {
    signingKey: privateKey,
    publicPem: await exportSPKI(publicKey),
    validToken,
    ca: { cert: ca.cert, key: ca.private },
    leaf: await leafFor(HTTPS_HOST),
    wrongHostLeaf: await leafFor("other.example.com"),
  };
}

export interface Standin {
  readonly httpUrl: string;
  readonly httpsUrl: string;
  close(): Promise<void>;
}

const seeded = (seed: number) => {
  const next = mt19937.factory({ seed });
  return () => next() / 2 ** 32;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startStandin(
  behaviour: StandinBehaviour,
  keys: TestKeys,
  tlsLeaf: { cert: string; key: string } = keys.leaf,
): Promise<Standin> {
  // One stream per decision, so concurrency changes arrival order but not the counts.
  const splitRandom = seeded(behaviour.seed);
  const delayRandom = seeded(behaviour.seed + 1);
  const abortRandom = seeded(behaviour.seed + 2);
  const publicKey = await importSPKI(keys.publicPem, "ES256");
  const pods = { v1: [0, 1, 2].map(() => bucket()), v2: [bucket()] };
  let roundRobin = 0;
  let productInFlight = 0;

  function bucket() {
    return { tokens: behaviour.rateLimit ? behaviour.rateLimit.perPod : 0, filled: Date.now() };
  }

  const reply = (res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "text/plain", ...headers });
    res.end(body);
  };

  async function users(req: http.IncomingMessage, res: http.ServerResponse) {
    const header = req.headers.authorization;
    const token = header?.startsWith("Bearer ") ? header.slice(7) : undefined;
    if (token !== undefined && behaviour.jwt.verify) {
      try {
        await jwtVerify(token, publicKey, { issuer: ISSUER, audience: AUDIENCE });
      } catch {
        return reply(res, 401, "Jwt verification fails");
      }
    }
    if (token === undefined && behaviour.jwt.required && behaviour.jwt.verify) {
      return reply(res, 403, "RBAC: access denied");
    }
    const beta = req.headers["x-user-type"] === "beta";
    const version = beta && behaviour.betaToV2 ? "v2" : splitRandom() < behaviour.v2Share ? "v2" : "v1";
    const pod = version === "v2" ? pods.v2[0] : pods.v1[roundRobin++ % 3];
    if (behaviour.rateLimit && pod) {
      // Envoy's AtomicTokenBucket (local_ratelimit_impl.cc, the only bucket since Envoy 1.34): up to
      // perPod tokens, refilled continuously at perPod per perMs; a request takes one whole token.
      const { perPod, perMs = 1000 } = behaviour.rateLimit;
      const now = Date.now();
      pod.tokens = Math.min(perPod, pod.tokens + ((now - pod.filled) * perPod) / perMs);
      pod.filled = now;
      if (pod.tokens < 1) {
        return reply(
          res,
          429,
          "local_rate_limited",
          behaviour.rateLimit.header ? { "x-local-rate-limit": "true" } : {},
        );
      }
      pod.tokens--;
    }
    return reply(res, 200, version === "v2" ? "User Service v2 - canary (NEW)" : "User Service v1 - stable");
  }

  async function products(res: http.ServerResponse) {
    // The delay fault runs before the router: a parked request holds no upstream connection.
    if (delayRandom() < behaviour.productDelay.fraction) await sleep(behaviour.productDelay.ms);
    const pool = behaviour.productPool;
    if (pool && productInFlight >= pool.capacity) {
      return pool.marked
        ? reply(res, 503, "upstream connect error or disconnect/reset before headers. reset reason: overflow", {
            "x-envoy-overloaded": "true",
          })
        : reply(res, 503, "Service Unavailable");
    }
    productInFlight++;
    await sleep(15);
    productInFlight--;
    return reply(res, 200, "Product Service v1");
  }

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://standin").pathname;
    if (path.startsWith("/users")) return void users(req, res);
    if (path.startsWith("/products")) return void products(res);
    if (path.startsWith("/orders")) {
      const { fraction, status } = behaviour.orderAbort;
      return abortRandom() < fraction ? reply(res, status, "fault filter abort") : reply(res, 200, "Order Service v1");
    }
    return reply(res, 404, "");
  };

  const plain = http.createServer({ keepAlive: true }, handler);
  const secure = https.createServer({ cert: tlsLeaf.cert, key: tlsLeaf.key }, handler);
  const listen = (server: http.Server) =>
    new Promise<number>((resolve) =>
      server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
    );
  const [httpPort, httpsPort] = [await listen(plain), await listen(secure)];
  const close = (server: http.Server) =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return {
    httpUrl: `http://127.0.0.1:${httpPort}`,
    httpsUrl: `https://127.0.0.1:${httpsPort}`,
    close: async () => {
      await Promise.all([close(plain), close(secure)]);
    },
  };
}
