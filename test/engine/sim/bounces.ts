// Bounces, from DESIGN.md's words: "An admin `restart` is the same kind of bounce: the
// service and what is active that requires it go down in order, then all come back in
// order." The group of a restart of X is X and every service that requires it,
// directly or not, and is active (coming up, up or running) when the restart comes;
// none of them begins a start again before every one of them has been down. (One
// already stopping is going down anyway, and comes back only if it is wanted: it is
// no part of the bounce. An apply may take a member away: it is no longer waited for.)
// A task run on the `stopping` of a member is a hook, "X's stop signal waits for it":
// its run is the event's, not the group coming back, and it runs even when it is a
// member that has gone down, as it runs in a shutdown (the apply's check allows the
// same); held back until the group is down, it would hold X up until its hook timeout.
//
// And the `affected` action that begins the step of each command says what it
// concerns: a start, the services its names bring up (a bundle's members but those
// disabled in it); a stop, the services that were wanted and active and are wanted no
// more (not what a bounce or an apply takes down meanwhile); a restart, the services
// it bounces.

import type { Action, Fact } from "../../../src/engine/types.js";
import { ACTIVE, isActive, type Check, type Sim } from "./check.js";
import { requirementsOf, requirersOf } from "./graph.js";
import type { Oracle } from "./wanted.js";

interface Group {
  services: Set<string>;
  down: Set<string>;
  asked: string;
}

export function bounceChecks(sim: Sim, oracle: Oracle): Check {
  const { world, count } = sim;
  const fail: Sim["fail"] = sim.fail;
  const groups: Group[] = [];
  /** What the command of this step must say it affects; and what was active before it. */
  let expected: { command: string; services: Set<string>; also?: Set<string> } | null = null;
  let activeBefore: string[] = [];
  /** Hook tasks before the command: the engine counts them as staying up, though the stop may end what they wait for. */
  let hooksBefore = new Set<string>();
  let triggeredBefore = new Set<string>();
  /** What the events of this step started. */
  const startedNow = new Set<string>();
  /** Tasks run on a job event (`stopping X`, `starting X`) that have not ended yet: hooks. */
  const hookRuns = new Set<string>();
  let said: Extract<Action, { kind: "affected" }> | null = null;
  /** The names of a restart that stood for no service before it: instances by name, which it may make. */
  let unmade: string[] = [];

  const restart = (fact: Extract<Fact, { kind: "restart" }>): Set<string> => {
    const g = world.graph;
    const bounced = new Set<string>();
    for (const name of fact.names) {
      for (const m of g.members(name)) {
        bounced.add(m);
        const services = new Set([...requirersOf(g, [m])].filter((n) => world.knows(n) && ACTIVE.includes(world.phase(n))));
        if (services.size === 0) continue;
        groups.push({ services, down: new Set(), asked: `restart ${fact.names.join(" ")} at step ${world.steps}` });
        for (const n of services) bounced.add(n);
        count("bounce");
      }
    }
    return bounced;
  };

  const show = (names: Iterable<string>): string => `[${[...names].sort().join(", ")}]`;

  /** The services it says are affected: exactly the expected ones, and (`also`) any of those it may count or not. */
  const affected = (a: Extract<Action, { kind: "affected" }>, concerns: NonNullable<typeof expected>): void => {
    if (a.command !== concerns.command) fail(`affected: the step of a ${concerns.command} says it is a ${a.command}`);
    let services = concerns.services;
    let also = concerns.also ?? new Set<string>();
    if (a.command === "start") services = new Set((world.fact as Extract<Fact, { kind: "start" }>).names.flatMap((n) => oracle.broughtUp(n)));
    // An instance a restart names that was not made yet is, once the engine made it.
    if (a.command === "restart") services = new Set([...services, ...unmade.filter((n) => world.knows(n))]);
    if (a.command === "stop") {
      // What it makes unwanted (not what a bounce or an apply takes down meanwhile).
      const wanted = oracle.wanted();
      const goes = (n: string): boolean => !wanted.has(n);
      // Not counted either way: a hook task (run on `starting X` or `stopping X`), which may go down once what it ran
      // for no longer waits; and what an event the stop set off (`stopped X`) starts or stops (with what it requires),
      // after the stop said what it affects.
      const e = world.engine;
      const retriggered = [...new Set([...triggeredBefore, ...e.triggered])].filter((n) => triggeredBefore.has(n) !== e.triggered.has(n));
      also = new Set([...hooksBefore, ...retriggered, ...requirementsOf(world.graph, startedNow)]);
      services = new Set(activeBefore.filter((n) => goes(n) && !also.has(n)));
    }
    const extra = a.services.filter((n) => !services.has(n) && !also.has(n));
    if (extra.length > 0 || [...services].some((n) => !a.services.includes(n))) fail(`affected: ${a.command} says it affects ${show(a.services)}; it concerns ${show(services)}`);
  };

  return {
    beforeStep(fact) {
      said = null;
      expected = null;
      startedNow.clear();
      switch (fact.kind) {
        case "start":
          expected = { command: "start", services: new Set() }; // known once the start is handled: it clears a disable of its names
          return;
        case "stop":
          // (Wanted before the stop: the engine's set, which wanted.ts checks after every command.)
          activeBefore = world.graph.names().filter((n) => world.knows(n) && isActive(world.phase(n)) && world.engine.wanted.has(n));
          hooksBefore = new Set(world.engine.hookRuns);
          triggeredBefore = new Set(world.engine.triggered);
          expected = { command: "stop", services: new Set() }; // known once the stop is handled
          return;
        case "restart": {
          // A bounce already under way that this restart joins (a second restart of the same service) may be counted too.
          const g = world.graph;
          const open = new Set(groups.flatMap((group) => [...group.services]));
          const joined = [...requirersOf(g, fact.names.flatMap((n) => g.members(n)))].filter((n) => open.has(n));
          unmade = fact.names.filter((n) => g.members(n).length === 0);
          expected = { command: "restart", services: restart(fact), also: new Set(joined) };
          return;
        }
        default:
          return;
      }
    },
    action(a, i) {
      switch (a.kind) {
        case "affected":
          if (i !== 0 || expected === null || said !== null) fail(`affected: '${a.command}' at action ${i} of ${world.fact!.kind}: only the first action of a start, stop or restart says what it affects`);
          said = a;
          return;
        case "changed":
          if (a.phase === "down" || a.phase === "failed") {
            hookRuns.delete(a.service);
            for (const g of groups) if (g.services.has(a.service)) g.down.add(a.service);
          }
          return;
        case "spawn": {
          if (world.begins(a) === null || hookRuns.has(a.service)) return;
          const group = groups.find((g) => g.services.has(a.service) && g.down.size < g.services.size && [...g.services].some((n) => !g.down.has(n) && world.knows(n)));
          if (group === undefined) return;
          const up = [...group.services].filter((n) => !group.down.has(n));
          fail(`bounce (${group.asked}): ${a.service} comes back before all of its group has been down: ${up.join(", ")} not yet`);
          return;
        }
        case "occurred":
          for (const t of a.started) startedNow.add(t);
          if (a.what.kind === "job" && (a.what.verb === "stopping" || a.what.verb === "starting")) for (const t of a.started) if (world.def(t).type === "task") hookRuns.add(t);
          return;
        case "switched":
          for (const g of groups) for (const n of a.removed) if (g.services.delete(n)) g.down.delete(n);
          return;
        default:
          return;
      }
    },
    afterStep() {
      // Once the step is over: the wanted set it is checked against is checked first (wanted.ts).
      if (expected !== null && said === null) fail(`affected: the step of a ${expected.command} did not begin with what it affects`);
      if (expected !== null && said !== null) affected(said, expected);
      for (let i = groups.length - 1; i >= 0; i--) {
        const g = groups[i]!;
        if ([...g.services].every((n) => g.down.has(n) || !world.knows(n))) {
          groups.splice(i, 1);
          count("bounce complete");
        }
      }
    },
  };
}
