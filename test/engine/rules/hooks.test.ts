// docs/DESIGN.md, "The rules the engine keeps":
//
//   Tasks run on `starting X` / `stopping X` are *hooks*: X's first process waits for
//   them, or its stop signal does, within the hook's timeout.
//
// Home: src/engine/hooks.ts `announce`, `waitForHooks`, `hooksDone`.
//
// The hook's timeout is its own `start-timeout`, or 90 s. A hook that fails or times out
// does not hold X back; one still running then goes on as an ordinary run. (`down` and
// `post-stop`, the hooks of a service's own stop, are in stop.test.ts.)

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { longrun, rig, task } from "./driver.js";

describe("rule: hooks", () => {
  test("a task run on `starting db` runs before db's first process", () => {
    const r = rig({ db: longrun(), prep: task("start-on = starting db") });
    assert.deepEqual(r.start("db"), [
      "affected start db",
      "db → starting",
      "job starting db ▸ started prep",
      "db → starting: waiting for prep (run on starting db)",
      "arm db hook-timeout 90s",
      "prep → running",
      "job starting prep",
      "spawn prep main {JOB=db TEND_EVENT=starting db}",
      "job started prep",
    ]);
    r.spawned("prep");
    assert.deepEqual(r.exits("prep", 0), [
      "prep → down: completed",
      "job stopped prep RESULT=ok EXIT_STATUS=0",
      "db → starting",
      "arm db start-timeout 60s",
      "spawn db main",
    ]);
  });

  test("a task run on `stopping db` runs before db is sent its stop signal", () => {
    const r = rig({ db: longrun(), flush: task("start-on = stopping db") });
    r.settle(r.start("db"));
    assert.deepEqual(r.stop("db"), [
      "affected stop db",
      "job stopping db ▸ started flush",
      "db → up: waiting for flush (run on stopping db)",
      "arm db hook-timeout 90s",
      "flush → running",
      "job starting flush",
      "spawn flush main {JOB=db TEND_EVENT=stopping db}",
      "job started flush",
    ]);
    r.spawned("flush");
    assert.deepEqual(r.exits("flush", 0), [
      "flush → down: completed",
      "job stopped flush RESULT=ok EXIT_STATUS=0",
      "db → stopping",
      "signal db SIGTERM",
      "arm db stop-timeout 10s",
    ]);
  });

  test("what it requires went down while the hook ran: it waits for it again, and its hooks run again", () => {
    const r = rig({ db: longrun(), web: longrun("requires = db"), prep: task("start-on = starting web") });
    r.start("web");
    r.spawned("db");
    r.spawned("prep");
    r.exits("db", 1);
    assert.deepEqual(r.exits("prep", 0), ["prep → down: completed", "job stopped prep RESULT=ok EXIT_STATUS=0", "web → down", "job stopped web RESULT=ok"]);
    r.fire("db");
    assert.deepEqual(r.spawned("db"), [
      "db → up",
      "job started db",
      "web → starting",
      "job starting web ▸ started prep",
      "web → starting: waiting for prep (run on starting web)",
      "arm web hook-timeout 90s",
      "prep → running",
      "job starting prep",
      "spawn prep main {JOB=web TEND_EVENT=starting web}",
      "job started prep",
    ]);
  });

  test("a hook that fails holds nothing back", () => {
    const r = rig({ db: longrun(), prep: task("start-on = starting db") });
    r.start("db");
    r.spawned("prep");
    assert.deepEqual(r.exits("prep", 1), [
      "prep → failed: run exited with code 1",
      "job stopped prep RESULT=failed EXIT_STATUS=1",
      "db → starting",
      "arm db start-timeout 60s",
      "spawn db main",
    ]);
  });

  test("a hook that takes longer than its timeout (its own start-timeout) is not waited for; it runs on", () => {
    const r = rig({ db: longrun(), flush: task("start-on = stopping db", "start-timeout = 5s") });
    r.settle(r.start("db"));
    assert.deepEqual(r.stop("db"), [
      "affected stop db",
      "job stopping db ▸ started flush",
      "db → up: waiting for flush (run on stopping db)",
      "arm db hook-timeout 5s",
      "flush → running",
      "job starting flush",
      "arm flush start-timeout 5s",
      "spawn flush main {JOB=db TEND_EVENT=stopping db}",
      "job started flush",
    ]);
    r.spawned("flush");
    assert.deepEqual(r.fire("db"), ["db → stopping", "signal db SIGTERM", "arm db stop-timeout 10s"]);
    assert.deepEqual(r.phases("flush"), ["flush running"]);
  });

  test("wanted again while its stop waits for a hook: it stays up, and the hook runs to its end", () => {
    const r = rig({ db: longrun(), flush: task("start-on = stopping db") });
    r.settle(r.start("db"));
    r.stop("db");
    assert.deepEqual(r.start("db"), ["affected start db", "db → up"]);
    r.spawned("flush");
    assert.deepEqual(r.exits("flush", 0), ["flush → down: completed", "job stopped flush RESULT=ok EXIT_STATUS=0"]);
    assert.deepEqual(r.phases("db"), ["db up"]);
  });

  test("not up yet: `stopping db` hooks run, but the stop does not wait for them", () => {
    const r = rig({ db: longrun("ready = fd"), flush: task("start-on = stopping db") });
    r.start("db");
    r.spawned("db");
    assert.deepEqual(r.stop("db"), [
      "affected stop db",
      "job stopping db ▸ started flush",
      "db → stopping",
      "signal db SIGTERM",
      "arm db stop-timeout 10s",
      "flush → running",
      "job starting flush",
      "spawn flush main {JOB=db TEND_EVENT=stopping db}",
      "job started flush",
    ]);
  });

  test("a shutdown runs the hooks too: db waits for flush before it goes", () => {
    const r = rig({ db: longrun(), flush: task("start-on = stopping db") });
    r.settle(r.start("db"));
    assert.deepEqual(r.shutdown(), [
      "job stopping db ▸ started flush",
      "db → up: waiting for flush (run on stopping db)",
      "arm db hook-timeout 90s",
      "flush → running",
      "job starting flush",
      "spawn flush main {JOB=db TEND_EVENT=stopping db}",
      "job started flush",
    ]);
    r.spawned("flush");
    assert.deepEqual(r.exits("flush", 0), [
      "flush → down: completed",
      "job stopped flush RESULT=ok EXIT_STATUS=0",
      "db → stopping",
      "signal db SIGTERM",
      "arm db stop-timeout 10s",
    ]);
  });

  test("a task run on `starting web` that requires db brings back db on its way down: only a run on `stopping db` lets db go", () => {
    const r = rig({ db: longrun(), app: longrun("requires = db"), web: longrun(), prep: task("requires = db", "start-on = starting web") });
    r.settle(r.start("app"));
    r.stop("app");
    r.exits("app", "SIGTERM"); // db, no longer wanted, stops
    assert.deepEqual(r.phases("db"), ["db stopping"]);
    assert.deepEqual(r.start("web"), [
      "affected start web",
      "web → starting",
      "job starting web ▸ started prep",
      "web → starting: waiting for prep (run on starting web)",
      "arm web hook-timeout 90s",
    ]);
    // prep pulls db in again: once down, db comes back for it, and prep runs.
    assert.deepEqual(r.exits("db", "SIGTERM"), [
      "db → down",
      "job stopped db RESULT=ok EXIT_SIGNAL=SIGTERM",
      "db → starting",
      "job starting db",
      "arm db start-timeout 60s",
      "spawn db main",
    ]);
    assert.deepEqual(r.spawned("db"), ["db → up", "job started db", "prep → running", "job starting prep", "spawn prep main {JOB=web TEND_EVENT=starting web}", "job started prep"]);
  });
});
