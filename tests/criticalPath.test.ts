import assert from "node:assert/strict";
import { test } from "node:test";
import { criticalPath, typicalSeconds } from "../scripts/dev/critical-path";
import type { Registered } from "./support/mockEngine";

const node = (name: string, type: string, dependencies: string[] = [], provider = ""): Registered => ({
  urn: name,
  type,
  name,
  inputs: {},
  parent: "",
  provider,
  dependencies,
  deletedWith: "",
});

test("the critical path follows the slowest chain of waits, providers included", () => {
  const resources = [
    node("cluster", "command:local:Command"),
    node("provider", "pulumi:providers:kubernetes", ["cluster"]),
    node("ns", "kubernetes:core/v1:Namespace", [], "provider::id"),
    node("istiod", "kubernetes:helm.sh/v3:Release", ["ns"], "provider::id"),
    node("app", "kubernetes:apps/v1:Deployment", ["istiod"], "provider::id"),
    node("route", "kubernetes:networking.istio.io/v1:VirtualService", ["istiod"], "provider::id"),
  ];
  const chain = criticalPath(resources, (r) => typicalSeconds(r.type));
  assert.deepEqual(
    chain.resources.map((r) => r.name),
    ["cluster", "provider", "ns", "istiod", "app"],
  );
  assert.equal(chain.seconds, 45 + 0 + 1 + 30 + 25);
});
