// `--dry-run` of start, stop, restart and disable: what the command would change, read
// off a copy of the engine stepped with the command's fact; the engine itself is left
// exactly as it was (its snapshot before and after is the same).
//
// Home: src/engine/preview.ts `preview`.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { preview, type PreviewFact } from "../../../src/engine/preview.js";
import { snapshotOf } from "../../../src/engine/snapshot.js";
import { bundle, longrun, rig, task, type Rig } from "./driver.js";

const FILES = { db: longrun(), web: longrun("requires = db"), api: longrun("requires = db"), log: longrun(), job: task(), default: bundle("web", "log") };

/** The preview of `fact`, checked to have left the engine as it found it. */
function previewed(r: Rig, fact: Omit<PreviewFact, "now">): { start: string[]; stop: string[]; restart: string[] } {
  const before = JSON.stringify(snapshotOf(r.e));
  const p = preview(r.e, { ...fact, now: r.now } as PreviewFact);
  assert.equal(JSON.stringify(snapshotOf(r.e)), before, "the preview changed the engine");
  return p;
}

describe("rule: a dry run says what a command would change, and changes nothing", () => {
  test("a start would start what it names and what it pulls in; once they are up, nothing", () => {
    const r = rig(FILES);
    assert.deepEqual(previewed(r, { kind: "start", names: ["web"] }), { start: ["db", "web"], stop: [], restart: [] });
    r.settle(r.start("web"));
    assert.deepEqual(r.phases("db", "web"), ["db up", "web up"]);
    assert.deepEqual(previewed(r, { kind: "start", names: ["web"] }), { start: [], stop: [], restart: [] });
    // Another that needs what is up already: only it.
    assert.deepEqual(previewed(r, { kind: "start", names: ["api"] }), { start: ["api"], stop: [], restart: [] });
  });

  test("a stop would stop it and what requires it; of what is down, nothing", () => {
    const r = rig(FILES);
    assert.deepEqual(previewed(r, { kind: "stop", names: ["db"] }), { start: [], stop: [], restart: [] });
    r.settle(r.start("web", "api"));
    assert.deepEqual(previewed(r, { kind: "stop", names: ["db"] }), { start: [], stop: ["api", "db", "web"], restart: [] });
    assert.deepEqual(previewed(r, { kind: "stop", names: ["web"] }), { start: [], stop: ["web"], restart: [] });
  });

  test("a restart would bounce what is up and requires it, and start what is down", () => {
    const r = rig(FILES);
    r.settle(r.start("web"));
    assert.deepEqual(previewed(r, { kind: "restart", names: ["db"] }), { start: [], stop: [], restart: ["db", "web"] });
    assert.deepEqual(previewed(r, { kind: "restart", names: ["log"] }), { start: ["log"], stop: [], restart: [] });
  });

  test("a task that has run would run once more", () => {
    const r = rig(FILES);
    r.settle(r.start("job"));
    assert.deepEqual(r.phases("job"), ["job down"]);
    assert.deepEqual(previewed(r, { kind: "start", names: ["job"] }), { start: ["job"], stop: [], restart: [] });
  });

  test("a failed service a start clears would start again", () => {
    const r = rig({ app: longrun("restart = never") });
    r.settle(r.start("app"));
    r.exits("app", 1);
    assert.deepEqual(r.phases("app"), ["app failed"]);
    assert.deepEqual(previewed(r, { kind: "start", names: ["app"] }), { start: ["app"], stop: [], restart: [] });
  });

  test("a disable (unwant) of a booted bundle's member would stop it, and only it", () => {
    const r = rig(FILES);
    r.settle(r.boot(["default"]));
    assert.deepEqual(previewed(r, { kind: "unwant", names: ["log"] }), { start: [], stop: ["log"], restart: [] });
    assert.deepEqual(previewed(r, { kind: "unwant", names: ["web"] }), { start: [], stop: ["db", "web"], restart: [] });
  });
});
