// The boot's queries (src/engine/boot.ts): which service `--exit-with` may name, the
// exit status a run's end gives, and readiness, what `tend ready` answers. How a boot
// ends is a rule of the engine: test/engine/rules/boot-end.test.ts.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkExitWith, exitCodeOf, readiness, servicesOf } from "../../src/engine/boot.js";
import { createEngine, step, type Engine } from "../../src/engine/engine.js";
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

}

describe("boot: exit-with", () => {
  test("only a longrun or a task can be given", () => {
    assert.equal(checkExitWith(DB, "app"), null);
    assert.equal(checkExitWith(DB, "job"), null);
    assert.match(checkExitWith(DB, "migrate")!, /'migrate' is a oneshot; only a longrun or a task/);
    assert.match(checkExitWith(DB, "default")!, /'default' is a bundle/);
    assert.match(checkExitWith(DB, "nosuch")!, /there is no service 'nosuch'/);
  });
});

describe("boot: exit statuses", () => {
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
