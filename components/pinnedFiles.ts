import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { extname, join } from "node:path";

/**
 * Gets pinned files when the program runs: each from a local cache, else from its pinned URL, kept
 * only when its sha256 is the pinned one. It never throws and never waits longer than `timeoutMs`:
 * without a network it reports what it could not get, and the caller decides whether that is fatal
 * (Grafana's dashboards are optional, the Gateway API CRDs are not).
 */

export interface PinnedFile {
  /** The key of `contents`, and the extension of the cache entry. */
  readonly file: string;
  readonly url: string;
  readonly sha256: string;
}

export interface PinnedLoad {
  /** file → verified content. */
  readonly contents: Readonly<Record<string, string>>;
  /** Files neither cached nor fetched, with why. */
  readonly missing: readonly { readonly file: string; readonly reason: string }[];
}

export interface PinnedSourceOptions {
  readonly fetch?: typeof globalThis.fetch;
  /** Verified files by digest; a hit needs no network. */
  readonly cacheDir: string;
  readonly timeoutMs?: number;
}

/** `$XDG_CACHE_HOME/istio-mesh/<area>`, else `~/.cache/istio-mesh/<area>`. */
export const defaultCacheDir = (area: string) =>
  join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "istio-mesh", area);

export const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

const cachePath = (dir: string, pin: PinnedFile) => join(dir, `${pin.sha256}${extname(pin.file)}`);

async function cached(dir: string, pin: PinnedFile): Promise<string | undefined> {
  try {
    const text = await readFile(cachePath(dir, pin), "utf8");
    return sha256(text) === pin.sha256 ? text : undefined;
  } catch {
    return undefined;
  }
}

async function store(dir: string, pin: PinnedFile, text: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    const temp = join(dir, `${pin.sha256}.${process.pid}.tmp`);
    await writeFile(temp, text, { mode: 0o644 });
    await rename(temp, cachePath(dir, pin));
  } catch {
    // A read-only home only costs the next run a download.
  }
}

async function fetched(
  fetch: typeof globalThis.fetch,
  pin: PinnedFile,
  timeoutMs: number,
): Promise<{ text: string } | { reason: string }> {
  try {
    const response = await fetch(pin.url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return { reason: `HTTP ${response.status} from ${pin.url}` };
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

export async function loadPinnedFiles(pins: readonly PinnedFile[], options: PinnedSourceOptions): Promise<PinnedLoad> {
  const { fetch = globalThis.fetch, cacheDir, timeoutMs = 10_000 } = options;
  const results = await Promise.all(
    pins.map(async (pin) => {
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
