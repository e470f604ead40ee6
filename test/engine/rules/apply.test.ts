// docs/DESIGN.md, "The rules the engine keeps":
//
//   A database change (`apply`) stops what is removed or changed (dependents first),
//   then switches to the new database and starts what is wanted.
//
// Home: src/engine/apply.ts `planApply`, `beginApply`, `completeApply` (the `switched`
// action). What counts as changed is src/engine/diff.ts's: a service's definition or its
// resolved edges, not where its lines stand. Instances of an unchanged template carry
// on; and what arrives sees the levels as they are.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { planApply } from "../../../src/engine/apply.js";
import { compiledDatabase } from "../../helpers.js";
import { bundle, longrun, rig, task } from "./driver.js";

const FILES = { default: bundle("web", "cache"), db: longrun(), web: longrun("requires = db"), cache: longrun() };

/** Everything of FILES up. */
const running = () => {
  const r = rig(FILES);
  r.settle(r.start("default"));
  return r;
};

describe("rule: apply", () => {
  test("a changed service stops, what requires it first; then the switch, and both come back; the rest is not touched", () => {
    const r = running();
    assert.deepEqual(r.apply({ ...FILES, db: longrun("env = MODE=fast") }), ["job stopping web", "web → stopping", "signal web SIGTERM", "arm web stop-timeout 10s"]);
    assert.deepEqual(r.exits("web", "SIGTERM"), [
      "web → down",
      "job stopped web RESULT=ok EXIT_SIGNAL=SIGTERM",
      "job stopping db",
      "db → stopping",
      "signal db SIGTERM",
      "arm db stop-timeout 10s",
    ]);
    assert.equal(r.e.db.generation, 1, "not switched while db runs");
    assert.deepEqual(r.exits("db", "SIGTERM"), [
      "db → down",
      "job stopped db RESULT=ok EXIT_SIGNAL=SIGTERM",
      "switched to generation 2, changed db",
      "db → starting",
      "job starting db",
      "arm db start-timeout 60s",
      "spawn db main",
    ]);
    assert.equal(r.e.db.generation, 2);
    assert.deepEqual(r.spawned("db"), ["db → up", "job started db", "web → starting", "job starting web", "arm web start-timeout 60s", "spawn web main"]);
    assert.deepEqual(r.phases("cache"), ["cache up"]);
  });

  test("an added service a started bundle now holds starts at the switch, which is at once: nothing changed leaves", () => {
    const r = running();
    assert.deepEqual(r.apply({ ...FILES, default: bundle("web", "cache", "extra"), extra: longrun() }), [
      "switched to generation 2, changed default",
      "extra → starting",
      "job starting extra",
      "arm extra start-timeout 60s",
      "spawn extra main",
    ]);
  });

  test("the plan, before anything moves: what leaves (instances too), and what of it stays and bounces", () => {
    const files = { ...FILES, api: longrun("requires = db"), fsck: task("start-on = disk", "instance = DEV") };
    const r = rig(files);
    r.settle(r.start("default"));
    r.settle(r.emit("disk", { DEV: "sdb" }));
    const plan = planApply(r.e, compiledDatabase({ ...files, db: longrun("env = MODE=fast"), fsck: task("start-on = disk", "instance = DEV", "env = X=1") }));
    assert.deepEqual(
      { ...plan, leaving: [...plan.leaving].sort() },
      { added: [], removed: [], changed: ["db", "fsck"], leaving: ["api", "db", "fsck", "fsck@sdb", "web"], bounced: ["web"] },
      "api leaves too, but is not running: it does not bounce",
    );
  });

  test("a removed service stops and is forgotten: what the world says of it later is ignored", () => {
    const r = running();
    const pid = r.e.services.get("cache")!.pid!;
    assert.deepEqual(r.apply({ default: bundle("web"), db: longrun(), web: longrun("requires = db") }), [
      "job stopping cache",
      "cache → stopping",
      "signal cache SIGTERM",
      "arm cache stop-timeout 10s",
    ]);
    assert.deepEqual(r.exits("cache", "SIGTERM"), [
      "cache → down",
      "job stopped cache RESULT=ok EXIT_SIGNAL=SIGTERM",
      "switched to generation 2, removed cache, changed default",
    ]);
    assert.deepEqual([...r.e.services.keys()].sort(), ["db", "web"]);
    assert.deepEqual(r.step({ kind: "exited", service: "cache", pid, status: { code: 0, signal: null } }), []);
  });

  test("no longer in the bundle that was started, but still defined: it stops after the switch, as any unwanted service", () => {
    const r = running();
    assert.deepEqual(r.apply({ ...FILES, default: bundle("web") }), [
      "switched to generation 2, changed default",
      "job stopping cache",
      "cache → stopping",
      "signal cache SIGTERM",
      "arm cache stop-timeout 10s",
    ]);
  });

  test("where the lines stand is no change: a comment added touches nothing", () => {
    const r = running();
    assert.deepEqual(r.apply({ ...FILES, db: `# the database\n\n${longrun()}` }), ["switched to generation 2"]);
  });

  test("resolved edges are the service's too: `before = web` in cache changes web, which bounces", () => {
    const r = running();
    // Unrelated in the database they leave: they stop side by side.
    assert.deepEqual(r.apply({ ...FILES, cache: longrun("before = web") }), [
      "job stopping cache",
      "cache → stopping",
      "signal cache SIGTERM",
      "arm cache stop-timeout 10s",
      "job stopping web",
      "web → stopping",
      "signal web SIGTERM",
      "arm web stop-timeout 10s",
    ]);
    r.exits("web", "SIGTERM");
    // cache, now before web, starts first.
    assert.deepEqual(r.exits("cache", "SIGTERM"), [
      "cache → down",
      "job stopped cache RESULT=ok EXIT_SIGNAL=SIGTERM",
      "switched to generation 2, changed cache web",
      "cache → starting",
      "job starting cache",
      "arm cache start-timeout 60s",
      "spawn cache main",
    ]);
    assert.deepEqual(r.spawned("cache"), ["cache → up", "job started cache", "web → starting", "job starting web", "arm web start-timeout 60s", "spawn web main"]);
  });

  test("instances of an unchanged template carry on; those of a changed one stop and go", () => {
    const files = { mount: longrun("start-on = disk DEV=*", "instance = DEV"), other: longrun() };
    const r = rig(files);
    r.settle(r.emit("disk", { DEV: "sdb" }));
    assert.deepEqual(r.apply({ ...files, other: longrun("env = X=1") }), ["switched to generation 2, changed other"]);
    assert.deepEqual(r.phases("mount@sdb"), ["mount@sdb up"]);
    assert.deepEqual(r.apply({ ...files, other: longrun("env = X=1"), mount: longrun("start-on = disk DEV=*", "instance = DEV", "env = X=2") }), [
      "job stopping mount INSTANCE=sdb",
      "mount@sdb → stopping",
      "signal mount@sdb SIGTERM",
      "arm mount@sdb stop-timeout 10s",
    ]);
    assert.deepEqual(r.exits("mount@sdb", "SIGTERM"), [
      "mount@sdb → down",
      "job stopped mount INSTANCE=sdb RESULT=ok EXIT_SIGNAL=SIGTERM",
      "switched to generation 3, removed mount@sdb, changed mount",
    ]);
    assert.deepEqual([...r.e.services.keys()].sort(), ["mount", "other"]);
  });

  test("what arrives sees the levels as they are: a `while` over a level that holds runs at once, and stops when it goes", () => {
    const r = rig({ net: longrun() });
    r.set("eth0", "up");
    assert.deepEqual(r.apply({ net: longrun(), dhcp: longrun("start-on = eth0=up") }), [
      "switched to generation 2",
      "dhcp → starting",
      "job starting dhcp",
      "arm dhcp start-timeout 60s",
      "spawn dhcp main {eth0=up}",
    ]);
    r.spawned("dhcp");
    assert.deepEqual(r.set("eth0", "down"), [
      "level eth0=down ▸ stopped dhcp",
      "job stopping dhcp",
      "dhcp → stopping",
      "signal dhcp SIGTERM",
      "arm dhcp stop-timeout 10s",
    ]);
  });
});
