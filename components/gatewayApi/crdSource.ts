import { defaultCacheDir, loadPinnedFiles, type PinnedLoad, type PinnedSourceOptions } from "../pinnedFiles";
import { GATEWAY_API_CRDS } from "./crds";

/** The pinned CRD files: the local cache, else GitHub at tag v1.5.1, each kept only at its sha256. */
export function loadGatewayApiCrds(options: Partial<PinnedSourceOptions> = {}): Promise<PinnedLoad> {
  return loadPinnedFiles(GATEWAY_API_CRDS, { cacheDir: defaultCacheDir("gateway-api"), ...options });
}
