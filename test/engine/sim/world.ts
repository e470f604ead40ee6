// The fake supervisor: processes, timers and a clock that answer the engine as the
// real supervisor does. `spawn` is answered with `spawned` (or `spawn-failed`), then
// `ready` for a longrun's main, then `exited`; `find-main` with `main-pid` (a daemon,
// then its `ready` and `exited` as a main's) or `main-pid-refused`, unless a spawn or
// a kill of the service comes first; `signal` ends a process (or not); `arm`
// comes back as `timer`; `delay` as `scheduled`. A `post-start`, `reload` or `stop` spawn is a
// command beside the service's process: `reload-spawned`, then `reload-exited`; it
// dies with the service's main (the keeper's kill of its tree) — one killed before
// its spawn was told is still told spawned, then exited, as the keeper tells its news
// in that order (docs/keeper-protocol.md, "The reload command") — and a notify main
// asked to reload says `reloading` and `reloaded` as its behaviour says. What each
// process does is its behaviour's to say: by default it obeys at once (a longrun's main runs until
// signalled, everything else exits 0); the simulation's is random (see behaviour.ts).
// Events run in (time, sequence) order on a fake clock. Like the server, it refuses a
// start, stop, restart or apply while the engine shuts down; an engine that throws is
// a failure like any other, told through `fail`.
//
// Observers see every step: the fact before the engine takes it, each action before
// the world carries it out (so the world's state is the one before that action), and
// the step once done. Hand-written tests use it as it is:
//
//   const w = createWorld(db);
//   w.tell({ kind: "start", names: ["s3"] });
//   w.runUntilQuiet();
//   assert.equal(w.phase("s3"), "up");

import type { Database } from "../../../src/compile/database.js";
import type { ServiceDef } from "../../../src/config/service.js";
import { createEngine, step, type Engine } from "../../../src/engine/engine.js";
import { type Action, type ExitStatus, type Fact, isBeside, type Phase, type SpawnRole, type TimerPurpose } from "../../../src/engine/types.js";
import { obedient, type Behaviour, type Proc } from "./behaviour.js";
import { graphOf, templateOf, type Graph } from "./graph.js";
import { Queue } from "./queue.js";

export { obedient, type Behaviour, type Fate, type Proc } from "./behaviour.js";

export interface Observer {
  beforeStep?(fact: Fact): void;
  /** The engine has taken the fact: what it asks for, before any of it is carried out. */
  stepped?(fact: Fact, actions: readonly Action[]): void;
  action?(a: Action, index: number, actions: readonly Action[]): void;
  afterStep?(fact: Fact, actions: readonly Action[]): void;
}

type Pending =
  | { t: number; seq: number; kind: "fact"; fact: Fact }
  | { t: number; seq: number; kind: "timer"; service: string; token: number }
  | { t: number; seq: number; kind: "spawned" | "ready"; pid: number }
  | { t: number; seq: number; kind: "exit"; pid: number; status: ExitStatus }
  | { t: number; seq: number; kind: "reloading" | "reloaded"; pid: number }
  | { t: number; seq: number; kind: "main"; service: string; find: number; refused: boolean };

export interface WorldOptions {
  behaviour?: Behaviour;
  /** How what goes wrong in the world itself is told (time going backwards, a livelock): throws by default. */
  fail?: (message: string) => never;
}

export interface World {
  readonly engine: Engine;
  readonly now: number;
  readonly steps: number;
  /** The fact being delivered (between steps, the last one). */
  readonly fact: Fact | null;
  /** The graph of the database as the actions so far have it (it switches at `switched`), instances included. */
  readonly graph: Graph;
  /** What the timer being delivered was armed for, and whether it is the service's live one. */
  readonly timer: { purpose: TimerPurpose | undefined; live: boolean } | null;
  /** Each service's phase as the `changed` actions tell it. */
  phase(name: string): Phase;
  knows(name: string): boolean;
  /** The one live process (or pending spawn) of a service. */
  live(name: string): Proc | undefined;
  /** Its live reload command (or its pending spawn). */
  reloadCommand(name: string): Proc | undefined;
  proc(pid: number): Proc | undefined;
  def(name: string): ServiceDef;
  /** Does this spawn begin a start (`start`), or a start again after a restart delay (`again`)? */
  begins(a: Extract<Action, { kind: "spawn" }>): "start" | "again" | null;
  at(t: number, fact: Fact): void;
  /** Deliver a fact now, and carry out what the engine asks; the actions it took. */
  tell(fact: Fact): Action[];
  /** Deliver every pending event, in order, until none is left (or `limit` steps: a livelock). */
  runUntilQuiet(limit?: number): void;
  /** The service's process ends by itself now. */
  exit(name: string, status: ExitStatus): Action[];
  observe(o: Observer): void;
}

export function createWorld(db: Database, options: WorldOptions = {}): World {
  const behaviour = options.behaviour ?? obedient;
  const fail = options.fail ?? ((message: string): never => {
    throw new Error(message);
  });
  const engine = createEngine(db, 0);
  const queue = new Queue<Pending>();
  // Each hook's observers in a list of its own: every step calls them, so they are looked up once.
  const before: NonNullable<Observer["beforeStep"]>[] = [];
  const stepped: NonNullable<Observer["stepped"]>[] = [];
  const onAction: NonNullable<Observer["action"]>[] = [];
  const after: NonNullable<Observer["afterStep"]>[] = [];
  const procs = new Map<number, Proc>();
  const live = new Map<string, Proc>();
  const reloads = new Map<string, Proc>();
  /** Commands beside that ended before their spawn was told, with how they ended: the keeper tells their spawn, then that. */
  const endedUntold = new Map<number, ExitStatus>();
  /** Where a process is the live one: its service's command beside (reload or stop), or its process. */
  const slot = (p: Proc): Map<string, Proc> => (isBeside(p.role) ? reloads : live);
  const phases = new Map<string, Phase>(engine.topo.names.map((n) => [n, "down"]));
  const purposes = new Map<number, TimerPurpose>();
  const instances = new Map<string, string[]>();
  /** The pid file each forking daemon's search reads (a number per `find-main`): a spawn or a kill of the service ends it. */
  const finding = new Map<string, number>();
  let finds = 0;
  /** Services that went starting or running in this step, and have not spawned since. */
  const beginning = new Set<string>();
  let graph = graphOf(db, instances);
  let topo = engine.topo;
  let known = topo.names.length;
  let last = topo.names[known - 1];
  let nextPid = 100;
  let now = 0;
  let steps = 0;
  let fact: Fact | null = null;
  let timer: World["timer"] = null;

  /** What services no longer in the database were, for what is said of them after the switch. */
  const retired = new Map<string, ServiceDef>();
  const def = (name: string): ServiceDef => {
    const d = graph.def(name) ?? retired.get(templateOf(name));
    if (d === undefined) throw new Error(`the world has no service '${name}'`);
    return d;
  };

  /** The fact a pending event tells the engine, if it still means something in the world. */
  const factOf = (event: Pending): Fact | null => {
    switch (event.kind) {
      case "fact": {
        // The server refuses these while it shuts down (a boot that ended, say).
        const refused = event.fact.kind === "start" || event.fact.kind === "stop" || event.fact.kind === "restart" || event.fact.kind === "apply";
        return refused && engine.shuttingDown ? null : event.fact;
      }
      case "timer":
        return { kind: "timer", service: event.service, token: event.token };
      case "spawned": {
        const p = procs.get(event.pid)!;
        if (!p.alive) return null;
        p.reported = true;
        const reload = isBeside(p.role);
        const ended = endedUntold.get(p.pid);
        endedUntold.delete(p.pid);
        if (!p.fails) {
          if (ended !== undefined) queue.push({ t: now, kind: "exit", pid: p.pid, status: ended });
          return { kind: reload ? "reload-spawned" : "spawned", service: p.service, pid: p.pid };
        }
        p.alive = false;
        slot(p).delete(p.service);
        return { kind: reload ? "reload-spawn-failed" : "spawn-failed", service: p.service, error: "simulated failure" };
      }
      case "ready": {
        const p = procs.get(event.pid)!;
        if (!p.alive) return null;
        p.ready = true;
        return { kind: "ready", service: p.service, pid: p.pid };
      }
      case "exit": {
        const p = procs.get(event.pid)!;
        if (!p.alive) return null; // already ended (a signal and its own exit, say)
        if (isBeside(p.role) && !p.reported) {
          // Killed with its service before its spawn was told: it stays the command beside until then (a failed spawn tells only that).
          if (!endedUntold.has(p.pid)) endedUntold.set(p.pid, event.status);
          return null;
        }
        p.alive = false;
        slot(p).delete(p.service);
        if (isBeside(p.role)) return { kind: "reload-exited", service: p.service, pid: p.pid, status: event.status };
        if (p.role === "main") endReloadCommand(p.service);
        return { kind: "exited", service: p.service, pid: p.pid, status: event.status };
      }
      case "reloading":
      case "reloaded": {
        const p = procs.get(event.pid)!;
        return p.alive && p.ready ? { kind: event.kind, service: p.service, pid: p.pid } : null;
      }
      case "main": {
        if (finding.get(event.service) !== event.find) return null; // given up on
        finding.delete(event.service);
        if (event.refused) return { kind: "main-pid-refused", service: event.service, pid: 1, reason: "pid file /sim/pid names 1, which is not a process of the service" };
        const p = start(event.service, "main", true);
        return { kind: "main-pid", service: event.service, pid: p.pid };
      }
    }
  };

  /** The service's main ended: the keeper kills the rest of its tree, its reload command with it. */
  const endReloadCommand = (name: string): void => {
    const r = reloads.get(name);
    if (r !== undefined) queue.push({ t: now, kind: "exit", pid: r.pid, status: { code: null, signal: "SIGKILL" } });
  };

  /** A notify main asked to reload says RELOADING=1 and READY=1, as its behaviour has it. */
  const talkOfReload = (name: string): void => {
    const p = live.get(name);
    if (p === undefined || p.role !== "main" || def(name).ready.kind !== "notify") return;
    const talk = behaviour.reloadTalk(def(name));
    if (talk.reloading !== null) queue.push({ t: now + talk.reloading, kind: "reloading", pid: p.pid });
    if (talk.ready !== null) queue.push({ t: now + talk.ready, kind: "reloaded", pid: p.pid });
  };

  /** A process of the service, its fate decided; `reported`: it needs no `spawned` (a forking daemon's main, which `main-pid` tells). */
  const start = (name: string, role: SpawnRole, reported: boolean): Proc => {
    const fate = behaviour.fate(name, role, def(name));
    const at = reported ? now : now + fate.reportAfter;
    const fails = fate.fails && !reported;
    const p: Proc = { pid: nextPid++, service: name, role, alive: true, reported, fails, ignoresSignals: fate.ignoresSignals, ready: false };
    procs.set(p.pid, p);
    slot(p).set(name, p);
    if (role === "reload") talkOfReload(name);
    if (!reported) queue.push({ t: at, kind: "spawned", pid: p.pid });
    if (fails) return p;
    if (role === "main" && def(name).type === "longrun" && def(name).ready.kind === "none") p.ready = true;
    for (const t of fate.ready) queue.push({ t: at + t, kind: "ready", pid: p.pid });
    if (fate.exit !== null) queue.push({ t: at + fate.exit.after, kind: "exit", pid: p.pid, status: fate.exit.status });
    return p;
  };
  const spawn = (name: string, role: SpawnRole): void => void start(name, role, false);

  /** The world after a switch: what left is forgotten, what changed starts afresh. */
  const switchTo = (a: Extract<Action, { kind: "switched" }>): void => {
    for (const name of a.removed) {
      phases.delete(name);
      const list = instances.get(templateOf(name));
      if (list !== undefined) instances.set(templateOf(name), list.filter((n) => n !== name));
    }
    for (const name of a.changed) if (engine.services.has(name)) phases.set(name, "down");
    for (const [template, list] of instances) if (list.length === 0 || !Object.hasOwn(a.db.graph.services, template)) instances.delete(template);
    // The engine's state is the one at the end of the step: what the new database has, and instances made after the switch.
    learn(engine.topo.names, a.db);
    for (const [name, d] of Object.entries(graph.db.services)) if (!Object.hasOwn(a.db.services, name)) retired.set(name, d);
    graph = graphOf(a.db, instances);
  };

  const carry = (a: Action): void => {
    switch (a.kind) {
      case "changed": {
        const was = phases.get(a.service);
        phases.set(a.service, a.phase);
        if ((a.phase === "starting" || a.phase === "running") && a.reason === null && (was === "down" || was === "failed")) beginning.add(a.service);
        return;
      }
      case "arm":
        queue.push({ t: now + a.ms, kind: "timer", service: a.service, token: a.token });
        purposes.set(a.token, a.purpose);
        return;
      case "spawn":
        beginning.delete(a.service);
        finding.delete(a.service);
        return spawn(a.service, a.role);
      case "find-main": {
        const token = ++finds;
        finding.set(a.service, token);
        const found = behaviour.finds(a.service, def(a.service));
        if (found !== null) queue.push({ t: now + found.after, kind: "main", service: a.service, find: token, refused: found.refused });
        return;
      }
      case "signal": {
        const p = procs.get(a.pid);
        if (p === undefined || !p.alive) return;
        // An admin's signal, or a reload's, asks the process for something: a stop's ends it.
        const asked = fact?.kind === "signal" || fact?.kind === "reload";
        if (fact?.kind === "reload") talkOfReload(a.service);
        const end = behaviour.signalled(p, a.signal, asked);
        if (end !== null) queue.push({ t: now + end.after, kind: "exit", pid: a.pid, status: end.status });
        return;
      }
      case "delay":
        queue.push({ t: now + a.ms, kind: "fact", fact: { kind: "scheduled", service: a.service, env: a.env } });
        return;
      case "switched":
        return switchTo(a);
      case "kill":
        finding.delete(a.service);
        return;
      case "occurred":
      case "affected":
        return;
    }
  };

  const tell = (f: Fact): Action[] => {
    fact = f;
    timer = f.kind === "timer" ? { purpose: purposes.get(f.token), live: engine.services.get(f.service)?.timer === f.token } : null;
    for (const o of before) o(f);
    let actions: Action[];
    try {
      actions = step(engine, { ...f, now });
    } catch (err) {
      // What the engine holds that the database no longer has is the likeliest cause.
      const lost = [...engine.triggered].filter((n) => !engine.topo.requires.has(n));
      const note = lost.length > 0 ? ` (its triggered set still names ${lost.join(", ")}, which the database no longer has)` : "";
      return fail(`the engine threw on '${JSON.stringify(f).slice(0, 200)}'${note}: ${(err as Error).stack ?? String(err)}`);
    }
    steps++;
    for (const o of stepped) o(f, actions);
    beginning.clear();
    // (Only when the names changed: a big graph is long to walk at every step.)
    // (The last name too: a step may forget an instance and make another, which comes last.)
    if (engine.topo !== topo || topo.names.length !== known || topo.names[known - 1] !== last) learn(engine.topo.names);
    for (let i = 0; i < actions.length; i++) {
      for (const o of onAction) o(actions[i]!, i, actions);
      carry(actions[i]!);
    }
    if (engine.topo !== topo || engine.topo.names.length !== known || engine.topo.names[known - 1] !== last) forgetInstances();
    topo = engine.topo;
    known = topo.names.length;
    last = topo.names[known - 1];
    for (const o of after) o(f, actions);
    return actions;
  };

  /** Services the step made (instances, or what an apply added): down until their changes say otherwise. */
  const learn = (names: readonly string[], db: Database = graph.db): void => {
    for (const name of names) {
      if (phases.has(name)) continue;
      phases.set(name, "down");
      // (An instance the files name is a service of the database, with edges of its own.)
      if (templateOf(name) !== name && !Object.hasOwn(db.services, name)) instances.set(templateOf(name), [...(instances.get(templateOf(name)) ?? []), name]);
    }
  };

  /** Instances the engine forgot (or an apply took away) are no longer known to the world. */
  const forgetInstances = (): void => {
    for (const [template, list] of instances) {
      const kept = list.filter((n) => engine.services.has(n));
      if (kept.length !== list.length) {
        for (const n of list) if (!engine.services.has(n)) phases.delete(n);
        if (kept.length === 0) instances.delete(template);
        else instances.set(template, kept);
      }
    }
  };

  return {
    engine,
    get now() {
      return now;
    },
    get steps() {
      return steps;
    },
    get fact() {
      return fact;
    },
    get graph() {
      return graph;
    },
    get timer() {
      return timer;
    },
    phase: (name) => {
      const p = phases.get(name);
      if (p === undefined) throw new Error(`the world has no service '${name}'`);
      return p;
    },
    knows: (name) => phases.has(name),
    live: (name) => live.get(name),
    reloadCommand: (name) => reloads.get(name),
    proc: (pid) => procs.get(pid),
    def,
    begins: (a) => {
      if (beginning.has(a.service)) return "start";
      return fact?.kind === "timer" && fact.service === a.service && timer?.purpose === "restart-delay" ? "again" : null;
    },
    at: (t, f) => queue.push({ t, kind: "fact", fact: f }),
    tell,
    runUntilQuiet: (limit = Infinity) => {
      for (let n = 0; ; ) {
        const event = queue.pop();
        if (event === undefined) return;
        if (event.t < now) fail(`time went backwards: ${event.t} < ${now}`);
        now = event.t;
        const f = factOf(event);
        if (f === null) continue;
        if (++n > limit) fail(`still busy after ${limit} steps: a livelock?`);
        tell(f);
      }
    },
    exit: (name, status) => {
      const p = live.get(name);
      if (p === undefined || !p.reported) throw new Error(`${name} has no process to exit`);
      p.alive = false;
      live.delete(name);
      if (p.role === "main") endReloadCommand(name);
      return tell({ kind: "exited", service: name, pid: p.pid, status });
    },
    observe: (o) => {
      if (o.beforeStep !== undefined) before.push(o.beforeStep.bind(o));
      if (o.stepped !== undefined) stepped.push(o.stepped.bind(o));
      if (o.action !== undefined) onAction.push(o.action.bind(o));
      if (o.afterStep !== undefined) after.push(o.afterStep.bind(o));
    },
  };
}
