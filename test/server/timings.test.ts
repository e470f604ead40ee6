// The recorder (src/server/timings.ts) fed the steps of a real engine, as the server's
// loop feeds it: its ring of the last transitions, oldest first, once it has wrapped
// round several times and once it is read back from its file by a next server; and a
// start's record, complete once each of its services is up.

import { test } from "node:test";
import assert from "node:assert/strict";
import { TRANSITIONS_KEPT, type Timeline } from "../../src/analyze/timeline.js";
import { createEngine, step, type Engine } from "../../src/engine/engine.js";
import type { Fact } from "../../src/engine/types.js";
import { openTimings, type Timings } from "../../src/server/timings.js";
import { compiledDatabase, withTemp } from "../helpers.js";

const SERVICES = 40;
const names = Array.from({ length: SERVICES }, (_, i) => `s${i}`);
const files: Record<string, string> = { flat: `type = bundle\n${names.map((n) => `contents = ${n}`).join("\n")}\n` };
for (const n of names) files[n] = "type = longrun\nready = fd\ncommand = sleep 1000\n";

/** The server's part: each fact a step of the engine then of the recorder; the keeper's answers (spawned and ready, exited) queued behind it. */
function driver(engine: Engine, timings: Timings, clock: { now: number }): (fact: Fact) => void {
  let pid = 100;
  return (first) => {
    const queue: Fact[] = [first];
    for (let fact = queue.shift(); fact !== undefined; fact = queue.shift()) {
      const timed = { ...fact, now: ++clock.now };
      const actions = step(engine, timed);
      timings.stepped(timed, actions, engine);
      for (const a of actions) {
        if (a.kind === "spawn") queue.push({ kind: "spawned", service: a.service, pid: ++pid }, { kind: "ready", service: a.service, pid });
        else if (a.kind === "signal") queue.push({ kind: "exited", service: a.service, pid: a.pid, status: { code: null, signal: a.signal } });
      }
    }
  };
}

/** What a ring must be: TRANSITIONS_KEPT of them in the order they happened, the last the latest step's, the rest counted. */
function assertRing(t: Timeline, total: number, latest: number): void {
  assert.equal(t.transitions.length, TRANSITIONS_KEPT);
  assert.equal(t.dropped, total - TRANSITIONS_KEPT);
  for (let i = 1; i < t.transitions.length; i++) assert.ok(t.transitions[i]!.at >= t.transitions[i - 1]!.at, `transition ${i} is older than the one before it`);
  assert.equal(t.transitions.at(-1)!.at, latest);
}

test("the ring keeps the last transitions oldest first across its wraps and a file read back; a start completes once each service is up", () =>
  withTemp((dir) => {
    const db = compiledDatabase(files);
    const clock = { now: 1_000 };
    // A warning or a log line here is a record that could not be read or written.
    const none = { warn: (line: string) => assert.fail(line), log: (line: string) => assert.fail(line) };
    const engine = createEngine(db, clock.now);
    const first = openTimings(dir, none.warn, none.log, () => clock.now);
    const run = driver(engine, first, clock);
    // A start of 40 is 40 asked, 40 spawns, 80 phases; a stop 40 asked, 80 phases: 280 a round.
    const rounds = Math.ceil((2.5 * TRANSITIONS_KEPT) / (7 * SERVICES));
    for (let i = 0; i < rounds; i++) {
      const at = clock.now + 1;
      run({ kind: "start", names: ["flat"] });
      const start = first.timeline().start!;
      assert.equal(start.at, at);
      assert.deepEqual([...start.services].sort(), [...names].sort());
      assert.equal(start.completeAt, clock.now, "the start completed with its last service up");
      run({ kind: "stop", names: ["flat"] });
    }
    const total = rounds * 7 * SERVICES;
    assertRing(first.timeline(), total, clock.now);
    first.save();

    // A next server reads the record back, and its ring goes on from there.
    const saved = first.timeline();
    const next = openTimings(dir, none.warn, none.log, () => clock.now);
    assert.deepEqual(next.timeline(), saved);
    driver(engine, next, clock)({ kind: "start", names: ["flat"] });
    const after = next.timeline();
    assertRing(after, total + 4 * SERVICES, clock.now);
    assert.deepEqual(after.transitions.slice(0, TRANSITIONS_KEPT - 4 * SERVICES), saved.transitions.slice(4 * SERVICES));
    next.save();
  }));
