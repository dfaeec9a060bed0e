/**
 * Runs a Pulumi program against Pulumi's own mock monitor and records what the engine would see
 * for every resource: type, name, inputs, outputs, parent, provider, the URNs it depends on and
 * deletedWith. The stock mocks do not expose dependencies, so registerResource is wrapped to read
 * them off the RegisterResourceRequest the SDK sends. The tests run the program with it, and
 * `npm run policy` evaluates the policy pack over what it records, without an engine.
 */
import * as pulumi from "@pulumi/pulumi";
import { isUnknown } from "@pulumi/pulumi/output";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { deserializeProperties, unknownValue } from "@pulumi/pulumi/runtime/rpc";

// Marked @internal, so not in the .d.ts: the SDK's own "every RPC has drained" signal.
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };

export interface Registered {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  /**
   * The state the engine holds after the step: what AnalyzeStack hands a stack policy. In a preview
   * whose provider configuration is not known yet, the engine keeps an empty map (see outputsOf).
   */
  readonly outputs: Record<string, unknown>;
  readonly parent: string;
  readonly provider: string;
  readonly dependencies: readonly string[];
  /** URN of the resource this one is deleted with, or "" (the deletedWith option). */
  readonly deletedWith: string;
  /** Resource options the engine (and so a policy pack) sees. */
  readonly options: RegisteredOptions;
}

export interface RegisteredOptions {
  readonly protect: boolean;
  readonly ignoreChanges: readonly string[];
  readonly additionalSecretOutputs: readonly string[];
  readonly deleteBeforeReplace?: boolean;
  readonly aliases: readonly string[];
}

export interface MockRun {
  readonly resources: readonly Registered[];
  /** The one resource of `type` named `name`; throws when missing, so tests fail loudly. */
  get(type: string, name: string): Registered;
  ofType(type: string): readonly Registered[];
  /** True when `from` lists `to` among its dependencies (dependsOn or inputs). */
  dependsOn(from: Registered, to: Registered): boolean;
}

export interface MockOptions {
  /** Flat config, `istio-mesh:key` → string, as `pulumi config` stores it. */
  readonly config?: Record<string, string>;
  readonly preview?: boolean;
  /** The stack name the program sees (pulumi.getStack()); "test" when unset. */
  readonly stack?: string;
  /** Leave command outputs unknown, as in the first preview of a new stack. */
  readonly unknownCommandOutputs?: boolean;
  /** Outputs a provider would compute (keys, certificates) for a resource, beyond its inputs. */
  readonly generatedOutputs?: (type: string, name: string) => Record<string, unknown>;
}

type RegisterRequest = {
  getType(): string;
  getName(): string;
  getParent(): string;
  getProvider(): string;
  getDependenciesList(): string[];
  getDeletedwith(): string;
  getObject(): Parameters<typeof deserializeProperties>[0];
  getProtect(): boolean | undefined;
  getIgnorechangesList(): string[];
  getAdditionalsecretoutputsList(): string[];
  getDeletebeforereplace(): boolean;
  getDeletebeforereplacedefined(): boolean;
  getAliasurnsList(): string[];
};
type RegisterResponse = { getUrn(): string; getObject(): Parameters<typeof deserializeProperties>[0] | undefined };
type Callback = (err: unknown, resp?: RegisterResponse) => void;

let sink: Registered[] = [];

const outputsOf = (resp: RegisterResponse): Record<string, unknown> => {
  const state = resp.getObject();
  return state ? (deserializeProperties(state) as Record<string, unknown>) : {};
};
const monitor = MockMonitor.prototype as unknown as {
  registerResource(req: RegisterRequest, cb: Callback): Promise<void>;
};
const original = monitor.registerResource;
monitor.registerResource = function (this: unknown, req: RegisterRequest, callback: Callback) {
  const inputs = deserializeProperties(req.getObject()) as Record<string, unknown>;
  return original.call(this, req, (err, resp) => {
    if (!err && resp) {
      sink.push({
        urn: resp.getUrn(),
        type: req.getType(),
        name: req.getName(),
        inputs,
        outputs: outputsOf(resp),
        parent: req.getParent(),
        provider: req.getProvider(),
        dependencies: req.getDependenciesList(),
        deletedWith: req.getDeletedwith(),
        options: {
          protect: req.getProtect() ?? false,
          ignoreChanges: req.getIgnorechangesList(),
          additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
          ...(req.getDeletebeforereplacedefined() && { deleteBeforeReplace: req.getDeletebeforereplace() }),
          aliases: req.getAliasurnsList(),
        },
      });
    }
    callback(err, resp);
  });
};

export const RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword";
export const RANDOM_ID = "random:index/randomId:RandomId";
/** What a RandomId's `hex` is under these mocks: fixed, so tests can name the kind cluster's owner label. */
export const MOCK_RANDOM_HEX = "0123456789abcdef";

export const FAKE_KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n# fake, from the mock engine\n";

/** `type::name` of a provider reference (`<urn>::<id>`), e.g. `pulumi:providers:kubernetes::kind`. */
function providerKey(reference: string): string {
  const urn = reference.slice(0, reference.lastIndexOf("::"));
  const [, , typePath = "", name = ""] = urn.split("::");
  return `${typePath.split("$").pop()}::${name}`;
}

const hasUnknown = (value: unknown): boolean =>
  isUnknown(value) ||
  (typeof value === "object" && value !== null && Object.values(value as Record<string, unknown>).some(hasUnknown));

function mocks(options: MockOptions): pulumi.runtime.Mocks {
  const preview = options.preview ?? false;
  // Providers whose configuration holds an unknown value (the kubeconfig of a cluster not created yet).
  const unconfigured = new Set<string>();
  return {
    newResource(args) {
      if (args.type.startsWith("pulumi:providers:") && hasUnknown(args.inputs)) {
        unconfigured.add(`${args.type}::${args.name}`);
      }
      // pulumi/pulumi pkg/resource/plugin/provider_plugin.go, Create/Update: in a preview, a provider
      // whose configuration is not fully known hands back an empty property map, which the engine
      // keeps as the resource's outputs (and the SDK reads as every output unknown).
      if (preview && args.provider && unconfigured.has(providerKey(args.provider))) {
        return { id: `${args.name}-id`, state: {} };
      }
      // A fresh stack's first preview knows neither the kubeconfig nor generated keys: missing outputs stay unknown.
      const generated = options.unknownCommandOutputs ? {} : (options.generatedOutputs?.(args.type, args.name) ?? {});
      const state: Record<string, unknown> = { ...args.inputs, ...generated };
      if (args.type === "command:local:Command") {
        state.stdout = options.unknownCommandOutputs ? unknownValue : FAKE_KUBECONFIG;
        state.stderr = "";
      }
      // The provider generates it; the engine would hand it back as a secret.
      if (args.type === RANDOM_PASSWORD) state.result = `mock-${args.name}`;
      if (args.type === RANDOM_ID && !options.unknownCommandOutputs) state.hex = MOCK_RANDOM_HEX;
      return { id: `${args.name}-id`, state };
    },
    call: (args) => args.inputs,
  };
}

/**
 * Sets mocks and config, runs `program`, and waits until every registration has reached the mock
 * engine. A program that throws is reported in `error`, beside whatever it registered first.
 *
 * The mocks, the config and the record of registrations are process-wide, so runs take turns: a call
 * made while another run is under way starts when that one has finished (the tests start runs from
 * several suites at once when npm test loads many files into one process, tests/support/shards.ts).
 */
export function runWithMocks<T>(
  program: () => T,
  options: MockOptions = {},
): Promise<MockRun & { readonly result?: T; readonly error?: unknown }> {
  const run = previousRun.then(() => runAlone(program, options));
  previousRun = run.catch(() => undefined);
  return run;
}

let previousRun: Promise<unknown> = Promise.resolve();

/**
 * The SDK takes a stack trace for every resource (its source position, for the engine) and for every
 * input it awaits (debuggablePromise, kept for its leak report). A mock engine reads none of them:
 * MockMonitor drops the source position, and a run's errors are reported by their message. Yet
 * formatting those stacks was most of a run's CPU: under tsx each is mapped back to the .ts sources
 * (~40% of a dev stack run), and with source maps off the awaited inputs' frames were ~40% of what was
 * left (~0.37 → ~0.25 s of CPU a dev stack run, runs 3–12 of 12 in one process). So while a run is under way,
 * source maps are off and errors carry no frames (Error.stackTraceLimit = 0; the SDK lifts the limit
 * itself for a resource's source position); both are back as they were after it. An error created
 * meanwhile elsewhere in the process (another suite's failure) has no frames either.
 */
async function runAlone<T>(
  program: () => T,
  options: MockOptions,
): Promise<MockRun & { readonly result?: T; readonly error?: unknown }> {
  const sourceMaps = process.sourceMapsEnabled;
  const stackTraceLimit = Error.stackTraceLimit;
  process.setSourceMapsEnabled(false);
  Error.stackTraceLimit = 0;
  try {
    return await runRecorded(program, options);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
    process.setSourceMapsEnabled(sourceMaps);
  }
}

async function runRecorded<T>(
  program: () => T,
  options: MockOptions,
): Promise<MockRun & { readonly result?: T; readonly error?: unknown }> {
  sink = [];
  await pulumi.runtime.setMocks(mocks(options), "istio-mesh", options.stack ?? "test", options.preview ?? false);
  pulumi.runtime.setAllConfig(options.config ?? {}, []);
  let outcome: { result: T } | { error: unknown };
  try {
    outcome = { result: program() };
  } catch (error) {
    outcome = { error };
  }
  await waitForRPCs();
  return { ...inspect([...sink]), ...outcome };
}

export function inspect(resources: readonly Registered[]): MockRun {
  const ofType = (type: string) => resources.filter((r) => r.type === type);
  return {
    resources,
    ofType,
    get(type, name) {
      const found = ofType(type).filter((r) => r.name === name);
      if (found.length !== 1) {
        const names = ofType(type).map((r) => r.name);
        throw new Error(`expected one ${type} named ${name}, found ${found.length} (have: ${names.join(", ")})`);
      }
      return found[0] as Registered;
    },
    dependsOn: (from, to) => from.dependencies.includes(to.urn),
  };
}

/** Resolves an Output in tests; unknown values come back as undefined. */
export function resolved<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((v) => resolve(v)));
}

export { unknownValue };
