// What is wanted: the closure of the explicit names through `requires` and `wants`
// (docs/DESIGN.md, "Wanted is derived"), the services waiting for an event to start
// what they require, and why each is wanted.

import { waitsForTrigger } from "../config/service.js";
import { members } from "./topology.js";
import { type Engine, type Step, defOf, isActive, stateOf } from "./engine.js";

/** Recompute the wanted set and evaluate every service whose wantedness changed. */
export function rewant(ctx: Step): void {
  const { e } = ctx;
  const before = e.wanted;
  const awaited = e.awaiting;
  e.wanted = computeWanted(e);
  e.awaiting = computeAwaiting(e);
  // Whether a service is wanted also decides when its neighbours in the order may move
  // (see `mayStop` and `orderingSettled`): evaluate them too.
  const changed = (n: string): void => {
    ctx.dirty.add(n);
    for (const m of e.topo.after.get(n) ?? []) ctx.dirty.add(m);
    for (const m of e.topo.before.get(n) ?? []) ctx.dirty.add(m);
  };
  for (const n of before) if (!e.wanted.has(n)) changed(n);
  for (const n of e.wanted) if (!before.has(n)) changed(n);
  for (const n of awaited) if (!e.awaiting.has(n)) changed(n);
  for (const n of e.awaiting) if (!awaited.has(n)) changed(n);
  for (const n of e.topo.names) if (stateOf(e, n).phase === "failed" || !isActive(stateOf(e, n).phase)) ctx.dirty.add(n);
}

/** Derive the wanted sets again (a restored engine: see snapshot.ts). */
export function refreshWanted(e: Engine): void {
  e.wanted = computeWanted(e);
  e.awaiting = computeAwaiting(e);
}

/**
 * Everything the explicit names pull in through `requires` and `wants`. A service that
 * waits for an event or a clock (`start-on`, `schedule`) is pulled in only when named.
 */
export function computeWanted(e: Engine): Set<string> {
  const wanted = new Set<string>();
  const stack: string[] = [...e.triggered];
  for (const name of e.explicit) {
    for (const m of members(e.topo, name)) if (m === name || !e.excluded.has(m)) stack.push(m);
  }
  // A bundle holding an event-driven service does not start it; naming it, or its event, does.
  const named = (n: string): boolean => e.explicit.has(n) || e.triggered.has(n);
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (wanted.has(name) || e.stopped.has(name)) continue;
    if (!named(name) && waitsForTrigger(defOf(e, name))) continue;
    wanted.add(name);
    const pulled = [...e.topo.requires.get(name)!, ...e.topo.wants.get(name)!];
    // A task run on `stopping X` does not keep X: X waits for it, then goes (see `requirementsUp`).
    stack.push(...(e.hookRuns.has(name) ? pulled.filter((n) => !stateOf(e, n).announced) : pulled));
  }
  return wanted;
}

/**
 * The wanted services that cannot run until an event or a clock starts what they
 * require: its trigger went (a `stop-on`, a level), or never came. A task run on
 * `stopping X` does not wait for X (see `computeWanted`).
 */
export function computeAwaiting(e: Engine): Set<string> {
  const awaiting = new Set<string>();
  const stack = e.topo.names.filter((n) => !e.wanted.has(n) && waitsForTrigger(defOf(e, n)));
  while (stack.length > 0) {
    const name = stack.pop()!;
    for (const d of e.topo.requiredBy.get(name)!) {
      if (awaiting.has(d) || !e.wanted.has(d) || (e.hookRuns.has(d) && stateOf(e, name).announced)) continue;
      awaiting.add(d);
      stack.push(d);
    }
  }
  return awaiting;
}

export const wantsUp = (e: Engine, name: string): boolean =>
  e.hookRuns.has(name) ||
  (!e.shuttingDown && e.wanted.has(name) && !(e.pendingApply?.leaving.has(name) ?? false) && !e.bounces.some((group) => group.has(name)));
