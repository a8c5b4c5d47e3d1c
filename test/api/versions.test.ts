/** Pipeline versions for replay (src/api/versions.ts) and the promotion registry (src/runtime/promotions.ts). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nobroker } from "../../examples/nobroker/pipeline.js";
import { describeGraph } from "../../src/graph/graph.js";
import { checkVersion, versionOutputs, versionedDefinition } from "../../src/api/versions.js";
import { promotedName, readPromotions, writePromotion } from "../../src/runtime/promotions.js";

test("version v2 of a pipeline has its own name and outputs and reads the same sources", () => {
  const v1 = nobroker();
  const v2 = versionedDefinition(v1, "v2");
  assert.equal(v2.name, "nobroker_v2");
  const d1 = describeGraph(v1.graph);
  const d2 = describeGraph(v2.graph);
  assert.deepEqual(d2.outputs, [
    "paid_user.v2",
    "property_status.v2",
    "possible_broker.v2",
    "nobroker_v2.dlq",
    "nobroker_v2.late",
  ]);
  assert.deepEqual(d2.tables, ["user_interactions_v2", "property_interactions_v2"]);
  assert.deepEqual(d2.datasets, ["interactions_v2", "nobroker_v2_dead_letters"]);
  // The same steps, reading the same topic.
  assert.deepEqual(
    d2.steps.map((s) => s.id),
    d1.steps.map((s) => s.id),
  );
  assert.deepEqual(
    v2.graph.nodes.filter((n) => n.kind === "source").map((n) => (n.kind === "source" ? n.topic : "")),
    ["events"],
  );
  assert.equal(versionedDefinition(v1, "v1"), v1);
});

test("versionOutputs maps each v1 output to its versioned name", () => {
  const o = versionOutputs(nobroker(), "v3");
  assert.equal(o.topics["paid_user"], "paid_user.v3");
  assert.equal(o.topics["nobroker.dlq"], "nobroker_v3.dlq");
  assert.equal(o.tables["user_interactions"], "user_interactions_v3");
  assert.equal(o.datasets["interactions"], "interactions_v3");
  assert.equal(o.datasets["nobroker_dead_letters"], "nobroker_v3_dead_letters");
});

test("version names must be v and a number", () => {
  assert.equal(checkVersion("v12"), "v12");
  for (const bad of ["2", "v", "V2", "v2a", "../v2", ""])
    assert.throws(() => checkVersion(bad), /version must look like v2/);
});

test("promoting writes the registry readers follow; promoting v1 removes it", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "weir-promotions-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.deepEqual(readPromotions(dir), {});
  writePromotion(dir, versionOutputs(nobroker(), "v2"));
  const p = readPromotions(dir);
  assert.equal(p["nobroker"].version, "v2");
  assert.equal(promotedName(p, "topics", "paid_user")?.name, "paid_user.v2");
  assert.equal(promotedName(p, "tables", "user_interactions")?.name, "user_interactions_v2");
  assert.equal(promotedName(p, "datasets", "interactions")?.name, "interactions_v2");
  assert.equal(promotedName(p, "topics", "events"), undefined);
  writePromotion(dir, versionOutputs(nobroker(), "v1"));
  assert.deepEqual(readPromotions(dir), {});
});
