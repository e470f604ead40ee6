// docs/DESIGN.md, "The rules the engine keeps":
//
//   `instance = KEY` makes one instance per value (`mount@/dev/sdb1`), at most 64 a
//   template, the longest at rest forgotten first.
//
// Home: src/engine/instances.ts `forgetOldInstances`; made in events.ts `trigger`. An
// instance has its template's definition under its own name, the event's values in its
// environment; its job events are its template's with INSTANCE set (as Upstart's are);
// `$KEY` in its `stop-on` is its own value.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MAX_INSTANCES } from "../../../src/engine/instances.js";
import { longrun, rig, task } from "./driver.js";

const MOUNT = longrun("start-on = block-added DEVNAME=/dev/sd*", "stop-on = block-removed DEVNAME=$DEVNAME", "instance = DEVNAME");

describe("rule: instances", () => {
  test("one instance per value, each with its value; its job events are the template's, with INSTANCE", () => {
    const r = rig({ mount: MOUNT });
    assert.deepEqual(r.emit("block-added", { DEVNAME: "/dev/sdb" }), [
      "event block-added DEVNAME=/dev/sdb ▸ started mount@/dev/sdb",
      "mount@/dev/sdb → starting",
      "job starting mount INSTANCE=/dev/sdb",
      "arm mount@/dev/sdb start-timeout 60s",
      "spawn mount@/dev/sdb main {DEVNAME=/dev/sdb TEND_EVENT=block-added}",
    ]);
    assert.deepEqual(r.emit("block-added", { DEVNAME: "/dev/sdc" }), [
      "event block-added DEVNAME=/dev/sdc ▸ started mount@/dev/sdc",
      "mount@/dev/sdc → starting",
      "job starting mount INSTANCE=/dev/sdc",
      "arm mount@/dev/sdc start-timeout 60s",
      "spawn mount@/dev/sdc main {DEVNAME=/dev/sdc TEND_EVENT=block-added}",
    ]);
  });

  test("`$KEY` in `stop-on` is the instance's own value: one device removed stops its instance alone", () => {
    const r = rig({ mount: MOUNT });
    r.emit("block-added", { DEVNAME: "/dev/sdb" });
    r.spawned("mount@/dev/sdb");
    r.emit("block-added", { DEVNAME: "/dev/sdc" });
    r.spawned("mount@/dev/sdc");
    assert.deepEqual(r.emit("block-removed", { DEVNAME: "/dev/sdc" }), [
      "event block-removed DEVNAME=/dev/sdc ▸ stopped mount@/dev/sdc",
      "job stopping mount INSTANCE=/dev/sdc",
      "mount@/dev/sdc → stopping",
      "signal mount@/dev/sdc SIGTERM",
      "arm mount@/dev/sdc stop-timeout 10s",
    ]);
    assert.deepEqual(r.phases("mount@/dev/sdb"), ["mount@/dev/sdb up"]);
  });

  test("an event that does not say which instance starts none", () => {
    const r = rig({ mount: MOUNT });
    assert.deepEqual(r.emit("block-added", {}), ["event block-added"]);
    assert.deepEqual(r.emit("block-added", { DEVNAME: "" }), ["event block-added DEVNAME="]);
  });

  test("a task instance runs once at a time, as any task; a job event can name one instance", () => {
    const r = rig({ fsck: task("start-on = block-added", "instance = DEVNAME"), report: task("start-on = stopped fsck INSTANCE=/dev/sdb") });
    r.emit("block-added", { DEVNAME: "/dev/sdb" });
    assert.deepEqual(r.emit("block-added", { DEVNAME: "/dev/sdb" }), ["event block-added DEVNAME=/dev/sdb ▸ skipped fsck@/dev/sdb"]);
    r.spawned("fsck@/dev/sdb");
    assert.deepEqual(r.exits("fsck@/dev/sdb", 0), [
      "fsck@/dev/sdb → down: completed",
      "job stopped fsck INSTANCE=/dev/sdb RESULT=ok EXIT_STATUS=0 ▸ started report",
      "report → running",
      "job starting report",
      "spawn report main {JOB=fsck INSTANCE=/dev/sdb RESULT=ok EXIT_STATUS=0 TEND_EVENT=stopped fsck}",
      "job started report",
    ]);
  });

  test(`a template keeps at most ${MAX_INSTANCES} instances: those longest at rest are forgotten`, () => {
    const r = rig({ fsck: task("start-on = block-added", "instance = DEVNAME") });
    for (let i = 0; i < MAX_INSTANCES + 10; i++) {
      r.later(1);
      r.settle(r.emit("block-added", { DEVNAME: `/dev/d${i}` }));
    }
    const instances = r.e.topo.names.filter((n) => n.startsWith("fsck@"));
    assert.equal(instances.length, MAX_INSTANCES);
    assert.ok(instances.includes(`fsck@/dev/d${MAX_INSTANCES + 9}`) && !instances.includes("fsck@/dev/d0"), "the oldest went first");
    assert.equal(r.e.services.size, MAX_INSTANCES + 1);
  });
});
