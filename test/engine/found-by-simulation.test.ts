// Engine defects the simulation found (issue 11), fixed since: each as the smallest
// sequence of facts that showed it, driven through the simulation's world
// (sim/world.ts), asserting what docs/DESIGN.md says. (The sixth, a crash on the way
// down during a bounce, is a rule case: rules/bounce.test.ts; so are a task run on
// `starting web` that let what it requires go as if it were its stop's hook,
// rules/hooks.test.ts, and a post-start cut short before its spawn was told, whose
// news a new start took for its own, rules/post-start.test.ts.)

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Database } from "../../src/compile/database.js";
import { compiledDatabase } from "../helpers.js";
import { createWorld, obedient, type Behaviour } from "./sim/world.js";

const longrun = (...lines: string[]): string =>
  ["type = longrun", ...(lines.some((l) => l.startsWith("command")) ? [] : ["command = /bin/daemon"]), ...lines, ""].join("\n");
const next = (db: Database, generation: number): Database => ({ ...db, generation, digest: `generation ${generation}` });

/** Obedient, but the named services' main processes take no notice of SIGTERM: their stop lasts until the stop timeout. */
const slowToStop = (...names: string[]): Behaviour => ({
  ...obedient,
  fate: (service, role, def) => ({ ...obedient.fate(service, role, def), ignoresSignals: names.includes(service) }),
});

describe("found by the simulation", () => {
  test("an apply that removes a service its event started switches (the engine threw, its trigger kept)", () => {
    const w = createWorld(compiledDatabase({ x: longrun("start-on = wake"), y: longrun() }));
    w.tell({ kind: "event", name: "wake", values: {} });
    w.runUntilQuiet();
    assert.equal(w.phase("x"), "up");
    w.tell({ kind: "apply", db: next(compiledDatabase({ y: longrun() }), 2) });
    w.runUntilQuiet();
    assert.equal(w.engine.db.generation, 2);
  });

  test("an apply that brings a service requiring one an admin stopped: not wanted (it was, and never started)", () => {
    const w = createWorld(compiledDatabase({ a: longrun(), default: "type = bundle\ncontents = a\n" }));
    w.tell({ kind: "start", names: ["default"] });
    w.tell({ kind: "stop", names: ["a"] });
    w.runUntilQuiet();
    w.tell({ kind: "apply", db: next(compiledDatabase({ a: longrun(), b: longrun("requires = a"), default: "type = bundle\ncontents = a b\n" }), 2) });
    w.runUntilQuiet();
    // DESIGN.md: wanted is the closure of the names started "less what an admin stopped (and what requires it)".
    assert.equal(w.phase("b"), "down");
    assert.ok(!w.engine.wanted.has("b"), "b requires a, which an admin stopped: it is not wanted");
  });

  test("an instance made while an apply of its changed template waits leaves with it (it ran on past the switch)", () => {
    const files = (version: string) => ({
      mount: longrun("instance = DEVNAME", "start-on = block-added", `command = /bin/mount ${version}`),
      slow: longrun("stop-timeout = 1s", `command = /bin/slow ${version}`),
    });
    const w = createWorld(compiledDatabase(files("v1")), { behaviour: slowToStop("slow") });
    w.tell({ kind: "start", names: ["slow"] });
    w.runUntilQuiet();
    let runningAtSwitch: string[] = [];
    w.observe({ action: (a) => void (a.kind === "switched" && (runningAtSwitch = a.removed.filter((n) => w.live(n) !== undefined))) });
    w.tell({ kind: "apply", db: next(compiledDatabase(files("v2")), 2) }); // waits for slow to stop
    w.tell({ kind: "event", name: "block-added", values: { DEVNAME: "/dev/sdb" } }); // mount@/dev/sdb, of v1
    w.runUntilQuiet();
    // DESIGN.md: an apply "stops what is removed or changed …, then switches".
    assert.deepEqual(runningAtSwitch, [], "what the switch removes has stopped");
  });

  test("a task run on `stopping X` that requires X does not undo the admin's stop of X (it did: X stayed up)", () => {
    const w = createWorld(
      compiledDatabase({ x: longrun(), hook: "type = task\ncommand = /bin/hook\nstart-on = stopping x\nrequires = x\n", default: "type = bundle\ncontents = x\n" }),
    );
    w.tell({ kind: "start", names: ["default"] });
    w.runUntilQuiet();
    w.tell({ kind: "stop", names: ["x"] }); // `stopping x` runs the hook, which requires x
    w.runUntilQuiet();
    assert.equal(w.engine.services.get("hook")!.runs, 1, "the hook ran");
    assert.equal(w.phase("x"), "down");
  });

  test("disabling a bundle inside a started bundle takes its members out (it did nothing)", () => {
    const w = createWorld(compiledDatabase({ a: longrun(), web: "type = bundle\ncontents = a\n", default: "type = bundle\ncontents = web\n" }));
    w.tell({ kind: "start", names: ["default"] });
    w.tell({ kind: "unwant", names: ["web"] }); // `tend disable web`
    w.runUntilQuiet();
    // The unwant fact: "no longer wanted for itself, nor as a member of a started bundle".
    assert.equal(w.phase("a"), "down");
  });
});
