// `tend why NAME` (src/engine/explain.ts): the state of one service in words an admin
// can act on, read off the same rules that decide it.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { explain } from "../../src/engine/explain.js";
import { bundle, longrun, rig, task } from "./rules/driver.js";

const FILES = {
  default: bundle("web", "cron"),
  db: longrun("restart = never"),
  metrics: longrun(),
  web: longrun("requires = db", "wants = metrics"),
  cron: longrun(),
  mount: longrun("start-on = disk"),
  backup: task("schedule = every 1h"),
  spare: longrun(),
  fsck: task("start-on = check"),
};

describe("explain (tend why)", () => {
  test("wanted: the chain that wants it, and what it waits for", () => {
    const r = rig(FILES);
    r.start("default");
    assert.deepEqual(explain(r.e, "web"), [
      "web is down",
      "wanted because:",
      "  web: member of 'default', started explicitly",
      "waits for requirement db, which is starting",
      "ordered after db, which is starting",
      "ordered after metrics, which is starting",
    ]);
  });

  test("failed and held: what to do about it; what requires it, why it waits", () => {
    const r = rig(FILES);
    r.settle(r.start("default"));
    r.settle(r.exits("db", 1));
    assert.deepEqual(explain(r.e, "db"), [
      "db is failed: exited with code 1",
      "wanted because:",
      "  db: web requires it",
      "  web: member of 'default', started explicitly",
      "held: it is not started again by itself; 'tend start db' retries it",
    ]);
    assert.deepEqual(explain(r.e, "web"), [
      "web is failed: dependency db failed",
      "wanted because:",
      "  web: member of 'default', started explicitly",
      "waits for requirement db, which is failed: exited with code 1",
    ]);
  });

  test("not wanted, each for its reason; stopping once what requires it has stopped", () => {
    const r = rig(FILES);
    r.settle(r.start("default"));
    r.unwant("cron");
    r.stop("db");
    assert.deepEqual(explain(r.e, "db"), [
      "db is up",
      "not wanted: an admin stopped it (or something it requires); 'tend start db' brings it back",
      "stops once these stop first: web",
    ]);
    assert.deepEqual(explain(r.e, "cron"), ["cron is stopping", "not wanted: disabled ('tend enable cron' puts it back into what boot starts)"]);
    assert.deepEqual(explain(r.e, "mount"), ["mount is down", "not wanted now: it starts when its start-on condition comes true"]);
    assert.deepEqual(explain(r.e, "backup"), ["backup is down", "not wanted now: it runs on its schedule"]);
    assert.deepEqual(explain(r.e, "spare"), ["spare is down", "not wanted: nothing started it or pulls it in"]);
  });

  test("disabled, but needed by what was started: it runs, and says both", () => {
    const r = rig({ ...FILES, cron: longrun("requires = metrics"), default: bundle("cron", "metrics") });
    r.unwant("metrics");
    r.start("default");
    assert.deepEqual(explain(r.e, "metrics"), [
      "metrics is starting",
      "wanted because:",
      "  metrics: cron requires it",
      "  cron: member of 'default', started explicitly",
      "disabled: 'default' does not bring it up, but what is listed above still needs it",
    ]);
  });

  test("a task's run is over; a shutdown wants nothing", () => {
    const r = rig(FILES);
    r.emit("check");
    r.spawned("fsck");
    r.exits("fsck", 0);
    assert.deepEqual(explain(r.e, "fsck"), [
      "fsck is down: completed",
      "not wanted now: it starts when its start-on condition comes true",
      "its run is over; 'tend start fsck' runs it again",
    ]);
    r.shutdown();
    assert.deepEqual(explain(r.e, "fsck"), [
      "fsck is down: completed",
      "the server is shutting down: nothing is wanted",
      "its run is over; 'tend start fsck' runs it again",
    ]);
  });
});
