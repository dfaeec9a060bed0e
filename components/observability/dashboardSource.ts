import { defaultCacheDir, loadPinnedFiles, type PinnedLoad } from "../pinnedFiles";
import { dashboardUrl, PINNED_DASHBOARDS, type PinnedDashboard } from "./dashboards";

/**
 * Gets the pinned dashboards when the program runs, never when Grafana's pod starts (see
 * pinnedFiles.ts): from the local cache, else from GitHub at the pinned tag, digest-checked. Without
 * a network the program goes on without them (see Observability).
 */

export type DashboardLoad = PinnedLoad;

export interface DashboardSourceOptions {
  readonly fetch?: typeof globalThis.fetch;
  readonly cacheDir?: string;
  readonly timeoutMs?: number;
  /** What to load (default: the pinned Istio dashboards). */
  readonly pins?: readonly PinnedDashboard[];
}

export const defaultDashboardCache = () => defaultCacheDir("dashboards");

export function loadPinnedDashboards(options: DashboardSourceOptions = {}): Promise<DashboardLoad> {
  const pins = (options.pins ?? PINNED_DASHBOARDS).map((d) => ({ ...d, url: dashboardUrl(d.file) }));
  return loadPinnedFiles(pins, {
    cacheDir: options.cacheDir ?? defaultDashboardCache(),
    ...(options.fetch && { fetch: options.fetch }),
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
  });
}
