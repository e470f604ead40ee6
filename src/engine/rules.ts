// When a service starts and when it stops (docs/DESIGN.md, "The rules the engine
// keeps"): `evaluate` decides for one service, from what it requires, what it is
// ordered after, and what requires it.

import { waitsForTrigger } from "../config/service.js";
import { defOf, type Engine, isActive, stateOf, type Step } from "./engine.js";
import { announce, dropHooks, hooksDone, waitForHooks } from "./hooks.js";
import { setPhase } from "./phase.js";
import { beginStart, launch, stopProcess } from "./processes.js";
import { edgesOf } from "./topology.js";
import type { Outcome } from "./types.js";
import { wantsUp } from "./wanted.js";

export function evaluate(ctx: Step, name: string): void {
  const { e } = ctx;
  const s = stateOf(e, name);
  const want = wantsUp(e, name);
  switch (s.phase) {
    case "down":
    case "failed": {
      if (!want || s.held) return;
      const blocker = blockingRequirement(e, name);
      if (blocker !== null) return setPhase(ctx, name, "failed", blocker);
      // Its requirement recovered (or never failed): wait for it, saying so if only an event can start it.
      if (!requirementsUp(e, name) || e.awaiting.has(name)) return setPhase(ctx, name, "down", awaitedTrigger(e, name));
      if (s.phase === "failed") setPhase(ctx, name, "down", null);
      if (!orderingSettled(e, name) || s.postStartLeft) return;
      return beginStart(ctx, name);
    }
    case "starting":
    case "up":
    case "running": {
      const blocker = want ? blockingRequirement(e, name) : null;
      // What requires a service whose event has gone goes down with it, and waits for it again.
      if (want && blocker === null && !e.awaiting.has(name)) {
        if (s.announced) cancelStop(ctx, name);
        // Waiting for the tasks run on `starting NAME`: go on once they are done.
        if (s.hooks.length > 0 && s.role === null && !s.delayed && s.phase !== "up" && hooksDone(e, s.hooks)) launch(ctx, name);
        return;
      }
      if (!s.delayed && !mayStop(e, name)) return; // a service waiting to restart has no process to stop
      // Tasks run on `stopping NAME` finish before its process is signalled (or an up
      // oneshot's `down` runs: it has no process then) when it is up; not when it has
      // not come up yet (a task, or a longrun not ready): they just run.
      if (!s.announced && (s.role !== null || s.phase === "up")) {
        s.announced = true;
        const hooks = announce(ctx, name, "stopping", {});
        if (hooks.length > 0 && s.phase === "up") return waitForHooks(ctx, name);
      }
      if (s.hooks.length > 0 && s.phase === "up" && !hooksDone(e, s.hooks)) return;
      dropHooks(ctx, name);
      return stopProcess(ctx, name, blocker === null ? { to: "down", reason: null, held: false } : dependencyFailed(blocker), null);
    }
    case "stopping":
      return;
  }
}

const dependencyFailed = (reason: string): Outcome => ({ to: "failed", reason, held: false });

/** Wanted again while up, its stop waiting for the tasks run on `stopping NAME`: it stays. */
function cancelStop(ctx: Step, name: string): void {
  const s = stateOf(ctx.e, name);
  s.announced = false;
  dropHooks(ctx, name);
  s.timer = 0; // the hook timeout: an up service has no other
  setPhase(ctx, name, s.phase, null);
}

/**
 * Why a required service cannot come up until an admin acts (it failed, or ended by
 * itself and is held), as the reason its dependents show; null when none is blocked.
 * A requirement that is still up but blocked itself, further down (it waits only for
 * what requires it to stop first), has failed as far as its dependents are concerned:
 * they go down first, then it does (`s3` → `s2` → failed `s1`).
 */
export function blockingRequirement(e: Engine, name: string, known = new Map<string, string | null>()): string | null {
  const memo = known.get(name);
  if (memo !== undefined) return memo;
  let why: string | null = null;
  for (const r of edgesOf(e.topo, "requires", name)) {
    const s = stateOf(e, r);
    if (s.phase === "failed") why = `dependency ${r} failed`;
    else if (s.held && s.phase === "down") why = `dependency ${r} ${defOf(e, r).type === "task" ? "ran and ended" : "exited by itself"}`;
    else if (isActive(s.phase) && wantsUp(e, r) && blockingRequirement(e, r, known) !== null) why = `dependency ${r} failed`;
    if (why !== null) break;
  }
  known.set(name, why);
  return why;
}

/** A requirement that only an event or a clock starts, which has not: what a dependent waits for. */
function awaitedTrigger(e: Engine, name: string): string | null {
  const r = edgesOf(e.topo, "requires", name).find((n) => stateOf(e, n).phase === "down" && !e.wanted.has(n) && waitsForTrigger(defOf(e, n)));
  return r === undefined ? null : `waiting for ${r}, which starts on its own event or schedule`;
}

/**
 * The requirement `r` of `name` is up and staying up (not about to go down for a
 * restart or an apply) — or waiting, before it stops, for this very task to run.
 */
export const requirementReady = (e: Engine, name: string, r: string): boolean =>
  stateOf(e, r).phase === "up" && (wantsUp(e, r) || stateOf(e, r).hooks.includes(name));

export const requirementsUp = (e: Engine, name: string): boolean => edgesOf(e.topo, "requires", name).every((r) => requirementReady(e, name, r));

/** `a`, which something is ordered after, has settled: it is not in transition nor about to start (awaiting an event is settled). */
export function settled(e: Engine, a: string): boolean {
  const s = stateOf(e, a);
  if (s.phase === "starting" || s.phase === "running" || s.phase === "stopping") return false;
  return !(s.phase === "down" && !s.held && wantsUp(e, a) && !e.awaiting.has(a));
}

export const orderingSettled = (e: Engine, name: string): boolean => edgesOf(e.topo, "after", name).every((a) => settled(e, a));

/** The services that must stop before `name` may: what requires it and is active. */
export const stopsFirst = (e: Engine, name: string): string[] => edgesOf(e.topo, "requiredBy", name).filter((d) => isActive(stateOf(e, d).phase));

/** May this service's process be stopped now? Dependents go first. */
export function mayStop(e: Engine, name: string): boolean {
  if (stopsFirst(e, name).length > 0) return false;
  // Ordering only matters between services that are both going down.
  return edgesOf(e.topo, "before", name).every((d) => {
    const s = stateOf(e, d);
    return s.phase !== "stopping" && !(isActive(s.phase) && !wantsUp(e, d));
  });
}

/**
 * Where a command waits for: has `name` settled, for a `stop` (or shutdown) by being
 * inactive, for a `start`, `restart` or `apply` by being up, failed or held down — or
 * inactive, when it is not wanted after all? A restart given at `since` has not even
 * begun while the service's phase is older. A service an apply removed has settled.
 */
export function isSettled(e: Engine, name: string, command: "start" | "stop" | "restart" | "apply" | "shutdown", since: number): boolean {
  const s = e.services.get(name);
  if (s === undefined) return true;
  if (command === "stop" || command === "shutdown") return !isActive(s.phase);
  if (command === "restart" && s.since < since) return false;
  if (!e.wanted.has(name)) return !isActive(s.phase);
  return s.phase === "up" || s.phase === "failed" || (s.phase === "down" && s.held);
}
