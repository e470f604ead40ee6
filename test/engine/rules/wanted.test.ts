// docs/DESIGN.md, "The rules the engine keeps":
//
//   *Wanted* is derived: the closure of the explicitly started names (the boot's
//   `default`, `tend start`, `enable`) through `requires` and `wants`, less what an
//   admin stopped (and what requires it). A service with `start-on` or `schedule` is
//   only pulled in when named, since an event or a clock decides when it runs.
//
// Home: src/engine/wanted.ts `computeWanted` (and `wantedBecause`), `startNamed`,
// `stopNamed`, `unwantNamed`.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { wantedBecause } from "../../../src/engine/wanted.js";
import { bundle, longrun, rig, task } from "./driver.js";

const wanted = (r: ReturnType<typeof rig>): string[] => [...r.e.wanted.keys()].sort();

describe("rule: wanted", () => {
  test("a start pulls in what is required and what is wanted; `wants` orders but does not hold back", () => {
    const r = rig({ db: longrun(), metrics: longrun("restart = never"), web: longrun("requires = db", "wants = metrics") });
    r.start("web");
    assert.deepEqual(wanted(r), ["db", "metrics", "web"]);
    r.spawned("db");
    // web is ordered after what it wants too: it waits for metrics to settle, failed or not.
    assert.deepEqual(r.spawnFailed("metrics", "no such file"), [
      "metrics → failed: cannot start: no such file",
      "job stopped metrics RESULT=failed",
      "web → starting",
      "job starting web",
      "arm web start-timeout 60s",
      "spawn web main",
    ]);
  });

  test("an admin's stop takes the service out, and what requires it; what only wants it stays", () => {
    const r = rig({ db: longrun(), metrics: longrun(), web: longrun("requires = db", "wants = metrics"), api: longrun("requires = db") });
    r.settle(r.start("web", "api"));
    assert.deepEqual(r.stop("metrics"), ["affected stop metrics", "job stopping metrics", "metrics → stopping", "signal metrics SIGTERM", "arm metrics stop-timeout 10s"]);
    r.settle(r.exits("metrics", "SIGTERM"));
    assert.deepEqual(wanted(r), ["api", "db", "web"]);
    r.stop("db");
    assert.deepEqual(wanted(r), []);
  });

  test("a stopped service is not pulled back by `wants`; a start of what requires it takes it back", () => {
    const r = rig({ db: longrun(), metrics: longrun(), web: longrun("requires = db", "wants = metrics") });
    r.settle(r.start("web"));
    r.settle(r.stop("db", "metrics"));
    assert.deepEqual(r.start("web"), ["affected start web", "db → starting", "job starting db", "arm db start-timeout 60s", "spawn db main"]);
    assert.deepEqual(wanted(r), ["db", "web"], "metrics stays out until it is started by name");
  });

  test("a bundle stands for its members; `unwant` (disable) takes one out of it", () => {
    const r = rig({ default: bundle("web", "cron"), web: longrun(), cron: longrun() });
    r.settle(r.start("default"));
    assert.deepEqual(r.unwant("cron"), ["job stopping cron", "cron → stopping", "signal cron SIGTERM", "arm cron stop-timeout 10s"]);
    r.settle(r.exits("cron", "SIGTERM"));
    assert.deepEqual(wanted(r), ["web"]);
    assert.deepEqual(r.start("cron"), ["affected start cron", "cron → starting", "job starting cron", "arm cron start-timeout 60s", "spawn cron main"], "named, it is wanted again");
  });

  test("one with `start-on` is not pulled in by a bundle, nor by what requires it: that waits, saying why", () => {
    const r = rig({ default: bundle("web", "mount"), mount: longrun("start-on = disk-added"), web: longrun("requires = mount") });
    assert.deepEqual(r.start("default"), ["affected start web mount", "web → down: waiting for mount, which starts on its own event or schedule"]);
    assert.deepEqual(r.emit("disk-added"), [
      "event disk-added ▸ started mount",
      "mount → starting",
      "job starting mount",
      "arm mount start-timeout 60s",
      "spawn mount main {TEND_EVENT=disk-added}",
      "web → down",
    ]);
    assert.deepEqual(r.spawned("mount"), ["mount → up", "job started mount", "web → starting", "job starting web", "arm web start-timeout 60s", "spawn web main"]);
  });

  test("why a service is wanted: the shortest chain back to what was named, or its event", () => {
    const r = rig({ default: bundle("web"), db: longrun(), metrics: longrun(), web: longrun("requires = db", "wants = metrics"), mount: longrun("start-on = disk") });
    r.start("default");
    r.emit("disk");
    assert.deepEqual(wantedBecause(r.e, "db"), ["db: web requires it", "web: member of 'default', started explicitly"]);
    assert.deepEqual(wantedBecause(r.e, "metrics"), ["metrics: web wants it", "web: member of 'default', started explicitly"]);
    assert.deepEqual(wantedBecause(r.e, "mount"), ["mount: started by its event or schedule (start-on, schedule)"]);
    r.start("db");
    assert.deepEqual(wantedBecause(r.e, "db"), ["db: started explicitly (by an admin, the boot or 'enable')"]);
    r.stop("metrics");
    assert.equal(wantedBecause(r.e, "metrics"), null);
  });

  test("one with a `schedule` neither, unless named", () => {
    const r = rig({ backup: task("schedule = every 1h"), default: bundle("backup") });
    assert.deepEqual(r.start("default"), ["affected start backup"], "it concerns the start, which leaves it to its clock");
    assert.deepEqual(r.start("backup"), ["affected start backup", "backup → running", "job starting backup", "spawn backup main", "job started backup"]);
  });
});
