// The simulation's world (sim/world.ts) as the fake supervisor of hand-written engine
// tests: it answers spawns, signals and timers on a fake clock, at once by default, or
// as a behaviour says.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Action } from "../../src/engine/types.js";
import { compiledDatabase } from "../helpers.js";
import { createWorld, obedient } from "./sim/world.js";

// s1 (never restarted) ← s2 requires s1 ← s3 requires s2.
const CHAIN = compiledDatabase({
  s1: "type = longrun\ncommand = /bin/s1\nrestart = never\nready = notify\n",
  s2: "type = longrun\ncommand = /bin/s2\nrequires = s1\nrestart = always\nrestart-delay = 100ms\n",
  s3: "type = oneshot\nup = /bin/s3\nrequires = s2\n",
});

const kinds = (actions: readonly Action[]): string[] => actions.map((a) => (a.kind === "changed" ? `${a.service}→${a.phase}` : a.kind === "spawn" ? `spawn ${a.service} ${a.role}` : a.kind));

describe("the world", () => {
  test("answers at once: spawned, ready, a oneshot's up exits 0; a signal ends a process", () => {
    const w = createWorld(CHAIN);
    w.tell({ kind: "start", names: ["s3"] });
    w.runUntilQuiet();
    assert.deepEqual(["s1", "s2", "s3"].map(w.phase), ["up", "up", "up"]);
    assert.equal(w.live("s3"), undefined, "a oneshot has no process once up");
    w.tell({ kind: "stop", names: ["s1"] });
    w.runUntilQuiet();
    assert.deepEqual(["s1", "s2", "s3"].map(w.phase), ["down", "down", "down"]);
    assert.equal(w.live("s1"), undefined);
  });

  test("a process ends by itself when told; timers come back after their delay on the fake clock", () => {
    const w = createWorld(CHAIN);
    w.tell({ kind: "start", names: ["s2"] });
    w.runUntilQuiet();
    const actions = w.exit("s2", { code: 1, signal: null });
    assert.deepEqual(kinds(actions), ["s2→starting", "arm"]);
    assert.deepEqual(actions.flatMap((a) => (a.kind === "arm" ? [[a.purpose, a.ms]] : [])), [["restart-delay", 100]]);
    const spawnedAt: number[] = [];
    w.observe({ action: (a) => void (a.kind === "spawn" && spawnedAt.push(w.now)) });
    const crashedAt = w.now;
    w.runUntilQuiet();
    assert.equal(w.phase("s2"), "up");
    assert.deepEqual(spawnedAt, [crashedAt + 100], "spawned again when the restart delay's timer came back");
    w.exit("s1", { code: null, signal: "SIGKILL" });
    w.runUntilQuiet();
    assert.deepEqual(["s1", "s2"].map(w.phase), ["failed", "failed"]);
    assert.equal(w.engine.services.get("s2")!.reason, "dependency s1 failed");
  });

  test("a behaviour decides what processes do: one never says it is ready", () => {
    const w = createWorld(CHAIN, { behaviour: { ...obedient, fate: (s, role, def) => ({ ...obedient.fate(s, role, def), ready: [] }) } });
    w.tell({ kind: "start", names: ["s2"] });
    w.runUntilQuiet();
    assert.equal(w.phase("s1"), "failed", "its start timed out");
    assert.match(w.engine.services.get("s1")!.reason ?? "", /^start timeout/);
  });

  test("observers see each action before the world carries it out", () => {
    const w = createWorld(CHAIN);
    const seen: string[] = [];
    w.observe({ action: (a) => void (a.kind === "changed" && seen.push(`${a.service}: ${w.phase(a.service)} → ${a.phase}`)) });
    w.tell({ kind: "start", names: ["s1"] });
    w.runUntilQuiet();
    assert.deepEqual(seen, ["s1: down → starting", "s1: starting → up"]);
  });
});
