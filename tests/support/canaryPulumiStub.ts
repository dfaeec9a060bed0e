/**
 * A stand-in `pulumi` CLI on PATH, as strict as the real one on what the canary (through the Automation
 * API, @pulumi/pulumi 3.270.0 automation/{cmd,localWorkspace,stack}.js) and tools/lib/target.ts send it.
 * Each behaviour follows pulumi/pulumi's source:
 *
 *   - `version` prints a version (cmd.js PulumiCommand.get runs it first and parses it).
 *   - `stack select --stack ""` under --non-interactive fails with NoStackSelectedError, "no stack
 *     selected; specify a stack name with --stack" (pkg/cmd/pulumi/stack/stack_select.go,
 *     pkg/backend/backenderr/backenderr.go); an unknown name is "no stack named '<name>' found".
 *     Other commands with an empty --stack use the selected stack, or fail the same way.
 *   - A stack whose Pulumi.<stack>.yaml has `encryptionsalt` uses the passphrase secrets manager: `up`,
 *     and decrypting any secret (config or outputs with --show-secrets), need PULUMI_CONFIG_PASSPHRASE
 *     or PULUMI_CONFIG_PASSPHRASE_FILE, else "passphrase must be set with PULUMI_CONFIG_PASSPHRASE or
 *     PULUMI_CONFIG_PASSPHRASE_FILE environment variables" (pkg/secrets/passphrase/manager.go);
 *     `config set-all --plaintext` needs no passphrase and succeeds, as the issue observed.
 *   - `up` refuses while a lock file exists under the file backend's .pulumi/locks/organization/<project>/<stack>/
 *     (pkg/backend/diy/lock.go checkForLock), and fails when its --policy-pack directory is missing.
 *   - The first SIGINT/SIGTERM during `up` prints "^C received; cancelling. If you would like to terminate
 *     immediately, press ^C again." and cancels; a second prints "^C received; terminating" and exits at
 *     once (pkg/backend/cancellation_scope.go). A cancelled update ends with "error: update canceled".
 *   - Stack tags: names ≤ 40 of [a-zA-Z0-9-_.:], values ≤ 256 (pkg/util/validation/stack.go); `stack tag
 *     get` of a missing tag fails "stack tag '<name>' not found for stack '<stack>'" (stack_tag.go).
 *   - Errors go to stderr as "error: …"; exit 6 for a missing or unselected stack, 1 otherwise
 *     (pkg/cmd/pulumi/cmd/exit_codes.go ExitCodeFor: ExitStackNotFound, ExitCodeError).
 *
 * Every call is logged to `<state>/calls.jsonl` ({args, passphrase}); every signal to `<state>/signals.log`.
 * The stack's deployed weights change only when an `up` succeeds (`<state>/state.json` deployed).
 */
import * as fs from "node:fs";
import * as path from "node:path";

export interface StubStack {
  readonly outputs: Record<string, unknown>;
  /** Output names Pulumi stores as secrets. */
  readonly secretOutputs: readonly string[];
  tags: Record<string, string>;
  /** The canaryWeights the cluster runs: changed by a successful `up` only. */
  deployed: Record<string, number>;
  updates: number;
}

export interface StubKnobs {
  /** The next N `up`s fail as a resource error would. */
  failUps?: number;
  /** A mandatory policy rejects canary weights at or above this share. */
  policyMaxCanary?: number;
  /** The next N `up`s take `upMs` each (others are instant); each writes "up started" to the call log first. */
  slowUps?: number;
  upMs?: number;
}

export interface StubState {
  current: string | null;
  stacks: Record<string, StubStack>;
  knobs: StubKnobs;
}

const STUB = String.raw`
const fs = require("node:fs");
const path = require("node:path");
const YAML = require(process.env.STUB_YAML_MODULE);
const stateDir = process.env.STUB_PULUMI_STATE;
const statePath = path.join(stateDir, "state.json");
const load = () => JSON.parse(fs.readFileSync(statePath, "utf8"));
const save = (s) => fs.writeFileSync(statePath, JSON.stringify(s, null, 2));
const argv = process.argv.slice(2);
const passphrase = process.env.PULUMI_CONFIG_PASSPHRASE !== undefined || !!process.env.PULUMI_CONFIG_PASSPHRASE_FILE;
fs.appendFileSync(path.join(stateDir, "calls.jsonl"), JSON.stringify({ args: argv, passphrase }) + "\n");
const fail = (msg, code = 1) => { process.stderr.write("error: " + msg + "\n"); process.exit(code); };
const flag = (name) => { const i = argv.indexOf(name); return i < 0 ? undefined : argv[i + 1] ?? ""; };
const has = (name) => argv.includes(name);
const positional = argv.filter((a, i) => !a.startsWith("--") && !(argv[i - 1] || "").match(/^--(stack|policy-pack|policy-pack-config|color|exec-kind|page-size|page)$/));
const state = load();
const cwd = process.cwd();
const PASSPHRASE = "passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables";
const NO_STACK = "no stack selected; specify a stack name with --stack";

function stackName() {
  const s = flag("--stack");
  if (s === undefined || s === "") { if (state.current) return state.current; fail(NO_STACK, 6); }
  if (!state.stacks[s]) fail("no stack named '" + s + "' found", 6);
  return s;
}
const stackFile = (name) => path.join(cwd, "Pulumi." + name + ".yaml");
const readSettings = (name) => fs.existsSync(stackFile(name)) ? (YAML.parse(fs.readFileSync(stackFile(name), "utf8")) || {}) : {};
const needsPassphrase = (name) => readSettings(name).encryptionsalt !== undefined && !passphrase;

if (argv[0] === "version") { console.log("v3.270.0"); process.exit(0); }
const cmd = positional.slice(0, 2).join(" ");

if (cmd === "stack ls") {
  console.log(JSON.stringify(Object.keys(state.stacks).map((name) => ({ name, current: name === state.current, updateInProgress: false, resourceCount: 40 }))));
} else if (cmd === "stack select") {
  const s = flag("--stack") ?? positional[2];
  if (!s) { if (has("--non-interactive") || !process.stdin.isTTY) fail(NO_STACK, 6); }
  if (!state.stacks[s]) fail("no stack named '" + s + "' found", 6);
  state.current = s; save(state);
} else if (cmd === "stack output") {
  const name = stackName();
  const st = state.stacks[name];
  const show = has("--show-secrets");
  if (show && st.secretOutputs.length > 0 && needsPassphrase(name)) fail(PASSPHRASE);
  const out = Object.fromEntries(Object.entries(st.outputs).map(([k, v]) => [k, !show && st.secretOutputs.includes(k) ? "[secret]" : v]));
  console.log(JSON.stringify(out, null, 2));
} else if (cmd === "stack tag") {
  const name = stackName();
  const st = state.stacks[name];
  const verb = positional[2];
  if (verb === "ls" || verb === "list") console.log(JSON.stringify(st.tags));
  else if (verb === "get") { const t = positional[3]; if (st.tags[t] === undefined) fail("stack tag '" + t + "' not found for stack '" + name + "'"); console.log(st.tags[t]); }
  else if (verb === "set") {
    const [t, v] = [positional[3], positional[4]];
    if (!/^[a-zA-Z0-9-_.:]{1,40}$/.test(t)) fail("stack tag names may only contain alphanumerics, hyphens, underscores, periods, or colons");
    if (v.length > 256) fail("stack tag \"" + t + "\" value is too long (max length 256 characters)");
    st.tags[t] = v; save(state);
  } else fail("stub: unexpected stack tag " + verb);
} else if (cmd === "stack history") {
  const st = state.stacks[stackName()];
  console.log(JSON.stringify(st.updates === 0 ? [] : [{ version: st.updates, kind: "update", result: "succeeded", startTime: "2026-01-01T00:00:00Z", endTime: "2026-01-01T00:00:10Z", message: "", environment: {}, config: {} }]));
} else if (positional[0] === "config" && (positional.length === 1 || positional[1] === "set-all")) {
  const name = stackName();
  const settings = readSettings(name);
  settings.config = settings.config || {};
  if (positional[1] === "set-all") {
    for (let i = 0; i < argv.length; i++) {
      if (argv[i] !== "--plaintext" && argv[i] !== "--secret") continue;
      if (argv[i] === "--secret" && needsPassphrase(name)) fail(PASSPHRASE);
      const pair = argv[i + 1];
      const eq = pair.indexOf("=");
      const key = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (has("--path")) {
        const [top, ...rest] = key.split(".");
        let node = (settings.config[top] = settings.config[top] || {});
        for (const p of rest.slice(0, -1)) node = node[p] = node[p] || {};
        node[rest[rest.length - 1]] = /^-?\d+$/.test(value) ? Number(value) : value;
      } else settings.config[key] = value;
    }
    fs.writeFileSync(stackFile(name), YAML.stringify(settings));
  } else {
    const show = has("--show-secrets");
    const entries = Object.entries(settings.config);
    if (show && entries.some(([, v]) => v && typeof v === "object" && "secure" in v) && needsPassphrase(name)) fail(PASSPHRASE);
    console.log(JSON.stringify(Object.fromEntries(entries.map(([k, v]) => {
      const secret = !!(v && typeof v === "object" && "secure" in v);
      if (secret) return [k, { value: show ? "decrypted" : "[secret]", secret }];
      return [k, typeof v === "object" ? { value: JSON.stringify(v), objectValue: v, secret } : { value: String(v), secret }];
    }))));
  }
} else if (positional[0] === "up") {
  const name = stackName();
  if (!has("--yes") && !process.stdin.isTTY) fail("--yes or --skip-preview must be passed in to proceed when running in non-interactive mode");
  if (needsPassphrase(name)) fail("getting secrets manager: " + PASSPHRASE);
  const lockDir = path.join(cwd, ".pulumi-state", ".pulumi", "locks", "organization", "istio-mesh", name);
  const locks = fs.existsSync(lockDir) ? fs.readdirSync(lockDir) : [];
  if (locks.length > 0) fail("the stack is currently locked by " + locks.length + " lock(s). Either wait for the other process(es) to end or delete the lock file with \x60pulumi cancel\x60.");
  const pack = flag("--policy-pack");
  if (pack !== undefined && !fs.existsSync(pack)) fail("failed to load policy pack " + pack + ": no such directory");
  const weights = readSettings(name).config?.["istio-mesh:canaryWeights"] || {};
  const knobs = state.knobs;
  const slow = knobs.slowUps > 0;
  if (slow) { knobs.slowUps--; save(state); }
  console.log("Updating (" + name + "):");
  fs.appendFileSync(path.join(stateDir, "calls.jsonl"), JSON.stringify({ event: "up started" }) + "\n");
  let signals = 0;
  const onSignal = (sig) => {
    signals++;
    fs.appendFileSync(path.join(stateDir, "signals.log"), sig + "\n");
    const shown = sig === "SIGTERM" ? "SIGTERM" : "^C";
    if (signals === 1) {
      process.stdout.write(shown + " received; cancelling. If you would like to terminate immediately, press ^C again.\nNote that terminating immediately may lead to orphaned resources and other inconsistencies.\n");
      setTimeout(() => fail("update canceled"), 200);
    } else {
      process.stdout.write(shown + " received; terminating\n");
      process.exit(1);
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  setTimeout(() => {
    if (signals > 0) return;
    if (knobs.failUps > 0) {
      knobs.failUps--; save(state);
      console.log(" ~ kubernetes:networking.istio.io/v1:VirtualService app-routes updating failed");
      fail("update failed");
    }
    const canary = Number(weights.v2 ?? 0);
    if (knobs.policyMaxCanary !== undefined && canary >= knobs.policyMaxCanary) {
      console.log("Policies:\n    ❌ istio-mesh-guardrails@v0.0.1 (local: policies)\n        - [mandatory]  canary-weight-limit  (kubernetes:networking.istio.io/v1:VirtualService: app-routes)\n          canary share " + canary + "% is above " + knobs.policyMaxCanary + "%");
      fail("update failed");
    }
    const s = load();
    s.stacks[name].deployed = weights;
    s.stacks[name].updates++;
    save(s);
    console.log(" ~ kubernetes:networking.istio.io/v1:VirtualService app-routes updated\n ~ kubernetes:networking.istio.io/v1:VirtualService user-service updated\nResources:\n    ~ 2 updated\n");
    process.exit(0);
  }, slow ? knobs.upMs ?? 0 : 0);
} else {
  process.stderr.write("pulumi stub: unexpected " + argv.join(" ") + "\n");
  process.exit(2);
}
`;

export interface StubPulumi {
  /** Prepend to PATH. */
  readonly bin: string;
  readonly stateDir: string;
  /** The environment the stub needs (its state dir, the yaml module). */
  readonly env: Record<string, string>;
  state(): StubState;
  update(change: (s: StubState) => void): void;
  /** Every call's arguments, in order. */
  calls(): string[][];
  /** Whether each call had a passphrase in its environment. */
  callRecords(): { args?: string[]; passphrase?: boolean; event?: string }[];
  signals(): string[];
}

export function stubPulumi(dir: string, initial: StubState): StubPulumi {
  const bin = path.join(dir, "bin");
  const stateDir = path.join(dir, "pulumi-state");
  fs.mkdirSync(bin, { recursive: true });
  fs.mkdirSync(stateDir, { recursive: true });
  fs.writeFileSync(path.join(bin, "pulumi"), `#!${process.execPath}\n${STUB}`, { mode: 0o755 });
  const statePath = path.join(stateDir, "state.json");
  fs.writeFileSync(statePath, JSON.stringify(initial, null, 2));
  fs.writeFileSync(path.join(stateDir, "calls.jsonl"), "");
  fs.writeFileSync(path.join(stateDir, "signals.log"), "");
  const records = () =>
    fs
      .readFileSync(path.join(stateDir, "calls.jsonl"), "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as { args?: string[]; passphrase?: boolean; event?: string });
  return {
    bin,
    stateDir,
    env: { STUB_PULUMI_STATE: stateDir, STUB_YAML_MODULE: require.resolve("yaml") },
    state: () => JSON.parse(fs.readFileSync(statePath, "utf8")) as StubState,
    update(change) {
      const s = JSON.parse(fs.readFileSync(statePath, "utf8")) as StubState;
      change(s);
      fs.writeFileSync(statePath, JSON.stringify(s, null, 2));
    },
    calls: () => records().flatMap((r) => (r.args ? [r.args] : [])),
    callRecords: records,
    signals: () =>
      fs
        .readFileSync(path.join(stateDir, "signals.log"), "utf8")
        .split("\n")
        .filter((l) => l !== ""),
  };
}
