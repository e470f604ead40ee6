// The engine driven through thousands of random histories (see sim.ts), its
// invariants checked at every action and after every step:
//   1. nothing starts before what it requires is up (and, in the world, ready);
//   2. nothing that is required stops before what requires it (with the exceptions
//      documented at Sim.checkStop), nor before what is ordered after it is down;
//   3. one process per service, and the engine's pid and role are the world's;
//   4. quiet after the commands: what is wanted is up, or failed / held with a reason,
//      and an admin's start is not lost;
//   5. after shutdown: everything down or failed, no process left;
//   6. the same seed gives the same history, events included.
// Most databases also have services with `start-on` / `stop-on` conditions (edge
// events, levels, job events, and/or), tasks with `schedule` (`every`, `DURATION
// after …`), instances and hook tasks on `starting X` / `stopping X`, and the world
// emits edge events, level changes and clock runs (see sim-events.ts). Then also:
//   a. a task never runs twice at once: a trigger while its run goes on (or is still
//      to come) is skipped, and only then;
//   b. a transition waits for its hooks: X's first process is spawned (or X, up, is
//      stopped) only once the tasks its `starting X` (`stopping X`) started have ended,
//      or its hook timeout fired;
//   c. each occurrence fires exactly the `start-on`, `stop-on` and `after` schedules a
//      model of the conditions says; a service whose `stop-on` fired is no longer
//      triggered, and the wanted set is exactly what the admin's names and the
//      triggers pull in (a task's trigger is spent when its run ends);
//   d. a service whose `start-on` is levels only (no `stop-on`) is triggered exactly
//      while its levels hold, and, quiet, wanted exactly then (unless an admin
//      stopped it, or something else wants it);
//   e. instances exist only for a value an event carried, and run with it;
//   f. `started X` comes right after X became up (or a task's run launched),
//      `stopped X` right after X left an active phase, `starting X` right after a
//      start began, and each of those changes has its job event.
// Half the runs begin with a `boot` fact (an `exit-with` service, `on-boot-failure =
// stop`, now and then), and then also:
//   g. the end is recorded once, in the step of its cause, with the status that cause
//      gives (0 for a shutdown; the exit-with service's status, or 1; 1 for a boot
//      failure), starts the shutdown and never changes; nothing waits to restart after
//      it; a boot is complete exactly when every service of it still wanted has been up.
// Hung processes (never ready, ignoring SIGTERM) under a timeout of `none` are allowed
// to keep what waits for them where it is; nothing else may be stuck. What requires
// a service that only its event starts may wait for that event forever.
//
// SIM_RUNS=10 runs ten times as many scenarios (new seeds); SIM_SEED=… SIM_SIZE=…
// [SIM_FAULTS=…] replays one scenario (SIM_TRACE=1 shows all of its history);
// SIM_ALL=1 lists every failing scenario instead of stopping at the first.

import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { simulate, type Scenario, type SimResult } from "./sim.js";

const RUNS = Number(process.env.SIM_RUNS ?? "1");
const SMALL = Math.round(10_000 * RUNS);
const MEDIUM = Math.round(200 * RUNS);
const BIG = Math.max(2, Math.round(6 * RUNS));
const ALL = process.env.SIM_ALL === "1";

/** The size of a small scenario follows from its seed: 2 to 40 services. */
const smallSize = (seed: number): number => 2 + ((Math.imul(seed, 2654435761) >>> 0) % 39);

function runAll(t: TestContext, scenarios: Iterable<Scenario>, events: "all" | "some" = "some"): void {
  let runs = 0;
  let steps = 0;
  const started = Date.now();
  const failures: SimResult[] = [];
  const counts = new Map<string, number>();
  for (const scenario of scenarios) {
    const result = simulate(scenario);
    runs++;
    steps += result.steps;
    for (const [key, n] of result.counts) counts.set(key, (counts.get(key) ?? 0) + n);
    if (result.failure === null) continue;
    failures.push(result);
    if (!ALL) break;
    t.diagnostic(result.failure.split("\n").slice(0, 2).join(" "));
  }
  if (failures.length > 0) assert.fail(`${failures.length} failing scenario(s); the first:\n${failures[0]!.failure}`);
  const n = (prefix: string): number => [...counts].reduce((sum, [key, v]) => (key.startsWith(prefix) ? sum + v : sum), 0);
  t.diagnostic(
    `${runs} runs, ${steps} steps in ${Date.now() - started} ms: ${n("spawn ")} spawns, ${n("→up")} ups, ${n("→failed")} failures ` +
      `(${n("→failed start timeout")} start timeouts, ${n("→failed restart limit")} restart limits), ${n("→starting restarting")} automatic restarts, ` +
      `${n("signal SIGKILL")} SIGKILLs, ${n("fact restart")} admin restarts, ${n("fact stop")} admin stops`,
  );
  t.diagnostic(
    `events: ${n("fact event")} edge events, ${n("fact level")} level changes, ${n("fact scheduled")} schedules (${n("delay")} after a delay); ` +
      `${n("trigger")} triggers, ${n("skip")} skipped, ${n("untrigger")} stopped by their event, ${n("instance")} instances, ` +
      `${n("hook run")} transitions waiting for hooks (${n("hook timeout")} hook timeouts), ${n("occurred job")} job events`,
  );
  t.diagnostic(`boots: ${n("fact boot")} boots, ${n("boot complete")} complete, ${n("end exit-with")} ended by their exit-with service, ${n("end boot failure")} by a boot failure`);
  // A simulation that does nothing proves nothing.
  assert.ok(steps > runs * 10, `only ${steps} steps in ${runs} runs`);
  assert.ok(n("→up") > 0 && n("→failed") > 0 && n("signal SIGKILL") > 0 && n("→starting restarting") > 0, "the runs miss whole kinds of events");
  assert.ok(n("trigger") > 0 && n("untrigger") > 0 && n("instance") > 0, "the runs miss events");
  if (events === "all") {
    const missing = ["skip", "hook run", "hook timeout", "delay", "fact scheduled", "fact boot", "boot complete", "end exit-with", "end boot failure"].filter((k) => n(k) === 0);
    assert.deepEqual(missing, [], "the runs miss whole kinds of events");
  }
}

function* scenarios(from: number, count: number, size: (seed: number) => number, faults?: (seed: number) => number): Generator<Scenario> {
  for (let seed = from; seed < from + count; seed++) {
    const scenario: Scenario = { seed, size: size(seed) };
    if (faults !== undefined) scenario.faults = faults(seed);
    yield scenario;
  }
}

describe("engine simulation", () => {
  if (process.env.SIM_SEED !== undefined) {
    const seed = Number(process.env.SIM_SEED);
    const scenario: Scenario = { seed, size: Number(process.env.SIM_SIZE ?? smallSize(seed)) };
    if (process.env.SIM_FAULTS !== undefined) scenario.faults = Number(process.env.SIM_FAULTS);
    test(`replays seed ${seed}, size ${scenario.size}`, () => {
      const result = simulate(scenario, { thorough: true, trace: process.env.SIM_TRACE === "1" });
      assert.equal(result.failure, null, result.failure ?? "");
    });
    return;
  }

  test(`${SMALL} small graphs (2–40 services)`, (t) => {
    runAll(t, scenarios(1, SMALL, smallSize), "all");
  });

  test(`${MEDIUM} medium graphs (41–500 services)`, (t) => {
    runAll(t, scenarios(500_001, MEDIUM, (seed) => 41 + ((seed * 7919) % 460)));
  });

  test(`${BIG} big graphs (2,000 services)`, (t) => {
    // Half of them in a kind world, so that most of the graph comes up and goes down again.
    runAll(t, scenarios(900_001, BIG, () => 2000, (seed) => (seed % 2 === 1 ? 0.05 : 1)));
  });

  test("the same seed gives the same history", () => {
    for (const scenario of [{ seed: 42, size: 40 }, { seed: 7, size: 300 }]) {
      const a = simulate(scenario);
      const b = simulate(scenario);
      assert.equal(a.failure, null, a.failure ?? "");
      assert.ok(a.steps > 50, `seed ${scenario.seed}: only ${a.steps} steps`);
      assert.ok((a.counts.get("fact event") ?? 0) + (a.counts.get("fact level") ?? 0) > 0 && (a.counts.get("trigger") ?? 0) > 0, `seed ${scenario.seed}: no events`);
      assert.equal(b.digest, a.digest, `seed ${scenario.seed}: two runs differ`);
      assert.equal(b.steps, a.steps);
      const other = simulate({ ...scenario, seed: scenario.seed + 1 });
      assert.notEqual(other.digest, a.digest, "a different seed should give a different history");
    }
  });
});
