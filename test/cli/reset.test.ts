/**
 * Starting a pipeline over (`weir reset`, `weir run --from-scratch`) and changing a pipeline between
 * runs (checkpointed step identities, `--drop-state`): issue 13, items 2 and 4.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { hasStackTrace, lines, runCli, spawnCli, tempDataDir } from "./helpers.js";

const fromSources = import.meta.url.endsWith(".ts");
const sample = fileURLToPath(
  new URL(
    fromSources ? "../../examples/nobroker/sample.jsonl" : "../../../examples/nobroker/sample.jsonl",
    import.meta.url,
  ),
);
const api = fileURLToPath(
  new URL(fromSources ? "../../src/index.ts" : "../../src/index.js", import.meta.url),
);

async function consume(topic: string, dir: string): Promise<string[]> {
  return lines((await runCli(["consume", topic, "--data-dir", dir])).stdout);
}

test("weir reset forgets state and input positions: the same file is processed again from its start", async (t) => {
  const dir = tempDataDir(t);
  assert.equal((await runCli(["run", "nobroker", "--input", sample, "--data-dir", dir])).code, 0);
  const again = await runCli(["run", "nobroker", "--input", sample, "--data-dir", dir]);
  assert.match(again.stderr, /already processed to its end/);

  const r = await runCli(["reset", "nobroker", "--data-dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /nobroker: checkpoint deleted; the next run starts from the beginning of its input/);
  assert.match(r.stderr, /Its outputs are kept \(topics paid_user, property_status, possible_broker/);
  assert.equal(existsSync(join(dir, "pipelines", "nobroker", "checkpoint.json")), false);

  const rerun = await runCli(["run", "nobroker", "--input", sample, "--data-dir", dir]);
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.match(rerun.stderr, /25 records in/);
  // Empty state again: user 1 crosses 9 interactions again; the first run's alert is kept.
  assert.deepEqual(await consume("paid_user", dir), [
    '{"user":1,"interactions_count":9}',
    '{"user":1,"interactions_count":9}',
  ]);

  // The rerun wrote a checkpoint again: a second reset deletes it.
  assert.match((await runCli(["reset", "nobroker", "--data-dir", dir])).stderr, /checkpoint deleted/);
});

test("weir reset of a pipeline that never ran says so; an unknown name is one line and exit 1", async (t) => {
  const dir = tempDataDir(t);
  const r = await runCli(["reset", "nobroker", "--data-dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /nobroker: no checkpoint in .*: nothing to reset/);
  const unknown = await runCli(["reset", "no-such-pipeline", "--data-dir", dir]);
  assert.equal(unknown.code, 1);
  assert.equal(lines(unknown.stderr).length, 1);
  assert.match(unknown.stderr, /no pipeline "no-such-pipeline": not a built-in example, not a file/);
  assert.ok(!hasStackTrace(unknown.stderr));
});

test("weir reset and a second run are refused while the pipeline runs", async (t) => {
  const dir = tempDataDir(t);
  const live = spawnCli(["run", "nobroker", "--data-dir", dir]);
  live.end();
  await live.waitForStderr((s) => /running on events/.test(s), 20_000);
  try {
    const r = await runCli(["reset", "nobroker", "--data-dir", dir]);
    assert.equal(r.code, 1);
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.match(
      r.stderr,
      /^weir: cannot reset nobroker: pipeline nobroker is running in process \d+ .*; stop it first$/m,
    );
    assert.ok(
      existsSync(join(dir, "pipelines", "nobroker", "checkpoint.json")),
      "the checkpoint is still there",
    );
    const second = await runCli(["run", "nobroker", "--input", sample, "--from-scratch", "--data-dir", dir]);
    assert.equal(second.code, 1);
    assert.ok(!hasStackTrace(second.stderr), second.stderr);
    assert.match(second.stderr, /locked|is running/);
  } finally {
    live.kill("SIGTERM");
    assert.equal((await live.exited).code, 0);
  }
  // Stopped: the reset goes through.
  assert.equal((await runCli(["reset", "nobroker", "--data-dir", dir])).code, 0);
});

test("weir run --from-scratch starts over: state and input positions forgotten, outputs kept", async (t) => {
  const dir = tempDataDir(t);
  assert.equal((await runCli(["run", "nobroker", "--input", sample, "--data-dir", dir])).code, 0);
  const r = await runCli(["run", "nobroker", "--input", sample, "--from-scratch", "--data-dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /starting from scratch \(checkpoint deleted; outputs kept\)/);
  assert.match(r.stderr, /25 records in/);
  assert.equal((await consume("paid_user", dir)).length, 2);
  const bad = await runCli([
    "run",
    "nobroker",
    "--from-scratch",
    "--drop-state",
    "count-1",
    "--data-dir",
    dir,
  ]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--from-scratch starts every step empty/);
});

test("a changed pipeline is refused on restart with the steps that changed; --drop-state goes on", async (t) => {
  const dir = tempDataDir(t);
  const work = dirname(dir);
  const file = join(work, "evolving.ts");
  const write = (withPropertyCount: boolean) =>
    writeFileSync(
      file,
      `import { pipeline, schema } from ${JSON.stringify(api)};
const Ev = schema.object({ user_id: schema.int(), property_id: schema.int(), date: schema.timestamp(), event: schema.string() });
export default pipeline("evolving", (p) => {
  const events = p.source("events", { schema: Ev, eventTime: (e) => e.date });
  ${withPropertyCount ? 'events.keyBy((e) => e.property_id).count().toStream().to("per_property");' : ""}
  events.keyBy((e) => e.user_id).count().toStream().to("per_user");
});
`,
    );
  write(false);
  assert.equal((await runCli(["run", file, "--until-end", "--data-dir", dir])).code, 0);
  assert.equal((await runCli(["produce", "events", "--file", sample, "--data-dir", dir])).code, 0);
  write(true);
  const refused = await runCli(["run", file, "--until-end", "--data-dir", dir]);
  assert.equal(refused.code, 1, refused.stderr);
  assert.equal(lines(refused.stderr).length, 1, refused.stderr);
  assert.match(
    refused.stderr,
    /^weir: pipeline evolving cannot resume from its checkpoint: step count-1 changed: key was .*e\.user_id, now .*e\.property_id\. /,
  );
  assert.ok(!hasStackTrace(refused.stderr));
  assert.deepEqual(await consume("per_property", dir), [], "nothing ran");

  const dropped = await runCli(["run", file, "--until-end", "--drop-state", "count-1", "--data-dir", dir]);
  assert.equal(dropped.code, 0, dropped.stderr);
  assert.equal((await consume("per_property", dir)).length, 25);
  assert.equal((await consume("per_user", dir)).length, 25);
});
