// docs/DESIGN.md, "The rules the engine keeps":
//
//   A *reload* (`tend reload`) happens only while a longrun is up, and never changes
//   its phase: its `reload` command runs beside its main process (with `MAINPID`), or
//   its main process alone is sent its `reload-signal`. It is over when the command
//   exits (0: reloaded) or once the signal is sent — unless its main process said
//   `RELOADING=1` during it (a notify service sent a signal is expected to): then at
//   the `READY=1` that follows. Its timeout, or the service leaving `up`, fails it.
//   One asked for while another runs waits for that one.
//
// Home: src/engine/reload.ts `reloadNamed` (`cannotReload`), `reloadProcessFact`,
// `reloading`, `reloaded`, `reloadTimedOut`, `reloadInterrupted` (from phase.ts
// `setPhase`); `reloadOutcome` for the waiter. `tend signal --main` is step.ts's.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createEngine, step } from "../../../src/engine/engine.js";
import { reloadOutcome } from "../../../src/engine/reload.js";
import { compiledDatabase } from "../../helpers.js";
import { longrun, rig } from "./driver.js";

/** web reloads by a command, sig by a signal, note is a notify service reloaded by a signal, plain has no way to reload. */
const FILES = {
  web: longrun("reload = /bin/true", "reload-timeout = 5s"),
  sig: longrun("reload-signal = HUP"),
  note: longrun("ready = notify", "reload-signal = USR1", "reload-timeout = 2s"),
  plain: longrun(),
};
const up = (...names: string[]) => {
  const r = rig(FILES);
  r.settle(r.start(...names));
  return r;
};

describe("rule: reload", () => {
  test("a reload command runs beside the main process, with MAINPID; it exits 0: reloaded, and nothing else changes", () => {
    const r = up("web");
    assert.deepEqual(r.reload("web"), ["arm web reload-timeout 5s", "spawn web reload {MAINPID=100}"]);
    assert.equal(r.lastReload("web"), "reloading");
    assert.deepEqual(r.reloadSpawned("web"), []);
    assert.deepEqual(r.reloadExits("web", 0), []);
    assert.equal(r.lastReload("web"), "reloaded");
    assert.deepEqual(r.phases("web"), ["web up"]);
  });

  test("a reload command that fails fails the reload; the service keeps running", () => {
    const r = up("web");
    r.reload("web");
    r.reloadSpawned("web");
    assert.deepEqual(r.reloadExits("web", 3), []);
    assert.equal(r.lastReload("web"), "exited with code 3");
    assert.deepEqual(r.phases("web"), ["web up"]);
    // A command that cannot be started fails it too.
    r.reload("web");
    assert.deepEqual(r.reloadSpawnFailed("web", "/bin/true: no such program"), []);
    assert.equal(r.lastReload("web"), "cannot start the reload command: /bin/true: no such program");
  });

  test("a reload signal goes to the main process alone; without notify, sending it is the reload", () => {
    const r = up("sig");
    assert.deepEqual(r.reload("sig"), ["signal sig main SIGHUP"]);
    assert.equal(r.lastReload("sig"), "reloaded");
  });

  test("a notify service sent its reload signal is done at the READY=1 after its RELOADING=1", () => {
    const r = up("note");
    assert.deepEqual(r.reload("note"), ["signal note main SIGUSR1", "arm note reload-timeout 2s"]);
    assert.deepEqual(r.reloading("note"), []);
    assert.equal(r.lastReload("note"), "reloading");
    assert.deepEqual(r.reloaded("note"), []);
    assert.equal(r.lastReload("note"), "reloaded");
    assert.deepEqual(r.phases("note"), ["note up"]);
  });

  test("one that never says READY=1 times out: the reload failed, the service runs on", () => {
    const r = up("note");
    r.reload("note");
    r.reloading("note");
    assert.deepEqual(r.fire("note"), []);
    assert.equal(r.lastReload("note"), "reload timeout: not done within 2s");
    assert.deepEqual(r.phases("note"), ["note up"]);
    assert.deepEqual(r.reloaded("note"), [], "a READY=1 after the timeout is no reload's");
  });

  test("with a command, a RELOADING=1 said while it runs is waited for: done at its READY=1, which may come first", () => {
    const r = rig({ web: longrun("ready = notify", "reload = /bin/true") });
    r.settle(r.start("web"));
    r.reload("web");
    r.reloadSpawned("web");
    r.reloading("web");
    r.reloadExits("web", 0);
    assert.equal(r.lastReload("web"), "reloading", "the command is over, the service's reload is not");
    r.reloaded("web");
    assert.equal(r.lastReload("web"), "reloaded");
    r.reload("web");
    r.reloadSpawned("web");
    r.reloading("web");
    r.reloaded("web");
    assert.equal(r.lastReload("web"), "reloading", "its command still runs");
    r.reloadExits("web", 0);
    assert.equal(r.lastReload("web"), "reloaded");
  });

  test("a reload command that takes too long is killed, and the reload failed", () => {
    const r = up("web");
    r.reload("web");
    r.reloadSpawned("web");
    assert.deepEqual(r.fire("web"), ["signal web reload SIGKILL"]);
    assert.equal(r.lastReload("web"), "reload timeout: not done within 5s");
    assert.deepEqual(r.reloadExits("web", "SIGKILL"), [], "its end is no reload's any more");
    assert.equal(r.lastReload("web"), "reload timeout: not done within 5s");
  });

  test("a reload command reported after its reload is over is not left to run", () => {
    const r = up("web");
    r.reload("web");
    r.fire("web");
    assert.deepEqual(r.reloadSpawned("web"), ["signal web reload SIGKILL"]);
  });

  test("a reload of a down service, of one with no way to reload, is refused: the engine says why, and does nothing", () => {
    const r = rig(FILES);
    assert.deepEqual(r.reload("web"), []);
    assert.equal(r.lastReload("web"), "web is not up (it is down): only an up service is reloaded");
    r.settle(r.start("plain"));
    assert.deepEqual(r.reload("plain"), []);
    assert.equal(r.lastReload("plain"), "plain has no 'reload' or 'reload-signal'; 'tend restart plain' restarts it");
    assert.deepEqual(r.reload("nosuch"), []);
  });

  test("a reload while stopping is refused; a stop during a reload fails it", () => {
    const r = up("web");
    assert.deepEqual(r.stop("web"), ["affected stop web", "job stopping web", "web → stopping", "signal web SIGTERM", "arm web stop-timeout 10s"]);
    r.reload("web");
    assert.equal(r.lastReload("web"), "web is not up (it is stopping): only an up service is reloaded");
    r.settle(r.exits("web", "SIGTERM"));
    r.settle(r.start("web"));
    r.reload("web");
    r.reloadSpawned("web");
    r.stop("web");
    assert.equal(r.lastReload("web"), "web went stopping during the reload");
    assert.deepEqual(r.reloadExits("web", "SIGKILL"), [], "its command dies with the service's tree: nothing to do");
    assert.deepEqual(r.exits("web", "SIGTERM"), ["web → down", "job stopped web RESULT=ok EXIT_SIGNAL=SIGTERM"]);
  });

  test("the service exiting during its reload fails the reload; its restart goes on as ever", () => {
    const r = up("web");
    r.reload("web");
    r.reloadSpawned("web");
    assert.deepEqual(r.exits("web", 1), ["web → starting: restarting in 200ms (1 recent restarts)", "arm web restart-delay 200ms"]);
    assert.equal(r.lastReload("web"), "web went starting during the reload (restarting in 200ms (1 recent restarts))");
    assert.deepEqual(r.reloadExits("web", "SIGKILL"), []);
    assert.deepEqual(r.fire("web"), ["arm web start-timeout 60s", "spawn web main"]);
  });

  test("a reload asked for while one runs waits for it: no second command, one outcome", () => {
    const r = up("web");
    r.reload("web");
    r.reloadSpawned("web");
    assert.deepEqual(r.later(10).reload("web"), []);
    const e = r.e;
    assert.equal(reloadOutcome(e, "web", 10), null);
    r.later(10).reloadExits("web", 0);
    assert.deepEqual(reloadOutcome(e, "web", 10), { error: null });
    assert.equal(reloadOutcome(e, "web", 25), null, "a reload asked for after it ended has not begun");
  });

  test("a notify service that says RELOADING=1 by itself (a SIGHUP from elsewhere) is shown reloading until its READY=1", () => {
    const r = up("note");
    assert.deepEqual(r.reloading("note"), ["arm note reload-timeout 2s"]);
    assert.equal(r.lastReload("note"), "reloading");
    r.reloaded("note");
    assert.equal(r.lastReload("note"), "reloaded");
  });

  test("`tend signal --main`: to the main process alone, and only while it runs", () => {
    const r = rig({ web: longrun("pre-start = /bin/true") });
    r.start("web");
    r.spawned("web");
    assert.deepEqual(r.signal("web", "SIGUSR1", "main"), [], "its pre-start runs: no main process yet");
    assert.deepEqual(r.signal("web", "SIGUSR1"), ["signal web SIGUSR1"], "the group of its process");
    r.exits("web", 0);
    r.spawned("web");
    assert.deepEqual(r.signal("web", "SIGUSR1", "main"), ["signal web main SIGUSR1"]);
  });

  test("after a server restart: a reload command the keeper still runs carries on; one it no longer runs ended unseen", () => {
    const r = up("web");
    r.reload("web");
    r.reloadSpawned("web");
    const pid = r.e.services.get("web")!.reload!.pid!;
    assert.deepEqual(r.step({ kind: "adopted", service: "web", process: { pid: 100, role: "main", ready: false }, exit: null, reload: pid }), []);
    assert.equal(r.lastReload("web"), "reloading");
    r.step({ kind: "adopted", service: "web", process: { pid: 100, role: "main", ready: false }, exit: null });
    assert.equal(r.lastReload("web"), "its reload command ended while no server was running: its outcome is not known");
    assert.deepEqual(r.step({ kind: "adopted", service: "web", process: { pid: 100, role: "main", ready: false }, exit: null, reload: 555 }), ["signal web reload pid=555 SIGKILL"]);
  });

  test("a reload survives a snapshot: what is under way, and how the last one ended", async () => {
    const { restoreEngine, snapshotOf } = await import("../../../src/engine/snapshot.js");
    const db = compiledDatabase(FILES);
    const e = createEngine(db, 0);
    step(e, { kind: "start", names: ["web"], now: 0 });
    step(e, { kind: "spawned", service: "web", pid: 7, now: 1 });
    step(e, { kind: "reload", names: ["web"], now: 2 });
    const restored = restoreEngine(JSON.parse(JSON.stringify(snapshotOf(e))), db, 3);
    assert.ok(typeof restored !== "string");
    assert.deepEqual(restored.services.get("web")!.reload, e.services.get("web")!.reload);
    // A snapshot of a server before reloads existed has neither field: restored as none.
    const old = JSON.parse(JSON.stringify(snapshotOf(e)));
    for (const [, s] of old.services) delete s.reload, delete s.reloaded;
    const older = restoreEngine(old, db, 3);
    assert.ok(typeof older !== "string");
    assert.deepEqual([older.services.get("web")!.reload, older.services.get("web")!.reloaded], [null, null]);
  });
});
