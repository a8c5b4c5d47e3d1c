/**
 * Checkpoints record what each stateful step's state means (src/runtime/step-identity.ts, issue 13
 * item 4): a changed pipeline never restores one step's state into another step.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { pipeline, schema, TestDriver, windows, WeirError } from "../../src/index.js";
import { stepIdentities } from "../../src/runtime/step-identity.js";

const Ev = schema.object({ user: schema.int(), property: schema.int(), at: schema.timestamp() });
const ev = (user: number, property: number, sec: number) => ({
  user,
  property,
  at: new Date(Date.UTC(2021, 10, 30) + sec * 1000).toISOString(),
});

/** A running count per user, to topic `users`. */
const v1 = pipeline("evolve", (p) => {
  p.source("in", { schema: Ev, eventTime: (e) => e.at })
    .keyBy((e) => e.user)
    .count()
    .toStream()
    .to("users");
});

/** v1 with a count per property added before the user count: the generated ids shift. */
const v2 = pipeline("evolve", (p) => {
  const events = p.source("in", { schema: Ev, eventTime: (e) => e.at });
  events
    .keyBy((e) => e.property)
    .count()
    .toStream()
    .to("properties");
  events
    .keyBy((e) => e.user)
    .count()
    .toStream()
    .to("users");
});

function v1State() {
  const t = new TestDriver(v1);
  t.sendAll("in", [ev(1, 10, 0), ev(1, 10, 1), ev(2, 20, 2)]);
  return { t, state: t.snapshot() };
}

function refusal(fn: () => unknown): WeirError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof WeirError, `a WeirError, got ${String(err)}`);
    return err;
  }
  assert.fail("the restore was not refused");
}

test("a checkpoint records each stateful step's identity: kind, aggregation, key, window, input topics", () => {
  const def = pipeline("ids", (p) => {
    const events = p.source("in", { schema: Ev, eventTime: (e) => e.at });
    events
      .keyBy((e) => e.user)
      .window(windows.tumbling("1m"))
      .sum((e) => e.property, { name: "per-minute" })
      .toStream()
      .to("out");
  });
  const ids = stepIdentities(def.graph);
  assert.deepEqual(Object.keys(ids), ["per-minute"]);
  const id = ids["per-minute"];
  assert.equal(id.kind, "aggregate");
  assert.match(id.what, /^sum\(.*e\.property.*\)$/);
  assert.match(id.key, /e\.user/);
  assert.equal(id.window, "tumbling(60000ms)");
  assert.equal(id.input, "in");
  assert.deepEqual(new TestDriver(def).snapshot().identities, ids);
});

test("adding a count before an existing one is refused with one line naming the step that changed", () => {
  const { state } = v1State();
  const err = refusal(() => new TestDriver(v2).restart(state));
  assert.equal(err.code, "INCOMPATIBLE_STATE");
  assert.ok(err.isUserError);
  assert.doesNotMatch(err.message, /\n/);
  assert.match(
    err.message,
    /^pipeline evolve cannot resume from its checkpoint: step count-1 changed: key was .*e\.user.*, now .*e\.property/,
  );
  assert.match(err.message, /--drop-state/);
  assert.match(err.message, /\{ name/);
});

test("named stateful steps keep their state when steps are added before them", () => {
  const named = (withProperty: boolean) =>
    pipeline("evolve", (p) => {
      const events = p.source("in", { schema: Ev, eventTime: (e) => e.at });
      if (withProperty)
        events
          .keyBy((e) => e.property)
          .count({ name: "per-property" })
          .toStream()
          .to("properties");
      events
        .filter((e) => e.user > 0) // a filter before the count does not change what its state means
        .keyBy((e) => e.user)
        .count({ name: "per-user" })
        .toStream()
        .to("users");
    });
  const t = new TestDriver(named(false));
  t.sendAll("in", [ev(1, 10, 0), ev(1, 10, 1)]);
  t.restart(t.snapshot(), { definition: named(true) });
  t.send("in", ev(1, 10, 2));
  assert.deepEqual(t.readValues("users").at(-1), { key: 1, value: 3 }, "the user count went on");
  assert.deepEqual(t.readValues("properties"), [{ key: 10, value: 1 }], "the new step started empty");
});

test("--drop-state starts the named steps empty; the others keep their state", () => {
  const { state } = v1State();
  const t = new TestDriver(v2).restart(state, { changes: { drop: ["count-1"] } });
  t.send("in", ev(1, 10, 3));
  assert.deepEqual(t.readValues("properties"), [{ key: 10, value: 1 }], "count-1 (per property) empty");
  assert.deepEqual(t.readValues("users"), [{ key: 1, value: 1 }], "count-2 is new: empty too");
});

test("--rename-state gives a step's state to the step that now has it", () => {
  const { state } = v1State();
  // v1's count-1 (per user) is v2's count-2; v2's count-1 (per property) is new.
  const t = new TestDriver(v2).restart(state, { changes: { rename: { "count-1": "count-2" } } });
  t.send("in", ev(1, 10, 3));
  assert.deepEqual(t.readValues("users"), [{ key: 1, value: 3 }]);
  assert.deepEqual(t.readValues("properties"), [{ key: 10, value: 1 }]);
  // Renaming onto a step of another identity is refused.
  const err = refusal(() =>
    new TestDriver(v2).restart(state, { changes: { rename: { "count-1": "count-1" } } }),
  );
  assert.match(err.message, /step count-1 changed/);
  const missing = refusal(() =>
    new TestDriver(v2).restart(state, { changes: { rename: { "count-1": "nope" } } }),
  );
  assert.match(missing.message, /--rename-state count-1=nope: the pipeline has no stateful step nope/);
});

test("a stateful step that is gone is refused unless dropped; a window change is refused; lateness is not identity", () => {
  const windowed = (size: string, lateness?: string) =>
    pipeline("evolve", (p) => {
      p.source("in", { schema: Ev, eventTime: (e) => e.at })
        .keyBy((e) => e.user)
        .window(windows.tumbling(size), { allowedLateness: lateness })
        .count()
        .toStream()
        .to("out");
    });
  const t = new TestDriver(windowed("1m"));
  t.send("in", ev(1, 1, 0));
  const state = t.snapshot();
  assert.match(
    refusal(() => new TestDriver(windowed("5m")).restart(state)).message,
    /step window-count-1 changed: window was tumbling\(60000ms\), now tumbling\(300000ms\)/,
  );
  new TestDriver(windowed("1m", "30s")).restart(state); // allowed lateness may change

  const gone = pipeline("evolve", (p) => {
    p.source("in", { schema: Ev, eventTime: (e) => e.at }).to("out");
  });
  assert.match(
    refusal(() => new TestDriver(gone).restart(state)).message,
    /step window-count-1 is no longer in the pipeline/,
  );
  const dropped = new TestDriver(gone).restart(state, { changes: { drop: ["window-count-1"] } });
  assert.deepEqual(dropped.snapshot().steps, {});
});

test("a checkpoint written before identities existed is restored by step id, unchecked", () => {
  const { state } = v1State();
  delete state.identities;
  const t = new TestDriver(v1).restart(state);
  t.send("in", ev(2, 20, 5));
  assert.deepEqual(t.readValues("users").at(-1), { key: 2, value: 2 });
});
