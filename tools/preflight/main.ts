/**
 * `npm run preflight`: before `npm run up` or `npm run preview` on an existing cluster
 * (scripts/pulumi.sh runs it), checks what the program cannot see from inside a preview: the
 * cluster's Kubernetes version against Istio's supported range, any istiod this stack's state does
 * not hold (another install, another revision) or, with `existingIstio`, the cluster's istiod the stack
 * uses, and namespaces the program would create that exist already. It asks kubectl, with the stack's kubeconfig and context, as the provider reaches the
 * cluster; the state comes from `pulumi stack export`. A kind stack's cluster is its own: nothing to check.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { needsGatewayApiCrds } from "../../components/gatewayApi/crds";
import { ISTIO_NAMESPACE } from "../../components/meta";
import type { MeshConfig } from "../../config/types";
import { CliError, EXIT, parseCli, runCli } from "../lib/cli";
import { clusterOfArgs, kubectlFailure, kubectlSpawnFailure } from "../lib/kubectlStderr";
import { kubectlClusterFlags } from "../lib/portForward";
import { type PulumiCli, resolveStack, spawnPulumi } from "../lib/target";
import { type Finding, type ListedObject, preflightFindings, type ServerVersion, stackHoldings } from "./checks";
import { type ToolObjectsUnchecked, toolObjectQueries } from "./existingIstio";

export const HELP = `usage: npm run preflight -- [--stack NAME | --config Pulumi.<stack>.yaml] [--kubeconfig PATH] [--json]

Checks an existing cluster before the program creates anything in it (scripts/pulumi.sh runs it
before up and preview when clusterMode is existing):
  kubernetes-version   the server's version is in Istio 1.30's supported range (1.32-1.36)
  foreign-istiod       no istiod runs that this stack's state does not hold (another install or
                       revision); not checked with istio-mesh:existingIstio, which uses that istiod
  existing-namespace   no namespace the program creates exists already (it never adopts one)
With istio-mesh:existingIstio (the stack uses the cluster's control plane):
  existing-istiod      an istiod serves the revision (or the tag's revision) at istioVersion's minor;
                       trafficApi istio: not with PILOT_SCOPE_GATEWAY_TO_NAMESPACE=true
  existing-ambient     dataplane ambient: DaemonSets ztunnel and istio-cni-node run in istio-system,
                       and the istiod runs with PILOT_ENABLE_AMBIENT=true
  existing-mesh-config its mesh config (ConfigMap istio[-<rev>], key mesh) has what the stack's
                       objects need: a missing tracing provider fails, other differences are notes
  existing-gateway-api trafficApi gateway-api or dataplane ambient: each Gateway API CRD the stack's
                       objects use exists (the stack installs none), at bundle-version v1.5.1 or later,
                       experimental channel where they use its fields (HTTPRoute retry)
  existing-observability  observability on: no object the stack's tools would create in istio-system
                       (Deployment, Service, ConfigMap, Secret, by name) exists that its state does not
                       hold (sample addons); a kind kubectl may not get (RBAC) is a note

  --stack NAME               a stack other than the selected one (Pulumi CLI: config and state); or STACK=NAME
  --config Pulumi.<s>.yaml   read the stack file instead (no state: every istiod counts as foreign)
  --kubeconfig PATH          for the cluster (default: the config's kubeconfig and kubeContext)
  --json                     the findings as JSON

Exit status: 0 nothing stops the install (warnings and notes may be printed), 1 a check failed, 2 could not
run (bad flag, config, Pulumi CLI, kubectl or an unreachable cluster).`;

/** Runs kubectl with these arguments; resolves to its stdout, rejects with its stderr's last line (kubectlStderr.ts). */
export type Kubectl = (args: readonly string[]) => Promise<string>;

export interface PreflightDeps {
  readonly projectRoot: string;
  readonly pulumi?: PulumiCli;
  readonly kubectl?: Kubectl;
  readonly env?: NodeJS.ProcessEnv;
  stdout(line: string): void;
  stderr(line: string): void;
}

/** The command as a user would retype it against the same cluster: --kubeconfig and --context left out. */
const withoutClusterFlags = (args: readonly string[]) =>
  args.filter(
    (a, i) => !["--kubeconfig", "--context"].includes(a) && !["--kubeconfig", "--context"].includes(args[i - 1] ?? ""),
  );

/** kubectl on PATH (or $KUBECTL); a failure becomes one line naming the command. */
export function spawnKubectl(binary = "kubectl"): Kubectl {
  return (args) =>
    new Promise((resolve, reject) => {
      const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on("data", (c: Buffer) => out.push(c));
      child.stderr.on("data", (c: Buffer) => err.push(c));
      child.on("error", (e: NodeJS.ErrnoException) => reject(new CliError(kubectlSpawnFailure(e))));
      child.on("close", (code) => {
        if (code === 0) return resolve(Buffer.concat(out).toString("utf8"));
        const failure = kubectlFailure(Buffer.concat(err).toString("utf8"), { cluster: clusterOfArgs(args) });
        const command = `\`kubectl ${withoutClusterFlags(args).join(" ")}\``;
        reject(
          new CliError(failure.unreachable ? failure.line : `${command} failed: ${failure.line || `exit ${code}`}`),
        );
      });
    });
}

const json = (text: string, what: string): Record<string, unknown> => {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new CliError(`\`kubectl ${what}\` did not print JSON`);
  }
};

const items = (list: Record<string, unknown>) => (Array.isArray(list.items) ? (list.items as ListedObject[]) : []);

/**
 * What `kubectl get <resource> <names…> --ignore-not-found -o json` prints (kubernetes/kubectl
 * pkg/cmd/get/get.go printGeneric): nothing when none exists, the object itself for one name, a `List` of
 * those found for several.
 */
const gotten = (text: string, what: string): ListedObject[] => {
  if (text.trim() === "") return [];
  const doc = json(text, what);
  return doc.kind === "List" ? items(doc) : [doc as ListedObject];
};

/** Gets objects of istio-system by name: a get, not a list (RBAC may grant one without the other). */
const getByName = (resource: string, names: readonly string[]) => [
  "get",
  resource,
  ...names,
  "--namespace",
  ISTIO_NAMESPACE,
  "--ignore-not-found",
  "-o",
  "json",
];

/**
 * The API server's reason when kubectl's last line is a Forbidden (`Error from server (Forbidden): secrets
 * "x" is forbidden: User "u" cannot get resource …`, apiserver responsewriters/errors.go forbiddenMessage).
 */
const forbidden = (error: unknown): string | undefined => {
  const line = error instanceof CliError ? /failed: Error from server \(Forbidden\): (.*)$/.exec(error.message) : null;
  return line ? (/ is forbidden: (.*)$/.exec(line[1] ?? "")?.[1] ?? line[1]) : undefined;
};

/**
 * The existing-observability facts: each kind of the tools' footprint got by name in istio-system. A kind
 * kubectl is forbidden to get is not a failure: its names are asked one by one (RBAC may grant some by
 * resourceNames), and those still forbidden become unchecked, which the check reports as a note. Any
 * other kubectl failure stops the pre-flight, as the other gets do.
 */
async function toolObjectFacts(kubectl: Kubectl, flags: readonly string[], cfg: MeshConfig) {
  const toolObjects: ListedObject[] = [];
  const toolObjectsUnchecked: ToolObjectsUnchecked[] = [];
  for (const { kind, resource, names } of toolObjectQueries(cfg)) {
    const get = async (some: readonly string[]) =>
      gotten(await kubectl([...flags, ...getByName(resource, some)]), `get ${resource}`);
    /** Adds what kubectl got; resolves to the server's reason if it was forbidden. */
    const attempt = async (some: readonly string[]) => {
      try {
        toolObjects.push(...(await get(some)));
        return undefined;
      } catch (error) {
        const why = forbidden(error);
        if (why === undefined) throw error;
        return why;
      }
    };
    const why = await attempt(names);
    if (why === undefined) continue;
    const denied: string[] = [];
    if (names.length === 1) denied.push(...names);
    else for (const name of names) if ((await attempt([name])) !== undefined) denied.push(name);
    if (denied.length > 0) toolObjectsUnchecked.push({ kind, names: denied, why });
  }
  return { toolObjects, toolObjectsUnchecked };
}

export async function main(argv: readonly string[], deps: PreflightDeps): Promise<number> {
  return runCli("preflight", () => check(argv, deps), deps.stderr);
}

async function check(argv: readonly string[], deps: PreflightDeps): Promise<number> {
  const parsed = parseCli("preflight", argv, {
    stack: { type: "string" },
    config: { type: "string" },
    kubeconfig: { type: "string" },
    json: { type: "boolean" },
  });
  if (!parsed) {
    deps.stdout(HELP);
    return EXIT.ok;
  }
  const { values } = parsed;
  const env = deps.env ?? process.env;
  const pulumi = deps.pulumi ?? spawnPulumi(deps.projectRoot, { env, instead: "--config Pulumi.<stack>.yaml" });
  const target = await resolveStack(
    { stack: values.stack, config: values.config, kubeconfig: values.kubeconfig },
    { projectRoot: deps.projectRoot, pulumi, env },
  );
  if (target.config.cluster.mode === "kind") {
    deps.stdout("preflight: a kind stack's cluster is its own; nothing to check");
    return EXIT.ok;
  }
  const state =
    values.config === undefined
      ? stackHoldings(JSON.parse(await pulumi(["stack", "export", ...(values.stack ? ["--stack", values.stack] : [])])))
      : { releases: [], namespaces: [], objects: [] };
  const kubectl = deps.kubectl ?? spawnKubectl(env.KUBECTL ?? "kubectl");
  const { args: flags, cleanup } = kubectlClusterFlags(target.cluster);
  let findings: Finding[];
  try {
    const version = json(await kubectl([...flags, "version", "-o", "json"]), "version -o json");
    const istiods = json(
      await kubectl([...flags, "get", "deployments", "--all-namespaces", "-l", "app=istiod", "-o", "json"]),
      "get deployments",
    );
    const namespaces = json(await kubectl([...flags, "get", "namespaces", "-o", "json"]), "get namespaces");
    const existing = target.config.profile.existingIstio;
    const list = async (args: readonly string[]) =>
      items(json(await kubectl([...flags, "get", ...args]), `get ${args[0]}`));
    findings = preflightFindings(target.config, {
      server: (version.serverVersion ?? {}) as ServerVersion,
      istiods: items(istiods),
      namespaces: items(namespaces),
      state,
      ...(existing && {
        existingIstio: {
          tags: await list(["mutatingwebhookconfigurations", "-l", `istio.io/tag=${existing.revision}`, "-o", "json"]),
          configMaps: await list(["configmaps", "--all-namespaces", "-l", "istio.io/rev", "-o", "json"]),
          ...(target.config.observability.enabled && (await toolObjectFacts(kubectl, flags, target.config))),
          ...(needsGatewayApiCrds(target.config) && {
            crds: await list(["customresourcedefinitions", "-o", "json"]),
          }),
          ...(target.config.cell.dataplane === "ambient" && {
            daemonSets: await list(["daemonsets", "--namespace", "istio-system", "-o", "json"]),
          }),
        },
      }),
    });
  } finally {
    cleanup();
  }
  const errors = findings.filter((f) => f.level === "error");
  if (values.json) deps.stdout(JSON.stringify({ ok: errors.length === 0, findings }, null, 2));
  else {
    const mark = { error: "✗", warning: "!", note: "·" } as const;
    for (const f of findings) deps.stdout(`${mark[f.level]} ${f.check}: ${f.message}`);
    deps.stdout(
      errors.length === 0
        ? `preflight: ${target.source}: nothing stops the install`
        : `preflight: ${target.source}: ${errors.length} check(s) failed; nothing was created`,
    );
  }
  return errors.length === 0 ? EXIT.ok : EXIT.failed;
}

if (require.main === module) {
  main(process.argv.slice(2), {
    projectRoot: path.resolve(__dirname, "..", ".."),
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
  }).then((code) => {
    process.exitCode = code;
  });
}
