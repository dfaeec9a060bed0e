import type { AccessCase } from "../../components/security/accessMatrix";
import type { MeshConfig } from "../../config/types";
import type { Target } from "../lib/target";
import type { HttpClient } from "./http";
import type { Interval, Verdict } from "./stats";

/** The check names `--only` accepts, in the order a run performs them (see plan.ts for why). */
export const CHECK_NAMES = [
  "control-plane",
  "https",
  "canary-split",
  "beta-header",
  "faults",
  "circuit-breaker",
  "jwt",
  "access-matrix",
  "mtls",
  "egress",
  "observability",
  "rate-limit",
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

/** One table row: a check can report several (e.g. one per fault). */
export interface CheckRow {
  readonly check: CheckName;
  readonly subject: string;
  readonly expected: string;
  readonly observed: string;
  readonly verdict: Verdict | "skip";
  /** For statistical rows: what the verdict rests on. */
  readonly stats?: {
    readonly n: number;
    readonly censored: number;
    readonly pValue: number;
    readonly interval?: Interval;
  };
}

/** What a command run inside a pod printed. */
export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/** The API server, as in-cluster checks use it; the kube client implements it, tests fake it. */
export interface ClusterTransport {
  /** GET a path on the API server (resources, or a service/pod proxy); body as text. */
  get(path: string): Promise<{ readonly status: number; readonly body: string }>;
  /** Runs a command in a container; rejects after timeoutMs (the transport's default when unset). */
  exec(
    namespace: string,
    pod: string,
    container: string,
    command: readonly string[],
    options?: { readonly timeoutMs?: number },
  ): Promise<ExecResult>;
}

export interface VerifyOptions {
  /** Canary-split and abort sample size; the delay sample is a fifth of it. */
  readonly requests: number;
  readonly concurrency: number;
  readonly seed: number;
  readonly offline: boolean;
  readonly alpha: number;
}

/** What the gateway checks use of the resolved target (tools/lib/target.ts). */
export type GatewayTarget = Pick<Target, "url" | "httpsUrl" | "token" | "caCert">;

export interface VerifyContext {
  readonly cfg: MeshConfig;
  readonly target: GatewayTarget;
  readonly options: VerifyOptions;
  readonly http: HttpClient;
  readonly cluster?: ClusterTransport;
  /** The expected access matrix (components/security/accessMatrix.ts). */
  readonly accessCases: readonly AccessCase[];
  readonly progress: (done: number, total: number) => void;
  readonly sleep: (ms: number) => Promise<void>;
  /** Seeded uniform [0, 1): pacing jitter and request ids, so a run can be replayed. */
  readonly random: () => number;
}

export type Check = (ctx: VerifyContext) => Promise<CheckRow[]>;
