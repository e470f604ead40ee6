// docs/DESIGN.md, "The rules the engine keeps":
//
//   *Events* decide when something is wanted (Upstart's model on top of the
//   dependency rules): an edge event, a level change or a job event of another service
//   (`starting`, `started`, `stopping`, `stopped`) that makes a `start-on` true makes
//   its service wanted (a task: for one run; one arriving while it runs, or while its
//   run is to come, is counted as skipped, never run twice; a run an admin's stop holds
//   down is none to come), a `stop-on` unwanted. Edge atoms latch until their
//   condition fires; a condition of levels only is a "while".
//
//   Clock schedules and "N after EVENT" delays come in as facts from the server's
//   scheduler, so the engine stays pure.
//
// Home: src/engine/events.ts `reactTo`, `trigger`, `untrigger`; step.ts (`scheduled`).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { longrun, rig, task } from "./driver.js";

describe("rule: events, levels and latches", () => {
  test("an edge event starts a task for one run, its values in the run's environment", () => {
    const r = rig({ backup: task("start-on = backup-now") });
    assert.deepEqual(r.emit("backup-now", { WHERE: "nas" }), [
      "event backup-now WHERE=nas ▸ started backup",
      "backup → running",
      "job starting backup",
      "spawn backup main {WHERE=nas TEND_EVENT=backup-now}",
      "job started backup",
    ]);
    r.spawned("backup");
    assert.deepEqual(r.exits("backup", 0), ["backup → down: completed", "job stopped backup RESULT=ok EXIT_STATUS=0"]);
    assert.deepEqual([...r.e.wanted.keys()], [], "its trigger is spent");
  });

  test("one arriving while the run goes on is skipped, never run twice; after the run, the next runs it again", () => {
    const r = rig({ backup: task("start-on = backup-now") });
    r.emit("backup-now");
    r.spawned("backup");
    assert.deepEqual(r.emit("backup-now"), ["event backup-now ▸ skipped backup"]);
    assert.equal(r.e.services.get("backup")?.skipped, 1);
    r.exits("backup", 0);
    assert.deepEqual(r.emit("backup-now"), [
      "event backup-now ▸ started backup",
      "backup → running",
      "job starting backup",
      "spawn backup main {TEND_EVENT=backup-now}",
      "job started backup",
    ]);
  });

  test("a run to come that an admin stopped is no run going: the next event runs it (SIM_SEED=31760 SIM_SIZE=23)", () => {
    const r = rig({ backup: task("start-on = backup-now", "requires = nas"), nas: longrun() });
    r.start("nas");
    r.emit("backup-now"); // backup waits for nas
    r.stop("backup");
    assert.deepEqual(r.spawned("nas"), ["nas → up", "job started nas"], "stopped: it does not run");
    assert.deepEqual(r.emit("backup-now"), [
      "event backup-now ▸ started backup",
      "backup → running",
      "job starting backup",
      "spawn backup main {TEND_EVENT=backup-now}",
      "job started backup",
    ]);
  });

  test("`start-on` makes a longrun wanted, `stop-on` unwanted", () => {
    const r = rig({ sync: longrun("start-on = usb-in", "stop-on = usb-out") });
    r.emit("usb-in");
    r.spawned("sync");
    assert.deepEqual(r.emit("usb-out"), ["event usb-out ▸ stopped sync", "job stopping sync", "sync → stopping", "signal sync SIGTERM", "arm sync stop-timeout 10s"]);
  });

  test("values match by glob: an event for another device does nothing", () => {
    const r = rig({ fsck: task("start-on = disk-added DEVNAME=/dev/sd*") });
    assert.deepEqual(r.emit("disk-added", { DEVNAME: "/dev/nvme0n1" }), ["event disk-added DEVNAME=/dev/nvme0n1"]);
    assert.deepEqual(r.emit("disk-added", { DEVNAME: "/dev/sdb" }), [
      "event disk-added DEVNAME=/dev/sdb ▸ started fsck",
      "fsck → running",
      "job starting fsck",
      "spawn fsck main {DEVNAME=/dev/sdb TEND_EVENT=disk-added}",
      "job started fsck",
    ]);
  });

  test("edge atoms latch until the condition fires, in any order, then start again from nothing", () => {
    const r = rig({ both: task("start-on = a and b") });
    assert.deepEqual(r.emit("a"), ["event a"]);
    assert.deepEqual(r.emit("a"), ["event a"]);
    assert.deepEqual(r.emit("b"), ["event b ▸ started both", "both → running", "job starting both", "spawn both main {TEND_EVENT=b}", "job started both"]);
    r.spawned("both");
    r.exits("both", 0);
    assert.deepEqual(r.emit("b"), ["event b"], "a's latch was spent by the run");
  });

  test("a condition of levels only is a `while`: wanted while the levels hold, unwanted when one goes", () => {
    const r = rig({ share: longrun("start-on = net=up and disk=ok") });
    assert.deepEqual(r.set("net", "up"), ["level net=up"]);
    assert.deepEqual(r.set("disk", "ok"), [
      "level disk=ok ▸ started share",
      "share → starting",
      "job starting share",
      "arm share start-timeout 60s",
      "spawn share main {disk=ok TEND_EVENT=disk}",
    ]);
    r.spawned("share");
    assert.deepEqual(r.set("net", null), ["level net unset ▸ stopped share", "job stopping share", "share → stopping", "signal share SIGTERM", "arm share stop-timeout 10s"]);
  });

  test("a job event of another service: `started db` runs what waits for it", () => {
    const r = rig({ db: longrun(), warm: task("start-on = started db") });
    r.start("db");
    assert.deepEqual(r.spawned("db"), [
      "db → up",
      "job started db ▸ started warm",
      "warm → running",
      "job starting warm",
      "spawn warm main {JOB=db TEND_EVENT=started db}",
      "job started warm",
    ]);
  });

  test("`N after EVENT` asks the scheduler for the delay; the scheduled fact runs it, with the event's values", () => {
    const r = rig({ report: task("schedule = 5m after boot-done") });
    assert.deepEqual(r.emit("boot-done", { HOST: "a" }), ["delay report 300s {HOST=a TEND_EVENT=boot-done}", "event boot-done HOST=a"]);
    assert.deepEqual(r.scheduled("report", { HOST: "a", TEND_EVENT: "boot-done" }), [
      "schedule report ▸ started report",
      "report → running",
      "job starting report",
      "spawn report main {HOST=a TEND_EVENT=boot-done}",
      "job started report",
    ]);
    assert.deepEqual(r.scheduled("gone"), [], "a schedule of a service an apply removed");
  });
});
