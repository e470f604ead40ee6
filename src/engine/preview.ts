// `--dry-run` of start, stop, restart, enable and disable: what the command would
// change, found by stepping a copy of the engine with the command's fact and reading
// the copy, so that the rules that decide it are the engine's own, never re-derived.
// The copy is the snapshot's (snapshot.ts), the engine's one way of being carried
// over; it is thrown away, and the engine it was taken from is not touched.

import { type Engine, isActive, step } from "./engine.js";
import { restoreEngine, snapshotOf } from "./snapshot.js";
import type { Phase, TimedFact } from "./types.js";

/** The facts a dry run can preview: the admin commands (`enable` is a start, `disable` an unwant, on a booted server). */
export type PreviewFact = TimedFact & { kind: "start" | "stop" | "restart" | "unwant" };

/** What a command would change; every list empty: nothing. */
export interface Preview {
  /** Services that would start (or run once more: a task), being down, failed or stopping now. */
  start: string[];
  /** Services active now that would stop (in the order of the database's names, not the order they stop in). */
  stop: string[];
  /** Services active now that would go down and come back (a restart's bounce). */
  restart: string[];
}

/** A phase from which a start changes nothing: on its way up, up, or running. */
const goingUp = (phase: Phase | undefined): boolean => phase === "starting" || phase === "up" || phase === "running";

export function preview(e: Engine, fact: PreviewFact): Preview {
  // A deep copy: the snapshot shares the engine's arrays (a service's restarts, its hooks), which the step would change.
  const copy = restoreEngine(structuredClone(snapshotOf(e)), e.db, fact.now);
  if (typeof copy === "string") throw new Error(`the engine's own snapshot does not restore: ${copy}`);
  const actions = step(copy, fact);
  const affected = actions.flatMap((a) => (a.kind === "affected" ? a.services : []));
  const phase = (name: string): Phase | undefined => e.services.get(name)?.phase; // an instance not made yet has none
  const active = (name: string): boolean => {
    const p = phase(name);
    return p !== undefined && isActive(p);
  };
  // What the step leaves wanted (and not waiting for another's event) comes up: what the
  // command names, and what it pulls in that was not wanted before; what it no longer wants goes down.
  const concerned = new Set(affected);
  const comesUp = (name: string): boolean => copy.wanted.has(name) && !copy.awaiting.has(name) && (concerned.has(name) || !e.wanted.has(name));
  const restart = fact.kind === "restart" ? affected.filter(active) : [];
  return {
    // A restart bounces what is active; a start leaves alone what is on its way up already.
    start: copy.topo.names.filter((n) => comesUp(n) && !(fact.kind === "restart" ? active(n) : goingUp(phase(n)))),
    stop: e.topo.names.filter((n) => e.wanted.has(n) && active(n) && !copy.wanted.has(n)),
    restart,
  };
}
