// A deterministic simulation of the engine: a random database (database.ts), a fake
// world of processes and timers on a fake clock (world.ts, behaviour.ts), random
// admin commands, applies and world events (facts.ts), and the engine's invariants
// checked at every action it emits and after every step (the modules named in
// `checks` below). Everything follows from (seed, size), so a failure is replayed with
// `npm run build && SIM_SEED=… SIM_SIZE=… node --test dist/test/engine/simulation.test.js`.
//
// Half the runs begin with a `boot` fact rather than a start of `default`, some with
// an `exit-with` service and some with `on-boot-failure = stop`; most databases also
// have conditions and schedules, and many runs apply new databases derived from the
// running one.

import { random } from "./choose.js";
import { applyChecks } from "./apply.js";
import { bootChecks } from "./boot.js";
import { bounceChecks } from "./bounces.js";
import { previewChecks } from "./preview.js";
import { randomBehaviour } from "./behaviour.js";
import type { Check, Sim } from "./check.js";
import { generateDatabase } from "./database.js";
import { dependentChecks } from "./dependents.js";
import { eventChecks } from "./events.js";
import { applies, commands, worldFacts } from "./facts.js";
import { instanceChecks } from "./instances.js";
import { jobChecks } from "./jobs.js";
import { processChecks } from "./processes.js";
import { recorder } from "./report.js";
import { restartChecks } from "./restarts.js";
import { settledChecks } from "./settled.js";
import { wantedOracle } from "./wanted.js";
import { templateFacts } from "./templates.js";
import { createWorld } from "./world.js";

export interface Scenario {
  seed: number;
  /** Services, bundles and `default` included. */
  size: number;
  /** How often things go wrong in the world, from 1 (hostile) to 0 (never); by default drawn from the seed. */
  faults?: number;
}

export interface SimResult {
  scenario: Scenario;
  /** sha256 over every fact and the actions it produced: equal for equal scenarios. */
  digest: string;
  steps: number;
  /** The invariant that broke, with the scenario and the last facts and actions; null if none. */
  failure: string | null;
  /** How often each kind of fact, action and state change happened: what the run covered. */
  counts: Map<string, number>;
}

export interface SimOptions {
  /** Check every service after every step (slow on big graphs). */
  thorough?: boolean;
  /** Show every step in the failure report, not only the last 30. */
  trace?: boolean;
}

class Failure extends Error {}

export function simulate(scenario: Scenario, options: SimOptions = {}): SimResult {
  const { seed, size } = scenario;
  // Separate streams, so that a change to how the world behaves keeps the same databases.
  const events = random(seed ^ 0x2545f491);
  const db = generateDatabase(random(seed), size, events.chance(0.75) ? events : null);
  const rng = random(seed ^ 0x5bd1e995);
  const faults = scenario.faults ?? rng.pick([1, 1, 0.3, 0.05]);
  const fail = (message: string): never => {
    throw new Failure(message);
  };
  const world = createWorld(db, { behaviour: randomBehaviour(rng, faults), fail });
  const record = recorder(world, options.trace === true ? Infinity : 30);
  const sim: Sim = { world, thorough: options.thorough ?? size <= 60, fail, count: record.count };
  const eventSide = eventChecks(sim, db);
  const oracle = wantedOracle(sim, eventSide.arrived);
  const applySide = applyChecks(sim);
  const checks: Check[] = [
    record,
    processChecks(sim),
    eventSide,
    jobChecks(sim),
    instanceChecks(sim, eventSide.model),
    oracle,
    bootChecks(sim),
    restartChecks(sim, applySide.leaving),
    dependentChecks(sim, oracle, applySide.leaving),
    bounceChecks(sim, oracle),
    previewChecks(sim),
    applySide,
    settledChecks(sim, oracle, () => eventSide.model, applySide.leaving),
  ];
  for (const c of checks) world.observe(c);
  const limit = 200_000 + size * 500;
  const quiet = (): void => world.runUntilQuiet(limit - world.steps);
  try {
    // The applies from a stream of their own too: how they are made changes nothing else of a run.
    const changes = random(seed ^ 0x68e31da4);
    const applied = applies(changes, db, changes.chance(size > 500 ? 1 : 0.4) ? changes.int(1, 2) : 0, 4000);
    const dbs = [db, ...applied.flatMap(({ fact }) => (fact.kind === "apply" ? [fact.db] : []))];
    const count = size > 100 ? rng.int(10, 40) : rng.int(1, 12);
    for (const { t, fact } of [...commands(rng, dbs, count, 4000), ...applied]) world.at(t, fact);
    // Instances named at run time, and floods of them, from a stream of their own too.
    for (const { t, fact } of templateFacts(random(seed ^ 0x1b873593), db, 4000)) world.at(t, fact);
    if (eventSide.model !== null) {
      // The world's events, level changes and clock runs, as many as the commands or more.
      const clockTasks = Object.values(db.services).filter((d) => d.schedule !== null && d.schedule.kind !== "after").map((d) => d.name);
      for (const { t, fact } of worldFacts(rng, clockTasks, rng.int(1, size > 100 ? 40 : 25), 4000)) world.at(t, fact);
    }
    quiet();
    // A boot that ended is shutting down already: what is left to check is that it did.
    if (!world.engine.shuttingDown) {
      for (const c of checks) c.settled?.();
      world.at(world.now + 1, { kind: "shutdown" });
      quiet();
    }
    for (const c of checks) c.shutDown?.();
    return { scenario, digest: record.digest(), steps: world.steps, failure: null, counts: record.counts };
  } catch (e) {
    if (!(e instanceof Failure)) throw e;
    const replay = `SIM_SEED=${seed} SIM_SIZE=${size}${scenario.faults === undefined ? "" : ` SIM_FAULTS=${scenario.faults}`} node --test dist/test/engine/simulation.test.js`;
    return { scenario, digest: record.digest(), steps: world.steps, failure: record.report(e.message, replay), counts: record.counts };
  }
}
