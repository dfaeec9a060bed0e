/**
 * Evaluates CrossGuard policies in-process the way @pulumi/policy's analyzer server (server.ts)
 * calls them, without the Pulumi CLI or an engine: every resource goes to every resource policy,
 * all of them to every stack policy, so a policy added to the pack and a resource type the program
 * starts registering later are both covered with no change here. `npm run policy` runs the pack
 * with it over the program's resources; the tests run it beside the real analyzer.
 *
 * Mirrored from the server: props are plain values (secrets unwrapped) behind the SDK's own
 * unknownCheckingProxy; a policy that touches an unknown value during preview yields an advisory
 * "can't run during preview" diagnostic; a violation reported as an object may set its own
 * enforcementLevel (makeReportViolationFun); a config's enforcementLevel overrides the policy's,
 * which overrides the pack's; "disabled" skips a policy and "remediate" reports as mandatory.
 * Mirrored from the CLI (ReconcilePolicyPackConfig): schema defaults, then "all", then per-policy
 * config, validated against each policy's configSchema. Stricter than the CLI: unknown policy
 * names and unknown properties in a config file are errors, so typos can't pass silently.
 */

import type {
  EnforcementLevel,
  Policies,
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import * as policySdk from "@pulumi/policy";
import { isUnknown } from "@pulumi/pulumi/output";
import { specialSecretSig, specialSigKey, unknownValue } from "@pulumi/pulumi/runtime/rpc";
import Ajv, { type ValidateFunction } from "ajv";
import { version as PACK_VERSION } from "../../policies/package.json";
import { PACK_NAME } from "../../policies/policies";

// Exported at runtime since 1.21.0 "so policy-pack test helpers can mirror real runtime semantics",
// but marked @internal, so the published .d.ts declares neither.
const { unknownCheckingProxy, UnknownValueError } = policySdk as unknown as {
  unknownCheckingProxy<T>(value: T): T;
  UnknownValueError: new (...args: never[]) => Error;
};

/** Resource options as the engine reports them to a policy. */
export interface PolicyInputOptions {
  readonly protect: boolean;
  readonly ignoreChanges: readonly string[];
  readonly additionalSecretOutputs: readonly string[];
  readonly deleteBeforeReplace?: boolean;
  readonly aliases: readonly string[];
}

/** A resource as the engine would send it; `props` may hold Pulumi's wire secrets and unknowns. */
export interface PolicyInput {
  readonly type: string;
  readonly name: string;
  readonly urn?: string;
  /** The inputs: what Analyze hands a resource policy. */
  readonly props: Record<string, unknown>;
  /**
   * The outputs: what AnalyzeStack hands a stack policy (pulumi/pulumi step_generator.go,
   * AnalyzeResources: "AnalyzeStack is called on the final outputs of each resource"). Absent: the
   * same as `props`, which is what `up` leaves for a Kubernetes object (the state-free run).
   */
  readonly outputs?: Record<string, unknown>;
  readonly options?: Partial<PolicyInputOptions>;
  /** Provider reference, `<urn>::<id>`. */
  readonly provider?: string;
  readonly parent?: string;
  readonly dependencies?: readonly string[];
}

export interface Diagnostic {
  readonly policyName: string;
  readonly enforcementLevel: EnforcementLevel;
  readonly message: string;
  readonly urn?: string;
}

export interface PackRun {
  readonly diagnostics: readonly Diagnostic[];
  readonly mandatory: readonly Diagnostic[];
  readonly advisory: readonly Diagnostic[];
  readonly notApplicable: readonly { policyName: string; reason: string }[];
  /** Messages of one policy's diagnostics, in order. */
  messages(policyName: string): string[];
}

/** A policy config file (`--policy-pack-config`): policy name → level, or {enforcementLevel?, ...properties}. */
export type PackConfigFile = Readonly<Record<string, unknown>>;

interface PolicyConfig {
  readonly enforcementLevel?: EnforcementLevel;
  readonly properties: Record<string, unknown>;
}

const LEVELS: readonly EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];
const isLevel = (v: unknown): v is EnforcementLevel => LEVELS.includes(v as EnforcementLevel);

export class PolicyConfigError extends Error {
  override name = "PolicyConfigError";
}

const ajv = new Ajv({ allErrors: true, strict: false });
/**
 * Each policy's config check, compiled once per process: runPolicies reconciles the config on every run,
 * and compiling the schemas again was half of a run's CPU.
 */
const validators = new WeakMap<Policies[number], ValidateFunction>();

/** A policy's configSchema as the CLI applies it: its properties and required ones, nothing else. */
function configValidator(p: Policies[number]): ValidateFunction {
  let validate = validators.get(p);
  if (!validate) {
    validate = ajv.compile({
      type: "object",
      properties: p.configSchema?.properties ?? {},
      required: p.configSchema?.required ?? [],
      additionalProperties: false,
    });
    validators.set(p, validate);
  }
  return validate;
}

/** Defaults from each configSchema, then `all`, then per-policy entries; every problem is listed. */
export function reconcileConfig(policies: Policies, file: PackConfigFile = {}): Map<string, PolicyConfig> {
  const problems: string[] = [];
  const result = new Map<string, PolicyConfig>();
  for (const p of policies) {
    const defaults = Object.entries(p.configSchema?.properties ?? {}).filter(([, s]) => "default" in s);
    result.set(p.name, {
      ...(p.enforcementLevel && { enforcementLevel: p.enforcementLevel }),
      properties: Object.fromEntries(defaults.map(([k, s]) => [k, structuredClone(s.default)])),
    });
  }
  const all = file.all;
  if (all !== undefined) {
    if (isLevel(all)) for (const [k, c] of result) result.set(k, { ...c, enforcementLevel: all });
    else problems.push(`all: ${JSON.stringify(all)} is not an enforcement level`);
  }
  for (const [name, given] of Object.entries(file)) {
    if (name === "all") continue;
    const current = result.get(name);
    if (!current) {
      problems.push(`${name}: no such policy in this pack`);
      continue;
    }
    if (typeof given === "string") {
      if (isLevel(given)) result.set(name, { ...current, enforcementLevel: given });
      else problems.push(`${name}: "${given}" is not an enforcement level`);
      continue;
    }
    if (typeof given !== "object" || given === null || Array.isArray(given)) {
      problems.push(`${name}: must be an enforcement level or an object`);
      continue;
    }
    const { enforcementLevel, ...properties } = given as Record<string, unknown>;
    if (enforcementLevel !== undefined && !isLevel(enforcementLevel)) {
      problems.push(`${name}.enforcementLevel: ${JSON.stringify(enforcementLevel)} is not an enforcement level`);
    }
    result.set(name, {
      enforcementLevel: isLevel(enforcementLevel) ? enforcementLevel : current.enforcementLevel,
      properties: { ...current.properties, ...properties },
    } as PolicyConfig);
  }
  for (const p of policies) {
    const properties = result.get(p.name)?.properties ?? {};
    const validate = configValidator(p);
    if (!validate(properties)) {
      for (const e of validate.errors ?? []) problems.push(`${p.name}${e.instancePath}: ${e.message ?? "invalid"}`);
    }
  }
  if (problems.length > 0)
    throw new PolicyConfigError(`policy pack config is invalid:\n  - ${problems.join("\n  - ")}`);
  return result;
}

/** Pulumi's in-program representation → what a policy receives: secrets unwrapped, unknowns as sentinels. */
export function policyView(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (isUnknown(value)) return unknownValue;
  if (Array.isArray(value)) return value.map(policyView);
  const obj = value as Record<string, unknown>;
  if (obj[specialSigKey] === specialSecretSig) return policyView(obj.value);
  // A loop, not entries → filter → map → fromEntries (4× slower): every policy call gets a fresh view of
  // every resource, as the analyzer deserializes one per call.
  const view: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (v === undefined) continue;
    // Assigning "__proto__" would set the prototype instead of defining the key.
    if (key === "__proto__")
      Object.defineProperty(view, key, { value: policyView(v), enumerable: true, writable: true, configurable: true });
    else view[key] = policyView(v);
  }
  return view;
}

/** The object form of a violation the server accepts beside a plain message. */
interface ViolationObject {
  readonly message: string;
  readonly urn?: string | undefined;
  readonly enforcementLevel?: EnforcementLevel;
}

class NotApplicable extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

const throwNotApplicable = (reason?: string): never => {
  throw new NotApplicable(reason ?? "");
};

const urnOf = (r: PolicyInput) => r.urn ?? `urn:pulumi:test::istio-mesh::${r.type}::${r.name}`;

function resourceOptions(r: PolicyInput) {
  const o = r.options ?? {};
  return {
    protect: o.protect ?? false,
    ignoreChanges: [...(o.ignoreChanges ?? [])],
    aliases: [...(o.aliases ?? [])],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [...(o.additionalSecretOutputs ?? [])],
    ...(o.deleteBeforeReplace !== undefined && { deleteBeforeReplace: o.deleteBeforeReplace }),
    ...(r.parent && { parent: r.parent }),
  };
}

const proxied = (props: Record<string, unknown>) =>
  unknownCheckingProxy(policyView(props) as Record<string, unknown>) as Record<string, unknown>;

type ResourceClass = { __pulumiType?: string; isInstance?: (o: unknown) => boolean };
const isTypeOf = (type: string, cls: ResourceClass) =>
  cls.__pulumiType !== undefined ? cls.__pulumiType === type : cls.isInstance?.({ __pulumiType: type }) === true;

export interface RunOptions {
  readonly config?: PackConfigFile;
  /** The pack's own level (PolicyPackArgs.enforcementLevel); @pulumi/policy defaults it to advisory. */
  readonly packEnforcementLevel?: EnforcementLevel;
  readonly stackTags?: ReadonlyMap<string, string>;
}

const isStackPolicy = (p: Policies[number]): p is StackValidationPolicy => "validateStack" in p;

export async function runPolicies(
  policies: Policies,
  resources: readonly PolicyInput[],
  options: RunOptions = {},
): Promise<PackRun> {
  const config = reconcileConfig(policies, options.config);
  const stackTags = options.stackTags ?? new Map<string, string>();
  const diagnostics: Diagnostic[] = [];
  const notApplicable: { policyName: string; reason: string }[] = [];
  const byUrn = new Map(resources.map((r) => [urnOf(r), r]));
  const providerOf = (r: PolicyInput) => {
    const ref = r.provider ?? "";
    const p = byUrn.get(ref.slice(0, ref.lastIndexOf("::")));
    return p && { type: p.type, name: p.name, urn: urnOf(p), props: proxied(p.props) };
  };

  for (const policy of policies) {
    const policyConfig = config.get(policy.name);
    const configured = policyConfig?.enforcementLevel ?? options.packEnforcementLevel ?? "advisory";
    if (configured === "disabled") continue;
    const level: EnforcementLevel = configured === "remediate" ? "mandatory" : configured;
    const report = (violation: string | ViolationObject, urn?: string) => {
      const v = typeof violation === "string" ? { message: violation, urn } : violation;
      diagnostics.push({
        policyName: policy.name,
        enforcementLevel: v.enforcementLevel ?? level,
        message: v.message,
        ...(v.urn && { urn: v.urn }),
      });
    };
    const getConfig = <T extends object>() => ({ ...policyConfig?.properties }) as T;
    const guard = async (urn: string | undefined, run: () => Promise<void> | void) => {
      try {
        await run();
      } catch (error) {
        if (error instanceof NotApplicable) notApplicable.push({ policyName: policy.name, reason: error.reason });
        else if (error instanceof UnknownValueError) {
          diagnostics.push({
            policyName: policy.name,
            enforcementLevel: "advisory",
            // @pulumi/policy server.js words it so (policyFrom: the pack's name and package version).
            message: `can't run policy '${policy.name}' from policy pack '${PACK_NAME}@v${PACK_VERSION}' during preview: ${error.message}`,
            ...(urn && { urn }),
          });
        } else throw error;
      }
    };

    if (isStackPolicy(policy)) {
      const linked = new Map<string, PolicyResource>();
      for (const r of resources) {
        const props = proxied(r.outputs ?? r.props);
        const provider = providerOf(r);
        linked.set(urnOf(r), {
          type: r.type,
          name: r.name,
          urn: urnOf(r),
          props,
          opts: resourceOptions(r),
          dependencies: [],
          propertyDependencies: {},
          isType: (cls) => isTypeOf(r.type, cls as ResourceClass),
          asType: ((cls: ResourceClass) => (isTypeOf(r.type, cls) ? props : undefined)) as PolicyResource["asType"],
          ...(provider && { provider }),
        });
      }
      for (const r of resources) {
        const self = linked.get(urnOf(r)) as PolicyResource;
        const parent = r.parent ? linked.get(r.parent) : undefined;
        if (parent) self.parent = parent;
        self.dependencies = (r.dependencies ?? []).flatMap((d) => linked.get(d) ?? []);
      }
      const args: StackValidationArgs = {
        resources: [...linked.values()],
        stackTags,
        getConfig,
        notApplicable: throwNotApplicable,
      };
      await guard(undefined, () => policy.validateStack(args, report as never));
      continue;
    }

    const validations = [(policy as ResourceValidationPolicy).validateResource ?? []].flat();
    for (const r of resources) {
      for (const validate of validations) {
        const props = proxied(r.props);
        const provider = providerOf(r);
        const args: ResourceValidationArgs = {
          type: r.type,
          name: r.name,
          urn: urnOf(r),
          props,
          opts: resourceOptions(r),
          stackTags,
          isType: (cls) => isTypeOf(r.type, cls as ResourceClass),
          asType: ((cls: ResourceClass) =>
            isTypeOf(r.type, cls) ? props : undefined) as ResourceValidationArgs["asType"],
          getConfig,
          notApplicable: throwNotApplicable,
          ...(provider && { provider }),
        };
        // A resource policy's violations always name the resource it ran on.
        await guard(urnOf(r), () =>
          validate(args, ((violation: string | ViolationObject) =>
            report(typeof violation === "string" ? { message: violation, urn: urnOf(r) } : violation)) as never),
        );
      }
    }
  }

  return {
    diagnostics,
    mandatory: diagnostics.filter((d) => d.enforcementLevel === "mandatory"),
    advisory: diagnostics.filter((d) => d.enforcementLevel === "advisory"),
    notApplicable,
    messages: (name) => diagnostics.filter((d) => d.policyName === name).map((d) => d.message),
  };
}
