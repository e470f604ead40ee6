// docs/DESIGN.md, "The rules the engine keeps":
//
//   A longrun that exits on its own is restarted by its policy without touching its
//   dependents, with a delay that doubles up to `restart-delay-max` and resets after
//   a stable run; at the restart limit it is *failed* and *held*. `tend
//   start`/`restart` clears holds.
//
// Home: src/engine/restarts.ts `afterCrash`, `release`; the exit in processes.ts
// `processEnded`.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { longrun, rig } from "./driver.js";

/** db restarts after 1 s, 2 s, then 3 s at most, and fails at the third restart in a minute; web requires it. */
const crashing = () => {
  const r = rig({ db: longrun("restart-delay = 1s", "restart-delay-max = 3s", "restart-limit = 3 in 1m"), web: longrun("requires = db") });
  r.settle(r.start("web"));
  return r;
};

describe("rule: crash, restart back-off and limit", () => {
  test("restarted after its delay; what requires it is not touched", () => {
    const r = crashing();
    assert.deepEqual(r.exits("db", 1), ["db → starting: restarting in 1s (1 recent restarts)", "arm db restart-delay 1s"]);
    assert.deepEqual(r.fire("db"), ["arm db start-timeout 60s", "spawn db main"]);
    assert.deepEqual(r.spawned("db"), ["db → up", "job started db"]);
    assert.deepEqual(r.phases("web"), ["web up"]);
  });

  test("the delay doubles up to restart-delay-max", () => {
    const r = crashing();
    const delays: string[][] = [];
    for (let i = 0; i < 3; i++) {
      delays.push(r.exits("db", 1));
      r.fire("db");
      r.spawned("db");
      r.later(1000);
    }
    assert.deepEqual(delays, [
      ["db → starting: restarting in 1s (1 recent restarts)", "arm db restart-delay 1s"],
      ["db → starting: restarting in 2s (2 recent restarts)", "arm db restart-delay 2s"],
      ["db → starting: restarting in 3s (3 recent restarts)", "arm db restart-delay 3s"],
    ]);
  });

  test("an event that keeps coming does not keep a crash loop from its limit: a longrun its event started and still runs ignores a repeat", () => {
    const r = rig({ db: longrun("start-on = kick", "restart-delay = 1s", "restart-limit = 2 in 1m") });
    r.emit("kick");
    r.spawned("db");
    for (let i = 0; i < 2; i++) {
      r.exits("db", 1);
      assert.deepEqual(r.emit("kick"), ["event kick"]);
      r.fire("db");
      r.spawned("db");
    }
    assert.deepEqual(r.exits("db", 1)[0], "db → failed: restart limit hit: 2 restarts within 60s; last exited with code 1");
    // Failed and held: the next event is a new start, as an admin's would be.
    assert.deepEqual(r.emit("kick")[0], "event kick ▸ started db");
  });

  test("at the limit it is failed and held, and what requires it stops: 'dependency db failed'", () => {
    const r = crashing();
    for (let i = 0; i < 3; i++) {
      r.exits("db", 1);
      r.fire("db");
      r.spawned("db");
    }
    assert.deepEqual(r.exits("db", 1), [
      "db → failed: restart limit hit: 3 restarts within 60s; last exited with code 1",
      "job stopped db RESULT=failed EXIT_STATUS=1",
      "job stopping web",
      "web → stopping",
      "signal web SIGTERM",
      "arm web stop-timeout 10s",
    ]);
    assert.deepEqual(r.exits("web", "SIGTERM"), ["web → failed: dependency db failed", "job stopped web RESULT=failed EXIT_SIGNAL=SIGTERM"]);
  });

  test("`tend start` clears the hold and the back-off; what required it comes back by itself", () => {
    const r = crashing();
    for (let i = 0; i < 3; i++) {
      r.exits("db", 1);
      r.fire("db");
      r.spawned("db");
    }
    r.settle(r.exits("db", 1));
    assert.deepEqual(r.start("db"), ["affected start db", "db → down", "db → starting", "job starting db", "arm db start-timeout 60s", "spawn db main", "web → down"]);
    assert.deepEqual(r.spawned("db"), ["db → up", "job started db", "web → starting", "job starting web", "arm web start-timeout 60s", "spawn web main"]);
    assert.deepEqual(r.exits("db", 1), ["db → starting: restarting in 1s (1 recent restarts)", "arm db restart-delay 1s"]);
  });

  test("a run as long as the limit's window is stable: the count and the delay start again", () => {
    const r = crashing();
    r.exits("db", 1);
    r.fire("db");
    r.spawned("db");
    r.exits("db", 1);
    r.fire("db");
    r.spawned("db");
    r.later(60_000);
    assert.deepEqual(r.exits("db", 1), ["db → starting: restarting in 1s (1 recent restarts)", "arm db restart-delay 1s"]);
  });

  test("the policy: on-failure (the default) leaves a success down and held; `success-exit` adds to 0; always restarts it; never does not", () => {
    const r = rig({ a: longrun(), b: longrun("success-exit = 3"), c: longrun("restart = always"), d: longrun("restart = never") });
    r.settle(r.start("a", "b", "c", "d"));
    assert.deepEqual(r.exits("a", 0), ["a → down: exited by itself (exited with code 0)", "job stopped a RESULT=ok EXIT_STATUS=0"]);
    assert.deepEqual(r.exits("b", 3), ["b → down: exited by itself (exited with code 3)", "job stopped b RESULT=ok EXIT_STATUS=3"]);
    assert.deepEqual(r.exits("c", 0), ["c → starting: restarting in 200ms (1 recent restarts)", "arm c restart-delay 200ms"]);
    assert.deepEqual(r.exits("d", 1), ["d → failed: exited with code 1", "job stopped d RESULT=failed EXIT_STATUS=1"]);
  });

  test("with a `post-stop`: it runs first, the service stopping meanwhile; then the restart", () => {
    const r = rig({ db: longrun("post-stop = /bin/clean-up") });
    r.settle(r.start("db"));
    assert.deepEqual(r.exits("db", 1), ["db → stopping: exited with code 1", "spawn db post-stop"]);
    r.spawned("db");
    assert.deepEqual(r.exits("db", 0), ["db → starting: restarting in 200ms (1 recent restarts)", "arm db restart-delay 200ms"]);
  });

  test("stopped while it waits to restart: it has no process, so it is down at once, before what requires it", () => {
    const r = crashing();
    r.exits("db", 1);
    assert.deepEqual(r.stop("db"), [
      "affected stop db web",
      "job stopping web",
      "web → stopping",
      "signal web SIGTERM",
      "arm web stop-timeout 10s",
      "db → down",
      "job stopped db RESULT=ok EXIT_STATUS=1",
    ]);
  });

  test("not ready within `start-timeout`: stopped, then failed and held", () => {
    const r = rig({ db: longrun("ready = fd", "start-timeout = 5s"), web: longrun("requires = db") });
    r.start("web");
    r.spawned("db");
    assert.deepEqual(r.fire("db"), ["db → stopping", "signal db SIGTERM", "arm db stop-timeout 10s"]);
    assert.deepEqual(r.exits("db", "SIGTERM"), [
      "db → failed: start timeout: did not become ready within 5s",
      "job stopped db RESULT=failed EXIT_SIGNAL=SIGTERM",
      "web → failed: dependency db failed",
    ]);
  });
});
