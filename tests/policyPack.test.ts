/**
 * The whole pack against what the program registers: the dev stack passes, a corrupted one fails,
 * and the pack, started the way the Pulumi CLI starts it, agrees with the in-process harness.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { unknown } from "@pulumi/pulumi/output";
import { deployMesh } from "../components/mesh";
import { PACK_NAME, policies } from "../policies/policies";
import { peerAuthenticationStrict } from "../policies/security";
import { FAULT_INJECTION, routeSubsetsExist } from "../policies/traffic";
import { asPulumiConfig, devConfig, devStackConfig, PROJECT_ROOT } from "./support/configs";
import { loadIndex } from "./support/indexProgram";
import { type MockOptions, runWithMocks } from "./support/mockEngine";
import {
  type Diagnostic,
  fromRegistered,
  type PackConfigFile,
  type PolicyInput,
  reconcileConfig,
  runPolicies,
  stackResource,
} from "./support/policyHarness";
import { type PolicyPackHost, startPolicyPack } from "./support/policyPackHost";
import { labAuthorizationPolicy, labRateLimit, strictPeerAuthentication } from "./support/securityFixtures";
import { T } from "./support/types";

const PACK_DIR = join(PROJECT_ROOT, "policies");
const configFile = (stack: string): PackConfigFile =>
  JSON.parse(readFileSync(join(PACK_DIR, "config", `${stack}.json`), "utf8"));
const DEV_POLICY_CONFIG = configFile("dev");
const PEER_AUTHN = peerAuthenticationStrict.name;
/** Outputs named for a credential (`demoToken`, `jwtSigningKey`), not for a fact about one (`demoTokenExpiresAt`). */
const CREDENTIAL_OUTPUT = /(?:kubeconfig|key|token|password|secret|credential)$/i;

// Starting the pack type-checks it with ts-node (seconds): begin now, beside the in-process tests.
const hostStarting = startPolicyPack(PACK_DIR);
hostStarting.catch(() => undefined);

/** A stack output as the engine records it; `apply` never runs on an unknown value during preview. */
async function outputValue(value: unknown): Promise<unknown> {
  // The SDK's own (internal) accessors: whether the value is known, and the value itself.
  const output = pulumi.output(value) as unknown as { isKnown: Promise<boolean>; promise(): Promise<unknown> };
  return (await output.isKnown) ? output.promise() : unknown;
}

/** index.ts under mocks with the dev stack's config: its resources plus the root stack resource and its outputs. */
async function devStack(options: MockOptions = {}) {
  const run = await runWithMocks(loadIndex, { config: asPulumiConfig(devStackConfig()), ...options });
  assert.equal(run.error, undefined);
  const exports = run.result ?? {};
  const outputs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(exports)) outputs[k] = await outputValue(v);
  return { run, exports, inputs: [...fromRegistered(run.resources), stackResource(outputs)] };
}

/** The dev stack with the lab's mistakes registered the way components register Istio objects. */
async function corruptedStack(): Promise<PolicyInput[]> {
  const permissive = { ...strictPeerAuthentication(), spec: { mtls: { mode: "PERMISSIVE" } } };
  // A Gateway API route (trafficApi: gateway-api) to a version Service that does not exist.
  const strayRoute = {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "stray", namespace: "backend" },
    spec: {
      parentRefs: [{ group: "", kind: "Service", name: "user-service", port: 80 }],
      rules: [{ backendRefs: [{ name: "user-service-v3", port: 80 }] }],
    },
  };
  const run = await runWithMocks(() => {
    const mesh = deployMesh(devConfig());
    for (const object of [permissive, labAuthorizationPolicy(), labRateLimit(), strayRoute]) {
      new k8s.apiextensions.CustomResource(object.metadata.name, object);
    }
    return mesh;
  });
  const edits: Record<string, (props: Record<string, any>) => void> = {
    [`${T.virtualService}::app-routes`]: (p) => {
      p.spec.http[1].route[1].weight = 20;
    },
    [`${T.destinationRule}::user-service`]: (p) => {
      p.spec.subsets = p.spec.subsets.filter((s: { name: string }) => s.name !== "v2");
      p.spec.trafficPolicy.outlierDetection.consecutiveErrors = 3;
    },
    [`${T.deployment}::user-service-v1`]: (p) => {
      const [container] = p.spec.template.spec.containers;
      container.image = "hashicorp/http-echo:latest";
      delete container.livenessProbe;
    },
    [`${T.namespace}::backend`]: (p) => {
      delete p.metadata.labels["istio-injection"];
    },
    // A stack marked production that still runs the lab's single replicas.
    [`${T.namespace}::istio-system`]: (p) => {
      p.metadata.labels["istio-mesh/profile"] = "production";
    },
    [`${T.gateway}::istio-egressgateway`]: (p) => {
      p.spec.servers[1].tls = { mode: "PASSTHROUGH" };
    },
    [`${T.peerAuthentication}::mesh-default`]: (p) => {
      p.spec.mtls.mode = "PERMISSIVE";
    },
    [`${T.telemetry}::mesh-default`]: (p) => {
      p.spec.metrics[0].overrides[0].tagOverrides.token = {
        operation: "UPSERT",
        value: "request.headers['authorization']",
      };
    },
  };
  return fromRegistered(run.resources).map((r) => {
    // The kubeconfig command without its additionalSecretOutputs.
    if (r.type === T.command) return { ...r, options: { ...r.options, additionalSecretOutputs: [] } };
    const edit = edits[`${r.type}::${r.name}`];
    if (!edit) return r;
    const props = structuredClone(r.props);
    edit(props);
    // The cluster exists here: the provider previews the object, so its outputs follow the inputs.
    return { ...r, props, outputs: props };
  });
}

/**
 * One mock run per stack serves every test that only reads it (the policies and the analyzer do not
 * change what they are given): the dev stack's first preview on a fresh stack, and the corrupted stack.
 */
let freshPreviewRun: ReturnType<typeof devStack> | undefined;
const freshPreview = () => (freshPreviewRun ??= devStack({ preview: true, unknownCommandOutputs: true }));
let corruptedRun: Promise<PolicyInput[]> | undefined;
const corrupted = () => (corruptedRun ??= corruptedStack());

const summary = (ds: readonly Diagnostic[]) =>
  ds.map((d) => `${d.enforcementLevel} ${d.policyName}: ${d.message}`).sort();

describe("the pack over the program's own resources", () => {
  // One mock run of the dev stack serves every test that only reads it.
  const dev = devStack();

  test("the dev stack passes; its fault experiments are advisory warnings naming route and percentage", async () => {
    const { inputs } = await dev;
    const run = await runPolicies(policies, inputs, { config: DEV_POLICY_CONFIG, packEnforcementLevel: "mandatory" });
    assert.deepEqual(summary(run.mandatory), []);
    assert.deepEqual(summary(run.advisory), [
      `advisory ${FAULT_INJECTION}: VirtualService backend/app-routes route "order-service" injects HTTP 500 aborts into 30% of requests`,
      `advisory ${FAULT_INJECTION}: VirtualService backend/app-routes route "product-service" injects a 5s delay into 50% of requests`,
      // The same faults on the mesh routes, so calls from inside the mesh see them too.
      `advisory ${FAULT_INJECTION}: VirtualService backend/order-service route "order-service" injects HTTP 500 aborts into 30% of requests`,
      `advisory ${FAULT_INJECTION}: VirtualService backend/product-service route "product-service" injects a 5s delay into 50% of requests`,
    ]);
  });

  test("a fresh stack's first preview: stack policies get empty outputs, and say they cannot see, as advisories", async () => {
    const { inputs } = await freshPreview();
    // What the engine hands AnalyzeStack there: no properties at all for anything the kind provider manages.
    const virtualServices = inputs.filter((r) => r.type === T.virtualService);
    assert.ok(virtualServices.length > 0);
    for (const r of virtualServices) assert.deepEqual(r.outputs, {}, r.name);
    const run = await runPolicies(policies, inputs, { config: DEV_POLICY_CONFIG, packEnforcementLevel: "mandatory" });
    assert.deepEqual(summary(run.mandatory), []);
    // Grafana's dashboard ConfigMaps: with no network their data stays unknown in a preview, which the
    // engine reports as "can't run policy … during preview" for the resource policies that read it.
    const unknownInPreview = /^can't run policy '[^']+' from policy pack '[^']+' during preview/;
    const blind = run.advisory.filter((d) => d.policyName !== FAULT_INJECTION && !unknownInPreview.test(d.message));
    const stackPolicies = policies.filter((p) => "validateStack" in p).map((p) => p.name);
    assert.deepEqual(blind.map((d) => d.policyName).sort(), [...stackPolicies].sort());
    assert.match(
      blind.find((d) => d.policyName === routeSubsetsExist.name)?.message ?? "",
      /^route-subsets-exist cannot see 10 of the 10 resources it checks \(DestinationRule, VirtualService\): .*npm run policy -- --stack <stack>/,
    );
  });

  test("every stack policy says so when it cannot see; none passes a fresh stack silently", async () => {
    const { inputs } = await freshPreview();
    const stackPolicies = policies.filter((p) => "validateStack" in p);
    assert.ok(stackPolicies.length > 0);
    for (const policy of stackPolicies) {
      const run = await runPolicies([policy], inputs, { packEnforcementLevel: "mandatory" });
      assert.deepEqual(
        run.diagnostics.map((d) => d.enforcementLevel),
        ["advisory"],
        policy.name,
      );
    }
  });

  test("a broken subset on a fresh stack: the preview cannot block it, the state-free run does", async () => {
    const broken = (p: Record<string, any>) => ({
      ...p,
      spec: { ...p.spec, subsets: p.spec.subsets.filter((s: { name: string }) => s.name !== "v2") },
    });
    const { inputs } = await freshPreview();
    const fresh = inputs.map((r) =>
      r.type === T.destinationRule && r.name === "user-service" ? { ...r, props: broken(r.props) } : r,
    );
    const preview = await runPolicies([routeSubsetsExist], fresh, { packEnforcementLevel: "mandatory" });
    assert.deepEqual(preview.mandatory, []);
    assert.equal(preview.advisory.length, 1);
    // Without an engine, stack policies see what `up` would write: the inputs.
    const stateFree = fresh.map(({ outputs: _outputs, ...r }) => r);
    const run = await runPolicies([routeSubsetsExist], stateFree, { packEnforcementLevel: "mandatory" });
    assert.equal(run.mandatory.length, 4);
  });

  test("on a stack without a policy config (the default), the same faults are mandatory violations", async () => {
    const { inputs } = await dev;
    const run = await runPolicies(policies, inputs, { packEnforcementLevel: "mandatory" });
    assert.deepEqual([...new Set(run.mandatory.map((d) => d.policyName))], [FAULT_INJECTION]);
  });

  test("a PERMISSIVE (migrating) stack: blocked by default, passes with backend in permissiveNamespaces", async () => {
    const { inputs } = await devStack({
      config: asPulumiConfig({ ...devStackConfig(), "istio-mesh:mtlsMode": "PERMISSIVE" }),
    });
    const blocked = await runPolicies(policies, inputs, {
      config: DEV_POLICY_CONFIG,
      packEnforcementLevel: "mandatory",
    });
    assert.deepEqual(
      blocked.mandatory.map((d) => d.policyName),
      [PEER_AUTHN],
    );
    const migrating: PackConfigFile = { ...DEV_POLICY_CONFIG, [PEER_AUTHN]: { permissiveNamespaces: ["backend"] } };
    const allowed = await runPolicies(policies, inputs, { config: migrating, packEnforcementLevel: "mandatory" });
    assert.deepEqual(summary(allowed.mandatory), []);
    assert.deepEqual(
      allowed.advisory.filter((d) => d.policyName !== FAULT_INJECTION),
      [],
    );
  });

  test("a corrupted stack fails every policy", async () => {
    const run = await runPolicies(policies, await corrupted(), { packEnforcementLevel: "mandatory" });
    // mesh-analysis-warnings is advisory by its own level (Warnings never block), so it reports there.
    const failed = [...run.mandatory, ...run.advisory.filter((d) => d.policyName === "mesh-analysis-warnings")];
    assert.deepEqual([...new Set(failed.map((d) => d.policyName))].sort(), policies.map((p) => p.name).sort());
  });

  test("credential-named stack outputs are secrets (the half of this that no policy can see)", async () => {
    const { exports } = await dev;
    const credentials = Object.keys(exports).filter((k) => CREDENTIAL_OUTPUT.test(k));
    assert.ok(credentials.includes("kubeconfig"));
    for (const name of credentials) assert.equal(await pulumi.isSecret(pulumi.output(exports[name])), true, name);
  });
});

describe("pack files", () => {
  test("every per-stack policy config is valid for the pack and names an existing stack", () => {
    const files = readdirSync(join(PACK_DIR, "config")).filter((f) => f.endsWith(".json"));
    assert.ok(files.includes("dev.json"));
    for (const file of files) {
      const stack = file.replace(/\.json$/, "");
      assert.doesNotThrow(() => readFileSync(join(PROJECT_ROOT, `Pulumi.${stack}.yaml`)), `no stack ${stack}`);
      assert.doesNotThrow(() => reconcileConfig(policies, configFile(stack)), file);
    }
  });

  test("config mistakes are caught here, before the CLI would silently ignore some of them", () => {
    assert.throws(
      () =>
        reconcileConfig(policies, {
          "fault-injections": "advisory",
          "sidecar-injection": { namespace: ["backend"] },
          "authorization-rules-name-a-caller": { publicPolicies: "backend/x" },
          "images-pinned": "warn",
        }),
      (e: Error) =>
        /fault-injections: no such policy/.test(e.message) &&
        /sidecar-injection: must NOT have additional properties/.test(e.message) &&
        /authorization-rules-name-a-caller\/publicPolicies: must be array/.test(e.message) &&
        /images-pinned: "warn" is not an enforcement level/.test(e.message),
    );
  });

  test("the pack declares the same dependency versions the project installs (it resolves them from there)", () => {
    const root = JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8"));
    const pack = JSON.parse(readFileSync(join(PACK_DIR, "package.json"), "utf8"));
    for (const [name, version] of Object.entries(pack.dependencies))
      assert.equal(root.dependencies[name], version, name);
    assert.equal(pack.main, "index.ts");
    assert.match(readFileSync(join(PACK_DIR, "PulumiPolicy.yaml"), "utf8"), /runtime:\s*\n\s*name: nodejs/);
  });

  test("importing the policies module starts no server (the process exits and prints no port)", () => {
    const script = `console.log("policies:" + require(${JSON.stringify(join(PACK_DIR, "policies.ts"))}).policies.length)`;
    const child = spawnSync(process.execPath, ["--import", "tsx", "-e", script], {
      cwd: PROJECT_ROOT,
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout, `policies:${policies.length}\n`);
  });
});

describe("the pack as the Pulumi CLI runs it (run-policy-pack, gRPC on 127.0.0.1)", () => {
  let host: PolicyPackHost;
  before(async () => {
    host = await hostStarting;
  });
  after(() => host?.close());

  test("serves every policy with its enforcement level and config schema", () => {
    assert.equal(host.info.name, PACK_NAME);
    assert.equal(host.info.version, "0.1.0");
    assert.deepEqual(
      host.info.policies.map((p) => [p.name, p.enforcementLevel]),
      policies.map((p) => [p.name, p.enforcementLevel]),
    );
    const injection = host.info.policies.find((p) => p.name === "sidecar-injection");
    assert.deepEqual((injection?.configSchema as Record<string, any>)?.namespaces?.default, ["backend"]);
  });

  test("a fresh stack's preview: the real analyzer takes the advisory violation and agrees with the harness", async () => {
    const { inputs } = await freshPreview();
    await host.configure(reconcileConfig(policies, DEV_POLICY_CONFIG));
    const real = await host.preview(inputs);
    const harness = await runPolicies(policies, inputs, {
      config: DEV_POLICY_CONFIG,
      packEnforcementLevel: "mandatory",
    });
    assert.ok(real.some((d) => d.policyName === routeSubsetsExist.name && d.enforcementLevel === "advisory"));
    assert.deepEqual(summary(real), summary(harness.diagnostics));
  });

  test("the real analyzer and the harness report the same violations, with and without the dev config", async () => {
    const stack = await corrupted();
    for (const config of [DEV_POLICY_CONFIG, {}]) {
      await host.configure(reconcileConfig(policies, config));
      const real = await host.preview(stack);
      const harness = await runPolicies(policies, stack, { config, packEnforcementLevel: "mandatory" });
      assert.ok(real.length > 10);
      assert.deepEqual(summary(real), summary(harness.diagnostics));
    }
  });
});
