/**
 * Runs a program exactly as `pulumi up` / `pulumi preview` starts it: a child `node` process on
 * @pulumi/pulumi's own entry point (cmd/run), which registers ts-node against the program's
 * tsconfig.json (type-checking) and requires package.json's main. The one stand-in is the engine:
 * a gRPC ResourceMonitor on 127.0.0.1 backed by Pulumi's MockMonitor.
 */
import { spawn } from "node:child_process";
import * as grpc from "@grpc/grpc-js";
import type * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { tlsOutputs } from "./tlsMocks";

const { ResourceMonitorService } = require("@pulumi/pulumi/proto/resource_grpc_pb") as {
  ResourceMonitorService: grpc.ServiceDefinition;
};

export interface HostRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly resources: readonly { type: string; name: string; inputs: Record<string, unknown> }[];
}

const definition = (method: string) =>
  ResourceMonitorService[method] as grpc.MethodDefinition<unknown, unknown> & {
    responseType: new () => unknown;
  };
const isMessage = (value: unknown) => typeof (value as { serializeBinary?: unknown })?.serializeBinary === "function";

type Handler = (req: unknown, cb: (err: unknown, resp?: unknown) => void) => unknown;

function monitorService(monitor: MockMonitor): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  for (const method of Object.keys(ResourceMonitorService)) {
    const own = (monitor as unknown as Record<string, Handler | undefined>)[method];
    impl[method] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      if (typeof own !== "function") {
        callback({ code: grpc.status.UNIMPLEMENTED, details: `${method} is not mocked` }, null);
        return;
      }
      // MockMonitor answers some calls with `{}`; gRPC needs the declared message type.
      const respond = (err: unknown, resp?: unknown) =>
        callback(err as grpc.ServiceError | null, isMessage(resp) ? resp : new (definition(method).responseType)());
      own.call(monitor, call.request, respond);
    };
  }
  return impl;
}

export async function runLikePulumiHost(
  programDir: string,
  options: {
    config?: Record<string, string>;
    preview?: boolean;
    stack?: string;
    /**
     * PULUMI_NODEJS_TRANSPILE_ONLY=true, the language host's own switch (cmd/run/run.ts): ts-node
     * compiles without type-checking, for a test about something else; a full check of the program
     * costs ~15 s of CPU on this machine's 2 cores.
     */
    transpileOnly?: boolean;
  } = {},
): Promise<HostRun> {
  const resources: HostRun["resources"][number][] = [];
  const mocks: pulumi.runtime.Mocks = {
    newResource(args) {
      resources.push({ type: args.type, name: args.name, inputs: args.inputs });
      const state: Record<string, unknown> = { ...args.inputs, ...tlsOutputs(args.type, args.name) };
      if (args.type === "command:local:Command") state.stdout = "apiVersion: v1\nkind: Config\n";
      if (args.type === "random:index/randomPassword:RandomPassword") state.result = `mock-${args.name}`;
      if (args.type === "random:index/randomId:RandomId") state.hex = "0123456789abcdef";
      return { id: `${args.name}-id`, state };
    },
    call: (args) => args.inputs,
  };
  const server = new grpc.Server();
  server.addService(ResourceMonitorService, monitorService(new MockMonitor(mocks)));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );

  const entry = require.resolve("@pulumi/pulumi/cmd/run");
  const args = [
    entry,
    `--monitor=127.0.0.1:${port}`,
    "--project=istio-mesh",
    `--stack=${options.stack ?? "dev"}`,
    `--root-directory=${programDir}`,
    `--pwd=${programDir}`,
    ...(options.preview === false ? [] : ["--dry-run"]),
    ".",
  ];
  // What the nodejs language host puts in the environment for a TypeScript project.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PULUMI_NODEJS_TYPESCRIPT: "true",
    PULUMI_CONFIG: JSON.stringify(options.config ?? {}),
    PULUMI_CONFIG_SECRET_KEYS: "[]",
    NODE_OPTIONS: "",
  };
  delete env.TS_NODE_TRANSPILE_ONLY;
  if (options.transpileOnly) env.PULUMI_NODEJS_TRANSPILE_ONLY = "true";
  else delete env.PULUMI_NODEJS_TRANSPILE_ONLY;

  try {
    return await new Promise<HostRun>((resolve) => {
      const child = spawn(process.execPath, args, { cwd: programDir, env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("close", (code) => resolve({ code, stdout, stderr, resources }));
    });
  } finally {
    server.forceShutdown();
  }
}
