import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError } from "../config/issues";
import { CONFIG_KEYS, parseMeshConfig, parseStackConfig } from "../config/parse";
import { configKey } from "../config/readers";
import { CONFIG_REFERENCE } from "../config/reference";
import { closest } from "../config/suggest";
import { exampleCommand } from "../scripts/docs/configReference";
import { devStackConfig, rejected } from "./support/configs";
import { applyConfigSet, CANDIDATE_STACKS, parseConfigSet } from "./support/pulumiConfigSet";

const issuesOf = (all: Record<string, unknown>) => {
  try {
    parseStackConfig(all);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.issues;
  }
  return assert.fail("accepted");
};

/** A value each kind of scalar key refuses, so its message can be compared with the reference. */
const REFUSED: Readonly<Record<string, unknown>> = {
  clusterMode: "cloud",
  clusterName: "Lab_Cluster",
  kindNodeImage: "kindest/node:latest",
  hostHttpPort: 70000,
  hostHttpsPort: 0,
  istioVersion: "1.30",
  echoImage: "hashicorp/http-echo",
  mtlsMode: "DISABLE",
  httpsHost: "localhost",
  ingressHost: "-node-",
  allowUnsupportedKubernetes: "yes",
  probeClients: "yes",
  egressGateway: "no",
  outboundTrafficPolicy: "DENY",
  dataplane: "istio-sidecar",
  trafficApi: "gateway",
  profile: "prod",
  ingressServiceAnnotations: { "bad key!": "x" },
};

describe("config/reference.ts is what the parser does", () => {
  test("it describes exactly the keys the parser reads", () => {
    assert.deepEqual(
      [...CONFIG_KEYS],
      CONFIG_REFERENCE.map((k) => k.name),
    );
  });

  for (const key of CONFIG_REFERENCE) {
    const mode = key.only === "existing" ? { clusterMode: "existing" } : {};
    if (key.defaultValue !== undefined) {
      test(`${key.name}: the parser's default is the documented one`, () => {
        assert.deepEqual(key.effective(parseMeshConfig(mode)), key.defaultValue);
      });
    }
    test(`${key.name}: the documented example is accepted by the parser and takes effect`, () => {
      const set = parseConfigSet(exampleCommand(key));
      assert.ok(typeof set !== "string", set as string);
      const accepted = CANDIDATE_STACKS(devStackConfig()).flatMap((stack) => {
        try {
          return [key.effective(parseStackConfig(applyConfigSet(stack, set)))];
        } catch {
          return [];
        }
      });
      assert.ok(accepted.length > 0, `refused on every candidate stack: ${exampleCommand(key)}`);
      assert.ok(accepted.some((value) => value !== undefined));
    });
    const refused = REFUSED[key.name];
    if (refused !== undefined) {
      test(`${key.name}: a bad value's message says what the reference says is allowed`, () => {
        const issue = rejected({ ...mode, [key.name]: refused }).issues.find((i) => i.key === configKey(key.name));
        assert.equal(issue?.allowed, key.allowed);
        assert.equal(issue?.value, refused);
      });
    }
  }

  test("every scalar key has a refused value above, so none escapes the message check", () => {
    // Object keys state their fields' messages instead; canaryWeights is a map of versions.
    const scalar = CONFIG_REFERENCE.filter(
      (k) => k.fields === undefined && k.defaultText === undefined && k.name !== "canaryWeights",
    );
    for (const key of scalar) assert.ok(key.name in REFUSED, key.name);
  });
});

describe("did you mean", () => {
  test("a misspelt key names the key it resembles", () => {
    const [issue] = rejected({ canaryWieghts: { v1: 100 } }).issues;
    assert.equal(issue?.key, "istio-mesh:canaryWieghts");
    assert.match(issue?.allowed ?? "", /^not a config key of this project; did you mean "canaryWeights"\? allowed: /);
  });

  test("a misspelt field names the field it resembles, once", () => {
    const issues = rejected({ rateLimit: { requests: 10, pre: "1s" } }).issues;
    assert.deepEqual(
      issues.map((i) => [i.key, i.allowed]),
      [["istio-mesh:rateLimit.pre", 'not a field here; did you mean "per"? allowed: requests, per']],
    );
    const fault = rejected({ faults: { "product-service": { precent: 50, delay: "5s" } } }).issues;
    assert.deepEqual(
      fault.map((i) => i.key),
      ["istio-mesh:faults.product-service.precent"],
    );
    assert.match(fault[0]?.allowed ?? "", /did you mean "percent"\?/);
  });

  test("a missing field is still reported when no field was misspelt", () => {
    assert.deepEqual(
      rejected({ rateLimit: { requests: 10 } }).issues.map((i) => i.key),
      ["istio-mesh:rateLimit.per"],
    );
  });

  test("nothing is suggested for a name close to no key", () => {
    assert.equal(closest("zzzzzz", CONFIG_KEYS), undefined);
    assert.doesNotMatch(rejected({ zzzzzz: 1 }).issues[0]?.allowed ?? "", /did you mean/);
  });
});

describe("stack file keys that would not reach the program", () => {
  test("a key without the istio-mesh: prefix is reported, with the key it was meant to be", () => {
    const issues = issuesOf({ ...devStackConfig(), canaryWeights: { v1: 50, v2: 50 } });
    assert.deepEqual(
      issues.map((i) => i.key),
      ["canaryWeights"],
    );
    assert.match(issues[0]?.allowed ?? "", /did you mean istio-mesh:canaryWeights\?/);
  });

  test("a misspelt prefix is reported; other namespaces (providers) are left alone", () => {
    const issues = issuesOf({ "istio-mseh:mtlsMode": "STRICT", "kubernetes:context": "kind-lab", "aws:region": "x" });
    assert.deepEqual(
      issues.map((i) => i.key),
      ["istio-mseh:mtlsMode"],
    );
    assert.match(issues[0]?.allowed ?? "", /did you mean istio-mesh:mtlsMode\?/);
  });

  test("the stray key and the project's own bad values come in one error", () => {
    const issues = issuesOf({ clusterName: "x", "istio-mesh:mtlsMode": "OFF" });
    assert.deepEqual(
      issues.map((i) => i.key),
      ["clusterName", "istio-mesh:mtlsMode"],
    );
  });
});
