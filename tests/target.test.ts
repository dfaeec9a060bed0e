/** Where bench and verify send traffic, and what they know of the stack: the Pulumi CLI, a stack file, or a URL. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { parseArgs } from "node:util";
import * as YAML from "yaml";
import { main as bench } from "../tools/bench/main";
import {
  OUTPUTS,
  type PulumiCli,
  resolveTarget,
  spawnPulumi,
  TARGET_OPTIONS,
  TargetError,
  targetFlags,
} from "../tools/lib/target";
import { main as verify } from "../tools/verify/main";
import { devStackConfig, PROJECT_ROOT } from "./support/configs";
import { freshClone, PulumiStub } from "./support/stubPulumi";

const dir = mkdtempSync(path.join(tmpdir(), "target-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const stackFile = (name: string, config: Record<string, unknown>) => {
  const file = path.join(dir, `Pulumi.${name}.yaml`);
  writeFileSync(file, YAML.stringify({ config }));
  return file;
};

const noCli: PulumiCli = async () => assert.fail("the Pulumi CLI must not run");

/** A fake CLI: answers `stack output` and `config` from the given objects and records the calls. */
function fakeCli(outputs: Record<string, unknown>, config: Record<string, { value: string; secret: boolean }>) {
  const calls: string[][] = [];
  const pulumi: PulumiCli = async (args) => {
    calls.push([...args]);
    if (args[0] === "stack" && args[1] === "output") return JSON.stringify(outputs);
    if (args[0] === "config") return JSON.stringify(config);
    throw new Error(`unexpected pulumi ${args.join(" ")}`);
  };
  return { pulumi, calls };
}

const CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const KUBECONFIG = "apiVersion: v1\nkind: Config\n";

describe("resolveTarget --config (a stack file, no Pulumi CLI)", () => {
  test("the dev stack: the program's gateway URL, its parsed config and kind's kube context", async () => {
    const file = stackFile("dev", devStackConfig());
    const target = await resolveTarget({ config: file }, { projectRoot: dir, pulumi: noCli });
    assert.equal(target.source, "Pulumi.dev.yaml");
    assert.equal(target.url, "http://localhost:8080");
    assert.deepEqual(target.gatewayUrls, { http: "http://localhost:8080", https: "https://localhost:8443" });
    assert.equal(target.httpsUrl, "https://localhost:8443");
    assert.deepEqual(target.config?.canaryWeights, { v1: 90, v2: 10 });
    assert.deepEqual(target.cluster, { context: "kind-lab-cluster" });
    assert.equal(target.token, undefined);
  });

  test("an existing cluster: NodePorts on ingressHost, its kubeconfig and context", async () => {
    const file = stackFile("existing", {
      "istio-mesh:clusterMode": "existing",
      "istio-mesh:profile": "lab",
      "istio-mesh:ingressHost": "node1.lab",
      "istio-mesh:kubeconfig": "/home/me/.kube/lab",
      "istio-mesh:kubeContext": "lab",
    });
    const target = await resolveTarget({ config: file, token: "t0k" }, { projectRoot: dir, pulumi: noCli });
    assert.equal(target.url, "http://node1.lab:30080");
    assert.deepEqual(target.cluster, { kubeconfigPath: "/home/me/.kube/lab", context: "lab" });
    assert.equal(target.token, "t0k");
  });

  test("--url overrides the stack file's URL and keeps its config", async () => {
    const file = stackFile("port", { "istio-mesh:hostHttpPort": 9090 });
    const fromFile = await resolveTarget({ config: file }, { projectRoot: dir, pulumi: noCli });
    assert.equal(fromFile.url, "http://localhost:9090");
    const overridden = await resolveTarget(
      { config: file, url: "http://127.0.0.1:7000/" },
      { projectRoot: dir, pulumi: noCli },
    );
    assert.equal(overridden.url, "http://127.0.0.1:7000");
    assert.equal(overridden.source, "--url (config: Pulumi.port.yaml)");
    assert.ok(overridden.config);
  });

  test("the project's own Pulumi.dev.yaml parses; --https-url and --kubeconfig override", async () => {
    const kubeconfig = path.join(dir, "kind.kubeconfig");
    writeFileSync(kubeconfig, KUBECONFIG);
    const target = await resolveTarget(
      { config: path.join(PROJECT_ROOT, "Pulumi.dev.yaml"), httpsUrl: "https://127.0.0.1:9443/", kubeconfig },
      { projectRoot: dir, pulumi: noCli, requireConfig: true },
    );
    assert.equal(target.url, "http://localhost:8080");
    assert.equal(target.httpsUrl, "https://127.0.0.1:9443");
    assert.deepEqual(target.config?.canaryWeights, { v1: 90, v2: 10 });
    // The file replaces kubectl's default; kind's context is still the one to use in it.
    assert.deepEqual(target.cluster, { kubeconfigPath: kubeconfig, context: "kind-lab-cluster" });
    await assert.rejects(
      resolveTarget({ url: "http://h", kubeconfig: path.join(dir, "none") }, { projectRoot: dir }),
      (e: unknown) => e instanceof TargetError && /cannot read --kubeconfig .*ENOENT/.test(e.message),
    );
  });

  test("refused: a bad value (naming the key), encrypted values, a missing file, --stack with --config", async () => {
    const deps = { projectRoot: dir, pulumi: noCli };
    const bad = stackFile("bad", { "istio-mesh:canaryWeights": { v1: 50 } });
    await assert.rejects(
      resolveTarget({ config: bad }, deps),
      (e: unknown) => e instanceof TargetError && /Pulumi\.bad\.yaml: .*istio-mesh:canaryWeights/s.test(e.message),
    );
    const secret = stackFile("secret", { "istio-mesh:kubeContext": { secure: "v1:abc" } });
    await assert.rejects(
      resolveTarget({ config: secret }, deps),
      (e: unknown) => e instanceof TargetError && /encrypted.*istio-mesh:kubeContext/.test(e.message),
    );
    await assert.rejects(resolveTarget({ config: path.join(dir, "Pulumi.nope.yaml") }, deps), /stack file not found/);
    await assert.rejects(resolveTarget({ config: bad, stack: "dev" }, deps), /use one of them/);
  });
});

describe("resolveTarget --url", () => {
  test("any gateway: no CLI, no config; the base URL is normalised", async () => {
    const target = await resolveTarget({ url: "https://gw.example:8443/base/" }, { projectRoot: dir, pulumi: noCli });
    assert.equal(target.url, "https://gw.example:8443/base");
    assert.equal(target.source, "--url");
    assert.equal(target.config, undefined);
    assert.deepEqual(target.cluster, {});
  });

  test("refused: not a URL, another scheme, a query", async () => {
    const deps = { projectRoot: dir, pulumi: noCli };
    await assert.rejects(resolveTarget({ url: "localhost:8080" }, deps), /http:\/\/ or https:\/\//);
    await assert.rejects(resolveTarget({ url: "nonsense" }, deps), /not a URL/);
    await assert.rejects(resolveTarget({ url: "http://h/?a=1" }, deps), /without \?query/);
  });

  test("--ca-cert reads a PEM file and refuses anything else", async () => {
    const pem = path.join(dir, "ca.pem");
    writeFileSync(pem, CA_PEM);
    const target = await resolveTarget({ url: "https://h", caCert: pem }, { projectRoot: dir, pulumi: noCli });
    assert.equal(target.caCert, CA_PEM);
    const junk = path.join(dir, "junk.pem");
    writeFileSync(junk, "hello");
    await assert.rejects(resolveTarget({ url: "https://h", caCert: junk }, { projectRoot: dir }), /no PEM/);
    await assert.rejects(
      resolveTarget({ url: "https://h", caCert: path.join(dir, "none") }, { projectRoot: dir }),
      /ENOENT/,
    );
  });
});

describe("resolveTarget through the Pulumi CLI (default)", () => {
  const outputs = {
    [OUTPUTS.gatewayUrls]: { http: "http://localhost:8080", https: "https://localhost:8443" },
    [OUTPUTS.kubeconfig]: KUBECONFIG,
    [OUTPUTS.token]: "eyJ.demo.sig",
    [OUTPUTS.caCert]: CA_PEM,
    clusterName: "lab-cluster",
  };
  const config = {
    "istio-mesh:canaryWeights": { value: '{"v1":75,"v2":25}', secret: false },
    "istio-mesh:clusterName": { value: "lab-cluster", secret: false },
    "kubernetes:context": { value: "not ours", secret: false },
  };

  test("outputs give URL, token, CA and kubeconfig; config is parsed as the program parses it", async () => {
    const { pulumi, calls } = fakeCli(outputs, config);
    const target = await resolveTarget({ stack: "dev" }, { projectRoot: dir, pulumi });
    assert.deepEqual(calls, [
      ["stack", "output", "--json", "--show-secrets", "--stack", "dev"],
      ["config", "--json", "--show-secrets", "--stack", "dev"],
    ]);
    assert.equal(target.source, "stack dev (Pulumi CLI)");
    assert.equal(target.url, "http://localhost:8080");
    assert.equal(target.token, "eyJ.demo.sig");
    assert.equal(target.caCert, CA_PEM);
    assert.deepEqual(target.cluster, { kubeconfig: KUBECONFIG });
    assert.deepEqual(target.config?.canaryWeights, { v1: 75, v2: 25 });
  });

  test("flags win over outputs; the selected stack needs no --stack", async () => {
    const { pulumi, calls } = fakeCli(outputs, config);
    const target = await resolveTarget({ token: "mine", url: "http://127.0.0.1:9" }, { projectRoot: dir, pulumi });
    assert.equal(calls.length, 0, "--url alone never asks the CLI");
    assert.equal(target.token, "mine");
    const selected = await resolveTarget({ token: "mine" }, { projectRoot: dir, pulumi });
    assert.deepEqual(calls[0], ["stack", "output", "--json", "--show-secrets"]);
    assert.equal(selected.token, "mine");
    assert.equal(selected.source, "stack (selected) (Pulumi CLI)");
  });

  test("a tool that needs the config (verify): --url overrides the stack's URL instead of replacing the stack", async () => {
    const { pulumi, calls } = fakeCli(outputs, config);
    const target = await resolveTarget(
      { stack: "dev", url: "http://127.0.0.1:18080/", httpsUrl: "https://127.0.0.1:18443" },
      { projectRoot: dir, pulumi, requireConfig: true },
    );
    assert.equal(calls.length, 2);
    assert.equal(target.source, "--url (config: stack dev (Pulumi CLI))");
    assert.equal(target.url, "http://127.0.0.1:18080");
    assert.equal(target.httpsUrl, "https://127.0.0.1:18443");
    assert.deepEqual([target.token, target.caCert], ["eyJ.demo.sig", CA_PEM]);
    assert.deepEqual(target.cluster, { kubeconfig: KUBECONFIG });
    assert.deepEqual(target.config?.canaryWeights, { v1: 75, v2: 25 });
    const fromOutputs = await resolveTarget({ stack: "dev" }, { projectRoot: dir, pulumi, requireConfig: true });
    assert.equal(fromOutputs.httpsUrl, "https://localhost:8443");
  });

  test("kind: the kubeconfig output is the contents; without it (not up yet), kind's context", async () => {
    const { pulumi } = fakeCli({ ...outputs, [OUTPUTS.kubeconfig]: "" }, config);
    const target = await resolveTarget(
      { url: "http://127.0.0.1:9" },
      { projectRoot: dir, pulumi, requireConfig: true },
    );
    assert.deepEqual(target.cluster, { context: "kind-lab-cluster" });
  });

  test("existing: no kubeconfig output; the configured file and context, whatever an older stack put there", async () => {
    const existing = {
      "istio-mesh:clusterMode": { value: "existing", secret: false },
      "istio-mesh:kubeconfig": { value: "/home/me/.kube/prod", secret: false },
      "istio-mesh:kubeContext": { value: "prod-east", secret: false },
    };
    // What the program outputs now (null) and what it output before (the configured path, as if contents).
    for (const kubeconfig of [null, "/home/me/.kube/prod", ""]) {
      const { pulumi } = fakeCli({ ...outputs, [OUTPUTS.kubeconfig]: kubeconfig }, existing);
      const target = await resolveTarget({ stack: "prod" }, { projectRoot: dir, pulumi });
      assert.deepEqual(
        target.cluster,
        { kubeconfigPath: "/home/me/.kube/prod", context: "prod-east" },
        String(kubeconfig),
      );
    }
    const ambient = { "istio-mesh:clusterMode": { value: "existing", secret: false } };
    const { pulumi } = fakeCli({ ...outputs, [OUTPUTS.kubeconfig]: null }, ambient);
    assert.deepEqual(
      (await resolveTarget({}, { projectRoot: dir, pulumi })).cluster,
      {},
      "kubectl's default kubeconfig",
    );
  });

  test("a stack that is not up says to pass --url; a bad config value is named", async () => {
    await assert.rejects(
      resolveTarget({}, { projectRoot: dir, pulumi: fakeCli({}, {}).pulumi }),
      /no gatewayUrls output; pass --url/,
    );
    const bad = { "istio-mesh:clusterMode": { value: "minikube", secret: false } };
    await assert.rejects(
      resolveTarget({}, { projectRoot: dir, pulumi: fakeCli(outputs, bad).pulumi }),
      (e: unknown) => e instanceof TargetError && /istio-mesh:clusterMode = "minikube"/.test(e.message),
    );
  });
});

describe("spawnPulumi", () => {
  test("runs the binary in the project and returns stdout; a failure carries stderr", async () => {
    // The strict stand-in (tests/support/stubPulumi.ts), in a fresh copy of the project.
    const stub = new PulumiStub(path.join(dir, "pulumi-stub"));
    const project = freshClone(path.join(dir, "clone"));
    const cli = spawnPulumi(project, { binary: path.join(stub.bin, "pulumi") });
    await assert.rejects(
      cli(["stack", "output", "--json", "--stack", "dev"]),
      (e: unknown) => e instanceof TargetError && /exit 6.*no stack named 'dev' found/s.test(e.message),
    );
    stub.seedStack(project, "dev", { passphrase: "unused", outputs: { clusterName: "lab-cluster" } });
    assert.deepEqual(JSON.parse(await cli(["stack", "output", "--json", "--stack", "dev"])), {
      clusterName: "lab-cluster",
    });
    assert.ok(
      stub.calls().every((c) => c.cwd === project),
      "run in the project",
    );
    await assert.rejects(
      spawnPulumi(dir, { binary: path.join(dir, "absent") })(["version"]),
      /Pulumi CLI is not installed: pass --config Pulumi.<stack>.yaml or --url instead/,
    );
  });
});

describe("bench and verify share the target flags and its errors", () => {
  test("one set of flags, parsed to TargetFlags", () => {
    const { values } = parseArgs({
      args: ["--stack", "dev", "--url", "http://a", "--https-url", "https://a", "--ca-cert", "ca.pem"],
      options: TARGET_OPTIONS,
    });
    assert.deepEqual(targetFlags(values), {
      stack: "dev",
      config: undefined,
      url: "http://a",
      httpsUrl: "https://a",
      token: undefined,
      caCert: "ca.pem",
      kubeconfig: undefined,
    });
  });

  test("without the Pulumi CLI each tool says what to pass instead", async () => {
    const savedPath = process.env.PATH;
    process.env.PATH = dir; // no `pulumi` here
    try {
      const errors: string[] = [];
      const io = { stdout: () => {}, stderr: (t: string) => errors.push(t), progress: process.stderr };
      assert.equal(await bench([], { projectRoot: dir, io, env: { PATH: dir } }), 2);
      assert.deepEqual(errors, [
        "bench: the Pulumi CLI is not installed: pass --config Pulumi.<stack>.yaml or --url instead",
      ]);
      // verify needs the stack's config, so --url alone is no way out.
      const verifyErrors: string[] = [];
      const code = await verify(["--url", "http://127.0.0.1:1"], {
        projectRoot: dir,
        stdout: () => assert.fail("nothing on stdout without --json"),
        stderr: (line) => verifyErrors.push(line),
        env: { PATH: dir },
      });
      assert.equal(code, 2);
      assert.deepEqual(verifyErrors, [
        "verify: the Pulumi CLI is not installed: pass --config Pulumi.<stack>.yaml instead",
      ]);
    } finally {
      process.env.PATH = savedPath;
    }
  });
});
