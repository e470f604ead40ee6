// How a boot ends, driven by hand: `exit-with NAME` ends it with NAME's exit status
// when NAME's run ends on its own, `on-boot-failure = stop` ends it with 1 when a
// service fails before the boot completed, and a shutdown asked for ends it with 0.
// The first end recorded is the one; each starts the shutdown. Then readiness, what
// `tend ready` answers.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkExitWith, exitCodeOf, readiness, servicesOf } from "../../src/engine/boot.js";
import { createEngine, step, type Engine } from "../../src/engine/engine.js";
import { restoreEngine, snapshotOf } from "../../src/engine/snapshot.js";
import type { Action, BootPolicy, Fact } from "../../src/engine/types.js";
import { compiledDatabase } from "../helpers.js";


const DB = compiledDatabase({
  db: "type = longrun\ncommand = /bin/db\n",
  migrate: "type = oneshot\nup = /bin/migrate\nrequires = db\n",
  app: "type = longrun\ncommand = /bin/app\nrequires = migrate\nrestart = always\n",
  cache: "type = longrun\ncommand = /bin/cache\nrestart = always\n",
  worker: "type = longrun\ncommand = /bin/worker\nrestart = never\n",
  job: "type = task\ncommand = /bin/job\nrequires = db\n",
  default: "type = bundle\ncontents = app cache worker\n",
});

/**
 * A world that answers at once: every spawn is reported, a oneshot's `up` succeeds,
 * a signalled process exits with its signal. `pid(name)` is a service's process.
 */
class World {
  readonly e = createEngine(DB, 0);
  now = 0;
  private nextPid = 100;

  tell(fact: Fact): Action[] {
    const actions = step(this.e, { ...fact, now: ++this.now });
    for (const a of actions) {
      if (a.kind === "spawn") {
        const pid = this.nextPid++;
        this.tell({ kind: "spawned", service: a.service, pid });
        if (a.role === "up") this.exit(a.service, 0);
      } else if (a.kind === "signal") this.tell({ kind: "exited", service: a.service, pid: a.pid, status: { code: null, signal: a.signal } });
    }
    return actions;
  }

  boot(policy: Partial<BootPolicy>): this {
    this.tell({ kind: "boot", names: ["default"], policy: { exitWith: null, onBootFailure: "report", ...policy } });
    return this;
  }

  /** The service's process ends by itself with `code` (or a signal's name). */
  exit(service: string, code: number | string): Action[] {
    const status = typeof code === "number" ? { code, signal: null } : { code: null, signal: code };
    return this.tell({ kind: "exited", service, pid: this.e.services.get(service)!.pid!, status });
  }

  phase = (name: string): string => this.e.services.get(name)!.phase;
  /** Every service down or failed: the shutdown is over. */
  allDown = (): boolean => [...this.e.services.values()].every((s) => s.phase === "down" || s.phase === "failed");
}

const spawns = (actions: Action[]): string[] => actions.flatMap((a) => (a.kind === "spawn" ? [`${a.service} ${a.role}`] : []));

describe("boot: exit-with", () => {
  test("the exit-with longrun exits 3: no restart, everything stops, the end is status 3", () => {
    const w = new World().boot({ exitWith: "app" });
    assert.equal(w.phase("app"), "up");
    const actions = w.exit("app", 3);
    assert.deepEqual(spawns(actions).filter((s) => s.startsWith("app")), [], "restart = always, but it is not restarted");
    assert.deepEqual(w.e.end, { code: 3, reason: "app exited with code 3" });
    assert.ok(w.e.shuttingDown && w.allDown(), "everything else stopped");
  });

  test("killed by SIGKILL: 128 + 9", () => {
    const w = new World().boot({ exitWith: "app" });
    w.exit("app", "SIGKILL");
    assert.deepEqual(w.e.end, { code: 137, reason: "app killed by SIGKILL" });
  });

  test("exiting 0 ends the boot with 0, as a container's command does", () => {
    const w = new World().boot({ exitWith: "app" });
    w.exit("app", 0);
    assert.equal(w.e.end?.code, 0);
  });

  test("an admin's restart of it is tend's doing: the boot goes on", () => {
    const w = new World().boot({ exitWith: "app" });
    w.tell({ kind: "restart", names: ["app"] });
    assert.equal(w.e.end, null);
    assert.equal(w.phase("app"), "up");
    assert.equal(w.e.shuttingDown, false);
  });

  test("an admin's stop of it neither: the boot goes on without it", () => {
    const w = new World().boot({ exitWith: "app" });
    w.tell({ kind: "stop", names: ["app"] });
    assert.equal(w.e.end, null);
    assert.equal(w.phase("cache"), "up");
  });

  test("a crash of another service is restarted as usual", () => {
    const w = new World().boot({ exitWith: "app" });
    w.exit("cache", 1);
    assert.equal(w.e.end, null);
    assert.match(w.e.services.get("cache")!.reason ?? "", /restarting/);
  });

  test("a task: the boot starts it (it is not in default), and its run's end is the boot's, success or not", () => {
    const w = new World().boot({ exitWith: "job" });
    assert.equal(w.phase("job"), "running");
    w.exit("job", 5);
    assert.deepEqual(w.e.end, { code: 5, reason: "job exited with code 5" });
    assert.ok(w.allDown());
  });

  test("a run that could not start has no status of its own: 1", () => {
    const w = new World();
    const actions = step(w.e, { kind: "boot", names: ["default"], policy: { exitWith: "cache", onBootFailure: "report" }, now: 1 });
    assert.ok(spawns(actions).includes("cache main"));
    step(w.e, { kind: "spawn-failed", service: "cache", error: "no such file", now: 2 });
    assert.deepEqual(w.e.end, { code: 1, reason: "cache cannot start: no such file" });
  });

  test("only a longrun or a task can be given", () => {
    assert.equal(checkExitWith(DB, "app"), null);
    assert.equal(checkExitWith(DB, "job"), null);
    assert.match(checkExitWith(DB, "migrate")!, /'migrate' is a oneshot; only a longrun or a task/);
    assert.match(checkExitWith(DB, "default")!, /'default' is a bundle/);
    assert.match(checkExitWith(DB, "nosuch")!, /there is no service 'nosuch'/);
  });
});

describe("boot: on-boot-failure", () => {
  /** A world whose migrate fails: app, which requires it, cannot come up. */
  const failing = (policy: Partial<BootPolicy>): World => {
    const w = new World();
    const actions = step(w.e, { kind: "boot", names: ["default"], policy: { exitWith: null, onBootFailure: "report", ...policy }, now: 1 });
    assert.deepEqual(spawns(actions).sort(), ["cache main", "db main", "worker main"]);
    step(w.e, { kind: "spawned", service: "db", pid: 10, now: 2 });
    step(w.e, { kind: "spawned", service: "cache", pid: 11, now: 2 });
    step(w.e, { kind: "spawned", service: "worker", pid: 13, now: 2 });
    step(w.e, { kind: "spawned", service: "migrate", pid: 12, now: 3 });
    step(w.e, { kind: "exited", service: "migrate", pid: 12, status: { code: 2, signal: null }, now: 4 });
    return w;
  };

  test("stop: a service of the boot fails before the boot completed: everything stops, status 1, the reason names it", () => {
    const w = failing({ onBootFailure: "stop" });
    assert.deepEqual(w.e.end, { code: 1, reason: "boot failed: migrate failed: up exited with code 2" });
    assert.ok(w.e.shuttingDown);
  });

  test("report (the default): the failure is in the status, and the rest runs on", () => {
    const w = failing({});
    assert.equal(w.e.end, null);
    assert.equal(w.phase("migrate"), "failed");
    assert.equal(w.phase("app"), "failed", "dependency migrate failed");
    assert.equal(w.phase("cache"), "up");
    assert.equal(w.e.boot!.completeAt, null, "app has not been up");
  });

  test("the boot completes once each of its services has been up once; a failure after that does not end it", () => {
    const w = new World().boot({ onBootFailure: "stop" });
    assert.deepEqual([...w.e.boot!.services].sort(), ["app", "cache", "db", "migrate", "worker"], "default's members and what they require");
    assert.equal(w.e.boot!.completeAt, w.now);
    w.exit("worker", 1);
    assert.equal(w.phase("worker"), "failed", "restart = never");
    assert.equal(w.e.end, null);
    assert.equal(w.e.shuttingDown, false);
  });
});

describe("boot: the end", () => {
  test("a shutdown asked for ends with 0; the first end is kept, whatever fails on the way down", () => {
    const w = new World().boot({ exitWith: "app", onBootFailure: "stop" });
    w.tell({ kind: "shutdown", reason: "SIGTERM" });
    assert.deepEqual(w.e.end, { code: 0, reason: "SIGTERM" });
    assert.ok(w.allDown());
    assert.deepEqual(w.e.end, { code: 0, reason: "SIGTERM" }, "app stopped by the shutdown does not end it again");
  });

  test("a server that takes over keeps the policy and the end: the restored engine ends as the first would have", () => {
    const w = new World().boot({ exitWith: "app" });
    const restored = restoreEngine(JSON.parse(JSON.stringify(snapshotOf(w.e))), DB, w.now);
    assert.ok(typeof restored !== "string", String(restored));
    assert.deepEqual(snapshotOf(restored), snapshotOf(w.e));
    step(restored, { kind: "exited", service: "app", pid: w.e.services.get("app")!.pid!, status: { code: 9, signal: null }, now: w.now + 1 });
    assert.deepEqual(restored.end, { code: 9, reason: "app exited with code 9" });
  });

  test("exit statuses, as a shell gives them", () => {
    assert.equal(exitCodeOf({ code: 7, signal: null }), 7);
    assert.equal(exitCodeOf({ code: null, signal: "SIGTERM" }), 143);
    assert.equal(exitCodeOf({ code: null, signal: "SIGSEGV" }), 139);
    assert.equal(exitCodeOf({ code: null, signal: "signal 40" }), 168, "a signal the keeper has no name for");
    assert.equal(exitCodeOf(null), 1);
  });
});

describe("readiness", () => {
  const ready = (e: Engine, names: string[]) => readiness(e, servicesOf(e, names));

  test("ready once every service the names stand for is up, bundles expanded and requirements included", () => {
    const w = new World();
    assert.deepEqual(servicesOf(w.e, ["default"]).sort(), ["app", "cache", "db", "migrate", "worker"]);
    assert.deepEqual(ready(w.e, ["default"]), { ready: false, waiting: servicesOf(w.e, ["default"]), failed: [], shuttingDown: false });
    w.boot({});
    assert.deepEqual(ready(w.e, ["default"]), { ready: true, waiting: [], failed: [], shuttingDown: false });
  });

  test("a task is ready once it has run, unless its last run failed", () => {
    const w = new World();
    w.tell({ kind: "start", names: ["job"] });
    assert.deepEqual(ready(w.e, ["job"]).waiting.sort(), ["job"], "running, not run yet");
    w.exit("job", 0);
    assert.equal(ready(w.e, ["job"]).ready, true);
    w.tell({ kind: "start", names: ["job"] });
    w.exit("job", 1);
    assert.deepEqual(ready(w.e, ["job"]).failed, ["job"]);
  });

  test("failed: what will not come up by itself, a longrun that exited and is held included", () => {
    const w = new World();
    w.tell({ kind: "start", names: ["db"] });
    w.exit("db", 0);
    assert.deepEqual(ready(w.e, ["db"]), { ready: false, waiting: [], failed: ["db"], shuttingDown: false });
  });

  test("a server shutting down is not ready", () => {
    const w = new World().boot({});
    step(w.e, { kind: "shutdown", now: w.now + 1 });
    assert.equal(ready(w.e, ["default"]).ready, false);
    assert.equal(ready(w.e, ["default"]).shuttingDown, true);
  });
});
