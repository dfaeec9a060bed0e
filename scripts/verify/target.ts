import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import * as path from "node:path";
import * as YAML from "yaml";
import { gatewayUrls } from "../../components/mesh";
import { projectConfig } from "../../config/load";
import { parseMeshConfig } from "../../config/parse";
import type { MeshConfig } from "../../config/types";
import type { GatewayTarget } from "./types";

/**
 * Where a tool's expectations and endpoints come from. Config is always parsed by the program's own
 * parseMeshConfig; endpoints and secrets come from stack outputs, flags, or the config itself.
 *   default:           `pulumi config --json` + `pulumi stack output --json --show-secrets` (selected stack, or --stack)
 *   --config FILE:     Pulumi.<stack>.yaml, no Pulumi CLI; URLs from gatewayUrls(cfg); --token/--ca/--kubeconfig by hand
 *   --url / --https-url override the gateway URLs in either mode.
 */

export interface TargetFlags {
  readonly stack?: string;
  readonly config?: string;
  readonly url?: string;
  readonly httpsUrl?: string;
  readonly token?: string;
  /** Path to a PEM file. */
  readonly ca?: string;
  /** Path to a kubeconfig file. */
  readonly kubeconfig?: string;
}

export interface ResolvedTarget extends GatewayTarget {
  readonly cfg: MeshConfig;
  readonly kubeconfig?: string;
  /** Human summary: which stack or file, for the report header. */
  readonly source: string;
}

export class TargetError extends Error {
  override name = "TargetError";
}

export interface TargetDeps {
  /** Runs the Pulumi CLI and returns stdout; rejects with its stderr. */
  readonly pulumi: (args: readonly string[]) => Promise<string>;
  readonly readFile: (file: string) => Promise<string>;
}

export const defaultDeps: TargetDeps = {
  pulumi: (args) =>
    new Promise((resolve, reject) => {
      execFile("pulumi", [...args], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (error) {
          const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
          reject(
            new TargetError(
              missing
                ? "the Pulumi CLI is not installed: pass --config Pulumi.<stack>.yaml"
                : stderr.trim() || error.message,
            ),
          );
        } else resolve(stdout);
      });
    }),
  readFile: (file) => readFile(file, "utf8"),
};

interface StackOutputs {
  gatewayUrls?: { http?: string; https?: string };
  demoToken?: string;
  caCert?: string;
  kubeconfig?: string;
}

export async function resolveTarget(flags: TargetFlags, deps: TargetDeps = defaultDeps): Promise<ResolvedTarget> {
  const optionalFile = async (file: string | undefined, what: string) => {
    if (file === undefined) return undefined;
    try {
      return await deps.readFile(file);
    } catch (e) {
      throw new TargetError(`cannot read ${what} ${file}: ${(e as Error).message}`);
    }
  };
  const [ca, kubeconfig] = [
    await optionalFile(flags.ca, "CA file"),
    await optionalFile(flags.kubeconfig, "kubeconfig"),
  ];

  let raw: Record<string, unknown>;
  let outputs: StackOutputs = {};
  let source: string;
  if (flags.config !== undefined) {
    const text = await optionalFile(flags.config, "stack file");
    const doc = (YAML.parse(text ?? "") ?? {}) as { config?: Record<string, unknown> };
    raw = doc.config ?? {};
    source = path.basename(flags.config);
  } else {
    const stackArgs = flags.stack ? ["--stack", flags.stack] : [];
    const config = JSON.parse(await deps.pulumi(["config", "--json", ...stackArgs])) as Record<
      string,
      { value?: unknown; objectValue?: unknown }
    >;
    raw = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, v.objectValue ?? v.value]));
    outputs = JSON.parse(
      await deps.pulumi(["stack", "output", "--json", "--show-secrets", ...stackArgs]),
    ) as StackOutputs;
    source = `stack ${flags.stack ?? "(selected)"}`;
  }
  const cfg = parseMeshConfig(projectConfig(raw));
  const fromConfig = gatewayUrls(cfg);
  const token = flags.token ?? outputs.demoToken;
  const caCert = ca ?? outputs.caCert;
  const kube = kubeconfig ?? outputs.kubeconfig;
  return {
    cfg,
    source,
    httpUrl: trimSlash(flags.url ?? outputs.gatewayUrls?.http ?? fromConfig.http),
    httpsUrl: trimSlash(flags.httpsUrl ?? outputs.gatewayUrls?.https ?? fromConfig.https),
    ...(token !== undefined && { token }),
    ...(caCert !== undefined && { caCert }),
    ...(kube !== undefined && { kubeconfig: kube }),
  };
}

const trimSlash = (url: string): string => url.replace(/\/+$/, "");
