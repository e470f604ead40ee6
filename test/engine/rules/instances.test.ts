// docs/DESIGN.md, "The rules the engine keeps":
//
//   Instances: a template (a file `getty@`) never runs itself; its instances
//   (`getty@tty1`) are made from its definition with the argument in their environment
//   (`INSTANCE`) and in its keys' `${INSTANCE}`; those the files name are compiled as
//   services, the others the engine makes when a start, restart or the boot names
//   one; `instance = KEY` makes one per value an event carries (`mount@/dev/sdb1`).
//   The engine keeps at most 64 a template, the longest at rest forgotten first, none
//   made when none is at rest.
//
// Home: src/engine/instances.ts `makeNamed`, `makeInstance`; made by events in
// events.ts `trigger`. An
// instance has its template's definition under its own name, the event's values in its
// environment; its job events are its template's with INSTANCE set (as Upstart's are);
// `$KEY` in its `stop-on` is its own value.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MAX_INSTANCES } from "../../../src/engine/instances.js";
import { type EngineSnapshot, restoreEngine, snapshotOf } from "../../../src/engine/snapshot.js";
import { bundle, longrun, rig, task } from "./driver.js";

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

  test("one forgotten while an apply waits is no longer what the apply waits for: the switch comes (SIM_SEED=552 SIM_SIZE=6)", () => {
    const fsck = task("start-on = block-added", "instance = DEVNAME");
    const r = rig({ fsck, slow: longrun() });
    r.settle(r.start("slow"));
    for (let i = 0; i < MAX_INSTANCES; i++) r.later(1).settle(r.emit("block-added", { DEVNAME: `/dev/d${i}` }));
    // The template and `slow` change: their instances leave with the template, and the switch waits for `slow` to stop.
    r.apply({ fsck: `${fsck}description = checks\n`, slow: longrun("description = slow") });
    r.later(1).emit("block-added", { DEVNAME: "/dev/new" });
    assert.ok(!r.e.services.has("fsck@/dev/d0"), "the one longest at rest went");
    const lines = r.exits("slow", "SIGTERM");
    assert.deepEqual(lines.slice(0, 2), ["slow → down", "job stopped slow RESULT=ok EXIT_SIGNAL=SIGTERM"]);
    assert.match(lines[2] ?? "", /^switched to generation 2, removed fsck@\/dev\/d1 .* fsck@\/dev\/new, changed fsck slow$/);
  });
});

// Templates by name (a file `getty@`): an admin's or the boot's start of `getty@tty1`
// makes the instance (instances.ts `makeNamed`), from the template's definition with
// INSTANCE in its environment; the template itself never runs; an instance the files
// name is a compiled service; the bound counts only what the engine made.
const GETTY = longrun("description = console ${INSTANCE}");

describe("rule: instances by name", () => {
  test("a start names an instance: it is made from its template, and starts; its job events are the template's, with INSTANCE", () => {
    const r = rig({ "getty@": GETTY });
    assert.deepEqual(r.start("getty@tty1"), [
      "affected start getty@tty1",
      "getty@tty1 → starting",
      "job starting getty@ INSTANCE=tty1",
      "arm getty@tty1 start-timeout 60s",
      "spawn getty@tty1 main",
    ]);
    const def = r.e.defs.get("getty@tty1")!;
    assert.equal(def.template, "getty@");
    assert.equal(def.description, "console tty1");
    assert.equal(def.env.INSTANCE, "tty1");
    assert.deepEqual(r.spawned("getty@tty1"), ["getty@tty1 → up", "job started getty@ INSTANCE=tty1"]);
    assert.deepEqual(r.stop("getty@tty1"), [
      "affected stop getty@tty1",
      "job stopping getty@ INSTANCE=tty1",
      "getty@tty1 → stopping",
      "signal getty@tty1 SIGTERM",
      "arm getty@tty1 stop-timeout 10s",
    ]);
  });

  test("a template never runs itself, named or not; a name that is no instance makes nothing", () => {
    const r = rig({ "getty@": GETTY, web: longrun() });
    assert.deepEqual(r.start("getty@"), ["affected start getty@"]);
    assert.deepEqual(r.phases("getty@"), ["getty@ down"]);
    assert.deepEqual(r.start("getty@a/b", "web@x", "nosuch@x"), ["affected start"]);
    assert.deepEqual(r.e.topo.names, ["getty@", "web"]);
  });

  test("the boot's names make instances (an enabled one), and the boot waits for them", () => {
    const r = rig({ "getty@": GETTY, default: bundle("login"), login: longrun() });
    r.boot(["default", "getty@tty2"]);
    assert.deepEqual([...r.e.boot!.services].sort(), ["getty@tty2", "login"]);
    assert.deepEqual(r.phases("getty@tty2", "login"), ["getty@tty2 starting", "login starting"]);
  });

  test("an instance the files name is compiled: it starts with what requires it, and no bound applies to it", () => {
    const r = rig({ "pg@": longrun("requires = net"), net: longrun(), app: longrun("requires = pg@15-main") });
    r.settle(r.start("app"));
    assert.deepEqual(r.phases("net", "pg@15-main", "app"), ["net up", "pg@15-main up", "app up"]);
    assert.equal(r.e.defs.get("pg@15-main")!.env.INSTANCE, "15-main");
  });

  test(`a template keeps at most ${MAX_INSTANCES} instances made by name: one at rest is forgotten; with none at rest, none is made`, () => {
    const r = rig({ "w@": longrun() });
    for (let i = 0; i < MAX_INSTANCES; i++) r.later(1).settle(r.start(`w@${i}`));
    r.later(1).settle(r.stop("w@0"));
    assert.deepEqual(r.start("w@new").slice(0, 2), ["affected start w@new", "w@new → starting"]);
    assert.ok(!r.e.services.has("w@0"), "the one at rest went");
    assert.deepEqual(r.start("w@more"), ["affected start"], "none at rest: not made");
    assert.equal(r.e.topo.names.filter((n) => n.startsWith("w@") && n !== "w@").length, MAX_INSTANCES);
  });

  test("with 'instance = KEY', an event makes (or starts) the same instances; a value that is no argument makes none", () => {
    const r = rig({ "vpn@": longrun("start-on = link-up IFACE=*", "stop-on = link-down IFACE=$INSTANCE", "instance = IFACE") });
    assert.deepEqual(r.emit("link-up", { IFACE: "wg0" }).slice(0, 3), ["event link-up IFACE=wg0 ▸ started vpn@wg0", "vpn@wg0 → starting", "job starting vpn@ INSTANCE=wg0"]);
    assert.equal(r.e.defs.get("vpn@wg0")!.env.IFACE, "wg0", "the KEY, as INSTANCE, is the argument");
    assert.deepEqual(r.emit("link-up", { IFACE: "../x" }), ["event link-up IFACE=../x"]);
    assert.equal(r.emit("link-up", { IFACE: "wg2", INSTANCE: "other" }).at(-1), "spawn vpn@wg2 main {IFACE=wg2 INSTANCE=wg2 TEND_EVENT=link-up}", "an event cannot give an instance another INSTANCE");
    // Made by name, its `stop-on` binds $INSTANCE to its argument all the same.
    r.start("vpn@wg1");
    r.spawned("vpn@wg1");
    r.stop("vpn@wg1");
    r.settle(r.exits("vpn@wg1", "SIGTERM"));
    assert.deepEqual(r.emit("link-up", { IFACE: "wg1" }).slice(0, 2), ["event link-up IFACE=wg1 ▸ started vpn@wg1", "vpn@wg1 → starting"]);
    r.spawned("vpn@wg1");
    assert.deepEqual(r.emit("link-down", { IFACE: "wg1" })[0], "event link-down IFACE=wg1 ▸ stopped vpn@wg1");
  });

  test("an apply: an instance made by name carries on (also when the new database compiles it alike); a changed template's goes", () => {
    const files = { "getty@": GETTY, other: longrun() };
    const r = rig(files);
    r.settle(r.start("getty@tty1", "getty@tty2"));
    const pid = r.e.services.get("getty@tty1")!.pid;
    assert.deepEqual(r.apply({ ...files, default: bundle("getty@tty1") }), ["switched to generation 2"]);
    assert.equal(r.e.services.get("getty@tty1")!.pid, pid, "compiled alike now: the same process");
    assert.ok(Object.hasOwn(r.e.db.services, "getty@tty1") && !Object.hasOwn(r.e.db.services, "getty@tty2"));
    assert.deepEqual(r.phases("getty@tty1", "getty@tty2"), ["getty@tty1 up", "getty@tty2 up"]);
    const changed = r.apply({ "getty@": longrun("description = tty ${INSTANCE}"), other: longrun() });
    assert.deepEqual(changed.filter((l) => l.startsWith("signal")), ["signal getty@tty1 SIGTERM", "signal getty@tty2 SIGTERM"]);
  });

  test("a snapshot carries the instances made by name", () => {
    const r = rig({ "getty@": GETTY });
    r.settle(r.start("getty@tty1"));
    const restored = restoreEngine(JSON.parse(JSON.stringify(snapshotOf(r.e))) as EngineSnapshot, r.e.db, r.now);
    assert.ok(typeof restored !== "string");
    assert.equal(restored.defs.get("getty@tty1")?.description, "console tty1");
    assert.equal(restored.services.get("getty@tty1")?.phase, "up");
    assert.ok(restored.wanted.has("getty@tty1"));
  });
});
