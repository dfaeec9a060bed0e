/**
 * One mock run of the dev stack's mesh (`deployMesh(devConfig())`) per process, for the tests that
 * only read what it registered. Each run costs ~1 s of CPU; `npm test`'s shards import several files
 * that need exactly this run, and now share it.
 */
import { deployMesh } from "../../components/mesh";
import { devConfig } from "./configs";
import { runWithMocks } from "./mockEngine";

let devRun: ReturnType<typeof runWithMocks<ReturnType<typeof deployMesh>>> | undefined;

export const devMeshRun = () => (devRun ??= runWithMocks(() => deployMesh(devConfig())));
