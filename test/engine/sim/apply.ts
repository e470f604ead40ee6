// Applies, from DESIGN.md's words: "A database change (`apply`) stops what is removed
// or changed (dependents first), then switches to the new database and starts what is
// wanted." So, from the apply on:
//  - what leaves (removed or changed, instances of such templates — those made while
//    the apply waits too — and what requires any of them) begins no start until the
//    switch; dependents stop first (invariant 2);
//  - the switch comes once all of it is down, exactly once, as one `switched` action
//    naming what was removed and changed (the diff is computed here, from the two
//    databases); then nothing of the old database runs any more under a name that left;
//  - nothing removed is ever spawned after the switch;
//  - an apply while another is still waiting replaces it: what leaves is then what
//    differs between the running database and the latest one;
//  - once quiet, no apply is still waiting unless something that leaves hangs;
// and after the switch the wanted services come up (invariant 4, with the new graph).

import type { Database } from "../../../src/compile/database.js";
import { isActive, START_ROLES, type Check, type Sim } from "./check.js";
import { requirersOf, templateOf } from "./graph.js";

interface Diff {
  removed: string[];
  changed: string[];
}

/** What a service file means, without where it says it. */
const meaning = (value: unknown): string => JSON.stringify(value, (key, v: unknown) => (key === "line" || key === "col" || key === "file" ? undefined : v));

const sameEdges = (a: readonly string[] | undefined, b: readonly string[] | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]));

/** Removed, and changed in what its file means or in its resolved edges. */
function diff(from: Database, to: Database): Diff {
  const out: Diff = { removed: [], changed: [] };
  for (const name of Object.keys(from.services)) {
    if (!Object.hasOwn(to.services, name)) {
      out.removed.push(name);
      continue;
    }
    const a = from.graph.services[name];
    const b = to.graph.services[name];
    const edges = a === b || (a !== undefined && b !== undefined && sameEdges(a.requires, b.requires) && sameEdges(a.wants, b.wants) && sameEdges(a.after, b.after));
    // The same record is the same meaning (derive.ts copies what it edits).
    if (!edges || (from.services[name] !== to.services[name] && meaning(from.services[name]) !== meaning(to.services[name]))) out.changed.push(name);
  }
  return out;
}

export function applyChecks(sim: Sim): Check & { leaving(): ReadonlySet<string> } {
  const { world, count } = sim;
  const fail: Sim["fail"] = sim.fail;
  const e = world.engine;
  let pending: { db: Database; diff: Diff; leaving: Set<string> } | null = null;
  /** Services removed by a switch, never to be spawned again. */
  const removed = new Set<string>();
  let running = world.graph.db;
  const none = new Set<string>();

  const sameSet = (a: Iterable<string>, b: Iterable<string>): boolean => {
    const x = new Set(a);
    const y = new Set(b);
    return x.size === y.size && [...x].every((n) => y.has(n));
  };
  const show = (names: Iterable<string>): string => `[${[...names].sort().join(", ")}]`;

  return {
    leaving: () => pending?.leaving ?? none,
    beforeStep(fact) {
      if (fact.kind !== "apply") return;
      if (pending !== null) count("apply while one waits");
      const g = world.graph;
      const d = diff(g.db, fact.db);
      const going = [...d.removed, ...d.changed].filter((n) => g.def(n) !== undefined && g.db.services[n]!.type !== "bundle");
      const instances = going.flatMap((t) => g.instances.get(t) ?? []);
      pending = { db: fact.db, diff: d, leaving: requirersOf(g, [...going, ...instances]) };
      count("apply");
    },
    action(a, i) {
      // An instance made while its template leaves leaves with it (the world knows it before the step's first action).
      if (i === 0 && pending !== null) for (const t of [...pending.leaving]) for (const n of world.graph.instances.get(t) ?? []) pending.leaving.add(n);
      switch (a.kind) {
        case "spawn":
          if (removed.has(a.service)) fail(`apply: ${a.service} was removed by an apply, and is spawned again`);
          if (pending?.leaving.has(a.service) && START_ROLES.includes(a.role) && world.begins(a) !== null && !e.hookRuns.has(a.service)) {
            fail(`apply: ${a.service} begins a start while the apply of ${pending.db.digest} is taking it away`);
          }
          return;
        case "switched": {
          if (pending === null || a.db !== pending.db) fail(`apply: a switch to ${a.db.digest}, but the apply waiting is ${pending?.db.digest ?? "none"}`);
          const g = world.graph;
          const instances = [...pending.diff.removed, ...pending.diff.changed].flatMap((t) => g.instances.get(t) ?? []);
          if (!sameSet(a.removed, [...pending.diff.removed, ...instances])) fail(`apply: the switch says it removed ${show(a.removed)}; ${show([...pending.diff.removed, ...instances])} left`);
          if (!sameSet(a.changed, pending.diff.changed)) fail(`apply: the switch says it changed ${show(a.changed)}; ${show(pending.diff.changed)} did`);
          // Everything that left is down: what the new database brings starts from nothing.
          for (const n of new Set([...pending.leaving, ...instances])) {
            const p = world.live(n);
            if (p !== undefined) fail(`apply: the switch came while ${n}, which leaves, still runs its ${p.role} (pid ${p.pid})`);
            if (world.knows(n) && isActive(world.phase(n))) fail(`apply: the switch came while ${n}, which leaves, is ${world.phase(n)}`);
          }
          for (const n of a.removed) if (templateOf(n) === n) removed.add(n);
          for (const n of Object.keys(a.db.services)) removed.delete(n);
          if (pending.leaving.size > 0) count("switch after stops");
          if (instances.length > 0) count("instances gone with their template");
          if ([...g.instances.keys()].some((t) => !instances.some((n) => templateOf(n) === t))) count("instances carried over");
          pending = null;
          return;
        }
        default:
          return;
      }
    },
    afterStep(_fact, actions) {
      const switches = actions.filter((a) => a.kind === "switched").length;
      if ((e.db !== running ? 1 : 0) !== switches) fail(`apply: the engine ${e.db !== running ? "switched" : "did not switch"} databases, with ${switches} switched actions`);
      running = e.db;
      // An instance forgotten to make room for another (at rest: instances.ts) has nothing left to stop.
      if (pending !== null && e.pendingApply !== null && e.pendingApply.leaving.size < pending.leaving.size) for (const n of pending.leaving) if (!e.services.has(n) && templateOf(n) !== n && world.graph.def(n) !== undefined) pending.leaving.delete(n);
      if (pending !== null && e.pendingApply !== null && !sameSet(e.pendingApply.leaving, pending.leaving)) {
        fail(`apply: the engine takes ${show(e.pendingApply.leaving)} away for ${pending.db.digest}; what leaves is ${show(pending.leaving)}`);
      }
    },
    settled() {
      if (pending === null) return;
      const active = [...pending.leaving].filter((n) => world.knows(n) && isActive(world.phase(n)));
      if (active.length === 0) fail(`apply: quiet, everything that leaves for ${pending.db.digest} is down, and the switch never came`);
    },
  };
}
