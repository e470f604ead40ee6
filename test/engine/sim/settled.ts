// Invariants 4 and 5, once the world is quiet:
//   4. with the commands over, what is wanted (by DESIGN.md's words, wanted.ts) is up,
//      and so is all it requires, or failed (or held) with a reason; what is not
//      wanted is down or failed; an admin's start is not lost; a service whose
//      `start-on` is levels only is wanted exactly while they hold (d);
//   5. after the shutdown: everything down or failed, no process left.
// Hung processes (never ready, ignoring SIGTERM) under a timeout of `none` may keep
// what waits for them where it is; nothing else may be stuck. What requires a service
// that only its event starts may wait for that event forever, and what an apply is
// taking away waits for the switch.

import { waitsForTrigger } from "../../../src/config/service.js";
import { ACTIVE, START_ROLES, type Check, type Sim } from "./check.js";
import type { EventModel } from "./event-model.js";
import { closure, requirementsOf } from "./graph.js";
import { consistent } from "./processes.js";
import type { Oracle } from "./wanted.js";

/**
 * Services that legitimately stay where they are with nothing pending: a live process
 * that will do nothing more by itself (never ready, hung, or ignoring the stop signal)
 * when the timeout that would end it is `none`. Anything else still alive or in
 * transition when no event is left is stuck: a failure.
 */
function hung(sim: Sim): Set<string> {
  const { world } = sim;
  const fail: Sim["fail"] = sim.fail;
  const roots = new Set<string>();
  for (const name of world.engine.topo.names) {
    const s = world.engine.services.get(name)!;
    const def = world.def(name);
    const p = world.live(name);
    if (p !== undefined && s.phase === "up" && p.role === "main" && p.ready) continue; // a daemon running, as it should
    if (s.phase !== "starting" && s.phase !== "running" && s.phase !== "stopping" && p === undefined) continue;
    const timeout = s.phase === "stopping" ? def.stopTimeoutMs : s.phase === "starting" || s.phase === "running" ? def.startTimeoutMs : undefined;
    if (p !== undefined && timeout === null) {
      roots.add(name);
      continue;
    }
    fail(`stuck: ${name} (${def.type}) is ${s.phase}${s.reason === null ? "" : ` (${s.reason})`} with ${p === undefined ? "no process" : `a live ${p.role} process`} and nothing pending`);
  }
  return roots;
}

/**
 * What a hung service keeps where it is: what it requires and is ordered after cannot
 * stop while it is active (dependents first) — a bounce or an apply waiting for them
 * waits for ever, and so does a shutdown.
 */
function keptUp(sim: Sim, roots: Iterable<string>): Set<string> {
  const g = sim.world.graph;
  return closure(roots, (n) => [...g.requires(n), ...g.after(n)]);
}

export function settledChecks(sim: Sim, oracle: Oracle, model: () => EventModel | null, leaving: () => ReadonlySet<string>): Check {
  const { world } = sim;
  const fail: Sim["fail"] = sim.fail;
  const e = world.engine;
  /** The step at which each service last began a start. */
  const began = new Map<string, number>();
  /** The step at which an admin asked for each service while it was stopping. */
  const askedWhileStopping = new Map<string, number>();

  /** A service that cannot come up until an admin acts: failed, or ended by itself and held. */
  const blocked = (name: string): boolean => {
    const s = e.services.get(name)!;
    return s.phase === "failed" || (s.phase === "down" && s.held);
  };

  const checkWanted = (): void => {
    consistent(sim, e.topo.names);
    const g = world.graph;
    const wanted = oracle.wanted();
    const roots = hung(sim);
    // What waits for a hung service (what requires it or is ordered after it), what a
    // hung stop keeps up, and what waits for an apply to switch (and what waits for that).
    const excused = new Set([...closure([...roots, ...leaving()], (n) => [...g.requiredBy(n), ...g.before(n)]), ...keptUp(sim, roots)]);
    // A restart's bounce group comes back only when all of it is down: a group that a
    // hung service keeps up keeps all of it (and what waits for it) waiting.
    const held = new Set<Set<string>>();
    for (let grew = true; grew; ) {
      grew = false;
      for (const group of e.bounces) {
        if (held.has(group) || ![...group].some((n) => excused.has(n))) continue;
        held.add(group);
        for (const n of closure(group, (m) => [...g.requiredBy(m), ...g.before(m)])) excused.add(n);
        grew = true;
      }
    }
    // A requirement that only its event or schedule starts, and that is not wanted, keeps what requires it down.
    const untriggered = e.topo.names.filter((n) => waitsForTrigger(world.def(n)) && !wanted.has(n));
    const awaiting = closure(untriggered, g.requiredBy);
    for (const name of e.topo.names) {
      if (excused.has(name)) continue;
      const s = e.services.get(name)!;
      const def = world.def(name);
      const why = `${name} (${def.type}) is ${s.phase}${s.held ? ", held" : ""}${s.reason === null ? "" : ` (${s.reason})`}`;
      if (wanted.has(name) && awaiting.has(name) && !e.hookRuns.has(name)) {
        if (s.phase !== "down" && s.phase !== "failed") fail(`invariant 4: wanted, but it requires what waits for its event, and ${why}`);
      } else if (wanted.has(name)) {
        const asked = askedWhileStopping.get(name);
        if (s.held && asked !== undefined && (began.get(name) ?? -1) < asked) {
          fail(`invariant 4: an admin started ${name} at step ${asked} while it was stopping; it is ${s.phase}, held (${s.reason}), and never started again`);
        }
        if (s.phase === "up" && def.type !== "task") {
          // Up means everything it requires is up: a failure anywhere below takes it down (DESIGN.md).
          const broken = [...requirementsOf(g, [name])].find((r) => r !== name && blocked(r));
          if (broken !== undefined) fail(`invariant 4: ${why}, but ${broken}, which it requires, is ${e.services.get(broken)!.phase} (${e.services.get(broken)!.reason})`);
          continue;
        }
        if (blocked(name) && s.reason !== null && s.reason !== "") continue;
        fail(`invariant 4: wanted, but ${why}`);
      } else if (s.phase !== "down" && s.phase !== "failed") {
        fail(`invariant 4: not wanted, but ${why}`);
      }
    }
  };

  /** (d) A service whose `start-on` is levels only is wanted exactly while they match, unless an admin stopped it or something else wants it. */
  const checkLevels = (): void => {
    const m = model();
    if (m === null) return;
    const wanted = oracle.wanted();
    const stopped = oracle.stopped();
    for (const def of m.whiles) {
      if (!e.services.has(def.name)) continue;
      const holds = m.whileHolds(def);
      if (holds && !wanted.has(def.name) && !stopped.has(def.name)) fail(`(d) ${def.name}: its levels hold, but it is not wanted`);
      if (!holds && wanted.has(def.name) && !oracle.wanted(def.name).has(def.name)) fail(`(d) ${def.name}: its levels do not hold, but it is wanted`);
    }
  };

  return {
    beforeStep(fact) {
      if (fact.kind !== "start" && fact.kind !== "restart") return;
      // What `start` releases: the members of each name and what they require.
      const g = world.graph;
      for (const n of fact.names) for (const r of requirementsOf(g, g.members(n))) if (world.phase(r) === "stopping") askedWhileStopping.set(r, world.steps);
    },
    action(a) {
      if (a.kind === "changed" && (a.phase === "starting" || a.phase === "running") && a.reason === null && !ACTIVE.includes(world.phase(a.service))) began.set(a.service, world.steps);
      if (a.kind === "spawn" && START_ROLES.includes(a.role) && world.begins(a) !== null) began.set(a.service, world.steps);
    },
    settled() {
      checkWanted();
      checkLevels();
    },
    shutDown() {
      consistent(sim, e.topo.names);
      // Only a stop that waits forever (no stop timeout) may keep anything: itself, and what it requires or is ordered after.
      const kept = keptUp(sim, hung(sim));
      for (const name of e.topo.names) {
        if (kept.has(name)) continue;
        const s = e.services.get(name)!;
        const p = world.live(name);
        if (s.phase !== "down" && s.phase !== "failed") fail(`invariant 5: after shutdown ${name} is ${s.phase}${p === undefined ? "" : ` with a live ${p.role} process`}`);
        if (p !== undefined) fail(`invariant 5: after shutdown ${name} still has a live ${p.role} process`);
      }
    },
  };
}
