// The engine's state as plain JSON and back: what a server that died leaves for the
// next one. Everything derived from the database (topology, definitions, watchers) is
// rebuilt from it; only the instances the engine made (by name or by events) carry
// their definitions along.
// Pure: the server decides when to write it and where.

import type { Database } from "../compile/database.js";
import type { ServiceDef } from "../config/service.js";
import type { Latches } from "../events/conditions.js";
import { diffDatabases } from "./diff.js";
import { createEngine, defOf, type Engine, initialState, step } from "./engine.js";
import { madeAtRunTime } from "./instances.js";
import { addInstance } from "./topology.js";
import type { Boot, End, ServiceState, TimedFact, TimerPurpose } from "./types.js";
import { refreshWanted } from "./wanted.js";

/** 2: the boot's policy and progress, and the end, are kept (a server that takes over ends as the first would have). */
export const SNAPSHOT_VERSION = 2;

/** A timer the shell had armed: what a restored engine's timers are armed from again. */
export interface ArmedTimer {
  service: string;
  token: number;
  /** When it falls due, on the engine's clock. */
  due: number;
  purpose: TimerPurpose;
}

type LatchList = [number, Record<string, string>][];

type SavedBoot = Omit<Boot, "services" | "waiting"> & { services: string[]; waiting: string[] };

type SavedState = Omit<ServiceState, "startLatches" | "stopLatches" | "scheduleLatches"> & {
  startLatches: LatchList;
  stopLatches: LatchList;
  scheduleLatches: LatchList;
};

export interface EngineSnapshot {
  version: typeof SNAPSHOT_VERSION;
  /** The database the engine ran: a snapshot only restores onto the same one. */
  digest: string;
  services: [string, SavedState][];
  instances: ServiceDef[];
  explicit: string[];
  stopped: string[];
  excluded: string[];
  triggered: string[];
  hookRuns: string[];
  shuttingDown: boolean;
  boot: SavedBoot | null;
  end: End | null;
  pendingApply: { db: Database; leaving: string[] } | null;
  bounces: string[][];
  levels: [string, string][];
  nextToken: number;
}

export function snapshotOf(e: Engine): EngineSnapshot {
  return {
    version: SNAPSHOT_VERSION,
    digest: e.db.digest,
    services: [...e.services].map(([name, s]) => [
      name,
      { ...s, startLatches: [...s.startLatches], stopLatches: [...s.stopLatches], scheduleLatches: [...s.scheduleLatches] },
    ]),
    instances: [...e.defs.keys()].filter((name) => madeAtRunTime(e, name)).map((name) => defOf(e, name)),
    explicit: [...e.explicit],
    stopped: [...e.stopped],
    excluded: [...e.excluded],
    triggered: [...e.triggered],
    hookRuns: [...e.hookRuns],
    shuttingDown: e.shuttingDown,
    boot: e.boot === null ? null : { ...e.boot, services: [...e.boot.services], waiting: [...e.boot.waiting] },
    end: e.end,
    pendingApply: e.pendingApply === null ? null : { db: e.pendingApply.db, leaving: [...e.pendingApply.leaving] },
    bounces: e.bounces.map((group) => [...group]),
    levels: [...e.levels],
    nextToken: e.nextToken,
  };
}

/**
 * The engine `snapshot` describes, running `db`; or why it cannot be (another version,
 * another database). The wanted sets are computed again, as any change would.
 */
export function restoreEngine(snapshot: EngineSnapshot, db: Database, now: number): Engine | string {
  if (snapshot.version !== SNAPSHOT_VERSION) return `the saved state is of version ${String(snapshot.version)}, not ${SNAPSHOT_VERSION}`;
  if (snapshot.digest !== db.digest) return "the saved state is of another database than the installed one";
  const e = createEngine(db, now);
  for (const saved of snapshot.instances) {
    // A server from before templates saved only instances made by events, without their template: `mount@/dev/sdb1`'s is `mount`.
    const def = { ...saved, template: saved.template ?? saved.name.slice(0, Math.max(0, saved.name.indexOf("@"))) };
    const template = def.template;
    if (!e.topo.requires.has(template) || e.defs.has(def.name)) continue;
    e.defs.set(def.name, def);
    addInstance(e.topo, template, def.name);
  }
  for (const [name, saved] of snapshot.services) {
    const def = e.defs.get(name);
    if (def === undefined) continue;
    e.services.set(name, {
      ...initialState(def, now), // a field a server before this one did not keep starts as a new service's
      ...saved,
      startLatches: new Map(saved.startLatches) as Latches,
      stopLatches: new Map(saved.stopLatches) as Latches,
      scheduleLatches: new Map(saved.scheduleLatches) as Latches,
    });
  }
  e.explicit = new Set(snapshot.explicit);
  e.stopped = new Set(snapshot.stopped);
  e.excluded = new Set(snapshot.excluded);
  e.triggered = new Set(snapshot.triggered);
  e.hookRuns = new Set(snapshot.hookRuns);
  e.shuttingDown = snapshot.shuttingDown;
  e.boot = snapshot.boot === null ? null : { ...snapshot.boot, services: new Set(snapshot.boot.services), waiting: new Set(snapshot.boot.waiting) };
  e.end = snapshot.end;
  const pending = snapshot.pendingApply;
  e.pendingApply = pending === null ? null : { db: pending.db, diff: diffDatabases(db, pending.db), leaving: new Set(pending.leaving) };
  e.bounces = snapshot.bounces.map((group) => new Set(group));
  e.levels = new Map(snapshot.levels);
  e.nextToken = snapshot.nextToken;
  refreshWanted(e);
  return e;
}

/**
 * Steps the facts a server handled after its snapshot through the restored engine, so
 * that it ends where that server was. What they asked for was done back then, so the
 * actions are dropped, but for the timers: of `armed` (those of the snapshot) and the
 * ones armed on the way, those still current are returned, to be armed again.
 */
export function replay(e: Engine, facts: readonly TimedFact[], armed: readonly ArmedTimer[]): ArmedTimer[] {
  const timers = new Map(armed.map((t) => [t.service, t]));
  for (const fact of facts) {
    for (const a of step(e, fact)) {
      if (a.kind === "arm") timers.set(a.service, { service: a.service, token: a.token, due: fact.now + a.ms, purpose: a.purpose });
    }
  }
  return [...timers.values()].filter((t) => e.services.get(t.service)?.timer === t.token);
}
