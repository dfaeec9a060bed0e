/**
 * What a tool that changes a stack checks before it changes anything: which stack, and what its `up`
 * will need that `config set-all` does not check. Files and one `pulumi stack ls` only;
 * tools/lib/stackWorkspace.ts then drives the stack.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { userInfo } from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { PROJECT } from "../../config/defaults";
import { CliError, EXIT } from "./cli";
import type { PulumiCli } from "./target";

/**
 * The passphrase of a passphrase-encrypted stack, and (file backend) a lock held by another update:
 * without the one, `config set-all --plaintext` succeeds and only `up` fails; the other stops `up`.
 */
export async function preflightStack(
  projectRoot: string,
  stackName: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const settings = stackSettings(projectRoot, stackName);
  const passphraseStack =
    settings?.encryptionsalt !== undefined &&
    (settings.secretsprovider === undefined || settings.secretsprovider === "passphrase");
  // The CLI reads these two and nothing else (pkg/secrets/passphrase/manager.go readPassphrase).
  if (passphraseStack && env.PULUMI_CONFIG_PASSPHRASE === undefined && !env.PULUMI_CONFIG_PASSPHRASE_FILE) {
    throw new CliError(
      `stack ${stackName} encrypts its secrets with a passphrase: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE (\`pulumi up\` would fail after the config changed; nothing was changed)`,
      EXIT.usage,
    );
  }
  const locks = lockFiles(projectRoot, stackName, env);
  if (locks.length > 0) {
    throw new CliError(
      `stack ${stackName} is locked by another update (${locks.join(", ")}): wait for it, or \`pulumi cancel\` if it died (nothing was changed)`,
      EXIT.usage,
    );
  }
}

/**
 * The stack `pulumi` has selected for this project, found as the Automation API's `workspace.stack()`
 * finds it (sdk/nodejs/automation/localWorkspace.ts stack, listStacks: `pulumi stack ls --json
 * --non-interactive`, the entry marked current). With none selected, refuse as the CLI does rather
 * than send an empty `--stack`.
 */
export async function selectedStack(pulumi: PulumiCli): Promise<string> {
  const text = await pulumi(["stack", "ls", "--json", "--non-interactive"]);
  let stacks: unknown;
  try {
    stacks = JSON.parse(text);
  } catch {
    throw new CliError("`pulumi stack ls --json` did not print JSON", EXIT.failed);
  }
  const current = Array.isArray(stacks)
    ? (stacks as { name?: unknown; current?: unknown }[]).find((s) => s.current === true)?.name
    : undefined;
  if (typeof current !== "string" || current === "") throw noStackSelected();
  return current;
}

export const noStackSelected = () =>
  new CliError(
    "no stack selected: pass --stack NAME, set STACK, or `pulumi stack select NAME` (nothing was changed)",
    EXIT.usage,
  );

/** Pulumi.<stack>.yaml (or .yml, .json), as LocalWorkspace.stackSettings reads it; absent or unreadable: none. */
function stackSettings(projectRoot: string, stackName: string): Record<string, unknown> | undefined {
  // A stack reference's settings file is named by its last part (localWorkspace.ts getStackSettingsName).
  const name = stackName.split("/").at(-1) ?? stackName;
  for (const ext of [".yaml", ".yml", ".json"]) {
    const file = path.join(projectRoot, `Pulumi.${name}${ext}`);
    if (!existsSync(file)) continue;
    const doc = readParsed(file, YAML.parse);
    return typeof doc === "object" && doc !== null ? (doc as Record<string, unknown>) : undefined;
  }
  return undefined;
}

/**
 * Lock files of a file:// backend (pkg/backend/diy/lock.go: `.pulumi/locks/<org>/<project>/<stack>/`,
 * or `.pulumi/locks/<stack>/` in the legacy layout). Other backends refuse a concurrent `up` themselves,
 * and the tool then restores what it changed.
 */
function lockFiles(projectRoot: string, stackName: string, env: NodeJS.ProcessEnv): string[] {
  const url = pulumiBackendUrl(projectRoot, env);
  if (url === undefined || !url.startsWith("file://")) return [];
  const root = diyStateRoot(url, projectRoot, env);
  if (root === undefined) return [];
  // `organization/istio-mesh/dev` and `dev` name the same stack of this project.
  const stack = stackName.split("/").at(-1) ?? stackName;
  const dirs = [
    path.join(root, ".pulumi", "locks", "organization", PROJECT, stack),
    path.join(root, ".pulumi", "locks", stack),
  ];
  return dirs.flatMap((dir) =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith(".json"))
          .map((f) => path.relative(projectRoot, path.join(dir, f)))
      : [],
  );
}

/**
 * The backend the CLI uses, in its order (pkg/workspace/creds.go GetCurrentCloudURLWithSource): a
 * non-empty PULUMI_BACKEND_URL, else Pulumi.yaml's `backend.url`, else the URL of the last `pulumi
 * login` (`current` in credentials.json, under PULUMI_CREDENTIALS_PATH or PULUMI_HOME or ~/.pulumi:
 * sdk/go/common/workspace/creds.go getCredsFilePath). A credentials store the OS keeps
 * (PULUMI_CREDENTIAL_STORE) is not read: then there is nothing to check here.
 */
export function pulumiBackendUrl(projectRoot: string, env: NodeJS.ProcessEnv): string | undefined {
  if (env.PULUMI_BACKEND_URL) return env.PULUMI_BACKEND_URL;
  const project = readParsed(path.join(projectRoot, "Pulumi.yaml"), YAML.parse) as
    | { backend?: { url?: unknown } }
    | undefined;
  if (typeof project?.backend?.url === "string" && project.backend.url !== "") return project.backend.url;
  const pulumiHome = env.PULUMI_HOME || withHome(env, (home) => path.join(home, ".pulumi"));
  const folder = env.PULUMI_CREDENTIALS_PATH || pulumiHome;
  if (folder === undefined) return undefined;
  const credentials = readParsed(path.join(folder, "credentials.json"), JSON.parse) as
    | { current?: unknown }
    | undefined;
  return typeof credentials?.current === "string" && credentials.current !== "" ? credentials.current : undefined;
}

/**
 * The directory a file:// backend opens, as the DIY backend resolves it (pkg/backend/diy/backend.go
 * massageBlobPath): the query (`?no_tmp_dir=…`) dropped, a leading `~` the user's home directory, a
 * relative path taken from the CLI's working directory (which the tools set to the project),
 * and percent-escapes decoded as gocloud's fileblob decodes the URL's path. Undefined where the CLI would
 * fail to open it (no home directory, a bad escape): nothing to check.
 */
export function diyStateRoot(url: string, projectRoot: string, env: NodeJS.ProcessEnv): string | undefined {
  const rest = url.slice("file://".length).split("?")[0] ?? "";
  const local = rest.startsWith("~") ? withHome(env, (home) => path.join(home, rest.slice(2))) : rest;
  if (local === undefined) return undefined;
  try {
    return path.resolve(projectRoot, decodeURIComponent(local));
  } catch {
    return undefined;
  }
}

/**
 * `f(home directory)` as Go's user.Current gives it in the CLI (built osusergo: the passwd entry, else
 * $HOME when $USER is set too); undefined without one, where os.userInfo throws.
 */
function withHome<T>(env: NodeJS.ProcessEnv, f: (home: string) => T): T | undefined {
  try {
    return f(userInfo().homedir);
  } catch {
    return env.HOME && env.USER ? f(env.HOME) : undefined;
  }
}

function readParsed(file: string, parse: (text: string) => unknown): unknown {
  try {
    return parse(readFileSync(file, "utf8"));
  } catch {
    return undefined; // absent or unreadable: the CLI reports it in its own words
  }
}
