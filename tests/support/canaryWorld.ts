/**
 * A deployed stack for `npm run canary` to drive, with nothing real in it: a fresh project clone, the
 * strict stub `pulumi` (./stubPulumi.ts, a DIY file backend with passphrase secrets, as every stack of
 * this project has) and a stand-in gateway on 127.0.0.1 answering /users with exact proportions of the
 * weights the stub's last successful update recorded. tests/canaryStack.test.ts drives the real wiring
 * through it; scripts/docs/examples.ts writes docs/canary.md's example from it.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import YAML from "yaml";
import { bundledTool } from "./bundledTool";
import { scratchDir } from "./scratchDir";
import { PulumiStub, type StubProgram, toolProject } from "./stubPulumi";

/**
 * tools/canary/main.ts, bundled once per process: the child runs in the stack's own project
 * directory, outside this repo, and a start under tsx costs about 1 s more CPU each.
 */
const CANARY_MAIN = bundledTool("tools/canary/main.ts");
export const START = { v1: 90, v2: 10 };
export const PASSPHRASE = "test";
export const WEIGHTS_KEY = "istio-mesh:canaryWeights";

/** A gateway stand-in serving exact proportions of the weights `stub` last deployed; beta requests go to v2. */
async function gatewayFor(deployed: () => Record<string, number>): Promise<{ server: Server; url: string }> {
  let served = 0;
  const server = createServer((req, res) => {
    const share = deployed().v2 ?? 0;
    const i = served++;
    const isCanary =
      req.headers["x-user-type"] === "beta" || Math.floor(((i + 1) * share) / 100) > Math.floor((i * share) / 100);
    res.writeHead(200).end(isCanary ? "User Service v2 - canary (NEW)\n" : "User Service v1 - stable\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Every stand-in gateway started here; closeGateways() stops them. */
const servers: Server[] = [];
export function closeGateways(): void {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
}

export interface World {
  /** The canary's entry point, bundled, to run with plain node. */
  readonly main: string;
  readonly project: string;
  readonly pulumi: PulumiStub;
  /** PULUMI_HOME: where the stub keeps the selected stack, as the CLI does. */
  readonly pulumiHome: string;
  /** What `up` deploys when the test does not say otherwise: the stack's outputs. */
  readonly program: StubProgram;
  /** canaryWeights in Pulumi.dev.yaml now. */
  weights(): Record<string, number>;
  /** `pulumi <args>` in the project as a user would run it before the canary (the stub, this world's PULUMI_HOME). */
  cli(args: readonly string[]): void;
  /** canaryWeights of the last successful update (the seeded stack's before any). */
  deployed(): Record<string, number>;
  calls(): string[][];
  setWeightCalls(): string[][];
}

export async function world(options: { observability?: boolean; selected?: boolean } = {}): Promise<World> {
  const dir = scratchDir("canary-stack-");
  const project = toolProject(path.join(dir, "project"));
  const config = {
    [WEIGHTS_KEY]: START,
    "istio-mesh:observability": { enabled: options.observability === true },
    "istio-mesh:rateLimit": false,
  };
  fs.writeFileSync(path.join(project, "Pulumi.dev.yaml"), YAML.stringify({ config }));
  const pulumi = new PulumiStub(path.join(dir, "pulumi"));
  const pulumiHome = path.join(dir, "pulumi-home");
  const deployed = (): Record<string, number> => {
    const last = pulumi.history(project, "dev").find((h) => h.kind === "update" && h.result === "succeeded");
    return last ? JSON.parse(last.config[WEIGHTS_KEY]?.value ?? "{}") : START;
  };
  const gateway = await gatewayFor(deployed);
  servers.push(gateway.server);
  const outputs = { gatewayUrls: { http: gateway.url, https: gateway.url }, demoToken: "demo-token" };
  // An already deployed stack (a DIY stack's secrets are always passphrase-locked).
  pulumi.seedStack(project, "dev", { passphrase: PASSPHRASE, outputs });
  const program: StubProgram = { outputs, secretOutputs: ["demoToken"] };
  pulumi.program(program);
  const cli = (args: readonly string[]) => {
    execFileSync(path.join(pulumi.bin, "pulumi"), args, {
      cwd: project,
      env: { ...process.env, PULUMI_HOME: pulumiHome, PULUMI_BACKEND_URL: "" },
    });
  };
  if (options.selected !== false) cli(["stack", "select", "dev", "--non-interactive"]);
  const calls = () => pulumi.calls().map((c) => [...c.argv]);
  return {
    main: await CANARY_MAIN,
    project,
    pulumi,
    pulumiHome,
    program,
    cli,
    weights: () => YAML.parse(fs.readFileSync(path.join(project, "Pulumi.dev.yaml"), "utf8")).config[WEIGHTS_KEY],
    deployed,
    calls,
    setWeightCalls: () => calls().filter((c) => c[0] === "config" && c[1] === "set-all"),
  };
}

export interface Run {
  readonly child: ChildProcess;
  readonly done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

export function canary(w: World, args: readonly string[], env: Record<string, string | undefined> = {}): Run {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${w.pulumi.bin}${path.delimiter}${process.env.PATH}`,
    PULUMI_HOME: w.pulumiHome,
    PULUMI_BACKEND_URL: undefined,
    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
    PULUMI_CONFIG_PASSPHRASE_FILE: undefined,
    STACK: undefined,
    NO_COLOR: "1",
    ...env,
  };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  // Its own process group, as a terminal's foreground job: a group signal reaches it and `pulumi`.
  const child = spawn(process.execPath, [w.main, ...args], {
    cwd: w.project,
    env: childEnv,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done };
}
