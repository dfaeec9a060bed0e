/**
 * Starts a policy pack exactly as the Pulumi CLI's nodejs host does for `--policy-pack <dir>`:
 * `node @pulumi/pulumi/cmd/run-policy-pack <engine> .` in the pack directory (ts-node, type-checked),
 * which prints the port of the pack's Analyzer gRPC server on 127.0.0.1. The test is the engine:
 * it sends GetAnalyzerInfo, Configure, Analyze and AnalyzeStack like the CLI would.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as grpc from "@grpc/grpc-js";
import type { EnforcementLevel } from "@pulumi/policy";
import { isUnknown } from "@pulumi/pulumi/output";
import { specialSecretSig, specialSigKey, unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import type { Diagnostic, PolicyInput } from "./policyHarness";

const pb = require("@pulumi/pulumi/proto/analyzer_pb");
const { AnalyzerClient } = require("@pulumi/pulumi/proto/analyzer_grpc_pb") as {
  AnalyzerClient: new (address: string, credentials: grpc.ChannelCredentials) => grpc.Client;
};
const { Empty } = require("google-protobuf/google/protobuf/empty_pb");

const LEVEL_TO_PB: Record<EnforcementLevel, number> = { advisory: 0, mandatory: 1, disabled: 2, remediate: 3 };
const LEVEL_FROM_PB = ["advisory", "mandatory", "disabled", "remediate"] as const;

/** Pulumi's in-program values → the wire form the engine sends (unknown sentinels, secret envelopes). */
function toWire(value: unknown): unknown {
  if (isUnknown(value)) return unknownValue;
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : toWire(v)));
  if (typeof value === "object" && value !== null) {
    const obj = value as Record<string, unknown>;
    if (obj[specialSigKey] === specialSecretSig) return { [specialSigKey]: specialSecretSig, value: toWire(obj.value) };
    return Object.fromEntries(
      Object.entries(obj)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, toWire(v)]),
    );
  }
  return value;
}

const urnOf = (r: PolicyInput) => r.urn ?? `urn:pulumi:test::istio-mesh::${r.type}::${r.name}`;

function options(r: PolicyInput) {
  const o = new pb.AnalyzerResourceOptions();
  o.setProtect(r.options?.protect ?? false);
  o.setIgnorechangesList([...(r.options?.ignoreChanges ?? [])]);
  o.setAdditionalsecretoutputsList([...(r.options?.additionalSecretOutputs ?? [])]);
  o.setAliasesList([...(r.options?.aliases ?? [])]);
  if (r.options?.deleteBeforeReplace !== undefined) {
    o.setDeletebeforereplacedefined(true);
    o.setDeletebeforereplace(r.options.deleteBeforeReplace);
  }
  if (r.parent) o.setParent(r.parent);
  return o;
}

function fill<T extends { setType(v: string): T }>(message: T, r: PolicyInput, props = r.props): T {
  const m = message as unknown as Record<string, (v: unknown) => void>;
  message.setType(r.type);
  m.setName?.(r.name);
  m.setUrn?.(urnOf(r));
  m.setProperties?.(Struct.fromJavaScript(toWire(props) as Record<string, never>));
  m.setOptions?.(options(r));
  return message;
}

/** The server prefixes each message with the policy's description and a newline; drop it to compare. */
function diagnostics(response: { getDiagnosticsList(): unknown[] }): Diagnostic[] {
  return response.getDiagnosticsList().map((d) => {
    const diag = d as Record<string, () => unknown>;
    const urn = diag.getUrn?.() as string | undefined;
    const description = diag.getDescription?.() as string;
    const message = diag.getMessage?.() as string;
    return {
      policyName: diag.getPolicyname?.() as string,
      enforcementLevel: LEVEL_FROM_PB[diag.getEnforcementlevel?.() as number] ?? "advisory",
      message: message.startsWith(`${description}\n`) ? message.slice(description.length + 1) : message,
      ...(urn && { urn }),
    };
  });
}

export interface PolicyPackHost {
  readonly info: {
    name: string;
    version: string;
    policies: { name: string; enforcementLevel: string; configSchema?: unknown }[];
  };
  configure(
    config: ReadonlyMap<string, { enforcementLevel?: EnforcementLevel; properties: Record<string, unknown> }>,
  ): Promise<void>;
  /** Analyze (inputs) for every resource, then AnalyzeStack (outputs) for all of them: what one preview sends. */
  preview(resources: readonly PolicyInput[]): Promise<Diagnostic[]>;
  close(): void;
}

/**
 * `timeoutMs` bounds a hang on a loaded machine; it is not a speed requirement. The type-checked start
 * takes ~15 s of CPU, and under npm test it shares two cores with the rest of its shard and the other
 * shards (it took over 120 s of wall time there once, with the machine's load average at 15).
 */
export async function startPolicyPack(packDir: string, timeoutMs = 600_000): Promise<PolicyPackHost> {
  const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack");
  // The engine address is only handed through; the pack serves without calling it.
  const child: ChildProcess = spawn(process.execPath, [runner, "127.0.0.1:1", "."], {
    cwd: packDir,
    env: { ...process.env, NODE_OPTIONS: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d) => (stderr += d));
  const port = await new Promise<number>((resolve, reject) => {
    // A pack that does not start in time is stopped: a child left running keeps the test process alive.
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`policy pack did not start in ${timeoutMs}ms\n${stderr}`));
    }, timeoutMs);
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
      const line = /^(\d+)\s*$/m.exec(out);
      if (line) {
        clearTimeout(timer);
        resolve(Number(line[1]));
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`policy pack exited with ${code} before serving\n${out}\n${stderr}`));
    });
  });
  child.removeAllListeners("exit");

  const client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const rpc = client as unknown as Record<
    string,
    (req: unknown, cb: (err: Error | null, resp: unknown) => void) => void
  >;
  const call = <T>(method: string, request: unknown) =>
    new Promise<T>((resolve, reject) => {
      const fn = rpc[method];
      if (!fn) throw new Error(`no RPC ${method}`);
      fn.call(client, request, (err, resp) => (err ? reject(err) : resolve(resp as T)));
    });

  const info = await call<Record<string, () => unknown>>("getAnalyzerInfo", new Empty());
  const policies = ((info.getPoliciesList?.() ?? []) as Record<string, () => unknown>[]).map((p) => {
    const schema = p.getConfigschema?.() as { getProperties(): Struct | undefined } | undefined;
    return {
      name: p.getName?.() as string,
      enforcementLevel: LEVEL_FROM_PB[p.getEnforcementlevel?.() as number] ?? "advisory",
      ...(schema && { configSchema: schema.getProperties()?.toJavaScript() }),
    };
  });

  return {
    info: { name: info.getName?.() as string, version: info.getVersion?.() as string, policies },
    async configure(config) {
      const req = new pb.ConfigureAnalyzerRequest();
      for (const [name, c] of config) {
        const pc = new pb.PolicyConfig();
        pc.setEnforcementlevel(LEVEL_TO_PB[c.enforcementLevel ?? "advisory"]);
        pc.setProperties(Struct.fromJavaScript(c.properties as Record<string, never>));
        req.getPolicyconfigMap().set(name, pc);
      }
      await call("configure", req);
    },
    async preview(resources) {
      const found: Diagnostic[] = [];
      for (const r of resources) found.push(...diagnostics(await call("analyze", fill(new pb.AnalyzeRequest(), r))));
      const stack = new pb.AnalyzeStackRequest();
      stack.setResourcesList(
        resources.map((r) => {
          const res = fill(new pb.AnalyzerResource(), r, r.outputs ?? r.props);
          if (r.parent) res.setParent(r.parent);
          res.setDependenciesList([...(r.dependencies ?? [])]);
          return res;
        }),
      );
      found.push(...diagnostics(await call("analyzeStack", stack)));
      return found;
    },
    close() {
      client.close();
      child.kill();
    },
  };
}
