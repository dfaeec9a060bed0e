import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { deployMesh } from "../components/mesh";
import { buildMeshSpec } from "../components/meshSpec";
import { allowRule, authorizationPolicies } from "../components/security/authorization";
import { HTTPS_CREDENTIAL } from "../components/security/https";
import { ingressGatewayIdentity, principal } from "../components/security/identities";
import { demoTokenWindow, jwksFromPublicKey, mintToken, requestAuthentication } from "../components/security/jwt";
import { CURL_IMAGE } from "../components/security/probeClients";
import { LOCAL_RATE_LIMIT_TYPE, protoDuration, rateLimitFilter } from "../components/security/rateLimit";
import { isPinnedImage } from "../config/readers";
import type { MeshConfig } from "../config/types";
import { istioTraffic } from "./support/cells";
import { devConfig, meshConfig } from "./support/configs";
import { devMeshRun } from "./support/devMeshRun";
import { istioModels } from "./support/istioSchemas";
import { resolved, runWithMocks } from "./support/mockEngine";
import { T } from "./support/types";

const configs: [string, MeshConfig][] = [
  ["defaults", meshConfig()],
  ["the dev stack", devConfig()],
  [
    "PERMISSIVE, no JWT requirement, a 5/1s limit, another host",
    meshConfig({
      mtlsMode: "PERMISSIVE",
      jwt: { required: false },
      rateLimit: { requests: 5, per: "1s" },
      httpsHost: "shop.lab.test",
    }),
  ],
  ["no probe clients, no rate limit", meshConfig({ probeClients: false, rateLimit: false })],
];

function newKeyPair() {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    publicPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    privatePem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}
/** The stack's key stand-in, generated once (RSA key generation is the slow part of these tests). */
let stackKey: ReturnType<typeof newKeyPair> | undefined;
const keyPair = () => {
  stackKey ??= newKeyPair();
  return stackKey;
};

/** Every security object of a config, the RequestAuthentication with a real JWKS. */
async function securityObjects(cfg: MeshConfig) {
  const spec = buildMeshSpec(cfg);
  const s = spec.security;
  return [
    s.peerAuthentication,
    ...s.authorizationPolicies,
    ...(s.rateLimit ? [s.rateLimit] : []),
    requestAuthentication(cfg, await jwksFromPublicKey(keyPair().publicPem)),
    istioTraffic(spec).gateway,
  ];
}

describe("security objects against Istio's schemas", () => {
  for (const [name, cfg] of configs) {
    test(`every security object validates (${name})`, async () => {
      const models = await istioModels();
      for (const object of await securityObjects(cfg)) {
        const Model = models[object.kind as keyof typeof models];
        assert.ok(Model, `no schema for ${object.kind}`);
        const expectedApi = object.kind === "EnvoyFilter" ? "networking.istio.io/v1alpha3" : undefined;
        if (expectedApi) assert.equal(object.apiVersion, expectedApi);
        else if (object.kind !== "Gateway") assert.equal(object.apiVersion, "security.istio.io/v1");
        assert.doesNotThrow(() => new Model(object as never).validate(), `${object.kind}/${object.metadata.name}`);
      }
    });
  }

  test("the schemas do reject a broken object (the check has teeth)", async () => {
    const { PeerAuthentication, AuthorizationPolicy } = await istioModels();
    const pa = structuredClone(buildMeshSpec(meshConfig()).security.peerAuthentication) as any;
    pa.spec.mtls.mode = "DISABLED_PLEASE";
    assert.throws(() => new PeerAuthentication(pa).validate(), /mode/);
    const policy = structuredClone(authorizationPolicies(meshConfig())[1]) as any;
    policy.spec.action = "PERMIT";
    assert.throws(() => new AuthorizationPolicy(policy).validate(), /action/);
  });
});

describe("cross-checks", () => {
  for (const [name, cfg] of configs) {
    test(`every selector selects pods of ours, in its own namespace (${name})`, async () => {
      const spec = buildMeshSpec(cfg);
      const pods = [...spec.backends.deployments, ...(spec.security.probeClients?.deployments ?? [])].map((d) => ({
        namespace: d.metadata.namespace,
        labels: d.spec?.template.metadata?.labels ?? {},
      }));
      const selectors = (await securityObjects(cfg)).flatMap((o) => {
        const s = (o as any).spec;
        const labels = s.selector?.matchLabels ?? s.workloadSelector?.labels;
        return labels && o.kind !== "Gateway"
          ? [{ name: `${o.kind}/${o.metadata.name}`, ns: o.metadata.namespace, labels }]
          : [];
      });
      assert.ok(selectors.length >= 4, "user-service, product-service, order-service and the JWT rule select pods");
      for (const sel of selectors) {
        const selected = pods.filter(
          (p) => p.namespace === sel.ns && Object.entries(sel.labels).every(([k, v]) => p.labels[k] === v),
        );
        assert.ok(selected.length > 0, `${sel.name} selects no pod`);
      }
    });

    test(`every principal names a ServiceAccount that exists, the gateway chart's included (${name})`, () => {
      const spec = buildMeshSpec(cfg);
      const gatewayRelease = spec.ingressGateway;
      // The gateway chart names its ServiceAccount after the release unless serviceAccount.name is set
      // (chart-render: ServiceAccount istio-ingressgateway in istio-ingress).
      assert.equal((gatewayRelease.values as any).serviceAccount?.name, undefined);
      const chartAccount = { namespace: gatewayRelease.namespace, serviceAccount: gatewayRelease.name };
      assert.deepEqual(ingressGatewayIdentity(cfg), chartAccount);
      const accounts = new Set(
        [...spec.backends.serviceAccounts, ...(spec.security.probeClients?.serviceAccounts ?? [])]
          .map((sa) => principal({ namespace: sa.metadata.namespace ?? "", serviceAccount: sa.metadata.name }))
          .concat(principal(chartAccount)),
      );
      const principals = spec.security.authorizationPolicies.flatMap((p) =>
        (p.spec?.rules ?? []).flatMap((r) => (r.from ?? []).flatMap((f) => f.source?.principals ?? [])),
      );
      assert.ok(principals.length > 0);
      for (const p of principals)
        assert.ok(accounts.has(p), `${p} is no ServiceAccount of ours or the gateway chart's`);
      assert.ok(principals.includes("cluster.local/ns/istio-ingress/sa/istio-ingressgateway"));
    });
  }

  test("credentialName names a kubernetes.io/tls Secret in the gateway's namespace", () => {
    const spec = buildMeshSpec(devConfig());
    const gatewayRelease = spec.ingressGateway;
    const https = istioTraffic(spec).gateway.spec?.servers?.find((s) => s.port?.number === 443);
    assert.equal(https?.tls?.credentialName, HTTPS_CREDENTIAL);
    assert.equal(spec.security.tlsSecret.metadata.name, https?.tls?.credentialName);
    assert.equal(spec.security.tlsSecret.metadata.namespace, gatewayRelease.namespace);
    assert.equal(spec.security.tlsSecret.type, "kubernetes.io/tls");
    // The Gateway selects the pods of that same chart.
    assert.deepEqual(istioTraffic(spec).gateway.spec?.selector, (gatewayRelease.values as any).labels);
  });

  test("the rate-limit filter selects user-service's inbound sidecar, enabled and enforced at 100%", () => {
    const cfg = devConfig();
    const filter = rateLimitFilter(cfg);
    assert.ok(filter);
    assert.deepEqual(filter.spec?.workloadSelector, { labels: { app: "user-service" } });
    const [patch] = filter.spec?.configPatches ?? [];
    assert.equal(patch?.applyTo, "HTTP_FILTER");
    assert.equal(patch?.match?.context, "SIDECAR_INBOUND");
    assert.deepEqual(patch?.match?.listener?.filterChain?.filter?.subFilter, { name: "envoy.filters.http.router" });
    assert.equal(patch?.patch?.operation, "INSERT_BEFORE");
    const config = (patch?.patch?.value as any)?.typed_config;
    assert.equal(config["@type"], LOCAL_RATE_LIMIT_TYPE, "the filter's own type, no udpa TypedStruct");
    assert.deepEqual(config.token_bucket, { max_tokens: 100, tokens_per_fill: 100, fill_interval: "60s" });
    const always = { numerator: 100, denominator: "HUNDRED" };
    assert.deepEqual(config.filter_enabled.default_value, always);
    assert.deepEqual(config.filter_enforced.default_value, always);
    assert.deepEqual(config.status, { code: "TooManyRequests" });
    assert.deepEqual(config.response_headers_to_add[0].header, { key: "x-local-rate-limit", value: "true" });
    const pods = buildMeshSpec(cfg).backends.deployments.filter(
      (d) => d.spec?.template.metadata?.labels?.app === "user-service",
    );
    assert.equal(pods.length, 2, "both versions share the filter; each pod has its own bucket");
  });

  test("fill_interval is a protobuf Duration (seconds only); rateLimit false builds no filter", () => {
    assert.equal(protoDuration("1m"), "60s");
    assert.equal(protoDuration("500ms"), "0.5s");
    assert.equal(rateLimitFilter(meshConfig({ rateLimit: false })), undefined);
  });
});

describe("authorization rules", () => {
  test("no ALLOW rule allows by method or path alone: each names its callers by principal", () => {
    for (const [, cfg] of configs) {
      let rules = 0;
      for (const policy of authorizationPolicies(cfg).filter((p) => (p.spec?.action ?? "ALLOW") === "ALLOW")) {
        for (const rule of policy.spec?.rules ?? []) {
          rules++;
          assert.ok(rule.from && rule.from.length > 0, `${policy.metadata.name}: a rule without from`);
          for (const { source } of rule.from) assert.ok((source?.principals ?? []).length > 0, policy.metadata.name);
        }
      }
      assert.ok(rules >= 3, "one ALLOW rule per backend at least");
    }
  });

  test("deny by default: allow-nothing has an empty spec; one ALLOW policy per backend", () => {
    const [nothing, ...allows] = authorizationPolicies(devConfig());
    assert.deepEqual(nothing?.spec, {});
    assert.deepEqual(
      allows.map((p) => [p.metadata.name, p.spec?.action, p.spec?.selector?.matchLabels?.app]),
      [
        ["user-service-allow", "ALLOW", "user-service"],
        ["product-service-allow", "ALLOW", "product-service"],
        ["order-service-allow", "ALLOW", "order-service"],
      ],
    );
  });

  test("user-service needs a token of our issuer with an allowed role; jwt.required false drops that", () => {
    assert.deepEqual(allowRule(devConfig(), "user-service"), {
      from: [
        {
          source: {
            principals: [
              "cluster.local/ns/istio-ingress/sa/istio-ingressgateway",
              "cluster.local/ns/backend/sa/mesh-client",
            ],
            requestPrincipals: ["https://auth.istio-mesh.local/*"],
          },
        },
      ],
      when: [{ key: "request.auth.claims[role]", values: ["admin", "user"] }],
    });
    const optional = allowRule(meshConfig({ jwt: { required: false } }), "user-service");
    assert.equal(optional.when, undefined);
    assert.equal(optional.from?.[0]?.source?.requestPrincipals, undefined);
    // Downstream calls carry no end-user token, so they need none.
    assert.equal(allowRule(devConfig(), "product-service").when, undefined);
  });
});

describe("JWT", () => {
  const cfg = devConfig();
  const { jwt } = cfg.security;
  const now = Date.UTC(2026, 0, 1, 12) / 1000;

  /** What the sidecar's jwt_authn checks: signature against the inline JWKS, issuer, audience, expiry. */
  async function verify(token: string, jwks: string, at = now) {
    const { createLocalJWKSet, jwtVerify } = await import("jose");
    return jwtVerify(token, createLocalJWKSet(JSON.parse(jwks)), {
      issuer: jwt.issuer,
      audience: [...jwt.audiences],
      currentDate: new Date(at * 1000),
    });
  }

  test("a token minted with the key verifies against the JWKS derived from its public half, kid included", async () => {
    const keys = keyPair();
    const jwks = await jwksFromPublicKey(keys.publicPem);
    const parsed = JSON.parse(jwks);
    assert.equal(parsed.keys.length, 1);
    assert.equal(parsed.keys[0].kty, "RSA");
    assert.equal(parsed.keys[0].d, undefined, "the JWKS holds no private part");
    assert.match(parsed.keys[0].kid, /^[A-Za-z0-9_-]{43}$/);
    const token = await mintToken(keys.privatePem, jwt, { subject: "alice", issuedAt: now, expiresAt: now + 3600 });
    const { payload, protectedHeader } = await verify(token, jwks);
    assert.equal(protectedHeader.kid, parsed.keys[0].kid);
    assert.equal(payload.sub, "alice");
    assert.equal(payload[jwt.roleClaim], "admin");
  });

  test("expired, wrong-issuer and foreign-key tokens are refused (what gives 401 at the sidecar)", async () => {
    const keys = keyPair();
    const jwks = await jwksFromPublicKey(keys.publicPem);
    const expired = await mintToken(keys.privatePem, jwt, {
      subject: "a",
      issuedAt: now - 7200,
      expiresAt: now - 3600,
    });
    await assert.rejects(verify(expired, jwks), /"exp" claim timestamp check failed/);
    const wrongIssuer = await mintToken(
      keys.privatePem,
      { ...jwt, issuer: "https://evil.example" },
      {
        subject: "a",
        issuedAt: now,
        expiresAt: now + 60,
      },
    );
    await assert.rejects(verify(wrongIssuer, jwks), /unexpected "iss" claim value/);
    const foreign = await mintToken(newKeyPair().privatePem, jwt, { subject: "a", issuedAt: now, expiresAt: now + 60 });
    await assert.rejects(verify(foreign, jwks), /no applicable key found|signature verification failed/);
  });

  test("the demo token's window: stable within one TTL, re-minted after, always at least one TTL left", async () => {
    const ttlSeconds = 24 * 3600;
    const t0 = Date.UTC(2026, 0, 1, 0, 30);
    const a = demoTokenWindow("24h", t0);
    assert.deepEqual(demoTokenWindow("24h", t0 + 20 * 3600_000), a, "same window, same claims");
    assert.notDeepEqual(demoTokenWindow("24h", t0 + 24 * 3600_000), a);
    for (const at of [t0, t0 + 23.9 * 3600_000]) {
      const w = demoTokenWindow("24h", at);
      const left = w.expiresAt - at / 1000;
      assert.ok(left >= ttlSeconds && left <= 2 * ttlSeconds, `left ${left}s`);
    }
    const keys = keyPair();
    const mint = () => mintToken(keys.privatePem, jwt, { subject: "demo", ...a });
    assert.equal(await mint(), await mint(), "RS256 is deterministic, so the output does not churn");
  });
});

describe("the program under mocks", () => {
  // One mock run of the dev stack, shared by the tests that only read it.
  const devRun = devMeshRun;

  test("registers one resource per security object", async () => {
    const run = await devRun();
    run.get(T.peerAuthentication, "default");
    run.get(T.peerAuthentication, "mesh-default");
    // The egress gateway's AuthorizationPolicy is egress's (tests/egressFence.test.ts).
    assert.deepEqual(
      run
        .ofType(T.authorizationPolicy)
        .map((r) => r.name)
        .sort(),
      [
        "allow-nothing",
        "egress-gateway-allow-backend",
        "order-service-allow",
        "product-service-allow",
        "user-service-allow",
      ],
    );
    run.get(T.requestAuthentication, "user-service-jwt");
    run.get(T.envoyFilter, "user-service-rate-limit");
    const secret = run.get(T.secret, "api-cert");
    assert.equal((secret.inputs.metadata as any).namespace, "istio-ingress");
    // The engine receives the key material as a Pulumi secret (the wire format's secret signature).
    const data = secret.inputs.stringData as Record<string, any>;
    assert.equal(data[pulumi.runtime.specialSigKey], pulumi.runtime.specialSecretSig);
    assert.deepEqual(Object.keys(data.value).sort(), ["tls.crt", "tls.key"]);
    const outside = run.get(T.namespace, "outside").inputs.metadata as any;
    assert.equal(outside.labels["istio-injection"], "disabled");
  });

  test("the demo token verifies against the JWKS inlined in the registered RequestAuthentication", async () => {
    const run = await devRun();
    const outputs = run.result as ReturnType<typeof deployMesh>;
    const token = await resolved(outputs.demoToken);
    const rule = (run.get(T.requestAuthentication, "user-service-jwt").inputs.spec as any).jwtRules[0];
    assert.equal(rule.issuer, "https://auth.istio-mesh.local");
    assert.deepEqual(rule.audiences, ["istio-mesh"]);
    assert.equal(rule.jwksUri, undefined, "no URL is fetched");
    const { createLocalJWKSet, jwtVerify } = await import("jose");
    const { payload } = await jwtVerify(token, createLocalJWKSet(JSON.parse(rule.jwks)), {
      issuer: rule.issuer,
      audience: rule.audiences,
    });
    assert.equal(payload.role, "admin");
    assert.equal(new Date((payload.exp ?? 0) * 1000).toISOString(), outputs.demoTokenExpiresAt);
  });

  test("secrets stay secret; the CA certificate and host are plain", async () => {
    const outputs = (await devRun()).result as ReturnType<typeof deployMesh>;
    assert.equal(await pulumi.isSecret(outputs.demoToken), true);
    assert.equal(await pulumi.isSecret(outputs.jwtSigningKey), true);
    assert.equal(await pulumi.isSecret(outputs.caCert), false);
    assert.match(await resolved(outputs.caCert), /BEGIN CERTIFICATE/);
    assert.equal(outputs.httpsHost, "api.example.com");
  });

  test("each object waits only for what it needs", async () => {
    const run = await devRun();
    const base = run.get(T.release, "istio-base");
    const istiod = run.get(T.release, "istiod");
    const gateway = run.get(T.release, "istio-ingressgateway");
    const backendNs = run.get(T.namespace, "backend");
    const ingressNs = run.get(T.namespace, "istio-ingress");
    const istioObjects = [
      ...run.ofType(T.peerAuthentication),
      ...run.ofType(T.requestAuthentication),
      // Security's own; the egress gateway's waits for its own namespace (tests/egress.test.ts).
      ...run.ofType(T.authorizationPolicy).filter((r) => r.name !== "egress-gateway-allow-backend"),
      ...run.ofType(T.envoyFilter),
    ];
    const backendPods = run.ofType(T.deployment).filter((d) => (d.inputs.spec as any).template.metadata.labels.version);
    for (const r of istioObjects) {
      for (const need of [base, istiod, backendNs]) assert.ok(run.dependsOn(r, need), `${r.name} → ${need.name}`);
      assert.ok(!run.dependsOn(r, gateway), `${r.name} must not wait for the gateway`);
      for (const pod of backendPods) assert.ok(!run.dependsOn(r, pod), `${r.name} must not wait for ${pod.name}`);
    }
    const secret = run.get(T.secret, "api-cert");
    assert.ok(run.dependsOn(secret, ingressNs));
    for (const other of [base, istiod, gateway]) assert.ok(!run.dependsOn(secret, other), `api-cert → ${other.name}`);
    const meshClient = run.get(T.deployment, "mesh-client");
    const outsideClient = run.get(T.deployment, "outside-client");
    assert.ok(run.dependsOn(meshClient, istiod), "mesh-client needs istiod's injector");
    assert.ok(run.dependsOn(meshClient, backendNs));
    assert.ok(run.dependsOn(outsideClient, run.get(T.namespace, "outside")));
    assert.ok(!run.dependsOn(outsideClient, istiod), "outside-client has no sidecar to wait for");
  });

  test("probe clients: pinned curl, non-root, own ServiceAccount, requests and limits", async () => {
    const run = await devRun();
    assert.ok(isPinnedImage(CURL_IMAGE));
    for (const [name, ns] of [
      ["mesh-client", "backend"],
      ["outside-client", "outside"],
    ] as const) {
      const d = run.get(T.deployment, name);
      assert.equal((d.inputs.metadata as any).namespace, ns);
      const pod = (d.inputs.spec as any).template.spec;
      assert.equal(pod.serviceAccountName, name);
      assert.equal((run.get(T.serviceAccount, name).inputs.metadata as any).namespace, ns);
      const [curl] = pod.containers;
      assert.equal(curl.name, "curl");
      assert.equal(curl.image, CURL_IMAGE);
      assert.equal(curl.securityContext.runAsNonRoot, true);
      assert.ok(curl.resources.requests && curl.resources.limits);
      assert.equal((d.inputs.spec as any).template.metadata.labels.app, name);
    }
  });

  test("switches: probeClients, rateLimit and jwt.required off", async () => {
    const run = await runWithMocks(() =>
      deployMesh(meshConfig({ probeClients: false, rateLimit: false, jwt: { required: false } })),
    );
    assert.equal(run.ofType(T.envoyFilter).length, 0);
    assert.deepEqual(
      run
        .ofType(T.deployment)
        .map((d) => d.name)
        .filter((n) => n.endsWith("-client")),
      [],
    );
    assert.equal(run.ofType(T.namespace).filter((n) => n.name === "outside").length, 0);
    const user = run.get(T.authorizationPolicy, "user-service-allow").inputs.spec as any;
    assert.equal(JSON.stringify(user).includes("mesh-client"), false);
    assert.equal(user.rules[0].when, undefined);
    // The RequestAuthentication stays: a token that is sent is still checked.
    run.get(T.requestAuthentication, "user-service-jwt");
  });
});
