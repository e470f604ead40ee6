// docs/DESIGN.md, "The rules the engine keeps":
//
//   *The boot* ends when asked (status 0), when the `exit-with` service's run ends on
//   its own (its status: a container's command), or, with `on-boot-failure = stop`,
//   when a service of the boot fails before each has been up once (status 1). The
//   first end recorded is the one, and starts the shutdown; it is engine state, kept
//   in the snapshot.
//
// Home: src/engine/boot.ts `end`, `endsBoot`, `bootProgress`, `completeBoot`. (What a
// boot waits for, exit statuses and readiness are src/engine/boot.ts's:
// test/engine/boot.test.ts.)

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { restoreEngine, snapshotOf } from "../../../src/engine/snapshot.js";
import { step } from "../../../src/engine/engine.js";
import { bundle, longrun, oneshot, rig, task } from "./driver.js";

/** A container: `app` is its command (restarted always, were it not the one), `cache` runs beside it. */
const CONTAINER = { default: bundle("app", "cache"), app: longrun("restart = always"), cache: longrun() };

describe("rule: the boot's end", () => {
  test("the exit-with service exits 3: not restarted, the end is status 3, everything stops", () => {
    const r = rig(CONTAINER);
    r.settle(r.boot(["default"], { exitWith: "app" }));
    assert.deepEqual(r.exits("app", 3), [
      "app → failed: exited with code 3",
      "job stopped app RESULT=failed EXIT_STATUS=3",
      "job stopping cache",
      "cache → stopping",
      "signal cache SIGTERM",
      "arm cache stop-timeout 10s",
    ]);
    assert.deepEqual(r.e.end, { code: 3, reason: "app exited with code 3" });
  });

  test("its status as a shell gives it: killed by SIGKILL is 137, exit 0 is 0", () => {
    const killed = rig(CONTAINER);
    killed.settle(killed.boot(["default"], { exitWith: "app" }));
    killed.exits("app", "SIGKILL");
    assert.deepEqual(killed.e.end, { code: 137, reason: "app killed by SIGKILL" });
    const done = rig(CONTAINER);
    done.settle(done.boot(["default"], { exitWith: "app" }));
    done.exits("app", 0);
    assert.deepEqual(done.e.end, { code: 0, reason: "app exited with code 0" });
  });

  test("a run that could not start, or did not become ready in time, has no status of its own: 1", () => {
    const r = rig(CONTAINER);
    r.boot(["default"], { exitWith: "app" });
    r.spawnFailed("app", "no such file");
    assert.deepEqual(r.e.end, { code: 1, reason: "app cannot start: no such file" });
    const slow = rig({ ...CONTAINER, app: longrun("ready = fd", "start-timeout = 5s") });
    slow.boot(["default"], { exitWith: "app" });
    slow.spawned("app");
    assert.deepEqual(slow.fire("app"), ["app → stopping", "signal app SIGTERM", "arm app stop-timeout 10s", "job stopping cache", "cache → stopping"]);
    assert.deepEqual(slow.e.end, { code: 1, reason: "app failed: start timeout: did not become ready within 5s" });
  });

  test("its pre-start failing ends it too, named so", () => {
    const r = rig({ ...CONTAINER, app: longrun("pre-start = /bin/prepare") });
    r.boot(["default"], { exitWith: "app" });
    r.spawned("app");
    r.exits("app", 4);
    assert.deepEqual(r.e.end, { code: 4, reason: "app pre-start exited with code 4" });
  });

  test("a task as the command: the boot starts it (it is in no bundle), waits not for it, and its run's end is the boot's", () => {
    const r = rig({ ...CONTAINER, cmd: task() });
    r.boot(["default"], { exitWith: "cmd" });
    assert.deepEqual(r.phases("cmd"), ["cmd running"]);
    assert.deepEqual([...(r.e.boot?.services ?? [])].sort(), ["app", "cache"]);
    r.spawned("cmd");
    r.exits("cmd", 5);
    assert.deepEqual(r.e.end, { code: 5, reason: "cmd exited with code 5" });
  });

  test("stopping or restarting it is tend's doing, not its run's end: the boot goes on", () => {
    const r = rig(CONTAINER);
    r.settle(r.boot(["default"], { exitWith: "app" }));
    r.settle(r.restart("app"));
    r.settle(r.stop("app"));
    assert.deepEqual([r.e.end, r.e.shuttingDown], [null, false]);
    assert.deepEqual(r.phases("app", "cache"), ["app down", "cache up"]);
  });

  test("on-boot-failure = stop: a service of the boot fails before the boot completed: status 1, everything stops", () => {
    const r = rig({ db: longrun(), migrate: oneshot("requires = db"), app: longrun("requires = migrate"), default: bundle("app") });
    r.boot(["default"], { onBootFailure: "stop" });
    r.spawned("db");
    r.spawned("migrate");
    assert.deepEqual(r.exits("migrate", 2), [
      "kill migrate",
      "migrate → failed: up exited with code 2",
      "job stopped migrate RESULT=failed EXIT_STATUS=2",
      "job stopping db",
      "db → stopping",
      "signal db SIGTERM",
      "arm db stop-timeout 10s",
    ]);
    assert.deepEqual(r.e.end, { code: 1, reason: "boot failed: migrate failed: up exited with code 2" });
  });

  test("on-boot-failure = report (the default): the failure shows, what does not need it runs on", () => {
    const r = rig({ db: longrun(), migrate: oneshot("requires = db"), app: longrun("requires = migrate"), default: bundle("app", "db") });
    r.boot(["default"]);
    r.spawned("db");
    r.spawned("migrate");
    assert.deepEqual(r.exits("migrate", 2), [
      "kill migrate",
      "migrate → failed: up exited with code 2",
      "job stopped migrate RESULT=failed EXIT_STATUS=2",
      "app → failed: dependency migrate failed",
    ]);
    assert.deepEqual([r.e.end, r.e.boot?.completeAt], [null, null]);
  });

  test("once each service of the boot has been up, the boot is complete: a failure after that ends nothing", () => {
    const r = rig({ ...CONTAINER, cache: longrun("restart = never") });
    r.settle(r.boot(["default"], { onBootFailure: "stop" }));
    assert.equal(r.e.boot?.completeAt, 0);
    assert.deepEqual(r.exits("cache", 1), ["cache → failed: exited with code 1", "job stopped cache RESULT=failed EXIT_STATUS=1"]);
    assert.equal(r.e.end, null);
  });

  test("a shutdown asked for ends it with 0; what fails on the way down does not change the end", () => {
    const r = rig(CONTAINER);
    r.settle(r.boot(["default"], { exitWith: "app", onBootFailure: "stop" }));
    assert.deepEqual(r.shutdown("SIGTERM"), [
      "job stopping app",
      "app → stopping",
      "signal app SIGTERM",
      "arm app stop-timeout 10s",
      "job stopping cache",
      "cache → stopping",
      "signal cache SIGTERM",
      "arm cache stop-timeout 10s",
    ]);
    r.exits("app", 1);
    r.exits("cache", "SIGKILL");
    assert.deepEqual(r.e.end, { code: 0, reason: "SIGTERM" });
  });

  test("the end and the policy are in the snapshot: a server that takes over ends as the first would have", () => {
    const r = rig(CONTAINER);
    r.settle(r.boot(["default"], { exitWith: "app" }));
    const restored = restoreEngine(JSON.parse(JSON.stringify(snapshotOf(r.e))), r.e.db, r.now);
    assert.ok(typeof restored !== "string", String(restored));
    step(restored, { kind: "exited", service: "app", pid: r.e.services.get("app")!.pid!, status: { code: 9, signal: null }, now: r.now });
    assert.deepEqual(restored.end, { code: 9, reason: "app exited with code 9" });
  });
});
