import assert from "node:assert/strict";
import { test } from "node:test";
import { deployMesh } from "../components/mesh";
import { projectConfig } from "../config/readers";
import { devStackConfig, meshConfig } from "./support/configs";
import { type Registered, runWithMocks } from "./support/mockEngine";
import { T } from "./support/types";

/** URN → inputs, for comparing what two configs ask the engine for. */
async function inputsByUrn(raw: Record<string, unknown>) {
  const run = await runWithMocks(() => deployMesh(meshConfig(raw)));
  return new Map(
    run.resources.map((r: Registered) => [r.urn, { label: `${r.type}::${r.name}`, inputs: JSON.stringify(r.inputs) }]),
  );
}

test("shifting the canary to 75/25 changes the routing objects and nothing else", async () => {
  const dev = projectConfig(devStackConfig());
  const before = await inputsByUrn(dev);
  const after = await inputsByUrn({ ...dev, canaryWeights: { v1: 75, v2: 25 } });

  assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort(), "the same resources exist");
  const changed = [...before].filter(([urn, b]) => after.get(urn)?.inputs !== b.inputs).map(([urn]) => urn);
  assert.deepEqual(changed.map((urn) => before.get(urn)?.label).sort(), [
    `${T.virtualService}::app-routes`,
    `${T.virtualService}::user-service`,
  ]);
  const ingress = changed.find((urn) => urn.endsWith("::app-routes")) ?? "";
  assert.match(after.get(ingress)?.inputs ?? "", /"subset":"v2"},"weight":25/);
  assert.ok(!changed.some((urn) => urn.includes(T.deployment) || urn.includes(T.destinationRule)));
});
