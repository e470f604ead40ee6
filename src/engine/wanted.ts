// What is wanted: the closure of the explicit names through `requires` and `wants`
// (docs/DESIGN.md, "Wanted is derived"), the services waiting for an event to start
// what they require, and why each is wanted.

import { waitsForTrigger } from "../config/service.js";
import { isTemplateDef } from "../config/template.js";
import { own } from "../records.js";
import { defOf, type Engine, isActive, stateOf, type Step } from "./engine.js";
import { release } from "./restarts.js";
import { edgesOf, members, requirementsOf, requirersOf } from "./topology.js";
import type { Pull } from "./types.js";

/** An admin's (or the boot's) start: the names are wanted, and what they require is no longer held down by a stop nor a hold. */
export function startNamed(ctx: Step, names: readonly string[]): void {
  const { e } = ctx;
  for (const name of names) {
    e.explicit.add(name);
    e.excluded.delete(name);
    for (const m of members(e.topo, name)) {
      for (const r of requirementsOf(e.topo, m)) {
        e.stopped.delete(r);
        release(ctx, r);
      }
    }
  }
  rewant(ctx);
}

/** An admin's stop: the names, and what requires them, are no longer wanted, even by what `wants` them, until started again. */
export function stopNamed(ctx: Step, names: readonly string[]): void {
  const { e } = ctx;
  for (const name of names) {
    e.explicit.delete(name);
    for (const m of members(e.topo, name)) {
      for (const r of requirersOf(e.topo, m)) {
        e.explicit.delete(r);
        e.stopped.add(r);
      }
    }
  }
  rewant(ctx);
}

/** `tend disable`: no longer wanted for itself nor as a member of a started bundle (what requires it may still pull it in). */
export function unwantNamed(ctx: Step, names: readonly string[]): void {
  for (const name of names) {
    ctx.e.explicit.delete(name);
    ctx.e.excluded.add(name);
  }
  rewant(ctx);
}

/** Recompute the wanted set and evaluate every service whose wantedness changed. */
export function rewant(ctx: Step): void {
  const { e } = ctx;
  const before = e.wanted;
  const awaited = e.awaiting;
  refreshWanted(e);
  // Whether a service is wanted also decides when its neighbours in the order may move
  // (see `mayStop` and `orderingSettled`): evaluate them too.
  const changed = (n: string): void => {
    ctx.dirty.add(n);
    for (const m of e.topo.after.get(n) ?? []) ctx.dirty.add(m);
    for (const m of e.topo.before.get(n) ?? []) ctx.dirty.add(m);
  };
  for (const n of before.keys()) if (!e.wanted.has(n)) changed(n);
  for (const n of e.wanted.keys()) if (!before.has(n)) changed(n);
  for (const n of awaited) if (!e.awaiting.has(n)) changed(n);
  for (const n of e.awaiting) if (!awaited.has(n)) changed(n);
  for (const n of e.topo.names) if (stateOf(e, n).phase === "failed" || !isActive(stateOf(e, n).phase)) ctx.dirty.add(n);
}

/** Derive the wanted sets again: after any change to what they are made of, and for a restored engine (snapshot.ts). */
export function refreshWanted(e: Engine): void {
  e.wanted = computeWanted(e);
  e.awaiting = computeAwaiting(e);
}

/**
 * Everything the explicit names pull in through `requires` and `wants`, each with what
 * first pulled it in (breadth first: the shortest chain). A service that waits for an
 * event or a clock (`start-on`, `schedule`) is pulled in only when named; a template,
 * never (its instances are services of their own).
 */
function computeWanted(e: Engine): Map<string, Pull> {
  const pulls = new Map<string, Pull>();
  const queue: [string, Pull][] = [...e.triggered].map((n) => [n, { by: "trigger" }]);
  for (const root of e.explicit) for (const m of broughtUpBy(e, root)) queue.push([m, { by: "name", root }]);
  const stopped = heldByStops(e);
  // A bundle holding an event-driven service does not start it; naming it, or its event, does.
  const named = (n: string): boolean => e.explicit.has(n) || e.triggered.has(n);
  for (let i = 0; i < queue.length; i++) {
    const [name, pull] = queue[i]!;
    if (pulls.has(name) || stopped.has(name)) continue;
    const def = defOf(e, name);
    if (isTemplateDef(def) || (!named(name) && waitsForTrigger(def))) continue; // a template never runs itself: its instances do
    pulls.set(name, pull);
    for (const edge of ["requires", "wants"] as const) {
      for (const n of edgesOf(e.topo, edge, name)) {
        if (!pulls.has(n) && !stopWaitsFor(e, n, name)) queue.push([n, { by: edge, from: name }]);
      }
    }
  }
  return pulls;
}

/**
 * Is the stop of `name` waiting for `task`, run on `stopping NAME`, whose run goes on?
 * Such a task does not keep `name` wanted: `name` waits for it, then goes (see
 * `requirementReady`). A run on any other job event (`starting web`) is no hook of
 * `name`'s stop, nor is a run that has ended (its post-stop may still run): what it
 * requires, it pulls in as any task, even on its way down.
 */
const stopWaitsFor = (e: Engine, name: string, task: string): boolean => {
  const s = stateOf(e, name);
  return e.hookRuns.has(task) && s.announced && s.hooks.includes(task);
};

/**
 * The services a name brings up: a service itself, a bundle its members — but what
 * `tend disable` took out of it: a member, or a bundle inside it (with what that holds),
 * each name so cut off added to `cut`.
 */
export function broughtUpBy(e: Engine, name: string, cut: string[] = []): string[] {
  return bundleWalk(e, [name], e.excluded, cut).filter((n) => e.topo.requires.has(n));
}

/**
 * Every name `roots` bring up through their bundles, the bundles included, in the order
 * the bundles list them; what `excluded` takes out of a bundle is not entered, and is
 * added to `cut`. `broughtUpBy` with the engine's own exclusions; `tend is-enabled`
 * and the status table with the persisted ones, which the next boot applies.
 */
export function bundleWalk(e: Engine, roots: readonly string[], excluded: ReadonlySet<string>, cut: string[] = []): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  const stack = [...roots].reverse();
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    const def = own(e.db.services, n);
    // Reversed onto the stack: the members come out in the order the bundle lists them.
    if (def?.type === "bundle") {
      found.push(n);
      const contents = def.contents.map((r) => r.name);
      cut.push(...contents.filter((m) => excluded.has(m)));
      stack.push(...contents.filter((m) => !excluded.has(m)).reverse());
    } else if (e.topo.requires.has(n)) found.push(n);
  }
  return found;
}

/**
 * What an admin's stop keeps down: the services stopped and, however it came to be so
 * (an apply may add a service that requires one), everything that requires them — but
 * a task run on `stopping X`, which X waits for before it goes.
 */
function heldByStops(e: Engine): Set<string> {
  const held = new Set<string>();
  const stack = [...e.stopped].filter((n) => e.topo.requires.has(n));
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (held.has(name) || (e.hookRuns.has(name) && !e.stopped.has(name))) continue;
    held.add(name);
    stack.push(...edgesOf(e.topo, "requiredBy", name));
  }
  return held;
}

/**
 * The chain that makes `name` wanted, from it back to what an admin, the boot or an
 * event named (`db requires it` … `started explicitly`); null when it is not wanted.
 */
export function wantedBecause(e: Engine, name: string): string[] | null {
  if (!e.wanted.has(name)) return null;
  const chain: string[] = [];
  for (let n: string | null = name; n !== null; ) {
    const pull = e.wanted.get(n);
    if (pull === undefined) throw new Error(`internal error: ${n} is wanted but nothing pulled it in`);
    chain.push(`${n}: ${describePull(n, pull)}`);
    n = pull.by === "requires" || pull.by === "wants" ? pull.from : null;
  }
  return chain;
}

function describePull(name: string, pull: Pull): string {
  switch (pull.by) {
    case "trigger":
      return "started by its event or schedule (start-on, schedule)";
    case "name":
      return pull.root === name ? "started explicitly (by an admin, the boot or 'enable')" : `member of '${pull.root}', started explicitly`;
    case "requires":
    case "wants":
      return `${pull.from} ${pull.by} it`;
  }
}

/**
 * The wanted services that cannot run until an event or a clock starts what they
 * require: its trigger went (a `stop-on`, a level), or never came. A task run on
 * `stopping X` does not wait for X (see `computeWanted`).
 */
function computeAwaiting(e: Engine): Set<string> {
  const awaiting = new Set<string>();
  const stack = e.topo.names.filter((n) => !e.wanted.has(n) && waitsForTrigger(defOf(e, n)));
  while (stack.length > 0) {
    const name = stack.pop()!;
    for (const d of edgesOf(e.topo, "requiredBy", name)) {
      if (awaiting.has(d) || !e.wanted.has(d) || stopWaitsFor(e, name, d)) continue;
      awaiting.add(d);
      stack.push(d);
    }
  }
  return awaiting;
}

export const wantsUp = (e: Engine, name: string): boolean =>
  e.hookRuns.has(name) ||
  (!e.shuttingDown && e.wanted.has(name) && !(e.pendingApply?.leaving.has(name) ?? false) && !e.bounces.some((group) => group.has(name)));
