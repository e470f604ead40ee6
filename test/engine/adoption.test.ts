// A server that died and came back: the engine restored from its snapshot carries on
// exactly where it was, and the keeper's table of live processes is reconciled with
// it, case by case, as a newcomer would want them read.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createEngine, step, type Engine } from "../../src/engine/engine.js";
import { replay, restoreEngine, snapshotOf } from "../../src/engine/snapshot.js";
import type { Action, Fact, TimedFact } from "../../src/engine/types.js";
import { compiledDatabase, plain } from "../helpers.js";


const DB = compiledDatabase({
  web: "type = longrun\ncommand = /bin/web\nready = fd\nrestart = always\n",
  worker: "type = longrun\ncommand = /bin/worker\nrequires = web\n",
  setup: "type = oneshot\nup = /bin/setup\n",
  extra: "type = longrun\ncommand = /bin/extra\n",
});

/** The engine a server leaves behind, through JSON as the file holds it, and the one restored from it. */
function restarted(e: Engine, now: number): Engine {
  const restored = restoreEngine(JSON.parse(JSON.stringify(snapshotOf(e))), DB, now);
  assert.ok(typeof restored !== "string", String(restored));
  return restored;
}

const at = (e: Engine, now: number, fact: Fact): Action[] => step(e, { ...fact, now });
const kinds = (actions: Action[]): string[] => actions.filter((a) => a.kind !== "changed" && a.kind !== "occurred" && a.kind !== "affected" && a.kind !== "switched").map((a) => `${a.kind} ${a.service}${a.kind === "spawn" ? ` ${a.role}` : a.kind === "signal" ? ` ${a.signal}` : ""}`);

/** web up (pid 10), setup up, worker up (pid 20). */
function running(): Engine {
  const e = createEngine(DB, 0);
  at(e, 1, { kind: "start", names: ["worker", "setup"] });
  at(e, 2, { kind: "spawned", service: "web", pid: 10 });
  at(e, 3, { kind: "ready", service: "web", pid: 10 });
  at(e, 4, { kind: "spawned", service: "worker", pid: 20 });
  at(e, 4, { kind: "spawned", service: "setup", pid: 30 });
  at(e, 5, { kind: "exited", service: "setup", pid: 30, status: { code: 0, signal: null } });
  return e;
}

describe("adoption", () => {
  test("a restored engine is the same engine: same state, same answers to what comes next", () => {
    const before = running();
    const after = restarted(before, 6);
    assert.deepEqual(snapshotOf(after), snapshotOf(before));
    assert.deepEqual([...after.wanted.keys()].sort(), [...before.wanted.keys()].sort());
    for (const fact of [{ kind: "exited", service: "web", pid: 10, status: { code: 1, signal: null } }, { kind: "stop", names: ["setup"] }] as Fact[]) {
      assert.deepEqual(at(after, 7, fact), at(before, 7, fact));
    }
  });

  test("the same process carries on; readiness it reported while no server listened counts", () => {
    const e = createEngine(DB, 0);
    at(e, 1, { kind: "start", names: ["web"] });
    at(e, 2, { kind: "spawned", service: "web", pid: 10 });
    const r = restarted(e, 3);
    assert.deepEqual(kinds(at(r, 3, { kind: "adopted", service: "web", process: { pid: 10, role: "main", ready: true }, exit: null })), []);
    assert.equal(r.services.get("web")!.phase, "up");
  });

  test("a spawn the old server asked for and never heard about is reported by the table", () => {
    const e = createEngine(DB, 0);
    at(e, 1, { kind: "start", names: ["web"] });
    const r = restarted(e, 2);
    at(r, 2, { kind: "adopted", service: "web", process: { pid: 11, role: "main", ready: false }, exit: null });
    assert.equal(r.services.get("web")!.pid, 11);
    assert.equal(r.services.get("web")!.phase, "starting");
  });

  test("a spawn that was asked for and never made is asked for again", () => {
    const e = createEngine(DB, 0);
    at(e, 1, { kind: "start", names: ["web"] });
    const r = restarted(e, 2);
    assert.deepEqual(kinds(at(r, 2, { kind: "adopted", service: "web", process: null, exit: null })), ["spawn web main"]);
  });

  test("an exit that happened while no server ran is handled as if it came then: web restarts, its dependent untouched", () => {
    const r = restarted(running(), 6);
    const actions = at(r, 6, { kind: "adopted", service: "web", process: null, exit: { pid: 10, status: { code: 1, signal: null } } });
    assert.equal(r.services.get("web")!.lastExit?.code, 1);
    assert.equal(r.services.get("web")!.phase, "starting");
    assert.match(r.services.get("web")!.reason ?? "", /restarting in/);
    assert.deepEqual(kinds(actions).filter((a) => a.startsWith("signal")), [], "a crash restart leaves what requires it alone");
  });

  test("a process that is gone without a trace is told as lost, and the policy decides", () => {
    const r = restarted(running(), 6);
    at(r, 6, { kind: "adopted", service: "extra", process: null, exit: null });
    at(r, 6, { kind: "adopted", service: "web", process: null, exit: null });
    assert.match(r.services.get("web")!.reason ?? "", /restarting/);
  });

  test("a process the snapshot did not know is taken over, and stopped when nothing wants it", () => {
    const r = restarted(running(), 6);
    const actions = at(r, 6, { kind: "adopted", service: "extra", process: { pid: 40, role: "main", ready: false }, exit: null });
    assert.deepEqual(kinds(actions).filter((a) => !a.startsWith("arm")), ["signal extra SIGTERM"]);
    assert.equal(r.services.get("extra")!.phase, "stopping");
  });

  test("an up oneshot has no process: the snapshot alone keeps it up", () => {
    const r = restarted(running(), 6);
    assert.deepEqual(kinds(at(r, 6, { kind: "adopted", service: "setup", process: null, exit: null })), []);
    assert.equal(r.services.get("setup")!.phase, "up");
  });

  test("a stop hook the snapshot did not know: the service is stopping, under the hook's stop timeout", () => {
    const r = restarted(running(), 6);
    assert.deepEqual(kinds(at(r, 6, { kind: "adopted", service: "worker", process: { pid: 41, role: "post-stop", ready: false }, exit: null })), ["arm worker"]);
    assert.deepEqual([r.services.get("worker")!.phase, r.services.get("worker")!.pid], ["stopping", 41]);
  });

  test("instances an event made are in the snapshot, with their definitions", () => {
    const db = compiledDatabase({ mount: "type = longrun\ncommand = /bin/mount\nstart-on = disk DEV=*\ninstance = DEV\n" });
    const e = createEngine(db, 0);
    at(e, 1, { kind: "event", name: "disk", values: { DEV: "sdb" } });
    at(e, 2, { kind: "spawned", service: "mount@sdb", pid: 50 });
    const restored = restoreEngine(JSON.parse(JSON.stringify(snapshotOf(e))), db, 3);
    assert.ok(typeof restored !== "string", String(restored));
    assert.deepEqual(restored.topo.names, ["mount", "mount@sdb"]);
    assert.deepEqual(plain(snapshotOf(restored)), plain(snapshotOf(e)));
  });

  test("replaying the facts after the snapshot ends where the dead server was; the timers still pending come back", () => {
    const before = running();
    const snapshot = JSON.parse(JSON.stringify(snapshotOf(before))) as ReturnType<typeof snapshotOf>;
    const after = [
      { kind: "exited", service: "web", pid: 10, status: { code: 1, signal: null }, now: 7 },
      { kind: "start", names: ["extra"], now: 8 },
    ] as TimedFact[];
    for (const fact of after) step(before, fact);
    const restored = restoreEngine(snapshot, DB, 9);
    assert.ok(typeof restored !== "string", String(restored));
    const stale = { service: "setup", token: 999, due: 0, purpose: "start-timeout" } as const;
    const timers = replay(restored, after, [stale]);
    assert.deepEqual(snapshotOf(restored), snapshotOf(before));
    assert.deepEqual(
      timers.map((t) => [t.service, t.purpose, t.due]),
      [
        ["web", "restart-delay", 7 + 200],
        ["extra", "start-timeout", 8 + 60_000],
      ],
    );
  });

  test("a snapshot of another database is refused", () => {
    const other = compiledDatabase({ web: "type = longrun\ncommand = /bin/other\n" });
    assert.match(String(restoreEngine(snapshotOf(running()), other, 0)), /another database/);
  });
});
