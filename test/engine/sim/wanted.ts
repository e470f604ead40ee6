// What is wanted, written from docs/DESIGN.md's words ("The rules the engine keeps"),
// not from the engine's code, and checked against the engine's wanted set:
//
//   "Wanted is derived: the closure of the explicitly started names (the boot's
//   `default`, `tend start`, `enable`) through `requires` and `wants`, less what an
//   admin stopped (and what requires it). A service with `start-on` or `schedule` is
//   only pulled in when named, since an event or a clock decides when it runs."
//   "an event … that makes a `start-on` true makes its service wanted (a task: for one
//   run) …, a `stop-on` unwanted." "Tasks run on `starting X` / `stopping X` are hooks:
//   X's first process waits for them, or its stop signal does."
//
// So this module keeps its own record of what the admin asked, from the facts: the
// names started (a boot, `start`, `restart`), stopped (`stop`), and disabled in the
// bundles they belong to (`unwant`, what `tend disable` sends). The triggered set —
// what the events made wanted — and which tasks run as hooks are the engine's, which
// events.ts checks against a model of the conditions and the job events. Where the
// words leave a choice, the reading taken is:
//  - stopping X stops X and what requires it, and takes them off the names started;
//    a start (or an event naming a service) clears the stop of what it names — every
//    member of a bundle, disabled or not — and of everything they require (a start
//    of Y cannot leave Y's requirement stopped), but not of what it only wants;
//  - "less what an admin stopped" prunes the walk: what only a stopped service pulled
//    in is not wanted either (its requirements are let go, as in dinit);
//  - a service that requires a stopped one is not wanted, whenever it appeared (an
//    apply may add it after the stop);
//  - a service disabled in a bundle is not brought up by the bundle, nor is what it
//    stands for when it is itself a bundle inside that bundle;
//  - a task run on `stopping X` does not keep X wanted while X's stop waits for it,
//    nor does its trigger clear an admin's stop of what it requires (the stop under way
//    stands); a task running as a hook is not held back by a stop of what it requires.
//
// And the Instances rule: "a template (a file `getty@`) never runs itself; its
// instances … those the files name are compiled as services, the others the engine
// makes when a start, restart or the boot names one; `instance = KEY` makes one per
// value an event carries". So a template is never wanted, an instance the files name
// is a service like any, and one named at run time (or by its event) is wanted as
// its name or its trigger says once it is made — which the engine may refuse, with
// as many as a template keeps and none at rest (instances.ts checks when).

import { waitsForTrigger } from "../../../src/config/service.js";
import { isTemplateName } from "../../../src/config/template.js";
import type { Fact } from "../../../src/engine/types.js";
import type { Check, Sim } from "./check.js";
import { jobOf } from "./report.js";
import { closure, requirementsOf, requirersOf, templateOf, type Graph } from "./graph.js";

/** A service of the database (a template's too), or an instance made at run time; not one named only. */
const exists = (g: Graph, name: string): boolean => (g.db.services[name] !== undefined ? true : g.def(name) !== undefined && g.instancesOf(templateOf(name)).includes(name));

export interface Oracle extends Check {
  /** What the words say is wanted now; `without` a service's own trigger, what else pulls it in. */
  wanted(without?: string): Set<string>;
  /** The services a name started brings up: itself, or a bundle's contents but what is disabled in it. */
  broughtUp(name: string): string[];
  /** What an admin stopped, and what requires it. */
  stopped(): Set<string>;
}

export function wantedOracle(sim: Sim, arrived: () => readonly string[]): Oracle {
  const { world, thorough } = sim;
  const fail: Sim["fail"] = sim.fail;
  const e = world.engine;
  /** Names (services or bundles) the admin or the boot started, and not stopped since. */
  const started = new Set<string>();
  /** Services an admin stopped (with what required them then), not started again since. */
  const stopped = new Set<string>();
  /** Names disabled in the bundles they belong to. */
  const disabled = new Set<string>();
  /** For each service whose stop waits for (or runs) its `stopping` hooks: those tasks. */
  const stopHooks = new Map<string, Set<string>>();
  let triggered = new Set<string>();
  /** When each service was last stopped, and last came (added or changed) with an apply. */
  const stoppedAt = new Map<string, number>();
  const cameAt = new Map<string, number>();

  /** Names a start gave that stood for no service: instances by name, which it may make (their requirements are seen after the step). */
  let unmade: string[] = [];
  const start = (names: readonly string[]): void => {
    const g = world.graph;
    for (const name of names) {
      started.add(name);
      disabled.delete(name);
      if (g.members(name).length === 0) unmade.push(name);
      for (const r of requirementsOf(g, g.members(name))) stopped.delete(r);
    }
  };

  const stop = (names: readonly string[]): void => {
    const g = world.graph;
    for (const name of names) {
      started.delete(name);
      for (const r of requirersOf(g, g.members(name))) {
        started.delete(r);
        stopped.add(r);
        stoppedAt.set(r, world.steps);
      }
    }
  };

  /** The services a started name brings up: itself, or a bundle's contents but what is disabled in it. */
  const broughtUp = (g: Graph, name: string): string[] => {
    const def = g.db.services[name];
    if (def === undefined || def.type !== "bundle") return exists(g, name) ? [name] : [];
    const out: string[] = [];
    const stack = [def];
    const seen = new Set<string>([name]);
    while (stack.length > 0) {
      for (const r of stack.pop()!.contents) {
        if (disabled.has(r.name) || seen.has(r.name)) continue;
        seen.add(r.name);
        const member = g.db.services[r.name];
        if (member?.type === "bundle") stack.push(member);
        else if (member !== undefined) out.push(r.name);
      }
    }
    return out;
  };

  /** What an admin stopped, and what requires it — but a task running as a hook: it runs for the transition it serves. */
  const held = (): Set<string> => {
    const g = world.graph;
    return closure(
      [...stopped].filter((n) => g.def(n) !== undefined),
      (n) => g.requiredBy(n).filter((d) => stopped.has(d) || !e.hookRuns.has(d)),
    );
  };

  const wanted = (without?: string): Set<string> => {
    const g = world.graph;
    const events = [...e.triggered].filter((t) => t !== without && g.def(t) !== undefined);
    const named = (n: string): boolean => started.has(n) || (n !== without && e.triggered.has(n));
    const stoppedNow = held();
    const stack = [...[...started].flatMap((n) => broughtUp(g, n)), ...events];
    const out = new Set<string>();
    while (stack.length > 0) {
      const name = stack.pop()!;
      if (out.has(name) || stoppedNow.has(name) || isTemplateName(name)) continue;
      if (waitsForTrigger(g.def(name)!) && !named(name)) continue;
      out.add(name);
      for (const next of [...g.requires(name), ...g.wants(name)]) if (!(stopHooks.get(next)?.has(name) ?? false)) stack.push(next);
    }
    return out;
  };

  /** Why the words do not want `name`, as far as one reason goes. */
  const whyNot = (name: string): string => {
    if (isTemplateName(name)) return "it is a template, which never runs itself";
    const g = world.graph;
    const below = requirementsOf(g, [name]);
    const stoppedBelow = [...below].find((r) => stopped.has(r));
    if (stoppedBelow === name) return "an admin stopped it";
    if (stoppedBelow !== undefined) {
      // It, or what makes it require the stopped service, came with an apply after the stop (or was changed by one).
      const late = [...below].some((r) => (cameAt.get(r) ?? -1) > (stoppedAt.get(stoppedBelow) ?? Infinity));
      return `it requires ${stoppedBelow}, which an admin stopped${late ? ", and it came with an apply after the stop" : ""}`;
    }
    if (g.def(name) === undefined) return "it is not in the database";
    if (waitsForTrigger(g.def(name)!)) return "it waits for its event or schedule, and is not named";
    const bundles = [...disabled].filter((d) => g.members(d).includes(name) && d !== name);
    if (bundles.length > 0) return `it is in ${bundles.join(", ")}, disabled`;
    return "no name started pulls it in";
  };

  const compare = (fact: Fact): void => {
    const expected = wanted();
    for (const n of expected) if (!e.wanted.has(n)) fail(`wanted: ${n} is wanted by DESIGN.md's rules (the names started, their requirements and wants, the triggers), but the engine does not want it (after ${fact.kind})`);
    for (const n of e.wanted.keys()) if (!expected.has(n)) fail(`wanted: the engine wants ${n}, but DESIGN.md's rules do not: ${whyNot(n)} (after ${fact.kind})`);
  };

  return {
    wanted,
    broughtUp: (name) => broughtUp(world.graph, name),
    stopped: held,
    beforeStep(fact) {
      // A hook's run that ends (its main process, or its spawn) is a hook no more: what it requires, it pulls in as any task.
      if ((fact.kind === "exited" && world.proc(fact.pid)?.role === "main") || (fact.kind === "spawn-failed" && world.engine.services.get(fact.service)?.role === "main")) {
        for (const tasks of stopHooks.values()) tasks.delete(fact.service);
      }
      switch (fact.kind) {
        case "boot":
          return start(fact.policy.exitWith === null ? fact.names : [...fact.names, fact.policy.exitWith]);
        case "start":
        case "restart":
          return start(fact.names);
        case "stop":
          return stop(fact.names);
        case "unwant":
          for (const name of fact.names) {
            started.delete(name);
            disabled.add(name);
          }
          return;
        default:
          return;
      }
    },
    action(a) {
      if (a.kind === "occurred") {
        // An event names its service as a start does; but the hooks of a stop do not undo it.
        const job = a.what.kind === "job" ? jobOf(a.what) : null;
        const stopping = a.what.kind === "job" && a.what.verb === "stopping" ? job : null;
        for (const t of a.started) {
          stopped.delete(t);
          // A task run on `stopping X` is no start of what it requires: the stop under way stands.
          if (stopping === null) for (const r of requirementsOf(world.graph, [t])) stopped.delete(r);
        }
        if (stopping !== null) {
          const tasks = [...a.started, ...a.skipped].filter((t) => world.def(t).type === "task");
          if (tasks.length > 0) stopHooks.set(stopping, new Set(tasks));
        }
      } else if (a.kind === "switched") {
        for (const n of Object.keys(a.db.graph.services)) if (!Object.hasOwn(world.graph.db.services, n) || a.changed.includes(n)) cameAt.set(n, world.steps);
      } else if (a.kind === "changed" && stopHooks.has(a.service)) {
        // Its stop goes on (or is called off: it is wanted again): its hooks are ordinary runs from now on.
        if (a.phase !== "up" || a.reason === null) stopHooks.delete(a.service);
      }
    },
    afterStep(fact, actions) {
      const made = unmade.filter((n) => world.graph.members(n).length > 0);
      unmade = [];
      if (made.length > 0) start(made);
      // What an apply brings sees the levels as they are, as if they had just been set: a start-on that holds names its service too.
      const switched = actions.some((a) => a.kind === "switched");
      if (switched) for (const r of requirementsOf(world.graph, arrived().filter((t) => world.graph.def(t) !== undefined))) stopped.delete(r);
      const changed = e.triggered.size !== triggered.size || [...e.triggered].some((t) => !triggered.has(t));
      if (changed) triggered = new Set(e.triggered);
      const command = fact.kind === "boot" || fact.kind === "start" || fact.kind === "stop" || fact.kind === "restart" || fact.kind === "unwant";
      // On big graphs only after commands and switches: the closure is as slow as the engine's own.
      if (command || switched || (changed && thorough)) compare(fact);
    },
  };
}
