// docs/DESIGN.md, "The rules the engine keeps":
//
//   An admin `restart` is the same kind of *bounce*: the service and what is active
//   that requires it go down in order, then all come back in order. A task run on
//   `stopping X` of one of them is X's hook, not the group coming back: it runs while
//   X waits for it (as in a shutdown), even when it is a member already down (that
//   run is then its return).
//
// Home: src/engine/apply.ts `bounce`, `completeBounces`. (An apply's is in
// apply.test.ts.) The step of a restart begins with what it affects: the services named
// and what the bounce takes down with them.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { bundle, longrun, rig, task } from "./driver.js";

const FILES = { db: longrun(), web: longrun("requires = db"), api: longrun("requires = db"), cache: longrun("after = db") };
/** A task run on `stopping db` that needs db: db stays up for it (held back with the group, db's stop would wait for it until the hook timeout). */
const FLUSH = { flush: task("requires = db", "start-on = stopping db") };

describe("rule: bounce (restart)", () => {
  test("down in order, what requires it first; then up in order", () => {
    const r = rig(FILES);
    r.settle(r.start("web"));
    assert.deepEqual(r.restart("db"), ["affected restart db web", "job stopping web", "web → stopping", "signal web SIGTERM", "arm web stop-timeout 10s"]);
    assert.deepEqual(r.exits("web", "SIGTERM"), [
      "web → down",
      "job stopped web RESULT=ok EXIT_SIGNAL=SIGTERM",
      "job stopping db",
      "db → stopping",
      "signal db SIGTERM",
      "arm db stop-timeout 10s",
    ]);
    assert.deepEqual(r.exits("db", "SIGTERM"), [
      "db → down",
      "job stopped db RESULT=ok EXIT_SIGNAL=SIGTERM",
      "db → starting",
      "job starting db",
      "arm db start-timeout 60s",
      "spawn db main",
    ]);
    assert.deepEqual(r.spawned("db"), ["db → up", "job started db", "web → starting", "job starting web", "arm web start-timeout 60s", "spawn web main"]);
  });

  test("the group comes back together: web, down first, waits while api still stops", () => {
    const r = rig(FILES);
    r.settle(r.start("web", "api"));
    r.restart("db");
    assert.deepEqual(r.exits("web", "SIGTERM"), ["web → down", "job stopped web RESULT=ok EXIT_SIGNAL=SIGTERM"]);
    assert.deepEqual(r.exits("api", "SIGTERM"), [
      "api → down",
      "job stopped api RESULT=ok EXIT_SIGNAL=SIGTERM",
      "job stopping db",
      "db → stopping",
      "signal db SIGTERM",
      "arm db stop-timeout 10s",
    ]);
  });

  test("a crash on its way down is no reason to restart it, nor to hold it: it comes back with its group", () => {
    const r = rig(FILES);
    r.settle(r.start("web"));
    r.restart("db");
    assert.deepEqual(r.exits("db", 1), ["db → failed: exited with code 1", "job stopped db RESULT=failed EXIT_STATUS=1"]);
    assert.deepEqual(r.exits("web", "SIGTERM"), [
      "web → down",
      "job stopped web RESULT=ok EXIT_SIGNAL=SIGTERM",
      "db → down",
      "db → starting",
      "job starting db",
      "arm db start-timeout 60s",
      "spawn db main",
    ]);
  });

  test("only what is active is bounced: what is only ordered after it, or not running, is left alone", () => {
    const r = rig(FILES);
    r.settle(r.start("web", "cache"));
    assert.deepEqual(r.restart("db"), ["affected restart db web", "job stopping web", "web → stopping", "signal web SIGTERM", "arm web stop-timeout 10s"]);
    assert.deepEqual(r.phases("cache", "api"), ["cache up", "api down"]);
  });

  test("restarting what requires leaves what it requires up", () => {
    const r = rig(FILES);
    r.settle(r.start("web"));
    assert.deepEqual(r.restart("web"), ["affected restart web", "job stopping web", "web → stopping", "signal web SIGTERM", "arm web stop-timeout 10s"]);
    assert.deepEqual(r.exits("web", "SIGTERM"), [
      "web → down",
      "job stopped web RESULT=ok EXIT_SIGNAL=SIGTERM",
      "web → starting",
      "job starting web",
      "arm web start-timeout 60s",
      "spawn web main",
    ]);
  });

  test("a failed service is started again, its hold cleared; a down one is just started", () => {
    const r = rig({ db: longrun("restart = never"), other: longrun() });
    r.settle(r.start("db"));
    r.exits("db", 1);
    assert.deepEqual(r.restart("db"), ["affected restart db", "db → down", "db → starting", "job starting db", "arm db start-timeout 60s", "spawn db main"]);
    assert.deepEqual(r.restart("other"), ["affected restart other", "other → starting", "job starting other", "arm other start-timeout 60s", "spawn other main"]);
  });

  test("a bundle: each member is bounced", () => {
    const r = rig({ ...FILES, default: bundle("db", "web") });
    r.settle(r.start("default"));
    assert.deepEqual(r.restart("default"), ["affected restart db web", "job stopping web", "web → stopping", "signal web SIGTERM", "arm web stop-timeout 10s"]);
    r.exits("web", "SIGTERM");
    r.settle(r.exits("db", "SIGTERM"));
    assert.deepEqual(r.phases("db", "web"), ["db up", "web up"]);
  });

  test("a task run on `stopping db` that requires db is db's hook in a restart too: it runs, then db stops", () => {
    const r = rig({ ...FILES, ...FLUSH });
    r.settle(r.start("web"));
    r.restart("db");
    assert.deepEqual(r.exits("web", "SIGTERM"), [
      "web → down",
      "job stopped web RESULT=ok EXIT_SIGNAL=SIGTERM",
      "job stopping db ▸ started flush",
      "db → up: waiting for flush (run on stopping db)",
      "arm db hook-timeout 90s",
      "flush → running",
      "job starting flush",
      "spawn flush main {JOB=db TEND_EVENT=stopping db}",
      "job started flush",
    ]);
    r.spawned("flush");
    assert.deepEqual(r.exits("flush", 0), ["flush → down: completed", "job stopped flush RESULT=ok EXIT_STATUS=0", "db → stopping", "signal db SIGTERM", "arm db stop-timeout 10s"]);
    r.settle(r.exits("db", "SIGTERM"));
    assert.deepEqual(r.phases("db", "web", "flush"), ["db up", "web up", "flush down"]);
  });

  test("that task bounced while it ran runs as the hook once it is down, before db stops: that run is the one it was owed", () => {
    const r = rig({ ...FILES, ...FLUSH });
    r.settle(r.start("web"));
    r.start("flush");
    r.spawned("flush");
    assert.deepEqual(r.restart("db"), [
      "affected restart db flush web",
      "job stopping flush",
      "flush → stopping",
      "signal flush SIGTERM",
      "arm flush stop-timeout 10s",
      "job stopping web",
      "web → stopping",
      "signal web SIGTERM",
      "arm web stop-timeout 10s",
    ]);
    r.exits("web", "SIGTERM");
    assert.deepEqual(r.exits("flush", "SIGTERM"), [
      "flush → down",
      "job stopped flush RESULT=ok EXIT_SIGNAL=SIGTERM",
      "job stopping db ▸ started flush",
      "db → up: waiting for flush (run on stopping db)",
      "arm db hook-timeout 90s",
      "flush → running",
      "job starting flush",
      "spawn flush main {JOB=db TEND_EVENT=stopping db}",
      "job started flush",
    ]);
    r.spawned("flush");
    r.exits("flush", 0);
    r.settle(r.exits("db", "SIGTERM"));
    assert.deepEqual(r.phases("db", "web", "flush"), ["db up", "web up", "flush down"]);
  });
});
