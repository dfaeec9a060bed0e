/**
 * Where a tool that talks to the live mesh (bench, verify) sends its traffic, and what it knows about
 * the stack behind it. Three sources, the same for every tool:
 *
 *   (default)                    the stack --stack or $STACK names, else the selected one, through
 *                                the Pulumi CLI: its config and outputs
 *   --config Pulumi.<stack>.yaml the stack file, parsed by the program's own parser; no Pulumi CLI
 *   --url URL                    any gateway; nothing is known about its config (unless the tool
 *                                needs the config: then `--url` only overrides the stack's URL)
 *
 * `--url`/`--https-url` also override the URLs of the other two; `--token`, `--ca-cert` and
 * `--kubeconfig` override the outputs. TARGET_OPTIONS and TARGET_USAGE keep the flags one set.
 */
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { gatewayUrls } from "../../components/endpoints";
import { ConfigError } from "../../config/issues";
import { parseStackConfig } from "../../config/parse";
import { readStackFile, StackFileError, secretProjectKeys } from "../../config/stackFile";
import type { MeshConfig } from "../../config/types";
import { CliError, EXIT, stackChoice } from "./cli";
import { PulumiExit, runPulumi } from "./pulumiProcess";

/** Stack outputs read here (components/mesh.ts returns them; index.ts exports them). */
export const OUTPUTS = {
  gatewayUrls: "gatewayUrls",
  kubeconfig: "kubeconfig",
  token: "demoToken",
  caCert: "caCert",
  signingKey: "jwtSigningKey",
} as const;

/** The target flags, for node:util parseArgs: every tool spells them the same. */
export const TARGET_OPTIONS = {
  stack: { type: "string" },
  config: { type: "string" },
  url: { type: "string" },
  "https-url": { type: "string" },
  token: { type: "string" },
  "ca-cert": { type: "string" },
  kubeconfig: { type: "string" },
} as const;

/** The target part of a tool's --help. */
export const TARGET_USAGE = `target (default: the selected stack, through the Pulumi CLI: config and outputs
gatewayUrls, demoToken, caCert, kubeconfig; PULUMI_CONFIG_PASSPHRASE for a passphrase-protected stack)
  --stack NAME               a stack other than the selected one (Pulumi CLI); or STACK=NAME
  --config Pulumi.<s>.yaml   read the stack file instead; needs no Pulumi CLI
  --url URL                  the gateway's HTTP URL, e.g. http://localhost:8080 (any gateway)
  --https-url URL            the gateway's HTTPS URL (verify's https check; bench loads --url)
  --token JWT                sent as "Authorization: Bearer JWT" (default: the stack's demo token)
  --ca-cert FILE             PEM CA that signed the gateway's certificate (default: the stack's caCert)
  --kubeconfig FILE          for the cluster (default: kind: the stack's kubeconfig output, else context
                             kind-<name>; existing: the config's kubeconfig and kubeContext)`;

type TargetValues = { readonly [K in keyof typeof TARGET_OPTIONS]?: string | undefined };

/** parseArgs values → TargetFlags. */
export function targetFlags(values: TargetValues): TargetFlags {
  return {
    stack: values.stack,
    config: values.config,
    url: values.url,
    httpsUrl: values["https-url"],
    token: values.token,
    caCert: values["ca-cert"],
    kubeconfig: values.kubeconfig,
  };
}

export interface TargetFlags {
  readonly url?: string | undefined;
  readonly httpsUrl?: string | undefined;
  /** Path to a `Pulumi.<stack>.yaml`. */
  readonly config?: string | undefined;
  /** Stack for the Pulumi CLI (default: the selected one). */
  readonly stack?: string | undefined;
  readonly token?: string | undefined;
  /** Path to a PEM file with the CA that signed the gateway's certificate. */
  readonly caCert?: string | undefined;
  /** Path to a kubeconfig file. */
  readonly kubeconfig?: string | undefined;
}

/** How to reach the cluster's API server, for port-forwards and in-cluster checks. */
export interface ClusterAccess {
  /** Kubeconfig content (a kind stack's secret output): write it to a private file, never print it. */
  readonly kubeconfig?: string;
  /** A kubeconfig file; absent with `kubeconfig` absent means kubectl's own default ($KUBECONFIG, ~/.kube/config). */
  readonly kubeconfigPath?: string;
  readonly context?: string;
}

export interface Target {
  /** Where this came from, for humans: "stack dev (Pulumi CLI)", "Pulumi.dev.yaml", "--url". */
  readonly source: string;
  /** Base URL requests go to (no trailing slash). */
  readonly url: string;
  /** The gateway's HTTPS base URL, when known. */
  readonly httpsUrl?: string;
  readonly gatewayUrls?: { readonly http: string; readonly https: string };
  /** A JWT for `Authorization: Bearer`. Secret. */
  readonly token?: string;
  /** PEM of the CA that signed the gateway's certificate. */
  readonly caCert?: string;
  /** The stack's parsed config; absent with `--url` alone. */
  readonly config?: MeshConfig;
  readonly cluster: ClusterAccess;
}

/** A problem the user fixes (flags, files, the Pulumi CLI): one line, exit 2 (could not run). */
export class TargetError extends CliError {
  override name = "TargetError";
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

/** Runs `pulumi <args>` in the project and resolves to its stdout. */
export type PulumiCli = (args: readonly string[]) => Promise<string>;

export interface TargetDeps {
  readonly projectRoot: string;
  readonly pulumi?: PulumiCli;
  /** The tool needs the stack's config (verify): `--url` then overrides the URL instead of replacing the stack. */
  readonly requireConfig?: boolean;
  /** STACK and the PULUMI_CONFIG_PASSPHRASE variables (default: process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

/** A stack, its config and how to reach its cluster, for a tool that sends no traffic to the gateway. */
export interface StackTarget extends Omit<Target, "url" | "config"> {
  readonly config: MeshConfig;
  /** The `jwtSigningKey` output (PKCS#8 PEM; secret), read through the Pulumi CLI only. */
  readonly signingKey?: string;
}

/**
 * The stack alone (`--stack` through the Pulumi CLI, or `--config`), with `--kubeconfig` applied:
 * for tools such as `npm run dashboards` that need the config and the cluster but not the gateway.
 */
export async function resolveStack(
  flags: Pick<TargetFlags, "stack" | "config" | "kubeconfig">,
  deps: Omit<TargetDeps, "requireConfig">,
): Promise<StackTarget> {
  const { config, ...base } = await stackBase(flags, { ...deps, requireConfig: true });
  // With requireConfig the stack is always read, through the CLI or its file.
  if (config === undefined) throw new TargetError(`${base.source} has no config`);
  return {
    ...base,
    config,
    ...(flags.kubeconfig !== undefined && { cluster: kubeconfigFile(flags.kubeconfig, base.cluster) }),
  };
}

async function stackBase(flags: TargetFlags, deps: TargetDeps): Promise<Resolved> {
  if (flags.config !== undefined && flags.stack !== undefined) {
    throw new TargetError("--stack picks a stack for the Pulumi CLI and --config reads a stack file: use one of them");
  }
  const env = deps.env ?? process.env;
  const instead = deps.requireConfig ? "--config Pulumi.<stack>.yaml" : "--config Pulumi.<stack>.yaml or --url";
  if (flags.config !== undefined) return await fromStackFile(path.resolve(flags.config));
  if (flags.url !== undefined && !deps.requireConfig) return { source: "--url", cluster: {} };
  // $STACK only where --stack could go: --config and --url name their own target.
  const stack = stackChoice(flags.stack, env);
  if (stack !== undefined) checkPassphrase(deps.projectRoot, stack, env);
  return await fromPulumiCli(deps.pulumi ?? spawnPulumi(deps.projectRoot, { instead, env }), stack);
}

const PASSPHRASE_HINT = "set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) and run again";

/**
 * Says before any Pulumi CLI call that the stack's secrets need a passphrase the environment does not
 * give. Pulumi.<stack>.yaml's `encryptionsalt` marks the passphrase provider (a file backend's default);
 * `stack output --show-secrets` then reads PULUMI_CONFIG_PASSPHRASE (even empty), else a non-empty
 * PULUMI_CONFIG_PASSPHRASE_FILE, else, its output being piped here, it stops: it never prompts
 * (pulumi/pulumi pkg/secrets/passphrase/manager.go readPassphrase; cmdutil/console.go Interactive).
 */
export function checkPassphrase(projectRoot: string, stack: string, env: NodeJS.ProcessEnv): void {
  if (env.PULUMI_CONFIG_PASSPHRASE !== undefined || (env.PULUMI_CONFIG_PASSPHRASE_FILE ?? "") !== "") return;
  const file = path.join(projectRoot, `Pulumi.${stack}.yaml`);
  if (!existsSync(file)) return;
  let doc: unknown;
  try {
    doc = YAML.parse(readFileSync(file, "utf8"));
  } catch {
    return; // the Pulumi CLI reports a broken stack file in its own words
  }
  if (typeof doc === "object" && doc !== null && "encryptionsalt" in doc) {
    throw new TargetError(`stack ${stack} keeps its secrets under a passphrase: ${PASSPHRASE_HINT}`);
  }
}

export async function resolveTarget(flags: TargetFlags, deps: TargetDeps): Promise<Target> {
  const base = await stackBase(flags, deps);
  const url = flags.url ?? base.gatewayUrls?.http;
  if (url === undefined) throw new TargetError(`${base.source} has no ${OUTPUTS.gatewayUrls} output; pass --url`);
  const httpsUrl = flags.httpsUrl ?? base.gatewayUrls?.https;
  const token = flags.token ?? base.token;
  const caCert = flags.caCert === undefined ? base.caCert : readPem(flags.caCert);
  return {
    ...base,
    source: flags.url !== undefined && base.source !== "--url" ? `--url (config: ${base.source})` : base.source,
    url: checkedUrl(url),
    ...(httpsUrl !== undefined && { httpsUrl: checkedUrl(httpsUrl) }),
    ...(token !== undefined && { token }),
    ...(caCert !== undefined && { caCert }),
    ...(flags.kubeconfig !== undefined && { cluster: kubeconfigFile(flags.kubeconfig, base.cluster) }),
  };
}

/** `--kubeconfig FILE` replaces the stack's kubeconfig; a context the stack names stays. */
function kubeconfigFile(file: string, stack: ClusterAccess): ClusterAccess {
  try {
    accessSync(file, constants.R_OK);
  } catch (error) {
    throw new TargetError(`cannot read --kubeconfig ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  return { kubeconfigPath: path.resolve(file), ...(stack.context !== undefined && { context: stack.context }) };
}

type Resolved = Omit<Target, "url"> & { readonly signingKey?: string };

async function fromStackFile(file: string): Promise<Resolved> {
  let stackConfig: Record<string, unknown>;
  try {
    stackConfig = readStackFile(file);
  } catch (error) {
    if (error instanceof StackFileError) throw new TargetError(error.message);
    throw error;
  }
  const secret = secretProjectKeys(stackConfig);
  if (secret.length > 0) {
    throw new TargetError(
      `${path.basename(file)} holds encrypted values (${secret.join(", ")}) that only the Pulumi CLI can read; drop --config to use it`,
    );
  }
  const config = parseConfig(stackConfig, path.basename(file));
  return {
    source: path.basename(file),
    gatewayUrls: gatewayUrls(config),
    config,
    cluster: clusterAccess(config),
  };
}

async function fromPulumiCli(pulumi: PulumiCli, stack: string | undefined): Promise<Resolved> {
  const stackArgs = stack === undefined ? [] : ["--stack", stack];
  const outputs = parseJson(
    await pulumi(["stack", "output", "--json", "--show-secrets", ...stackArgs]),
    "stack output",
  );
  const rawConfig = parseJson(await pulumi(["config", "--json", "--show-secrets", ...stackArgs]), "config");
  // `pulumi config --json` gives {key: {value, secret}}, values as the program receives them.
  const flat = Object.fromEntries(
    Object.entries(rawConfig).map(([k, v]) => [k, typeof v === "object" && v !== null && "value" in v ? v.value : v]),
  );
  const source = `stack ${stack ?? "(selected)"} (Pulumi CLI)`;
  const config = parseConfig(flat, source);
  const urls = outputs[OUTPUTS.gatewayUrls];
  const kubeconfig = outputs[OUTPUTS.kubeconfig];
  const token = outputs[OUTPUTS.token];
  const caCert = outputs[OUTPUTS.caCert];
  const signingKey = outputs[OUTPUTS.signingKey];
  return {
    source,
    ...(isGatewayUrls(urls) && { gatewayUrls: { http: urls.http, https: urls.https } }),
    ...(typeof token === "string" && { token }),
    ...(typeof caCert === "string" && { caCert }),
    ...(typeof signingKey === "string" && { signingKey }),
    config,
    cluster: stackClusterAccess(config, kubeconfig),
  };
}

/**
 * kind: the stack's kubeconfig output (contents) reaches its cluster whatever the local kubeconfig
 * says. Existing: the stack outputs no kubeconfig (a stack last updated by an older version put the
 * configured path there), so the configured file and context, as the provider reads them.
 */
export function stackClusterAccess(config: MeshConfig, kubeconfigOutput: unknown): ClusterAccess {
  if (config.cluster.mode === "kind" && typeof kubeconfigOutput === "string" && kubeconfigOutput.trim() !== "") {
    return { kubeconfig: kubeconfigOutput };
  }
  return clusterAccess(config);
}

/** From the config alone: kind merges `kind-<name>` into the default kubeconfig. */
function clusterAccess(config: MeshConfig): ClusterAccess {
  if (config.cluster.mode === "kind") return { context: `kind-${config.cluster.name}` };
  return {
    ...(config.cluster.kubeconfig !== undefined && { kubeconfigPath: config.cluster.kubeconfig }),
    ...(config.cluster.context !== undefined && { context: config.cluster.context }),
  };
}

/** A whole `namespace:key` map: stray keys are reported with the project's own. */
function parseConfig(all: Record<string, unknown>, source: string): MeshConfig {
  try {
    return parseStackConfig(all);
  } catch (error) {
    if (error instanceof ConfigError) throw new TargetError(`${source}: ${error.message}`);
    throw error;
  }
}

const isGatewayUrls = (v: unknown): v is { http: string; https: string } =>
  typeof v === "object" &&
  v !== null &&
  "http" in v &&
  typeof v.http === "string" &&
  "https" in v &&
  typeof v.https === "string";

function parseJson(text: string, what: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new TargetError(`\`pulumi ${what} --json\` did not print a JSON object`);
}

function checkedUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TargetError(`not a URL: ${url}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new TargetError(`an http:// or https:// URL, not ${url}`);
  }
  if (parsed.search !== "" || parsed.hash !== "")
    throw new TargetError(`a base URL without ?query or #fragment: ${url}`);
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, "")}`;
}

function readPem(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new TargetError(`cannot read --ca-cert ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----"))
    throw new TargetError(`--ca-cert ${file} holds no PEM certificate`);
  return text;
}

/**
 * The real CLI, run in the project (pulumiProcess.ts: it never prompts, so a passphrase comes from the
 * environment or not at all). Its failure becomes one line. `instead` names what to pass when the CLI
 * is not installed.
 */
export function spawnPulumi(
  projectRoot: string,
  {
    binary = "pulumi",
    instead = "--config Pulumi.<stack>.yaml or --url",
    env = process.env,
  }: { binary?: string; instead?: string; env?: NodeJS.ProcessEnv } = {},
): PulumiCli {
  return (args) =>
    runPulumi(args, { cwd: projectRoot, env, binary }).catch((error: unknown) => {
      if (error instanceof PulumiExit) throw pulumiFailure(args, error.code, error.stderr);
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        throw new TargetError(`the Pulumi CLI is not installed: pass ${instead} instead`);
      }
      throw error;
    });
}

/**
 * A failed Pulumi CLI call as one line. The CLI prints `error: <message>` (cmd/pulumi/main.go
 * DisplayErrorMessage); passphrase failures get what to do instead of the wrapped Go error.
 */
export function pulumiFailure(args: readonly string[], code: number | null, stderr: string): TargetError {
  const stackFlag = args.indexOf("--stack");
  const stack = stackFlag >= 0 && args[stackFlag + 1] ? `stack ${args[stackFlag + 1]}` : "the selected stack";
  if (/passphrase must be set with PULUMI_CONFIG_PASSPHRASE/.test(stderr)) {
    return new TargetError(`${stack} keeps its secrets under a passphrase: ${PASSPHRASE_HINT}`);
  }
  if (/incorrect passphrase/.test(stderr)) {
    return new TargetError(`PULUMI_CONFIG_PASSPHRASE is not the passphrase of ${stack} (pulumi: incorrect passphrase)`);
  }
  const errorLine = stderr
    .split("\n")
    .map((line) => line.trim())
    .find((line) => line.startsWith("error:"));
  const why = (errorLine ?? stderr.trim().split("\n").at(-1) ?? "").replace(/^error:\s*/, "");
  return new TargetError(`\`pulumi ${args.slice(0, 2).join(" ")}\` failed (exit ${code})${why ? `: ${why}` : ""}`);
}

/** The project `pulumi` would act on: the nearest directory holding Pulumi.yaml, as the CLI finds it. */
export function projectRootFrom(dir: string): string | undefined {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (existsSync(path.join(d, "Pulumi.yaml"))) return d;
    if (path.dirname(d) === d) return undefined;
  }
}
