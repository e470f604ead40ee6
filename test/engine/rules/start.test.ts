// docs/DESIGN.md, "The rules the engine keeps":
//
//   A service *starts* when it is wanted, not held, everything it `requires` is up
//   (ready), and everything it is ordered `after` has settled (is not in transition
//   and is not about to start).
//
// Home: src/engine/rules.ts `evaluate` (down/failed), `requirementReady` and `settled`.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { longrun, oneshot, rig, task } from "./driver.js";

describe("rule: start", () => {
  test("what is required starts first; the service starts once it is up", () => {
    const r = rig({ db: longrun(), web: longrun("requires = db") });
    assert.deepEqual(r.start("web"), ["affected start web", "db → starting", "job starting db", "arm db start-timeout 60s", "spawn db main"]);
    assert.deepEqual(r.spawned("db"), ["db → up", "job started db", "web → starting", "job starting web", "arm web start-timeout 60s", "spawn web main"]);
    assert.deepEqual(r.spawned("web"), ["web → up", "job started web"]);
  });

  test("up means ready: with `ready = fd` a running process is not up until it says so", () => {
    const r = rig({ db: longrun("ready = fd"), web: longrun("requires = db") });
    r.start("web");
    assert.deepEqual(r.spawned("db"), []);
    assert.deepEqual(r.ready("db"), ["db → up", "job started db", "web → starting", "job starting web", "arm web start-timeout 60s", "spawn web main"]);
  });

  test("a oneshot is up once its `up` has exited 0; a pre-start runs before the main", () => {
    const r = rig({ setup: oneshot(), web: longrun("requires = setup", "pre-start = /bin/prepare") });
    assert.deepEqual(r.start("web"), ["affected start web", "setup → starting", "job starting setup", "arm setup start-timeout 60s", "spawn setup up"]);
    assert.deepEqual(r.spawned("setup"), []);
    assert.deepEqual(r.exits("setup", 0), ["setup → up", "job started setup", "web → starting", "job starting web", "arm web start-timeout 60s", "spawn web pre-start"]);
    r.spawned("web");
    assert.deepEqual(r.exits("web", 0), ["spawn web main"]);
    assert.deepEqual(r.spawned("web"), ["web → up", "job started web"]);
  });

  test("`after` orders without pulling in: alone, the service starts at once", () => {
    const r = rig({ db: longrun(), cache: longrun("after = db") });
    assert.deepEqual(r.start("cache"), ["affected start cache", "cache → starting", "job starting cache", "arm cache start-timeout 60s", "spawn cache main"]);
    assert.deepEqual(r.phases("db"), ["db down"]);
  });

  test("`after` a service that is starting too: wait until it has settled", () => {
    const r = rig({ db: longrun(), cache: longrun("after = db") });
    assert.deepEqual(r.start("db", "cache"), ["affected start db cache", "db → starting", "job starting db", "arm db start-timeout 60s", "spawn db main"]);
    assert.deepEqual(r.spawned("db"), ["db → up", "job started db", "cache → starting", "job starting cache", "arm cache start-timeout 60s", "spawn cache main"]);
  });

  test("settled includes failed: what is ordered after a service that cannot start starts anyway", () => {
    const r = rig({ db: longrun("restart = never"), cache: longrun("after = db") });
    r.start("db", "cache");
    assert.deepEqual(r.spawnFailed("db", "no such file"), [
      "db → failed: cannot start: no such file",
      "job stopped db RESULT=failed",
      "cache → starting",
      "job starting cache",
      "arm cache start-timeout 60s",
      "spawn cache main",
    ]);
  });

  test("a task is never up: a run that ended has settled what is ordered after it", () => {
    const r = rig({ migrate: task(), app: longrun("after = migrate") });
    assert.deepEqual(r.start("migrate", "app"), ["affected start migrate app", "migrate → running", "job starting migrate", "spawn migrate main", "job started migrate"]);
    r.spawned("migrate");
    assert.deepEqual(r.exits("migrate", 0), [
      "migrate → down: completed",
      "job stopped migrate RESULT=ok EXIT_STATUS=0",
      "app → starting",
      "job starting app",
      "arm app start-timeout 60s",
      "spawn app main",
    ]);
  });

  test("a held service is not started by being wanted again; `tend start` clears the hold", () => {
    const r = rig({ db: longrun("restart = never"), web: longrun("wants = db") });
    r.settle(r.start("db"));
    assert.deepEqual(r.exits("db", 0), ["db → down: exited by itself (exited with code 0)", "job stopped db RESULT=ok EXIT_STATUS=0"]);
    r.settle(r.start("web"));
    assert.deepEqual(r.phases("db", "web"), ["db down", "web up"], "web wants db, which stays held");
    assert.deepEqual(r.start("db"), ["affected start db", "db → starting", "job starting db", "arm db start-timeout 60s", "spawn db main"]);
  });
});
