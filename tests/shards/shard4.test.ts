// Shard 4 of npm test's test files; see tests/support/shards.ts.
import { runShard } from "../support/shards";

runShard(4);
