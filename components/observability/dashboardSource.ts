import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { dashboardUrl, PINNED_DASHBOARDS, type PinnedDashboard } from "./dashboards";

/**
 * Gets the pinned dashboards when the program runs, never when Grafana's pod starts: each from a
 * local cache, else from GitHub (raw.githubusercontent.com at the pinned tag), kept only when its
 * sha256 is the pinned one. It never throws and never waits longer than `timeoutMs`: without a
 * network (a plane, CI without egress, these tests) it reports what it could not get, and the
 * program goes on (see Observability).
 */

export interface DashboardLoad {
  /** file → verified content. */
  readonly contents: Readonly<Record<string, string>>;
  /** Dashboards neither cached nor fetched, with why. */
  readonly missing: readonly { readonly file: string; readonly reason: string }[];
}

export interface DashboardSourceOptions {
  readonly fetch?: typeof globalThis.fetch;
  /** Verified dashboards by digest; a hit needs no network. */
  readonly cacheDir?: string;
  readonly timeoutMs?: number;
  /** What to load (default: the pinned Istio dashboards). */
  readonly pins?: readonly PinnedDashboard[];
}

export const defaultDashboardCache = () =>
  join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "istio-mesh", "dashboards");

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

async function cached(dir: string, pin: PinnedDashboard): Promise<string | undefined> {
  try {
    const text = await readFile(join(dir, `${pin.sha256}.json`), "utf8");
    return sha256(text) === pin.sha256 ? text : undefined;
  } catch {
    return undefined;
  }
}

async function store(dir: string, pin: PinnedDashboard, text: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    const temp = join(dir, `${pin.sha256}.${process.pid}.tmp`);
    await writeFile(temp, text, { mode: 0o644 });
    await rename(temp, join(dir, `${pin.sha256}.json`));
  } catch {
    // A read-only home only costs the next run a download.
  }
}

async function fetched(
  fetch: typeof globalThis.fetch,
  pin: PinnedDashboard,
  timeoutMs: number,
): Promise<{ text: string } | { reason: string }> {
  try {
    const response = await fetch(dashboardUrl(pin.file), { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return { reason: `HTTP ${response.status} from ${dashboardUrl(pin.file)}` };
    const text = await response.text();
    const digest = sha256(text);
    return digest === pin.sha256 ? { text } : { reason: `sha256 ${digest}, pinned ${pin.sha256}: refused` };
  } catch (error) {
    const e = error as { name?: string; cause?: { code?: string }; message?: string };
    return {
      reason:
        e.name === "TimeoutError" ? `no answer in ${timeoutMs} ms` : (e.cause?.code ?? e.message ?? String(error)),
    };
  }
}

export async function loadPinnedDashboards(options: DashboardSourceOptions = {}): Promise<DashboardLoad> {
  const { fetch = globalThis.fetch, cacheDir = defaultDashboardCache(), timeoutMs = 10_000 } = options;
  const results = await Promise.all(
    (options.pins ?? PINNED_DASHBOARDS).map(async (pin) => {
      const hit = await cached(cacheDir, pin);
      if (hit !== undefined) return { pin, text: hit };
      const got = await fetched(fetch, pin, timeoutMs);
      if ("text" in got) await store(cacheDir, pin, got.text);
      return { pin, ...got };
    }),
  );
  const contents: Record<string, string> = {};
  const missing: { file: string; reason: string }[] = [];
  for (const r of results) {
    if ("text" in r && r.text !== undefined) contents[r.pin.file] = r.text;
    else missing.push({ file: r.pin.file, reason: "reason" in r ? r.reason : "unknown" });
  }
  return { contents, missing };
}
