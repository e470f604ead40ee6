// The engine: wanted state + current state + one fact → the next actions.
//
// It does no I/O and reads no clock: facts carry the time, and every effect (spawn a
// process, send a signal, arm a timer) is an action for the shell to carry out, whose
// result comes back as another fact. The state it keeps is plain data owned by the
// caller and changed only here, so a simulation can drive it through thousands of
// random histories and check its invariants after every step.
//
// The rules, in one place:
//   start  a wanted service once everything it requires is up and everything it is
//          ordered after has settled (a restart after its delay, and a main after
//          its pre-start, wait again for what is required to be up);
//   stop   a service that is no longer wanted (or whose requirement failed) once
//          nothing that requires it is active, and everything ordered after it that
//          is also stopping has stopped;
//   crash  a longrun that exits on its own is restarted by its policy without
//          touching its dependents, with growing delays, until its restart limit;
//   bounce an admin's restart (or an apply) is an ordered stop of the service and of
//          what is active that requires it, then an ordered start of all of them;
//   hooks  `down` and `post-stop` are part of a stop (the service is `stopping`
//          while they run): never sent the stop signal, killed only after their
//          own stop timeout;
//   events an event, a level change or a job event (`starting`/`started`/`stopping`/
//          `stopped X`) that makes a `start-on` true makes its service wanted (a task:
//          one run, never two at once), a `stop-on` unwanted; what requires a service
//          that only its event starts waits for it, and goes down again when it goes;
//          tasks run on `starting X` (or on `stopping X` while X is up) finish before
//          X's process is started (or signalled);
//   boot   a boot waits for its services to be up once; with `on-boot-failure =
//          stop`, one that fails before then ends it (status 1); the `exit-with`
//          service's run ending on its own ends it with that run's status; either
//          end, or a shutdown asked for (status 0), stops everything; the first end
//          recorded is the one.

import type { Database } from "../compile/database.js";
import { own } from "../records.js";
import type { Condition } from "../config/condition.js";
import { waitsForTrigger, type ServiceDef } from "../config/service.js";
import { bindCondition, holds, levelsOnly, mentionsLevel, observe, occurrenceKey, watchKeys, type Occurrence } from "../events/conditions.js";
import { bootServices, exitCodeOf } from "./boot.js";
import { diffDatabases } from "./diff.js";
import { addInstance, members, removeInstance, requirementsOf, requirersOf, topology, type Topology } from "./topology.js";
import type { Action, AdoptedProcess, Boot, Command, End, ExitStatus, Fact, Outcome, Phase, Role, ServiceState, TimedFact, TimerPurpose } from "./types.js";

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
  /** Everything `explicit` pulls in: derived, recomputed when `explicit` or `stopped` change. */
  wanted: Set<string>;
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
  pendingApply: { db: Database; leaving: Set<string> } | null;
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
  const services = new Map<string, ServiceState>(topo.names.map((n) => [n, initialState(own(db.services, n)!, now)]));
  return {
    db,
    topo,
    defs: definitions(db),
    services,
    explicit: new Set(),
    stopped: new Set(),
    excluded: new Set(),
    wanted: new Set(),
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

const definitions = (db: Database): Map<string, ServiceDef> => new Map(Object.entries(db.services).filter(([, d]) => d.type !== "bundle"));

/** Index the services by what their conditions mention, so an event visits only those. */
function watchersOf(db: Database): Map<string, string[]> {
  const watchers = new Map<string, string[]>();
  for (const def of Object.values(db.services)) {
    const conditions = [def.startOn, def.stopOn, def.schedule?.kind === "after" ? def.schedule.event : null];
    for (const key of new Set(conditions.flatMap((c) => (c === null ? [] : watchKeys(c))))) {
      watchers.set(key, [...(watchers.get(key) ?? []), def.name]);
    }
  }
  return watchers;
}

/** A service's definition; an instance has its template's, under its own name. */
export const defOf = (e: Engine, name: string): ServiceDef => {
  const d = e.defs.get(name);
  if (d === undefined) throw new Error(`no service '${name}'`);
  return d;
};

/** `mount@/dev/sdb1` → `mount`. */
export const templateOf = (name: string): string => {
  const at = name.indexOf("@");
  return at < 0 ? name : name.slice(0, at);
};

function initialState(def: ServiceDef, now: number): ServiceState {
  return {
    phase: "down",
    since: now,
    pid: null,
    role: null,
    delayed: false,
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
  };
}

/** Is the service active: running a process, about to, or up? */
export const isActive = (phase: Phase): boolean => phase === "starting" || phase === "up" || phase === "running" || phase === "stopping";

interface Step {
  e: Engine;
  now: number;
  out: Action[];
  /** Services to evaluate before the step is over. */
  dirty: Set<string>;
}

export function step(e: Engine, fact: TimedFact): Action[] {
  const ctx: Step = { e, now: fact.now, out: [], dirty: new Set() };
  const activeBefore = fact.kind === "stop" ? e.topo.names.filter((n) => isActive(state(e, n).phase)) : [];
  handle(ctx, fact);
  if (fact.kind === "start" || fact.kind === "stop" || fact.kind === "restart") {
    ctx.out.unshift({ kind: "affected", command: fact.kind, services: affectedBy(e, fact.kind, fact.names, activeBefore) });
  }
  do {
    // Evaluate until nothing changes: each change marks the services it may unblock.
    while (ctx.dirty.size > 0) {
      const name: string = ctx.dirty.values().next().value!;
      ctx.dirty.delete(name);
      if (e.services.has(name)) evaluate(ctx, name); // an apply may have removed it
    }
  } while (completeBounces(ctx) || completeApply(ctx));
  completeBoot(ctx);
  return ctx.out;
}

/**
 * The boot is complete once each of its services that is still wanted (an admin may
 * have stopped one, an apply removed it) has been up once: its policy no longer applies.
 */
function completeBoot(ctx: Step): void {
  const { e } = ctx;
  const boot = e.boot;
  if (boot === null || boot.completeAt !== null) return;
  for (const name of boot.waiting) if (e.services.has(name) && e.wanted.has(name)) return;
  boot.completeAt = ctx.now;
}

/** A service of the boot changed phase while the boot is under way. */
function bootProgress(ctx: Step, name: string, was: Phase, phase: Phase, reason: string | null): void {
  const { e } = ctx;
  const boot = e.boot!;
  if (!boot.services.has(name)) return;
  // A task is never up: it has been through the boot once its run ended well.
  if (phase === "up" || (defOf(e, name).type === "task" && phase === "down" && state(e, name).runs > 0)) boot.waiting.delete(name);
  if (phase === "failed" && was !== "failed" && boot.onBootFailure === "stop") end(ctx, { code: 1, reason: `boot failed: ${name} failed: ${reason ?? "no reason given"}` });
}

/** `exit-with NAME`: does a run of NAME that ends now end the boot? Not when tend stops it (a stop, a restart, an apply, a shutdown). */
const endsBoot = (e: Engine, name: string): boolean => e.boot?.exitWith === name && e.end === null && wantsUp(e, name);

/** The server is to end as `how` says (unless an end was recorded already): everything stops. */
function end(ctx: Step, how: End): void {
  const { e } = ctx;
  e.end ??= how;
  e.shuttingDown = true;
  for (const name of e.topo.names) ctx.dirty.add(name);
}

/** A bounce group that is all down comes back: its services are wanted again. */
function completeBounces(ctx: Step): boolean {
  const { e } = ctx;
  const done = e.bounces.filter((group) => [...group].every((n) => !e.services.has(n) || !isActive(state(e, n).phase)));
  if (done.length === 0) return false;
  e.bounces = e.bounces.filter((group) => !done.includes(group));
  for (const group of done) for (const n of group) if (e.services.has(n)) ctx.dirty.add(n);
  return true;
}

/** Once everything leaving the old database has stopped, switch to the new one. */
function completeApply(ctx: Step): boolean {
  const { e } = ctx;
  const pending = e.pendingApply;
  if (pending === null || [...pending.leaving].some((n) => isActive(state(e, n).phase))) return false;
  const diff = diffDatabases(e.db, pending.db);
  const instances = [...e.defs.keys()].filter((n) => n !== templateOf(n));
  const gone = new Set(diff.removed);
  e.db = pending.db;
  e.topo = topology(pending.db);
  e.defs = definitions(pending.db);
  e.watchers = watchersOf(pending.db);
  e.pendingApply = null;
  for (const name of diff.removed) e.services.delete(name);
  // Instances of an unchanged template carry on; the others stopped with it and go.
  for (const name of instances) {
    const template = templateOf(name);
    if (e.defs.has(template) && !diff.changed.includes(template)) {
      e.defs.set(name, { ...e.defs.get(template)!, name });
      addInstance(e.topo, template, name);
    } else {
      e.services.delete(name);
      e.triggered.delete(name);
      gone.add(name);
    }
  }
  ctx.out.push({ kind: "switched", db: pending.db, removed: [...gone], changed: diff.changed });
  for (const name of [...diff.added, ...diff.changed]) {
    const def = e.defs.get(name); // bundles have no definition here, nor a state
    if (def !== undefined) e.services.set(name, initialState(def, ctx.now));
    else e.services.delete(name);
  }
  // What arrives sees the levels as they are, as if they were set now: a "while" over a
  // level that holds already runs, and stops when the level goes.
  for (const name of [...diff.added, ...diff.changed]) {
    const startOn = e.defs.get(name)?.startOn ?? null;
    if (startOn === null) continue;
    const env = Object.fromEntries([...e.levels].filter(([level]) => mentionsLevel(startOn, level)).map(([level, value]) => [levelKey(level), value]));
    if (Object.keys(env).length > 0) reactTo(ctx, [name], null, { started: [], stopped: [], skipped: [] }, env);
  }
  rewant(ctx);
  for (const name of e.topo.names) ctx.dirty.add(name);
  return true;
}

/**
 * What a command concerns, once handled: a start, the services it names; a stop, what
 * was active and is no longer wanted (dependents first, and what only they needed); a
 * restart, the bounce groups it made, with the services it names.
 */
function affectedBy(e: Engine, command: Command, names: readonly string[], activeBefore: readonly string[]): string[] {
  const named = [...new Set(names.flatMap((n) => members(e.topo, n)))];
  switch (command) {
    case "start":
      return named;
    case "stop":
      return activeBefore.filter((n) => !wantsUp(e, n));
    case "restart": {
      const bounced = new Set(e.bounces.flatMap((group) => [...group]));
      return [...new Set(named.flatMap((n) => requirersOf(e.topo, n)))].filter((n) => bounced.has(n) || named.includes(n));
    }
  }
}

function handle(ctx: Step, fact: Fact): void {
  const { e } = ctx;
  switch (fact.kind) {
    case "boot": {
      const { exitWith } = fact.policy;
      const services = bootServices(e, fact.names, exitWith);
      e.boot = { ...fact.policy, services: new Set(services), waiting: new Set(services), completeAt: null };
      // The `exit-with` service is started by the boot, in its set or not.
      return handle(ctx, { kind: "start", names: exitWith === null ? fact.names : [...fact.names, exitWith] });
    }
    case "start":
      for (const name of fact.names) {
        e.explicit.add(name);
        e.excluded.delete(name);
        for (const m of members(e.topo, name)) {
          for (const r of requirementsOf(e.topo, m)) {
            e.stopped.delete(r);
            release(ctx, r);
          }
        }
      }
      return rewant(ctx);
    case "stop":
      for (const name of fact.names) {
        e.explicit.delete(name);
        for (const m of members(e.topo, name)) {
          for (const r of requirersOf(e.topo, m)) {
            e.explicit.delete(r);
            e.stopped.add(r);
          }
        }
      }
      return rewant(ctx);
    case "restart": {
      // Down in order (what requires it first), then up in order: one bounce group per
      // service, of it and what is up (or coming up) that requires it.
      for (const name of fact.names) {
        for (const m of members(e.topo, name)) {
          release(ctx, m);
          const group = new Set(requirersOf(e.topo, m).filter((r) => isActive(state(e, r).phase) && state(e, r).phase !== "stopping"));
          if (group.size > 0) e.bounces.push(group);
          for (const n of group) ctx.dirty.add(n);
        }
      }
      return handle(ctx, { kind: "start", names: fact.names });
    }
    case "unwant":
      for (const name of fact.names) {
        e.explicit.delete(name);
        e.excluded.add(name);
      }
      return rewant(ctx);
    case "apply": {
      const diff = diffDatabases(e.db, fact.db);
      const going = [...diff.removed, ...diff.changed].filter((n) => e.topo.requires.has(n));
      const instances = e.topo.names.filter((n) => n !== templateOf(n) && going.includes(templateOf(n)));
      const leaving = new Set([...going, ...instances].flatMap((n) => requirersOf(e.topo, n)));
      e.pendingApply = { db: fact.db, leaving };
      for (const name of leaving) ctx.dirty.add(name);
      return;
    }
    case "shutdown":
      return end(ctx, { code: 0, reason: fact.reason ?? "asked to shut down" });
    case "spawned":
    case "spawn-failed":
    case "ready":
    case "exited":
    case "timer":
      if (!e.services.has(fact.service)) return; // a service an apply removed
      return processFact(ctx, fact);
    case "signal": {
      const pid = e.services.get(fact.service)?.pid ?? null;
      if (pid !== null) ctx.out.push({ kind: "signal", service: fact.service, pid, signal: fact.signal });
      return;
    }
    case "adopted":
      if (!e.services.has(fact.service)) return;
      return adopt(ctx, fact);
    case "event":
      return void occur(ctx, { kind: "event", name: fact.name, values: fact.values });
    case "level":
      return levelChanged(ctx, fact.name, fact.value);
    case "scheduled": {
      if (!e.defs.has(fact.service)) return;
      const result = trigger(ctx, fact.service, fact.env);
      ctx.out.push({ kind: "occurred", what: { kind: "schedule", service: fact.service }, started: result.started, stopped: [], skipped: result.skipped });
      return;
    }
  }
}

function processFact(ctx: Step, fact: Extract<Fact, { kind: "spawned" | "spawn-failed" | "ready" | "exited" | "timer" }>): void {
  const { e } = ctx;
  switch (fact.kind) {
    case "spawned":
      return spawned(ctx, fact.service, fact.pid);
    case "spawn-failed":
      return processEnded(ctx, fact.service, { code: null, signal: null }, `cannot start: ${fact.error}`);
    case "ready": {
      const s = state(e, fact.service);
      if (s.phase === "starting" && s.role === "main" && s.pid === fact.pid) becomeUp(ctx, fact.service);
      return;
    }
    case "exited": {
      const s = state(e, fact.service);
      if (s.pid !== fact.pid) return; // a process we no longer track
      return processEnded(ctx, fact.service, fact.status, null);
    }
    case "timer": {
      const s = state(e, fact.service);
      if (s.timer !== fact.token) return; // superseded
      s.timer = 0;
      return timerFired(ctx, fact.service);
    }
    default: {
      const unknown: never = fact;
      throw new Error(`unknown fact ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * After a server restart: reconcile what the restored state says a service runs with
 * what the keeper says it runs. The same process carries on; a spawn the snapshot was
 * waiting for is reported; a process the snapshot did not know is taken over in the
 * phase its role means; a process that ended unseen ends now; a spawn that was asked
 * for and never made is asked for again. Whether it is still wanted is then decided
 * as for any service.
 */
function adopt(ctx: Step, fact: Extract<Fact, { kind: "adopted" }>): void {
  const name = fact.service;
  const s = state(ctx.e, name);
  const { process: live, exit } = fact;
  if (live === null) {
    if (s.pid === null && s.role !== null && exit !== null) spawned(ctx, name, exit.pid); // it ran and ended unseen
    if (s.pid !== null) {
      if (exit?.pid === s.pid) return processEnded(ctx, name, exit.status, null);
      return processEnded(ctx, name, { code: null, signal: null }, "its process was lost while no server was running");
    }
    if (s.role !== null) spawn(ctx, name, s.role);
    return;
  }
  if (s.pid !== live.pid) {
    if (s.pid === null && s.role === live.role) spawned(ctx, name, live.pid);
    else takeOver(ctx, name, live);
  }
  if (live.ready && s.phase === "starting" && s.role === "main" && s.pid === live.pid) becomeUp(ctx, name);
}

/** A process the restored state did not know: it runs, so the service is in the phase its role means. */
function takeOver(ctx: Step, name: string, live: AdoptedProcess): void {
  const def = defOf(ctx.e, name);
  const s = state(ctx.e, name);
  s.pid = live.pid;
  s.role = live.role;
  s.delayed = false;
  s.timer = 0;
  if (isStopHook(live.role)) {
    s.outcome = { to: "down", reason: null, held: false };
    setPhase(ctx, name, "stopping", null);
    if (def.stopTimeoutMs !== null) arm(ctx, name, def.stopTimeoutMs, "stop-timeout");
    return;
  }
  s.outcome = null;
  setPhase(ctx, name, def.type === "task" ? "running" : "starting", null);
  if (def.startTimeoutMs !== null) arm(ctx, name, def.startTimeoutMs, "start-timeout");
  if (live.role === "main" && def.type === "longrun" && def.ready.kind === "none") becomeUp(ctx, name);
}

/** Recompute the wanted set and evaluate every service whose wantedness changed. */
function rewant(ctx: Step): void {
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
  for (const n of e.topo.names) if (state(e, n).phase === "failed" || !isActive(state(e, n).phase)) ctx.dirty.add(n);
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
function computeWanted(e: Engine): Set<string> {
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
    stack.push(...(e.hookRuns.has(name) ? pulled.filter((n) => !state(e, n).announced) : pulled));
  }
  return wanted;
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
    for (const d of e.topo.requiredBy.get(name)!) {
      if (awaiting.has(d) || !e.wanted.has(d) || (e.hookRuns.has(d) && state(e, name).announced)) continue;
      awaiting.add(d);
      stack.push(d);
    }
  }
  return awaiting;
}

const state = (e: Engine, name: string): ServiceState => {
  const s = e.services.get(name);
  if (s === undefined) throw new Error(`no service '${name}'`);
  return s;
};

const wantsUp = (e: Engine, name: string): boolean =>
  e.hookRuns.has(name) ||
  (!e.shuttingDown && e.wanted.has(name) && !(e.pendingApply?.leaving.has(name) ?? false) && !e.bounces.some((group) => group.has(name)));

/** Clear what keeps a service from starting automatically: an admin is asking for it. */
function release(ctx: Step, name: string): void {
  const s = state(ctx.e, name);
  s.held = false;
  // On its way down to a held state (its start timed out, its run ended): the admin's
  // start holds for what comes after, so it starts again once stopped.
  if (s.outcome !== null && s.outcome.to !== "restart") s.outcome = { ...s.outcome, held: false };
  s.restarts = [];
  s.backoffMs = defOf(ctx.e, name).restartDelayMs;
  ctx.dirty.add(name);
}

function setPhase(ctx: Step, name: string, phase: Phase, reason: string | null): void {
  const s = state(ctx.e, name);
  const changed = s.phase !== phase || s.reason !== reason;
  const job = jobEvent(s, phase);
  const was = s.phase;
  s.phase = phase;
  s.reason = reason;
  if (!changed) return;
  s.since = ctx.now;
  ctx.out.push({ kind: "changed", service: name, phase, reason });
  if (ctx.e.boot !== null && ctx.e.boot.completeAt === null) bootProgress(ctx, name, was, phase, reason);
  const { topo } = ctx.e;
  ctx.dirty.add(name);
  for (const edges of [topo.requires, topo.requiredBy, topo.after, topo.before]) {
    for (const n of edges.get(name)!) ctx.dirty.add(n);
  }
  // A failure blocks what requires it however far up (see `blockingRequirement`): all of it looks again.
  if (phase === "failed" || (phase === "down" && s.held)) for (const n of requirersOf(topo, name)) ctx.dirty.add(n);
  // A hook task that ended lets the transition waiting for it go on.
  if (!isActive(phase)) for (const waiting of hookWaiters(ctx.e, name)) ctx.dirty.add(waiting);
  if (job === "started") announce(ctx, name, "started", {});
  if (job === "stopped") {
    const exit = s.lastExit;
    const values: Record<string, string> = { RESULT: phase === "failed" ? "failed" : "ok" };
    if (exit?.code !== null && exit?.code !== undefined) values.EXIT_STATUS = String(exit.code);
    if (exit?.signal) values.EXIT_SIGNAL = exit.signal;
    announce(ctx, name, "stopped", values);
  }
}

/**
 * The job event a phase change is, if any. `starting` and `stopping` are announced
 * before the change (with their hooks), a task's `started` when its run launches.
 */
function jobEvent(s: ServiceState, to: Phase): "started" | "stopped" | null {
  if (to === s.phase) return null;
  if (to === "up") return "started";
  if ((to === "down" || to === "failed") && isActive(s.phase)) return "stopped";
  return null;
}

/**
 * Why a required service cannot come up until an admin acts (it failed, or ended by
 * itself and is held), as the reason its dependents show; null when none is blocked.
 * A requirement that is still up but blocked itself, further down (it waits only for
 * what requires it to stop first), has failed as far as its dependents are concerned:
 * they go down first, then it does (`s3` → `s2` → failed `s1`).
 */
function blockingRequirement(e: Engine, name: string, known = new Map<string, string | null>()): string | null {
  const memo = known.get(name);
  if (memo !== undefined) return memo;
  let why: string | null = null;
  for (const r of e.topo.requires.get(name)!) {
    const s = state(e, r);
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
  const r = e.topo.requires.get(name)!.find((n) => state(e, n).phase === "down" && !e.wanted.has(n) && waitsForTrigger(defOf(e, n)));
  return r === undefined ? null : `waiting for ${r}, which starts on its own event or schedule`;
}

/**
 * Everything required is up and staying up (not about to go down for a restart or an
 * apply) — or waiting, before it stops, for this very task to run.
 */
const requirementsUp = (e: Engine, name: string): boolean =>
  e.topo.requires.get(name)!.every((r) => state(e, r).phase === "up" && (wantsUp(e, r) || state(e, r).hooks.includes(name)));

/** Everything this service is ordered after has settled: none is in transition or about to start. */
function orderingSettled(e: Engine, name: string): boolean {
  return e.topo.after.get(name)!.every((a) => {
    const s = state(e, a);
    if (s.phase === "starting" || s.phase === "running" || s.phase === "stopping") return false;
    return !(s.phase === "down" && !s.held && wantsUp(e, a) && !e.awaiting.has(a)); // awaiting an event is settled
  });
}

/** May this service's process be stopped now? Dependents go first. */
function mayStop(e: Engine, name: string): boolean {
  if (e.topo.requiredBy.get(name)!.some((d) => isActive(state(e, d).phase))) return false;
  // Ordering only matters between services that are both going down.
  return e.topo.before.get(name)!.every((d) => {
    const s = state(e, d);
    return s.phase !== "stopping" && !(isActive(s.phase) && !wantsUp(e, d));
  });
}

// ---- Events, levels, job events and their hooks ----

interface Effect {
  started: string[];
  stopped: string[];
  skipped: string[];
}

/** An edge or job event occurred: fire the conditions it completes. */
function occur(ctx: Step, occurrence: Occurrence): Effect {
  const effect: Effect = { started: [], stopped: [], skipped: [] };
  reactTo(ctx, ctx.e.watchers.get(occurrenceKey(occurrence)) ?? [], occurrence, effect);
  ctx.out.push({ kind: "occurred", what: occurrence, ...effect });
  return effect;
}

function levelChanged(ctx: Step, name: string, value: string | null): void {
  const { e } = ctx;
  if (value === null) e.levels.delete(name);
  else e.levels.set(name, value);
  const effect: Effect = { started: [], stopped: [], skipped: [] };
  reactTo(ctx, e.watchers.get(`level:${name}`) ?? [], name, effect, { [levelKey(name)]: value ?? "", TEND_EVENT: name });
  ctx.out.push({ kind: "occurred", what: { kind: "level", name, value }, ...effect });
}

/** The environment variable a level's value is given to jobs in: `net.eth0` → `net_eth0`. */
const levelKey = (level: string): string => level.replace(/[^A-Za-z0-9_]/g, "_");

/**
 * Let each watching service's conditions see the occurrence, a change of the level it
 * names, or (with null) the levels as they are: `start-on` may trigger it (or a new
 * instance), `stop-on` untrigger it or its instances, an `after` schedule arm its
 * delay. A condition that does not mention the level changed is not looked at, as
 * one that does not mention an event is not.
 */
function reactTo(ctx: Step, watchers: readonly string[], what: Occurrence | string | null, effect: Effect, levelEnv: Record<string, string> = {}): void {
  const { e } = ctx;
  const occurrence = typeof what === "string" ? null : what;
  const concerns = (c: Condition): boolean => typeof what !== "string" || mentionsLevel(c, what);
  for (const name of watchers) {
    if (!e.defs.has(name)) continue;
    const def = defOf(e, name);
    const s = state(e, name);
    if (def.startOn !== null && concerns(def.startOn)) {
      if (occurrence === null && def.stopOn === null && levelsOnly(def.startOn)) {
        // A start-on over levels alone is a "while": wanted exactly as long as it holds.
        const now = holds(def.startOn, s.startLatches, e.levels);
        if (now && !s.levelsHeld) collect(effect, trigger(ctx, name, levelEnv));
        if (!now && s.levelsHeld && def.type !== "task") effect.stopped.push(...untrigger(ctx, name));
        s.levelsHeld = now;
      } else {
        const fired = observe(def.startOn, s.startLatches, occurrence, e.levels);
        if (fired !== null) collect(effect, trigger(ctx, name, { ...levelEnv, ...fired.env }));
      }
    }
    if (def.stopOn !== null && concerns(def.stopOn)) {
      for (const target of [name, ...instancesOf(e, name)]) {
        const t = state(e, target);
        if (observe(bindCondition(def.stopOn, t.env), t.stopLatches, occurrence, e.levels) !== null) effect.stopped.push(...untrigger(ctx, target));
      }
    }
    if (def.schedule?.kind === "after" && concerns(def.schedule.event)) {
      const fired = observe(def.schedule.event, s.scheduleLatches, occurrence, e.levels);
      if (fired !== null) ctx.out.push({ kind: "delay", service: name, ms: def.schedule.delayMs, env: { ...levelEnv, ...fired.env } });
    }
  }
}

const collect = (effect: Effect, result: { started: string[]; skipped: string[] }): void => {
  effect.started.push(...result.started);
  effect.skipped.push(...result.skipped);
};

const instancesOf = (e: Engine, template: string): string[] => e.topo.names.filter((n) => n !== template && templateOf(n) === template);

/** Instances kept per template: each distinct value makes one, and values come from outside. */
export const MAX_INSTANCES = 64;

/** Make room for a new instance: forget the ones longest at rest (down or failed, not wanted). */
function forgetOldInstances(e: Engine, template: string): void {
  const resting = instancesOf(e, template)
    .filter((n) => !isActive(state(e, n).phase) && !e.wanted.has(n) && state(e, n).hooks.length === 0)
    .sort((a, b) => state(e, a).since - state(e, b).since);
  const excess = instancesOf(e, template).length - (MAX_INSTANCES - 1);
  for (const name of resting.slice(0, Math.max(0, excess))) {
    removeInstance(e.topo, name);
    e.defs.delete(name);
    e.services.delete(name);
    e.triggered.delete(name);
  }
}

/**
 * Make a service wanted because its event came (with the event's values for its
 * environment); a service with `instance = KEY` gets an instance per value of KEY.
 * A task still running is not started twice: the trigger is counted as skipped.
 */
function trigger(ctx: Step, name: string, env: Record<string, string>): { started: string[]; skipped: string[] } {
  const { e } = ctx;
  const def = defOf(e, name);
  let target = name;
  if (def.instance !== null) {
    const value = own(env, def.instance);
    if (value === undefined || value === "") return { started: [], skipped: [] }; // the event does not say which instance
    target = `${name}@${value}`;
    if (!e.defs.has(target)) {
      forgetOldInstances(e, name);
      e.defs.set(target, { ...def, name: target });
      e.services.set(target, initialState(def, ctx.now));
      addInstance(e.topo, name, target);
    }
  }
  const s = state(e, target);
  if (def.type === "task" && (isActive(s.phase) || s.hooks.length > 0 || e.triggered.has(target))) {
    s.skipped++;
    return { started: [], skipped: [target] };
  }
  s.env = env;
  // Named by its event, as by an admin's start: what it requires is no longer held down by a stop.
  for (const r of requirementsOf(e.topo, target)) e.stopped.delete(r);
  e.triggered.add(target);
  release(ctx, target);
  rewant(ctx);
  return { started: [target], skipped: [] };
}

/** No longer wanted because of its event (its `stop-on` came, or its level went). */
function untrigger(ctx: Step, name: string): string[] {
  if (!ctx.e.triggered.delete(name)) return [];
  rewant(ctx);
  return isActive(state(ctx.e, name).phase) ? [name] : [];
}

/**
 * Emit a job event of `name`; return the tasks it started (or found still running)
 * that the transition of `name` waits for (only `starting` and `stopping` have such hooks).
 */
function announce(ctx: Step, name: string, verb: "starting" | "started" | "stopping" | "stopped", values: Record<string, string>): string[] {
  const { e } = ctx;
  // An instance's job events are its template's, with INSTANCE set (as Upstart's are):
  // `stopping mount` sees every mount@… instance, `stopping mount INSTANCE=/dev/sdb1` one.
  const job = templateOf(name);
  const instance: Record<string, string> = job === name ? {} : { INSTANCE: name.slice(job.length + 1) };
  const effect = occur(ctx, { kind: "job", verb, service: job, values: { JOB: job, ...instance, ...values } });
  if (verb !== "starting" && verb !== "stopping") return [];
  const hooks = [...effect.started, ...effect.skipped].filter((t) => defOf(e, t).type === "task");
  for (const t of hooks) e.hookRuns.add(t);
  if (hooks.length > 0) rewant(ctx); // hook runs pull in less (see `computeWanted`)
  return hooks;
}

/** Hook tasks may take as long as their own start timeout, or 90 s when they have none. */
const DEFAULT_HOOK_TIMEOUT_MS = 90_000;

function waitForHooks(ctx: Step, name: string, hooks: string[]): void {
  const s = state(ctx.e, name);
  s.hooks = hooks;
  const limit = Math.max(...hooks.map((h) => defOf(ctx.e, h).startTimeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS));
  setPhase(ctx, name, s.phase, `waiting for ${hooks.join(", ")} (run on ${s.phase === "up" ? "stopping" : "starting"} ${name})`);
  arm(ctx, name, limit, "hook-timeout");
}

/**
 * The transition of `name` no longer waits for its hook tasks (they ran, timed out, or
 * it was called off): those still running, that nothing else waits for, go on as
 * ordinary runs (a shutdown stops them too).
 */
function dropHooks(ctx: Step, name: string): void {
  const s = state(ctx.e, name);
  const abandoned = s.hooks;
  s.hooks = [];
  const dropped = abandoned.filter((h) => ctx.e.services.has(h) && hookWaiters(ctx.e, h).length === 0 && ctx.e.hookRuns.delete(h));
  if (dropped.length === 0) return;
  for (const h of dropped) ctx.dirty.add(h);
  rewant(ctx);
}

/** The services whose transition waits for the hook task `task`. */
const hookWaiters = (e: Engine, task: string): string[] =>
  e.hookRuns.has(task) || defOf(e, task).type === "task" ? e.topo.names.filter((n) => state(e, n).hooks.includes(task)) : [];

/** Have the hook tasks run (or given up)? */
const hooksDone = (e: Engine, hooks: readonly string[]): boolean =>
  hooks.every((h) => !e.services.has(h) || (!isActive(state(e, h).phase) && !e.triggered.has(h)));

// ---- The rules ----

function evaluate(ctx: Step, name: string): void {
  const { e } = ctx;
  const s = state(e, name);
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
      if (!orderingSettled(e, name)) return;
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
        if (hooks.length > 0 && s.phase === "up") return waitForHooks(ctx, name, hooks);
        s.hooks = hooks; // let go of below
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
  const s = state(ctx.e, name);
  s.announced = false;
  dropHooks(ctx, name);
  s.timer = 0; // the hook timeout: an up service has no other
  setPhase(ctx, name, s.phase, null);
}

function beginStart(ctx: Step, name: string): void {
  const s = state(ctx.e, name);
  s.killed = false;
  s.outcome = null;
  s.announced = false;
  setPhase(ctx, name, defOf(ctx.e, name).type === "task" ? "running" : "starting", null);
  // Tasks run on `starting NAME` finish before its first process starts.
  const hooks = announce(ctx, name, "starting", {});
  if (hooks.length > 0) return waitForHooks(ctx, name, hooks);
  launch(ctx, name);
}

/** Start the service's first process, under its start timeout. */
function launch(ctx: Step, name: string): void {
  const def = defOf(ctx.e, name);
  const s = state(ctx.e, name);
  dropHooks(ctx, name);
  // A requirement may have gone down while the hooks ran: wait for it, as any start does.
  if (!requirementsUp(ctx.e, name)) {
    s.timer = 0;
    return setPhase(ctx, name, "down", null);
  }
  if (s.reason !== null) setPhase(ctx, name, s.phase, null);
  s.timer = 0;
  if (def.startTimeoutMs !== null) arm(ctx, name, def.startTimeoutMs, "start-timeout");
  spawn(ctx, name, firstRole(def));
  if (def.type === "task") announce(ctx, name, "started", {});
}

const firstRole = (def: ServiceDef): Role => (def.type === "oneshot" ? "up" : def.preStart !== null ? "pre-start" : "main");

function spawn(ctx: Step, name: string, role: Role): void {
  const s = state(ctx.e, name);
  s.role = role;
  s.pid = null;
  ctx.out.push({ kind: "spawn", service: name, role, env: s.env });
}

function spawned(ctx: Step, name: string, pid: number): void {
  const s = state(ctx.e, name);
  s.pid = pid;
  const def = defOf(ctx.e, name);
  // A hook of the stop (`down`, `post-stop`) is never sent the stop signal: it runs to
  // its end, within its own stop timeout, counted from when it runs.
  if (isStopHook(s.role)) {
    if (def.stopTimeoutMs !== null) arm(ctx, name, def.stopTimeoutMs, "stop-timeout");
    return;
  }
  if (s.phase === "stopping") return signalStop(ctx, name); // asked to stop before the spawn was reported
  if (s.role === "main" && def.type === "longrun" && def.ready.kind === "none" && s.phase === "starting") becomeUp(ctx, name);
}

function becomeUp(ctx: Step, name: string): void {
  const s = state(ctx.e, name);
  s.upSince = ctx.now;
  s.timer = 0; // the start timeout no longer applies
  setPhase(ctx, name, "up", null);
}

function arm(ctx: Step, name: string, ms: number, purpose: TimerPurpose): void {
  const token = ctx.e.nextToken++;
  state(ctx.e, name).timer = token;
  ctx.out.push({ kind: "arm", service: name, token, ms, purpose });
}

/**
 * Stop the service's process (or, for an up oneshot, run its `down`), then go where
 * `outcome` says. `note` is shown as the reason while stopping.
 */
function stopProcess(ctx: Step, name: string, outcome: Outcome, note: string | null): void {
  const def = defOf(ctx.e, name);
  const s = state(ctx.e, name);
  s.delayed = false;
  s.timer = 0; // a start timeout or restart delay no longer applies: a stop timeout may
  if (def.type === "oneshot" && s.phase === "up") {
    if (def.down === null) {
      ctx.out.push({ kind: "kill", service: name }); // what its `up` left running goes with it
      return finish(ctx, name, outcome);
    }
    s.outcome = outcome;
    setPhase(ctx, name, "stopping", note);
    return spawn(ctx, name, "down"); // its stop timeout is armed once it runs (see `spawned`)
  }
  if (s.role === null) return finish(ctx, name, outcome); // no process (waiting to restart)
  s.outcome = outcome;
  setPhase(ctx, name, "stopping", note);
  // A spawn asked for but not yet reported is signalled once it is (see `spawned`).
  if (s.pid !== null) signalStop(ctx, name);
}

/** The hooks that run once the service is on its way down: they are never sent the stop signal. */
const isStopHook = (role: Role | null): boolean => role === "down" || role === "post-stop";

function signalStop(ctx: Step, name: string): void {
  const def = defOf(ctx.e, name);
  const s = state(ctx.e, name);
  ctx.out.push({ kind: "signal", service: name, pid: s.pid!, signal: s.role === "main" ? def.stopSignal : "SIGTERM" });
  if (def.stopTimeoutMs !== null) arm(ctx, name, def.stopTimeoutMs, "stop-timeout");
}

function timerFired(ctx: Step, name: string): void {
  const s = state(ctx.e, name);
  const def = defOf(ctx.e, name);
  // Waiting for hook tasks: before its first process (no role yet), or before the stop
  // signal (up, its main still running).
  if (s.hooks.length > 0 && !s.delayed && (s.role === null || s.phase === "up")) {
    // The hook tasks took too long: the transition goes on without them.
    dropHooks(ctx, name);
    if (s.phase === "up") return void ctx.dirty.add(name);
    return launch(ctx, name);
  }
  if (s.phase === "starting" && s.delayed) {
    s.delayed = false;
    // A requirement may have gone down meanwhile (it crashed too, or was restarted):
    // wait for it as any start does.
    if (!requirementsUp(ctx.e, name)) return setPhase(ctx, name, "down", null);
    s.killed = false; // a new attempt, as in `beginStart`
    if (def.startTimeoutMs !== null) arm(ctx, name, def.startTimeoutMs, "start-timeout");
    return spawn(ctx, name, firstRole(def));
  }
  // With a spawn not yet reported too: `spawned` then sends the stop signal.
  if ((s.phase === "starting" || s.phase === "running") && s.role !== null) {
    const what = def.type === "task" ? "did not finish" : def.type === "oneshot" ? "'up' did not finish" : "did not become ready";
    const reason = `start timeout: ${what} within ${seconds(def.startTimeoutMs!)}`;
    if (endsBoot(ctx.e, name)) end(ctx, { code: 1, reason: `${name} failed: ${reason}` });
    return stopProcess(ctx, name, { to: "failed", reason, held: true }, null);
  }
  if (s.phase === "stopping" && s.pid !== null) {
    s.killed = true;
    ctx.out.push({ kind: "signal", service: name, pid: s.pid, signal: "SIGKILL" });
  }
}

/** The service's process has ended (or could not be started): decide what comes next. */
function processEnded(ctx: Step, name: string, status: ExitStatus, spawnError: string | null): void {
  const { e } = ctx;
  const def = defOf(e, name);
  const s = state(e, name);
  const role = s.role;
  s.pid = null;
  s.role = null;
  s.lastExit = spawnError === null ? status : null;
  const ok = spawnError === null && isSuccess(def, status);
  const described = spawnError ?? describeExit(status, s.killed);

  if (s.phase === "stopping") {
    // A task's run is over, stopped or not: the next trigger runs it again.
    if (def.type === "task") endRun(ctx, name);
    const outcome = s.outcome ?? { to: "down", reason: null, held: false };
    if (role === "main" && def.postStop !== null) return spawn(ctx, name, "post-stop");
    const killedNote = s.killed ? `killed after the stop timeout (${seconds(def.stopTimeoutMs!)})` : null;
    // A oneshot's `down` runs only while stopping: say when it failed.
    const note = role === "down" && !ok ? `down ${described}` : killedNote;
    return finish(ctx, name, outcome.to === "down" && note !== null ? { ...outcome, reason: note } : outcome);
  }
  // The `exit-with` service's run is over (its main ended, or never began): so is the
  // boot, with its status; shutting down, it is not restarted.
  if (endsBoot(e, name) && (role === "main" || (role === "pre-start" && !ok))) {
    end(ctx, { code: spawnError === null ? exitCodeOf(status) : 1, reason: `${name} ${role === "pre-start" ? "pre-start " : ""}${described}` });
  }
  switch (role) {
    case "pre-start":
      // A requirement that went down during the pre-start (it crashed, or was restarted)
      // must be up again before the main starts: start over once it is.
      if (ok) return requirementsUp(e, name) ? spawn(ctx, name, "main") : finish(ctx, name, { to: "restart", delayMs: 0 });
      return finish(ctx, name, { to: "failed", reason: `pre-start ${described}`, held: true });
    case "up":
      if (!ok) {
        ctx.out.push({ kind: "kill", service: name }); // a failed `up` leaves nothing running
        return finish(ctx, name, { to: "failed", reason: `up ${described}`, held: true });
      }
      s.runs++;
      s.timer = 0;
      s.upSince = ctx.now;
      return setPhase(ctx, name, "up", null);
    case "main":
      break;
    default:
      return; // `down` and `post-stop` run only while stopping, handled above
  }
  if (def.type === "task") {
    s.runs++;
    endRun(ctx, name);
    const outcome: Outcome = ok ? { to: "down", reason: "completed", held: true } : { to: "failed", reason: `run ${described}`, held: true };
    return def.postStop !== null ? cleanUp(ctx, name, outcome, described) : finish(ctx, name, outcome);
  }
  const outcome = afterCrash(ctx, name, ok, described);
  if (def.postStop !== null) return cleanUp(ctx, name, outcome, described);
  finish(ctx, name, outcome);
}

/**
 * The main process ended by itself: run the `post-stop` hook, then go where `outcome`
 * says. The service is stopping meanwhile, not up: its process is gone.
 */
function cleanUp(ctx: Step, name: string, outcome: Outcome, described: string): void {
  const s = state(ctx.e, name);
  s.outcome = outcome;
  s.timer = 0; // the start timeout no longer applies; the hook's stop timeout does
  setPhase(ctx, name, "stopping", described);
  spawn(ctx, name, "post-stop");
}

/** A longrun's main process exited on its own: restart it, or say why not. */
function afterCrash(ctx: Step, name: string, ok: boolean, described: string): Outcome {
  const def = defOf(ctx.e, name);
  const s = state(ctx.e, name);
  const restart = def.restart === "always" || (def.restart === "on-failure" && !ok);
  if (!restart || !wantsUp(ctx.e, name)) {
    return ok ? { to: "down", reason: `exited by itself (${described})`, held: true } : { to: "failed", reason: described, held: true };
  }
  const limit = def.restartLimit;
  const stableMs = limit?.windowMs ?? def.restartDelayMaxMs;
  if (s.upSince !== null && ctx.now - s.upSince >= stableMs) {
    s.restarts = [];
    s.backoffMs = def.restartDelayMs;
  }
  if (limit !== null) {
    s.restarts = s.restarts.filter((t) => ctx.now - t < limit.windowMs);
    if (s.restarts.length >= limit.count) {
      return { to: "failed", reason: `restart limit hit: ${limit.count} restarts within ${seconds(limit.windowMs)}; last ${described}`, held: true };
    }
  }
  s.restarts.push(ctx.now);
  const delayMs = s.backoffMs;
  s.backoffMs = Math.min(s.backoffMs * 2, def.restartDelayMaxMs);
  return { to: "restart", delayMs };
}

function finish(ctx: Step, name: string, outcome: Outcome): void {
  const s = state(ctx.e, name);
  s.outcome = null;
  s.upSince = null;
  s.timer = 0;
  s.announced = false; // its stop, if one was under way, is over (a crash may have cut it short)
  dropHooks(ctx, name);
  // However a task's run ended (it failed to start, timed out, was stopped), its trigger is spent.
  if (outcome.to !== "restart" && defOf(ctx.e, name).type === "task") endRun(ctx, name);
  if (outcome.to === "restart") {
    if (outcome.delayMs === 0) return setPhase(ctx, name, "down", null); // evaluate starts it again
    s.delayed = true;
    setPhase(ctx, name, "starting", `restarting in ${seconds(outcome.delayMs)} (${s.restarts.length} recent restarts)`);
    return arm(ctx, name, outcome.delayMs, "restart-delay");
  }
  s.held = outcome.held;
  setPhase(ctx, name, outcome.to, outcome.reason);
}

/** A task's run is over: its trigger is spent, and what it pulled in is no longer wanted for it. */
function endRun(ctx: Step, name: string): void {
  ctx.e.hookRuns.delete(name);
  if (ctx.e.triggered.delete(name)) rewant(ctx);
}

function isSuccess(def: ServiceDef, status: ExitStatus): boolean {
  return def.successExit.some((x) => (typeof x === "number" ? status.code === x : status.signal === x));
}

export function describeExit(status: ExitStatus, killed = false): string {
  if (status.signal !== null) return `killed by ${status.signal}${killed ? " after the stop timeout" : ""}`;
  return `exited with code ${status.code}`;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
