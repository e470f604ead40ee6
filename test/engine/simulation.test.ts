// The engine driven through thousands of random histories (see sim/simulate.ts), its
// invariants checked at every action and after every step, each in the module that
// says it:
//   1–3 (sim/processes.ts): nothing starts before what it requires is up (and, in the
//      world, ready); nothing that is required stops before what requires it, nor
//      before what is ordered after it is down; one process per service, and the
//      engine's pid and role are the world's;
//   4–5 (sim/settled.ts): quiet after the commands, what is wanted — by DESIGN.md's
//      words, sim/wanted.ts, which checks the engine's wanted set too — is up, or
//      failed / held with a reason, and an admin's start is not lost; after the
//      shutdown everything is down or failed, no process left;
//   6. the same seed gives the same history, events and applies included;
//   a–f (sim/events.ts, instances.ts, jobs.ts): a task never runs twice at once; a
//      transition waits for its hooks; each occurrence fires exactly what a model of
//      the conditions says; a levels-only `start-on` is triggered exactly while its
//      levels hold; instances exist only for a value an event carried or a name a
//      start gave; job events follow their changes;
//   templates (sim/instances.ts): a template is never wanted, spawned nor active; an
//      instance's spawn carries INSTANCE=its argument; at most MAX_INSTANCES made a
//      template, one forgotten only at rest and to make room, the longest at rest
//      first, one refused only with none at rest;
//   g (sim/boot.ts): the boot's end is recorded once, in the step of its cause, with
//      its status; a boot completes exactly when every service of it has been up;
//   restarts (sim/restarts.ts): a crash is restarted after exactly the next back-off
//      delay (doubling to restart-delay-max, reset after a stable run), or at the
//      restart limit failed ("restart limit hit") and held until an admin acts;
//   dependents (sim/dependents.ts): a "dependency X failed" is true when given, and a
//      wanted dependent starts again by itself once X is back (no stale reason; one
//      that is not wanted, or waits for an apply or a bounce, is only counted);
//   bounces (sim/bounces.ts): a restart's group is all down before any of it comes
//      back; every start, stop and restart begins with what it affects;
//   applies (sim/apply.ts): what leaves stops first and begins nothing, the switch
//      comes once with the right diff and nothing removed runs or is spawned after it;
//   dry runs (sim/preview.ts): the preview of a start, stop, restart or unwant leaves
//      the engine as it was and says what the step then does;
//   r (sim/processes.ts): a reload never changes a phase nor spawns anything but its
//      command, and is under way only while its service is up; a stop command runs
//      only while its service stops, with its main's MAINPID, killed only on its timeout.
// Hung processes (never ready, ignoring SIGTERM) under a timeout of `none` are allowed
// to keep what waits for them where it is; nothing else may be stuck. What requires
// a service that only its event starts may wait for that event forever.
//
// The engine defects it found are cases of their own now (found-by-simulation.test.ts).
//
// SIM_RUNS=10 runs ten times as many scenarios (new seeds); SIM_SEED=… SIM_SIZE=…
// [SIM_FAULTS=…] replays one scenario (SIM_TRACE=1 shows all of its history, and the
// state at the failure); SIM_ALL=1 lists every failing scenario instead of stopping
// at the first.

import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { simulate, type Scenario, type SimResult } from "./sim/simulate.js";

const RUNS = Number(process.env.SIM_RUNS ?? "1");
const SMALL = Math.round(5_000 * RUNS);
const MEDIUM = Math.round(150 * RUNS);
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
      `(${n("→failed start timeout")} start timeouts, ${n("dependency failure")} for a dependency), ${n("fact restart")} admin restarts, ` +
      `${n("fact stop")} admin stops, ${n("fact signal")} admin signals, ${n("signal SIGKILL")} SIGKILLs`,
  );
  t.diagnostic(
    `restarts: ${n("restart checked")} after their back-off delay (${n("back-off reset")} reset by a stable run), ${n("restart limit checked")} restart limits; ` +
      `${n("bounce complete")} bounces all down before coming back; ${n("stale reason")} stale dependency reasons of services that do not start`,
  );
  t.diagnostic(
    `applies: ${n("apply")} (${n("apply while one waits")} while one waited), ${n("switch after stops")} switches after stopping what left, ` +
      `${n("instances gone")} taking instances with their template, ${n("instances carried")} carrying instances over`,
  );
  t.diagnostic(
    `events: ${n("fact event")} edge events, ${n("fact level")} level changes, ${n("fact scheduled")} schedules (${n("delay")} after a delay); ` +
      `${n("trigger")} triggers, ${n("skip")} skipped, ${n("repeat of a running trigger")} repeats of a running one, ${n("untrigger")} stopped by their event, ${n("instance")} instances, ` +
      `${n("instance by name")} made by name (${n("instance forgotten")} forgotten, ${n("instance refused")} refused at the bound), ` +
      `${n("hook run")} transitions waiting for hooks (${n("hook timeout")} hook timeouts), ${n("occurred job")} job events`,
  );
  t.diagnostic(
    `reloads: ${n("fact reload")} asked, ${n("spawn reload")} reload commands (${n("fact reload-exited")} ended, ${n("signal reload SIGKILL")} killed), ` +
      `${n("signal main other")} reload signals, ${n("fact reloading")} RELOADING=1 and ${n("fact reloaded")} READY=1 after it, ${n("arm reload-timeout")} reload timeouts armed; ${n("spawn stop")} stop commands`,
  );
  t.diagnostic(`dry runs: ${n("preview checked")} previews of a command that changed something, ${n("preview checked (nothing)")} of one that changed nothing, each what the step then did`);
  t.diagnostic(`boots: ${n("fact boot")} boots, ${n("boot complete")} complete, ${n("end exit-with")} ended by their exit-with service, ${n("end boot failure")} by a boot failure`);
  // A simulation that does nothing proves nothing.
  assert.ok(steps > runs * 10, `only ${steps} steps in ${runs} runs`);
  const everywhere = ["→up", "→failed", "signal SIGKILL", "restart checked", "trigger", "untrigger", "instance", "apply", "switch after stops", "bounce complete", "preview checked", "fact signal", "spawn reload", "fact reload-exited", "signal main other", "spawn stop"];
  const all = ["fact reloaded", "signal reload SIGKILL", "skip", "hook run", "hook timeout", "delay", "fact scheduled", "fact boot", "boot complete", "end exit-with", "end boot failure"];
  const rare = ["restart limit checked", "back-off reset", "apply while one waits", "instances gone", "instances carried", "dependency failure", "instance by name", "instance spawn", "instances at the bound", "instance forgotten", "instance refused"];
  const missing = [...everywhere, ...(events === "all" ? [...all, ...rare] : [])].filter((k) => n(k) === 0);
  assert.deepEqual(missing, [], "the runs miss whole kinds of events");
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
