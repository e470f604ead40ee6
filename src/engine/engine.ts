// The engine's state: what it keeps between facts, plain data owned by the caller and
// changed only by `step` (step.ts), and the accessors every rule reads it through.
//
// The engine is wanted state + current state + one fact → the next actions. It does no
// I/O and reads no clock: facts carry the time, and every effect (spawn a process, send
// a signal, arm a timer) is an action for the shell to carry out, whose result comes
// back as another fact. Each rule of docs/DESIGN.md lives in one module here:
//   step.ts       one fact in, the next actions out
//   wanted.ts     what is wanted, and why; an admin's start, stop and disable
//   rules.ts      may a service start, must it stop; when a command has settled
//   phase.ts      a phase change and what it sets off
//   processes.ts  spawn, ready, exit, stop signal, timeouts
//   post-start.ts a longrun's post-start command, before it is up
//   reload.ts     `tend reload`: a command beside the service, or a signal; RELOADING=1
//   forking.ts    a forking daemon: its launcher, its pid file, MAINPID=
//   restarts.ts   back-off and the restart limit
//   events.ts     conditions meeting events and levels
//   hooks.ts      job events and the tasks a transition waits for
//   instances.ts  instances of templates, made by name or by events
//   apply.ts      database switches and bounces
//   boot.ts       the boot's set and its end
//   adopt.ts      a restarted server taking over the keeper's processes
//   explain.ts    `tend why`

import type { Database } from "../compile/database.js";
import { required } from "../records.js";
import type { ServiceDef } from "../config/service.js";
import { watchKeys } from "../events/conditions.js";
import type { DatabaseDiff } from "./diff.js";
import { type Topology, topology } from "./topology.js";
import type { Action, Boot, End, Phase, Pull, ServiceState } from "./types.js";

/** The one way to change an engine: a fact in, the next actions out. */
export { step } from "./step.js";

export interface Engine {
  db: Database;
  topo: Topology;
  /** Every service's definition, instances (`mount@/dev/sdb1`) included. */
  defs: Map<string, ServiceDef>;
  services: Map<string, ServiceState>;
  /** Names (services or bundles) that an admin, the boot or `enable` asked for. */
  explicit: Set<string>;
  /** Services an admin stopped: not pulled in again by `wants` until started again. */
  stopped: Set<string>;
  /** Services a bundle in `explicit` does not bring up (`tend disable`). */
  excluded: Set<string>;
  /** Everything `explicit` pulls in, each with what first pulled it in (for `tend why`): derived, recomputed when what it is made of changes. */
  wanted: Map<string, Pull>;
  /**
   * Wanted services that require (directly or not) one that only its event or clock
   * starts and that is not wanted: derived with `wanted`. They stay down until it is.
   */
  awaiting: Set<string>;
  shuttingDown: boolean;
  /** The boot's policy and progress, from the `boot` fact; null before it (a server that boots nothing gets one too). */
  boot: Boot | null;
  /** How the server ends, once that is decided: set with `shuttingDown`, never changed after. */
  end: End | null;
  /** A database waiting to replace `db` once the services `leaving` it have stopped. */
  pendingApply: { db: Database; diff: DatabaseDiff; leaving: Set<string> } | null;
  /** Groups of services being restarted: each must be all down before any comes back. */
  bounces: Set<string>[];
  /** Services that an event, a level or a clock made wanted (a task: for one run). */
  triggered: Set<string>;
  /** Tasks running as hooks of another service's transition: they run even during a shutdown. */
  hookRuns: Set<string>;
  /** The current value of every level. */
  levels: Map<string, string>;
  /** Which services' conditions mention an event, a job or a level (see `watchKeys`). */
  watchers: Map<string, string[]>;
  nextToken: number;
}

export function createEngine(db: Database, now: number): Engine {
  const topo = topology(db);
  const defs = definitions(db);
  const services = new Map<string, ServiceState>(topo.names.map((n) => [n, initialState(required(defs, n, "the database's service definitions"), now)]));
  return {
    db,
    topo,
    defs,
    services,
    explicit: new Set(),
    stopped: new Set(),
    excluded: new Set(),
    wanted: new Map(),
    awaiting: new Set(),
    shuttingDown: false,
    boot: null,
    end: null,
    pendingApply: null,
    bounces: [],
    triggered: new Set(),
    hookRuns: new Set(),
    levels: new Map(),
    watchers: watchersOf(db),
    nextToken: 1,
  };
}

export const definitions = (db: Database): Map<string, ServiceDef> => new Map(Object.entries(db.services).filter(([, d]) => d.type !== "bundle"));

/** Index the services by what their conditions mention, so an event visits only those. */
export function watchersOf(db: Database): Map<string, string[]> {
  const watchers = new Map<string, string[]>();
  for (const def of Object.values(db.services)) {
    if (def.template !== null) continue; // its template's conditions make it wanted (events.ts `trigger`)
    const conditions = [def.startOn, def.stopOn, def.schedule?.kind === "after" ? def.schedule.event : null];
    for (const key of new Set(conditions.flatMap((c) => (c === null ? [] : watchKeys(c))))) {
      watchers.set(key, [...(watchers.get(key) ?? []), def.name]);
    }
  }
  return watchers;
}

/** A service's definition; an instance has its template's, under its own name. */
export const defOf = (e: Engine, name: string): ServiceDef => required(e.defs, name, "the engine's service definitions");

/** The template `name` is an instance of (`getty@` for `getty@tty1`, `mount` for `mount@/dev/sdb1`); null for any other service. */
export const templateOf = (e: Engine, name: string): string | null => e.defs.get(name)?.template ?? null;

export function initialState(def: ServiceDef, now: number): ServiceState {
  return {
    phase: "down",
    since: now,
    pid: null,
    role: null,
    delayed: false,
    findingMain: false,
    outcome: null,
    reason: null,
    held: false,
    killed: false,
    lastExit: null,
    restarts: [],
    backoffMs: def.restartDelayMs,
    timer: 0,
    upSince: null,
    runs: 0,
    env: null,
    startLatches: new Map(),
    stopLatches: new Map(),
    scheduleLatches: new Map(),
    levelsHeld: false,
    hooks: [],
    announced: false,
    skipped: 0,
    reload: null,
    postStart: null,
    postStartLeft: false,
    stopCommand: null,
    reloaded: null,
  };
}

/** Is the service active: running a process, about to, or up? */
export const isActive = (phase: Phase): boolean => phase === "starting" || phase === "up" || phase === "running" || phase === "stopping";

export interface Step {
  e: Engine;
  now: number;
  out: Action[];
  /** Services to evaluate before the step is over. */
  dirty: Set<string>;
}

export const stateOf = (e: Engine, name: string): ServiceState => required(e.services, name, "the engine's service states");
