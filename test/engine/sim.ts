// A deterministic simulation of the engine: a random database built in memory, a fake
// world of processes and timers on a fake clock, random admin commands, and the
// engine's invariants checked at every action it emits and after every step.
// Everything follows from (seed, size), so a failure is replayed with
// `npm run build && SIM_SEED=… SIM_SIZE=… node --test dist/test/engine/`.
//
// The world answers the engine the way the supervisor will: `spawn` is answered with
// `spawned` (at once, or a little later, so that a stop can arrive in between) or
// `spawn-failed`; a process then becomes ready, exits by itself, ignores SIGTERM, or
// hangs, at random; `arm` comes back as `timer` after its delay. Events run in
// (time, sequence) order.
//
// Most databases also have conditions and schedules, and the world then emits edge
// events, level changes and clock runs among the admin's commands, and turns each
// `delay` into a `scheduled` fact when it falls due (sim-events.ts). Each `occurred`
// action is checked against a model of the conditions as it comes, along with the
// job events, hooks and instances it implies; the triggered and wanted sets after
// every step.
//
// Half the runs begin with a `boot` fact rather than a start of `default`, some with
// an `exit-with` service and some with `on-boot-failure = stop`; the end each records
// is checked against what caused it (see Sim.checkEnd).

import { createHash, type Hash } from "node:crypto";
import type { Database } from "../../src/compile/database.js";
import { resolveGraph } from "../../src/compile/graph.js";
import { collector, formatDiagnostic, hasErrors } from "../../src/config/diagnostics.js";
import type { ParsedService } from "../../src/config/parse.js";
import { defaultService, waitsForTrigger, type ServiceDef, type ServiceType } from "../../src/config/service.js";
import { createEngine, step, type Engine } from "../../src/engine/engine.js";
import { members, requirementsOf } from "../../src/engine/topology.js";
import type { Action, End, ExitStatus, Fact, Phase, Role, TimerPurpose } from "../../src/engine/types.js";
import { conditionRefs, decorate, EventModel, worldFacts, type Expected } from "./sim-events.js";

export interface Scenario {
  seed: number;
  /** Services, bundles and `default` included. */
  size: number;
  /** How often things go wrong in the world, from 1 (hostile) to 0 (never); by default drawn from the seed. */
  faults?: number;
}

export interface SimResult {
  scenario: Scenario;
  /** sha256 over every fact and the actions it produced: equal for equal scenarios. */
  digest: string;
  steps: number;
  /** The invariant that broke, with the scenario and the last facts and actions; null if none. */
  failure: string | null;
  /** How often each kind of fact, action and state change happened: what the run covered. */
  counts: Map<string, number>;
}

import { random, type Random } from "../prng.js";

export { random, type Random };

// ---------------------------------------------------------------------------------
// The database

const pad = (i: number): string => `s${String(i).padStart(4, "0")}`;
const ref = (name: string) => ({ name, line: 1, col: 1 });

function weighted<T>(rng: Random, choices: readonly (readonly [T, number])[]): T {
  const total = choices.reduce((s, [, w]) => s + w, 0);
  let x = rng.next() * total;
  for (const [value, w] of choices) if ((x -= w) < 0) return value;
  return choices[choices.length - 1]![0];
}

/** An earlier index, mostly a near one, so that big graphs are deep as well as wide. */
const earlier = (rng: Random, i: number): number => i - 1 - Math.floor(rng.next() ** 2 * i);

/**
 * `size` services numbered s0000…, the last one `default`. Every `requires`, `wants`
 * and `after` names an earlier service and every `before` a later non-bundle one, so
 * every ordering edge points from a later service to an earlier one: no cycle. No
 * requirement reaches a task, not even through a bundle. With `events` (a stream of
 * its own, so that the graph of a seed stays the same), some services get conditions
 * and schedules (see sim-events.ts).
 */
export function generateDatabase(rng: Random, size: number, events: Random | null = null): Database {
  const n = Math.max(size - 1, 1);
  const defs: ServiceDef[] = [];
  /** Does the name stand for a task (a task, or a bundle holding one)? */
  const holdsTask: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const type: ServiceType = weighted(rng, [
      ["longrun", 60],
      ["oneshot", 22],
      ["task", 10],
      ["bundle", i >= 2 ? 8 : 0],
    ]);
    const def = defaultService(pad(i), `/sim/${pad(i)}`, type);
    defs.push(def);
    if (type === "bundle") {
      const count = rng.int(1, Math.min(i, 4));
      for (let k = 0; k < count; k++) def.contents.push(ref(pad(earlier(rng, i))));
      holdsTask.push(def.contents.some((r) => holdsTask[Number(r.name.slice(1))]));
      continue;
    }
    holdsTask.push(type === "task");
    configure(rng, def);
    if (i === 0) continue;
    const edges = (max: number, weights: number[]): number => weighted(rng, weights.slice(0, max + 1).map((w, k) => [k, w] as const));
    for (let k = edges(3, [35, 35, 20, 10]); k > 0; k--) {
      const j = earlier(rng, i);
      if (!holdsTask[j]) def.requires.push(ref(pad(j)));
    }
    for (let k = edges(2, [60, 30, 10]); k > 0; k--) def.wants.push(ref(pad(earlier(rng, i))));
    for (let k = edges(1, [75, 25]); k > 0; k--) def.after.push(ref(pad(earlier(rng, i))));
  }
  for (let i = 0; i < n - 1; i++) {
    if (defs[i]!.type === "bundle" || !rng.chance(0.12)) continue;
    const j = rng.int(i + 1, n - 1);
    if (defs[j]!.type !== "bundle") defs[i]!.before.push(ref(pad(j)));
  }
  if (events !== null) decorate(events, defs);
  const boot = defaultService("default", "/sim/default", "bundle");
  const share = rng.pick([0.3, 0.6, 0.9]);
  for (let i = 0; i < n; i++) if (rng.chance(share)) boot.contents.push(ref(pad(i)));
  defs.push(boot);

  const parsed = new Map<string, ParsedService>(defs.map((def) => [def.name, { def, conditionRefs: conditionRefs(def), keyAt: new Map() }]));
  const { diagnostics, report } = collector();
  const graph = resolveGraph(parsed, new Set(), report);
  if (hasErrors(diagnostics)) throw new Error(`the generator made an invalid graph:\n${diagnostics.map(formatDiagnostic).join("\n")}`);
  const services = Object.fromEntries(defs.map((d) => [d.name, d]));
  return { format: "tend-db", version: 1, generation: 1, compiledAt: "", source: "/sim", services, graph, boot: [], digest: "" };
}

/** Random commands, hooks, readiness, timeouts and restart policy for a service. */
function configure(rng: Random, def: ServiceDef): void {
  const maybe = (p: number, ms: () => number): number | null => (rng.chance(p) ? null : ms());
  switch (def.type) {
    case "longrun":
      def.command = ["/sim/daemon"];
      def.ready = weighted(rng, [
        [{ kind: "none" }, 30],
        [{ kind: "fd", fd: 3 }, 40],
        [{ kind: "notify" }, 30],
      ] as const);
      def.restart = rng.pick(["always", "on-failure", "never"] as const);
      def.restartDelayMs = weighted(rng, [
        [0, 15],
        [rng.int(1, 50), 85],
      ]);
      def.restartDelayMaxMs = def.restartDelayMs + rng.int(0, 200);
      def.restartLimit = rng.chance(0.2) ? null : { count: rng.int(1, 4), windowMs: rng.int(100, 3000) };
      def.startTimeoutMs = maybe(0.25, () => rng.int(50, 1500));
      def.stopTimeoutMs = maybe(0.08, () => rng.int(20, 800));
      def.successExit = rng.pick([[0], [0], [0, 2], [0, "SIGTERM"], [0, 1]]);
      def.stopSignal = weighted(rng, [
        ["SIGTERM", 70],
        ["SIGINT", 10],
        ["SIGQUIT", 10],
        ["SIGHUP", 10],
      ]);
      if (rng.chance(0.2)) def.preStart = ["/sim/pre-start"];
      if (rng.chance(0.2)) def.postStop = ["/sim/post-stop"];
      break;
    case "oneshot":
      def.up = ["/sim/up"];
      if (rng.chance(0.6)) def.down = ["/sim/down"];
      def.startTimeoutMs = maybe(0.4, () => rng.int(50, 1500));
      def.stopTimeoutMs = maybe(0.15, () => rng.int(20, 800));
      break;
    case "task":
      def.command = ["/sim/task"];
      if (rng.chance(0.15)) def.preStart = ["/sim/pre-start"];
      if (rng.chance(0.15)) def.postStop = ["/sim/post-stop"];
      def.startTimeoutMs = maybe(0.7, () => rng.int(50, 1500));
      def.stopTimeoutMs = maybe(0.1, () => rng.int(20, 800));
      def.successExit = rng.pick([[0], [0, 1]]);
      break;
    case "bundle":
      break;
  }
}

// ---------------------------------------------------------------------------------
// The world

interface Proc {
  pid: number;
  service: string;
  role: Role;
  alive: boolean;
  /** The engine has been told `spawned` (or `spawn-failed`). */
  reported: boolean;
  /** The spawn fails: `spawn-failed` instead of `spawned`. */
  fails: boolean;
  /** Only SIGKILL ends it. */
  ignoresSignals: boolean;
  /** A longrun main that said it is ready (or needs not: ready = none). */
  ready: boolean;
}

type Event =
  | { t: number; seq: number; kind: "command"; fact: Fact }
  | { t: number; seq: number; kind: "timer"; service: string; token: number }
  | { t: number; seq: number; kind: "spawned" | "ready"; pid: number }
  | { t: number; seq: number; kind: "exit"; pid: number; status: ExitStatus };

type NewEvent = Event extends infer E ? (E extends Event ? Omit<E, "seq"> : never) : never;

/** A binary heap of events by (time, sequence). */
class Queue {
  private items: Event[] = [];
  private seq = 0;
  get size(): number {
    return this.items.length;
  }
  push(e: NewEvent): void {
    const items = this.items;
    items.push({ ...e, seq: this.seq++ } as Event);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }
  pop(): Event | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && before(items[l]!, items[m]!)) m = l;
        if (r < items.length && before(items[r]!, items[m]!)) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m]!, items[i]!];
        i = m;
      }
    }
    return top;
  }
}

const before = (a: Event, b: Event): boolean => a.t < b.t || (a.t === b.t && a.seq < b.seq);

class Failure extends Error {}

const ACTIVE: readonly Phase[] = ["starting", "up", "running"];
const START_ROLES: readonly Role[] = ["pre-start", "main", "up"];

class Sim {
  readonly engine: Engine;
  readonly queue = new Queue();
  now = 0;
  steps = 0;
  private nextPid = 100;
  readonly procs = new Map<number, Proc>();
  /** The one live process (or pending spawn) of each service. */
  readonly live = new Map<string, Proc>();
  /** Main processes spawned so far, per service: each one is less likely to crash. */
  private readonly mains = new Map<string, number>();
  /** Each service's phase as the `changed` actions tell it, action by action. */
  readonly phase = new Map<string, Phase>();
  private readonly digest: Hash = createHash("sha256");
  /** What each armed timer is for, by token. */
  private readonly purposes = new Map<number, TimerPurpose>();
  /** The last facts and their actions, for the failure report. */
  private readonly recent: string[] = [];
  private fact: Fact | null = null;
  readonly counts = new Map<string, number>();
  /** What each service said when it last began stopping. */
  private readonly stopNote = new Map<string, string | null>();
  /** Services that went starting or running in this step, and have not spawned since. */
  private readonly beginning = new Set<string>();
  /** The step at which each service last began a start. */
  private readonly began = new Map<string, number>();
  /** The step at which an admin asked for each service while it was stopping. */
  private readonly askedWhileStopping = new Map<string, number>();

  // ---- events
  /** What the conditions must fire, occurrence by occurrence; null without any condition. */
  readonly model: EventModel | null;
  /** Every value each event key carried in the events the world emitted. */
  private readonly carried = new Map<string, Set<string>>();
  /** How many names the engine's topology had after the last step: instances are added to it. */
  private known: number;
  /** Tasks a trigger started whose run has not ended (nor been cancelled by their `stop-on`). */
  private readonly pendingRun = new Set<string>();
  /**
   * The hook tasks each service's transition waits for: those its last `starting` or
   * `stopping` job event started, with the hook timeout armed for them and whether it fired.
   */
  private readonly hooks = new Map<string, { verb: "starting" | "stopping"; tasks: string[]; token: number | null; timedOut: boolean }>();
  /** The job event the last action implies, which the next one (delays aside) must be. */
  private expectJob: { verb: string; service: string; after: string } | null = null;
  /** In this step: the occurrence index at which each target's start-on or stop-on last fired. */
  private readonly startFired = new Map<string, number>();
  private readonly stopFired = new Map<string, number>();
  private occurrences = 0;
  /** Tasks that were hook runs at some point of this step (they run during a shutdown). */
  private hookRuns = new Set<string>();
  /** The engine's triggered set after the last step; and whether this step fired or skipped anything. */
  private triggered = new Set<string>();
  private fired = false;
  /** Tasks whose run ended in this step (done, failed, timed out or stopped): their trigger is spent. */
  private readonly runEnded = new Set<string>();
  /** `delay` actions since the last `occurred` one. */
  private delays: { service: string; env: Record<string, string> }[] = [];
  /** The timer being delivered is the one the engine has armed (not a stale one). */
  private liveTimer = false;

  // ---- the boot
  /** Services seen up since the boot (a task: down after a run that ended). */
  private readonly upOnce = new Set<string>();
  /** Services that became failed in this step. */
  private readonly failedNow = new Set<string>();

  constructor(
    readonly db: Database,
    readonly rng: Random,
    readonly scenario: Scenario,
    /** Check every service after every step, not only the ones the step touched. */
    readonly thorough: boolean,
    /** How many of the last steps the failure report shows. */
    readonly keep: number,
    /** How often things go wrong: 1 is a hostile world, 0.05 a kind one. */
    readonly faults: number,
  ) {
    this.engine = createEngine(db, 0);
    for (const name of this.engine.topo.names) this.phase.set(name, "down");
    this.known = this.engine.topo.names.length;
    const model = new EventModel(Object.values(db.services));
    this.model = model.empty ? null : model;
  }

  get hash(): string {
    return this.digest.copy().digest("hex");
  }

  /** What the timer being delivered was armed for. */
  private purposeOfFact(): TimerPurpose | undefined {
    const f = this.fact!;
    return f.kind === "timer" ? this.purposes.get(f.token) : undefined;
  }

  private count(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  fail(message: string): never {
    throw new Failure(message);
  }

  report(message: string): string {
    const { seed, size, faults } = this.scenario;
    return [
      `engine simulation failed: ${message}`,
      `  replay: SIM_SEED=${seed} SIM_SIZE=${size}${faults === undefined ? "" : ` SIM_FAULTS=${faults}`} node --test dist/test/engine/   (t=${this.now}, step ${this.steps})`,
      `  last facts => actions:`,
      ...this.recent.map((line) => `    ${line.length > 400 && this.keep <= 30 ? `${line.slice(0, 400)} …` : line}`),
      ...(this.keep > 30 ? this.stateDump() : []),
    ].join("\n");
  }

  /** With SIM_TRACE: every service's state at the failure, and the pending bounce groups. */
  private stateDump(): string[] {
    const e = this.engine;
    return [
      "  state at the failure:",
      ...e.topo.names.map((n) => {
        const s = e.services.get(n)!;
        const edges = (m: ReadonlyMap<string, readonly string[]>): string => m.get(n)!.join(",");
        return `    ${n} ${this.def(n).type} ${s.phase}${s.held ? " held" : ""}${e.wanted.has(n) ? " wanted" : ""}${e.stopped.has(n) ? " stopped" : ""} reason=${s.reason} requires=[${edges(e.topo.requires)}] after=[${edges(e.topo.after)}]`;
      }),
      `  bounces: ${e.bounces.map((g) => `{${[...g].join(",")}}`).join(" ")}`,
    ];
  }

  private def(name: string): ServiceDef {
    return this.engine.defs.get(name) ?? this.db.services[name]!;
  }

  /** Runs events until none is left (or `limit` steps, which means a livelock). */
  run(limit: number): void {
    for (;;) {
      const event = this.queue.pop();
      if (event === undefined) return;
      if (event.t < this.now) this.fail(`time went backwards: ${event.t} < ${this.now}`);
      this.now = event.t;
      const fact = this.factOf(event);
      if (fact === null) continue;
      if (++this.steps > limit) this.fail(`still busy after ${limit} steps: a livelock?`);
      this.deliver(fact);
    }
  }

  /** The fact an event tells the engine, if it still means something in the world. */
  private factOf(event: Event): Fact | null {
    switch (event.kind) {
      case "command": {
        // The server refuses these while it shuts down (a boot that ended, say).
        const refused = event.fact.kind === "start" || event.fact.kind === "stop" || event.fact.kind === "restart";
        return refused && this.engine.shuttingDown ? null : event.fact;
      }
      case "timer":
        return { kind: "timer", service: event.service, token: event.token };
      case "spawned": {
        const p = this.procs.get(event.pid)!;
        p.reported = true;
        if (p.fails) {
          p.alive = false;
          this.live.delete(p.service);
          return { kind: "spawn-failed", service: p.service, error: "simulated failure" };
        }
        return { kind: "spawned", service: p.service, pid: p.pid };
      }
      case "ready": {
        const p = this.procs.get(event.pid)!;
        if (!p.alive) return null;
        p.ready = true;
        return { kind: "ready", service: p.service, pid: p.pid };
      }
      case "exit": {
        const p = this.procs.get(event.pid)!;
        if (!p.alive) return null; // already ended (a signal and its own exit, say)
        p.alive = false;
        this.live.delete(p.service);
        const s = this.engine.services.get(p.service)!;
        if (s.pid !== p.pid) this.fail(`${p.service}: pid ${p.pid} (${p.role}) exited but the engine tracks pid ${s.pid} (${s.role})`);
        return { kind: "exited", service: p.service, pid: p.pid, status: event.status };
      }
    }
  }

  deliver(fact: Fact): void {
    this.fact = fact;
    if (fact.kind === "start" || fact.kind === "restart") {
      // What `start` releases: the members of each name and what they require.
      const { topo } = this.engine;
      for (const n of fact.names) {
        for (const m of members(topo, n)) {
          for (const r of this.closure([m], topo.requires)) if (this.phase.get(r) === "stopping") this.askedWhileStopping.set(r, this.steps);
        }
      }
    }
    if (fact.kind === "event") {
      for (const [key, value] of Object.entries(fact.values)) {
        let values = this.carried.get(key);
        if (values === undefined) this.carried.set(key, (values = new Set()));
        values.add(value);
      }
    }
    const e = this.engine;
    this.liveTimer = fact.kind === "timer" && e.services.get(fact.service)?.timer === fact.token;
    if (this.liveTimer && this.purposeOfFact() === "hook-timeout") {
      this.count("hook timeout");
      const h = this.hooks.get((fact as { service: string }).service);
      if (h !== undefined && h.token === (fact as { token: number }).token) h.timedOut = true;
    }
    this.hookRuns = new Set(e.hookRuns);
    const before = this.beforeStep(fact);
    const actions = step(e, { ...fact, now: this.now });
    const line = `${this.now} ${showFact(fact)} => ${actions.map(showAction).join("; ") || "-"}`;
    this.digest.update(line);
    this.digest.update("\n");
    this.recent.push(line);
    if (this.recent.length > this.keep) this.recent.shift();
    this.count(`fact ${fact.kind}`);
    for (const a of actions) {
      this.count(
        a.kind === "changed"
          ? `→${a.phase} ${(a.reason ?? "").replace(/[0-9]+m?s|s[0-9]{4}|\([^)]*\)/g, "").trim()}`
          : a.kind === "spawn"
            ? `spawn ${a.role}`
            : a.kind === "arm"
              ? `arm ${a.purpose}`
              : a.kind === "signal"
                ? `signal ${a.signal === "SIGKILL" ? "SIGKILL" : "stop"}`
                : a.kind,
      );
    }
    const touched = new Set<string>();
    if ("service" in fact) touched.add(fact.service);
    this.beginning.clear();
    // Instances the step made: known to the world from now on, down until their changes say
    // otherwise. (The engine may forget instances at rest, too.)
    const made = e.topo.names.length === this.known ? [] : e.topo.names.filter((n) => !this.phase.has(n));
    this.known = e.topo.names.length;
    for (const name of made) this.phase.set(name, "down");
    this.startFired.clear();
    this.stopFired.clear();
    this.runEnded.clear();
    this.failedNow.clear();
    this.fired = false;
    this.occurrences = 0;
    this.delays = [];
    this.expectJob = null;
    for (let i = 0; i < actions.length; i++) {
      const a = actions[i]!;
      if ("service" in a) touched.add(a.service);
      if (a.kind !== "delay") this.jobEvents(a);
      this.apply(a, actions[i + 1]);
    }
    const unmet = this.expectJob as { verb: string; service: string; after: string } | null; // set by jobEvents
    if (unmet !== null) this.fail(`(f) ${unmet.after}, and no '${unmet.verb} ${unmet.service}' followed`);
    if (this.delays.length > 0) this.fail(`${this.delays.map((d) => d.service).join(", ")}: a delay with no occurrence to cause it`);
    this.checkEnd(fact, before, touched);
    this.consistent(this.thorough ? e.topo.names : touched);
    if (made.length > 0) this.checkInstances(made);
    if (this.model !== null) this.checkTriggers(fact);
    // A start that went back to waiting (its requirement went down during the pre-start) keeps its trigger: its run is still to come.
    for (const t of this.runEnded) if (e.triggered.has(t)) this.pendingRun.add(t);
    const bounced = this.stopNote.get(fact.kind === "exited" ? fact.service : "") === "restarting";
    if (fact.kind === "exited" && this.procs.get(fact.pid)!.role === "down" && !isSuccess(this.def(fact.service), fact.status) && !bounced) {
      // A `down` that failed is reported: the service does not just quietly go down
      // (unless an admin restart is bouncing it: it comes back up at once).
      const first = actions.find((a) => a.kind === "changed" && a.service === fact.service);
      if (first?.kind === "changed" && first.phase === "down" && first.reason === null) {
        this.fail(`${fact.service}: its down ended with ${fact.status.signal ?? `code ${fact.status.code}`}, and it went down with no reason`);
      }
    }
  }

  // ---- the engine's actions, each checked as it comes

  private apply(a: Action, next: Action | undefined): void {
    switch (a.kind) {
      case "changed": {
        // The main process ended by itself and its post-stop hook runs: a crash, not a stop.
        const cleanUp = a.phase === "stopping" && next?.kind === "spawn" && next.service === a.service && next.role === "post-stop";
        return this.changed(a.service, a.phase, a.reason, cleanUp);
      }
      case "arm":
        if (!(a.ms >= 0)) this.fail(`${a.service}: armed a timer for ${a.ms} ms`);
        this.queue.push({ t: this.now + a.ms, kind: "timer", service: a.service, token: a.token });
        this.purposes.set(a.token, a.purpose);
        if (a.purpose === "hook-timeout") {
          const h = this.hooks.get(a.service);
          if (h === undefined) this.fail(`${a.service}: armed a hook timeout with no hook task to wait for`);
          h.token = a.token;
        }
        return;
      case "spawn": {
        // A start that begins now, or again after a restart delay, rather than a step of one under way.
        const begins = this.beginning.delete(a.service);
        const again = this.fact!.kind === "timer" && this.fact!.service === a.service && this.purposeOfFact() === "restart-delay";
        if ((begins || again) && START_ROLES.includes(a.role)) {
          // A hook task runs even when nothing else wants it (during a shutdown, say). The wanted
          // set is the one at the end of the step: a trigger earlier in it may have been undone since.
          const hook = this.hookRuns.has(a.service) || this.engine.hookRuns.has(a.service) || this.startFired.has(a.service);
          if (!hook && (!this.engine.wanted.has(a.service) || this.engine.shuttingDown)) {
            this.fail(`${a.service} began starting but is not wanted${this.engine.shuttingDown ? " (shutting down)" : ""}`);
          }
          this.began.set(a.service, this.steps);
        }
        if (START_ROLES.includes(a.role)) this.checkHooks(a.service, "starting", `${a.service} spawned its first process (${a.role})`);
        if (a.role === "down") this.checkHooks(a.service, "stopping", `${a.service} spawned its down`);
        const def = this.def(a.service);
        if (def.instance !== null && a.service.includes("@")) {
          // (e) an instance runs with its own value of the key.
          const value = a.service.slice(a.service.indexOf("@") + 1);
          if (a.env?.[def.instance] !== value) this.fail(`(e) ${a.service}: spawned with ${def.instance}=${a.env?.[def.instance]}`);
        }
        return this.spawn(a.service, a.role, begins);
      }
      case "signal":
        return this.signal(a.service, a.pid, a.signal);
      case "kill":
        // Only a oneshot's leftovers, when it goes down without a `down` or its `up` failed.
        if (this.def(a.service).type !== "oneshot") this.fail(`${a.service}: a kill of a ${this.def(a.service).type}`);
        return;
      case "delay":
        this.queue.push({ t: this.now + a.ms, kind: "command", fact: { kind: "scheduled", service: a.service, env: a.env } });
        this.delays.push({ service: a.service, env: a.env });
        return;
      case "occurred":
        return this.occurred(a);
    }
  }

  private changed(name: string, phase: Phase, reason: string | null, cleanUp: boolean): void {
    const was = this.phase.get(name)!;
    this.phase.set(name, phase);
    if (phase === "up" || (this.def(name).type === "task" && phase === "down" && this.engine.services.get(name)!.runs > 0)) this.upOnce.add(name);
    if (phase === "failed" && was !== "failed") this.failedNow.add(name);
    if ((phase === "starting" || phase === "running") && reason === null && (was === "down" || was === "failed")) {
      this.beginning.add(name);
      this.began.set(name, this.steps); // its first process may wait for the tasks run on `starting NAME`
    }
    if (phase === "stopping") this.stopNote.set(name, reason);
    const type = this.def(name).type;
    if (phase === "failed" && (reason === null || reason === "")) this.fail(`${name}: failed without a reason`);
    if ((type === "task") !== (phase === "running") && (phase === "running" || phase === "starting" || phase === "up")) this.fail(`${name}: a ${type} went ${phase}`);
    if (phase === "stopping" && !cleanUp) this.checkStop(name, `${name} began stopping`, false);
    // A oneshot with no `down` goes from up to down without a process to stop.
    const quietly = this.def(name).type === "oneshot" && was === "up" && (phase === "down" || phase === "failed") && this.def(name).down === null;
    if (quietly) this.checkStop(name, `${name} went ${phase} from up`, false);
    // (b) an orderly stop waits for the tasks run on `stopping NAME` (a start timeout is no orderly stop).
    const timedOut = this.fact!.kind === "timer" && this.fact!.service === name && this.purposeOfFact() === "start-timeout";
    if (((phase === "stopping" && !cleanUp) || quietly) && !timedOut) this.checkHooks(name, "stopping", `${name} began stopping`);
    if (phase === "down" || phase === "failed") {
      this.hooks.delete(name); // its transition is over
      if (ACTIVE.includes(was) || was === "stopping") {
        this.pendingRun.delete(name);
        if (this.def(name).type === "task") this.runEnded.add(name);
      }
    }
  }

  /** (b) The hook tasks of the transition that goes on now have ended, or their timeout fired. */
  private checkHooks(name: string, verb: "starting" | "stopping", what: string): void {
    const h = this.hooks.get(name);
    if (h === undefined || h.verb !== verb) return;
    this.hooks.delete(name);
    if (h.timedOut) return;
    for (const task of h.tasks) {
      const phase = this.phase.get(task)!;
      if (ACTIVE.includes(phase) || phase === "stopping" || this.pendingRun.has(task)) {
        this.fail(`(b) ${what} while ${task}, run on '${verb} ${name}', is ${phase}${this.pendingRun.has(task) ? " with its run to come" : ""} and its hook timeout has not fired`);
      }
    }
  }

  /**
   * (f) Job events: `started X` right after X became up (or a task's run launched),
   * `stopped X` right after X left an active phase, `starting X` right after a start
   * began; and each of those changes is followed by its job event. Called for every
   * action but `delay` (which an occurrence's conditions emit before it is reported).
   */
  private jobEvents(a: Action): void {
    const expected = this.expectJob;
    this.expectJob = null;
    const isJob = a.kind === "occurred" && a.what.kind === "job";
    if (expected !== null) {
      if (!isJob || a.what.kind !== "job" || a.what.verb !== expected.verb || jobOf(a.what) !== expected.service) {
        this.fail(`(f) ${expected.after}, and '${showAction(a)}' followed instead of '${expected.verb} ${expected.service}'`);
      }
      return;
    }
    if (isJob && a.kind === "occurred" && a.what.kind === "job") {
      const { verb } = a.what;
      const service = jobOf(a.what);
      if (verb !== "stopping") this.fail(`(f) '${verb} ${service}' with no change of ${service} to cause it`);
      // `stopping X` comes before the stop of a process X has, or of an up oneshot (its hooks run before it is signalled).
      const phase = this.phase.get(service)!;
      if (!ACTIVE.includes(phase) || (this.live.get(service) === undefined && phase !== "up")) this.fail(`(f) 'stopping ${service}' while it is ${phase} with no process`);
      return;
    }
    if (a.kind === "changed") {
      const was = this.phase.get(a.service)!;
      const verb =
        a.phase === "up" && was !== "up"
          ? "started"
          : (a.phase === "down" || a.phase === "failed") && (ACTIVE.includes(was) || was === "stopping")
            ? "stopped"
            : (a.phase === "starting" || a.phase === "running") && a.reason === null && (was === "down" || was === "failed")
              ? "starting"
              : null;
      if (verb !== null) this.expectJob = { verb, service: a.service, after: `${a.service} went ${was} → ${a.phase}` };
    } else if (a.kind === "spawn") {
      const def = this.def(a.service);
      const first = def.preStart !== null ? "pre-start" : "main";
      if (def.type === "task" && a.role === first) this.expectJob = { verb: "started", service: a.service, after: `${a.service}'s run launched (${a.role})` };
    }
  }

  /** The conditions an occurrence fires, checked against what the engine says it started, stopped and skipped. */
  private occurred(a: Extract<Action, { kind: "occurred" }>): void {
    const what = a.what;
    const delays = this.delays;
    this.delays = [];
    const model = this.model;
    if (model === null) {
      if (a.started.length + a.stopped.length + a.skipped.length + delays.length > 0) this.fail(`'${showAction(a)}' with no condition anywhere`);
      return;
    }
    let expected: Expected;
    if (what.kind === "event" || what.kind === "job") expected = model.occur(what);
    else if (what.kind === "level") expected = model.level(what.name, what.value);
    else {
      const f = this.fact!;
      if (f.kind !== "scheduled" || f.service !== what.service) this.fail(`a schedule of ${what.service} occurred on ${showFact(f)}`);
      expected = model.scheduled(this.def(what.service), f.env);
    }
    const show = (list: readonly string[]): string => `[${[...list].sort().join(", ")}]`;
    const want = expected.starts.flatMap((s) => (s.target === null ? [] : [s.target]));
    if (show(want) !== show([...a.started, ...a.skipped])) {
      this.fail(`'${showAction(a)}' started ${show(a.started)} and skipped ${show(a.skipped)}; its conditions fire ${show(want)}`);
    }
    for (const t of a.stopped) if (!expected.stops.includes(t)) this.fail(`'${showAction(a)}' stopped ${t}, whose stop-on did not fire`);
    const key = (d: { service: string; env: Record<string, string> }): string => `${d.service} ${JSON.stringify(Object.entries(d.env).sort())}`;
    if (show(delays.map(key)) !== show(expected.delays.map(key))) {
      this.fail(`'${showAction(a)}' delayed ${show(delays.map(key))}; its conditions fire ${show(expected.delays.map(key))}`);
    }
    // A service's start-on is seen before its stop-on: when one occurrence fires both, the stop wins.
    const at = this.occurrences++;
    for (const t of want) this.startFired.set(t, at);
    for (const t of expected.stops) this.stopFired.set(t, at);
    // (a) A task runs once at a time: a trigger while it runs (or while its run is still to come) is skipped, and only then.
    for (const t of a.started) {
      const phase = this.phase.get(t)!;
      if (this.def(t).type === "task") {
        if (ACTIVE.includes(phase) || phase === "stopping") this.fail(`(a) ${t} was triggered again while ${phase}: a second run`);
        this.pendingRun.add(t);
      }
      this.count("trigger");
    }
    for (const t of a.skipped) {
      const phase = this.phase.get(t)!;
      if (this.def(t).type !== "task") this.fail(`(a) a trigger of ${t}, a ${this.def(t).type}, was skipped`);
      if (!ACTIVE.includes(phase) && phase !== "stopping" && !this.pendingRun.has(t)) {
        this.fail(`(a) a trigger of ${t} was skipped, but it is ${phase}${this.engine.services.get(t)!.held ? ", held" : ""} with no run going or to come: the trigger is lost`);
      }
      this.count("skip");
    }
    for (const t of expected.stops) this.pendingRun.delete(t); // a task's run to come is called off; one going is stopped
    for (const _ of a.stopped) this.count("untrigger");
    if (want.length + expected.stops.length > 0) this.fired = true;
    this.count(`occurred ${what.kind}${what.kind === "job" ? ` ${what.verb}` : ""}`);
    // (b) The tasks this job event started, or found still running, are what the transition
    // waits for: a start always, a stop when the service is up (not a task, nor a longrun not ready).
    if (what.kind === "job" && (what.verb === "starting" || (what.verb === "stopping" && this.phase.get(jobOf(what)) === "up"))) {
      const tasks = [...a.started, ...a.skipped].filter((t) => this.def(t).type === "task");
      if (tasks.length > 0) {
        this.hooks.set(jobOf(what), { verb: what.verb, tasks, token: null, timedOut: false });
        for (const t of tasks) this.hookRuns.add(t);
        this.count("hook run");
      } else this.hooks.delete(jobOf(what));
    }
  }

  /** What the boot's checks need to know of the state before a step. */
  private beforeStep(fact: Fact): { end: End | null; booting: boolean; onItsOwn: boolean } {
    const e = this.engine;
    const x = e.boot?.exitWith ?? null;
    // The exit-with service's main (or its pre-start, failing) ends while tend did not ask it to stop.
    const wantsUp = x !== null && e.wanted.has(x) && !e.shuttingDown && !(e.pendingApply?.leaving.has(x) ?? false) && !e.bounces.some((g) => g.has(x));
    const role = fact.kind === "exited" ? this.procs.get(fact.pid)!.role : null;
    const ends = fact.kind === "exited" && (role === "main" || (role === "pre-start" && !isSuccess(this.def(fact.service), fact.status)));
    const onItsOwn = ends && fact.service === x && e.end === null && wantsUp && this.phase.get(x) !== "stopping";
    return { end: e.end, booting: e.boot !== null && e.boot.completeAt === null, onItsOwn };
  }

  /**
   * (g) The end: recorded once, with the shutdown it starts, and never changed; each
   * end has its cause in the step that records it, and each cause records one: a
   * shutdown (0), the exit-with service's main ending on its own (its status), its run
   * ending otherwise while wanted (1: no status), a service of the boot failing while
   * the boot is under way with `on-boot-failure = stop` (1). A boot is complete once
   * every service of it still wanted has been up once, and only then.
   */
  private checkEnd(fact: Fact, before: { end: End | null; booting: boolean; onItsOwn: boolean }, touched: ReadonlySet<string>): void {
    const e = this.engine;
    const end = e.end;
    const boot = e.boot;
    if (end !== null && !e.shuttingDown) this.fail(`(g) the end is recorded (${end.reason}) but the engine is not shutting down`);
    // A restart decided before the end (its post-stop ran meanwhile) may be armed, but is called off in the same step.
    const restarting = end === null ? undefined : [...touched].find((n) => e.services.get(n)?.delayed);
    if (restarting !== undefined) this.fail(`(g) ${restarting} waits to restart after the end (${end!.reason})`);
    if (before.end !== null) {
      if (end?.code !== before.end.code || end.reason !== before.end.reason) this.fail(`(g) the end changed from ${JSON.stringify(before.end)} to ${JSON.stringify(end)}`);
      return;
    }
    const failedInBoot = boot !== null && boot.onBootFailure === "stop" && before.booting ? [...this.failedNow].filter((n) => boot.services.has(n)) : [];
    if (end === null) {
      if (before.onItsOwn) this.fail(`(g) the exit-with service ${boot!.exitWith} ended on its own, and the boot did not end`);
      if (failedInBoot.length > 0) this.fail(`(g) ${failedInBoot.join(", ")} failed during the boot, with on-boot-failure = stop, and the boot did not end`);
    } else if (fact.kind === "shutdown") {
      if (end.code !== 0) this.fail(`(g) a shutdown ended with status ${end.code}`);
    } else if (before.onItsOwn) {
      const expected = shellStatus((fact as Extract<Fact, { kind: "exited" }>).status);
      if (end.code !== expected) this.fail(`(g) ${boot!.exitWith} ended with ${showFact(fact)}, and the end's status is ${end.code}, not ${expected}`);
      this.count("end exit-with");
    } else if ("service" in fact && fact.service === boot?.exitWith) {
      // Its run ended without a status of its own (it could not start, its start timed out); the boot may fail in the same step.
      if (end.code !== 1) this.fail(`(g) ${fact.service}'s run ended on ${showFact(fact)}, and the end's status is ${end.code}, not 1`);
      this.count("end exit-with");
    } else if (failedInBoot.length > 0) {
      if (end.code !== 1 || !end.reason.startsWith("boot failed: ")) this.fail(`(g) ${failedInBoot.join(", ")} failed during the boot, and the end is ${JSON.stringify(end)}`);
      this.count("end boot failure");
    } else this.fail(`(g) the end ${JSON.stringify(end)} came on ${showFact(fact)}, which is none of its causes`);
    if (boot === null || !before.booting || boot.completeAt === null) return;
    const notYet = this.notUpYet();
    if (notYet.length > 0) this.fail(`(g) the boot is complete, but ${notYet.slice(0, 5).join(", ")} ha${notYet.length === 1 ? "s" : "ve"} not been up`);
    this.count("boot complete");
  }

  /** The services of the boot still wanted that have not been up since it began. */
  private notUpYet(): string[] {
    const e = this.engine;
    return [...e.boot!.services].filter((n) => e.services.has(n) && e.wanted.has(n) && !this.upOnce.has(n));
  }

  /** (g) Quiet: a boot is complete once every service of it still wanted has been up. */
  checkBoot(): void {
    const boot = this.engine.boot;
    if (boot !== null && boot.completeAt === null && this.notUpYet().length === 0) this.fail("(g) every service of the boot has been up, and the boot is not complete");
  }

  /** (e) Instances are made only for a value an event carried, and hold it in their environment. */
  private checkInstances(made: readonly string[]): void {
    for (const name of made) {
      const at = name.indexOf("@");
      const template = name.slice(0, at);
      const value = name.slice(at + 1);
      const def = this.db.services[template];
      if (at < 0 || def === undefined || def.instance === null) this.fail(`(e) the engine made ${name}, which is no instance of a template`);
      if (!(this.carried.get(def.instance)?.has(value) ?? false)) this.fail(`(e) ${name}: no event carried ${def.instance}=${value}`);
      if (!(this.model?.instances.get(template)?.has(name) ?? false)) this.fail(`(e) ${name} was made, but no condition of ${template} fired with ${def.instance}=${value}`);
      if (this.engine.services.get(name)!.env?.[def.instance] !== value) this.fail(`(e) ${name}: its environment has ${def.instance}=${this.engine.services.get(name)!.env?.[def.instance]}`);
      this.count("instance");
    }
  }

  /**
   * What the events want: the engine's triggered set changes only as the conditions
   * fire (or a task's run ends); (c) a target whose stop-on fired last is no longer
   * triggered; (d) a "while" service is triggered exactly while its levels hold; and
   * the wanted set is what the admin's names and the triggers pull in.
   */
  private checkTriggers(fact: Fact): void {
    const e = this.engine;
    // Only a condition firing, a run ending or an admin's command changes the triggered set.
    const command = fact.kind === "start" || fact.kind === "stop" || fact.kind === "restart" || fact.kind === "unwant";
    const ends = fact.kind === "exited" || fact.kind === "spawn-failed" || this.runEnded.size > 0;
    if (!this.fired && !ends && !command && e.triggered.size === this.triggered.size) return;
    const before = this.triggered;
    this.triggered = new Set(e.triggered);
    // A run ends when its main process does (a post-stop may follow), or when the task stops.
    const ended = (t: string): boolean => this.runEnded.has(t) || ((fact.kind === "exited" || fact.kind === "spawn-failed") && fact.service === t && this.def(t).type === "task");
    let changed = false;
    for (const t of e.triggered) {
      if (before.has(t)) continue;
      changed = true;
      if (!this.startFired.has(t)) this.fail(`${t} became triggered on ${showFact(fact)}, with no condition of it firing`);
    }
    for (const t of before) {
      if (e.triggered.has(t)) continue;
      changed = true;
      if (!this.stopFired.has(t) && !ended(t)) this.fail(`${t} is no longer triggered after ${showFact(fact)}, though no stop-on of it fired and no run of it ended`);
    }
    for (const [t, at] of this.stopFired) {
      // (c) Its stop-on fired (and no start-on since, in this step): not wanted for its events any more.
      if (at >= (this.startFired.get(t) ?? -1) && e.triggered.has(t)) this.fail(`(c) ${t}: its stop-on fired, but it is still triggered`);
    }
    // Levels change only with a level fact, and triggers with the conditions.
    for (const def of fact.kind === "level" || changed ? this.model!.whiles : []) {
      const name = def.name;
      // (d) A "while" service follows its levels.
      if (e.triggered.has(name) !== this.model!.whileHolds(def)) {
        this.fail(`(d) ${name} (start-on over levels only) is ${e.triggered.has(name) ? "" : "not "}triggered, but its levels ${this.model!.whileHolds(def) ? "hold" : "do not hold"}`);
      }
    }
    // On big graphs only after commands: recomputing the wanted set is as slow as the engine's own.
    if (command || (changed && this.thorough)) this.checkWanted();
  }

  /**
   * What the admin's names and the triggers pull in through `requires` and `wants`,
   * without `without`'s own trigger; an event-driven service only when named.
   */
  private pulledIn(without: string | null = null): Set<string> {
    const e = this.engine;
    const triggered = (n: string): boolean => n !== without && e.triggered.has(n);
    const stack = [...e.triggered].filter(triggered);
    for (const name of e.explicit) for (const m of members(e.topo, name)) if (m === name || !e.excluded.has(m)) stack.push(m);
    const wanted = new Set<string>();
    while (stack.length > 0) {
      const name = stack.pop()!;
      if (wanted.has(name) || e.stopped.has(name)) continue;
      if (!e.explicit.has(name) && !triggered(name) && waitsForTrigger(this.def(name))) continue;
      wanted.add(name);
      // A hook task does not pull back in a service whose stop waits for it.
      for (const next of [...e.topo.requires.get(name)!, ...e.topo.wants.get(name)!]) {
        if (!e.hookRuns.has(name) || !e.services.get(next)!.announced) stack.push(next);
      }
    }
    return wanted;
  }

  /** The engine's wanted set is up to date with the admin's names and the triggers. */
  private checkWanted(): void {
    const e = this.engine;
    const expected = this.pulledIn();
    for (const n of expected) if (!e.wanted.has(n)) this.fail(`${n} should be wanted (pulled in by the names and triggers), but is not`);
    for (const n of e.wanted) if (!expected.has(n)) this.fail(`${n} is wanted, but nothing pulls it in any more (stale wanted set)`);
  }

  /** Invariant 1 (and ordering): nothing starts before what it requires is up. */
  private checkStart(name: string, role: Role, begins: boolean): void {
    const { topo } = this.engine;
    for (const r of topo.requires.get(name)!) {
      const phase = this.phase.get(r)!;
      if (phase !== "up") this.fail(`invariant 1: ${name} spawned its ${role} while its requirement ${r} is ${phase}`);
      // Up in the world too: a longrun's main process lives and said it is ready;
      // a oneshot has no process (its `up` succeeded and its `down` has not begun).
      const p = this.live.get(r);
      if (this.def(r).type === "longrun" && !(p !== undefined && p.role === "main" && p.ready)) {
        this.fail(`invariant 1: ${name} spawned its ${role} while its requirement ${r} is 'up' but has ${p === undefined ? "no process" : `a ${p.role} process${p.ready ? "" : " not ready"}`}`);
      }
      if (this.def(r).type === "oneshot" && p !== undefined) this.fail(`invariant 1: ${name} spawned its ${role} while its requirement ${r} runs its ${p.role}`);
    }
    if (!begins) return;
    for (const a of topo.after.get(name)!) {
      const phase = this.phase.get(a)!;
      if (phase === "starting" || phase === "running" || phase === "stopping") {
        this.fail(`ordering: ${name} began starting while ${a}, which it is ordered after, is ${phase}`);
      }
    }
  }

  /**
   * Invariant 2 (and ordering): a service stops only once nothing that requires it is
   * active, and nothing ordered after it is stopping. Allowed exceptions, which are
   * not stops of a requirement:
   *  - an admin `restart` bounces the named services at once, leaving their dependents
   *    up (the step of a `restart` fact naming the service, through a bundle or not);
   *  - a service whose start timed out is stopped at once and becomes failed; its
   *    dependents follow through `dependency … failed` (the step of the service's own
   *    start-timeout timer).
   * Not stops either, and so not checked: a service whose main process ended by itself
   * is `stopping` while its post-stop hook runs (a crash, which leaves its dependents
   * alone, see `apply`); and a stop signal sent when a pending spawn is reported
   * (`deferred`) was decided when the stop began, and was checked then.
   */
  private checkStop(name: string, what: string, deferred: boolean): void {
    const f = this.fact!;
    if (f.kind === "restart" && f.names.some((n) => members(this.engine.topo, n).includes(name))) return;
    if (f.kind === "timer" && f.service === name && this.purposeOfFact() === "start-timeout") return;
    if (deferred && f.kind === "spawned" && f.service === name) return;
    const { topo } = this.engine;
    for (const d of topo.requiredBy.get(name)!) {
      const phase = this.phase.get(d)!;
      if (ACTIVE.includes(phase)) this.fail(`invariant 2: ${what} while ${d}, which requires it, is ${phase}`);
    }
    for (const d of topo.before.get(name)!) {
      if (this.phase.get(d) === "stopping") this.fail(`ordering: ${what} while ${d}, which is ordered after it, is still stopping`);
    }
  }

  private spawn(name: string, role: Role, begins: boolean): void {
    const def = this.def(name);
    const other = this.live.get(name);
    if (other !== undefined) this.fail(`invariant 3: ${name} spawned a ${role} while its ${other.role} (pid ${other.pid}) is still alive`);
    if (START_ROLES.includes(role)) this.checkStart(name, role, begins);
    if (role === "down") {
      if (def.type !== "oneshot" || def.down === null) this.fail(`${name}: spawned a 'down' it does not have`);
      this.checkStop(name, `${name} spawned its down`, false);
    }
    if ((role === "pre-start" && def.preStart === null) || (role === "post-stop" && def.postStop === null)) this.fail(`${name}: spawned a ${role} it does not have`);
    if ((role === "main" || role === "pre-start" || role === "post-stop") === (def.type === "oneshot") || (role === "up" && def.type !== "oneshot")) {
      this.fail(`${name}: spawned ${role} for a ${def.type}`);
    }

    const rng = this.rng;
    const p: Proc = {
      pid: this.nextPid++,
      service: name,
      role,
      alive: true,
      reported: false,
      fails: rng.chance(0.04 * this.faults),
      ignoresSignals: rng.chance(0.12 * this.faults),
      ready: false,
    };
    this.procs.set(p.pid, p);
    this.live.set(name, p);
    // Mostly reported at once; sometimes later, so that other facts come in between.
    const at = this.now + (rng.chance(0.8) ? 0 : rng.int(1, 40));
    this.queue.push({ t: at, kind: "spawned", pid: p.pid });
    if (p.fails) return;

    if (role === "main" && def.type === "longrun") {
      const k = this.mains.get(name) ?? 0;
      this.mains.set(name, k + 1);
      if (def.ready.kind === "none") p.ready = true;
      else if (!rng.chance(0.15 * this.faults)) {
        this.queue.push({ t: at + (rng.chance(this.faults) ? rng.int(0, 400) : rng.int(0, 40)), kind: "ready", pid: p.pid });
        if (rng.chance(0.05)) this.queue.push({ t: at + rng.int(0, 800), kind: "ready", pid: p.pid }); // said twice
      }
      // Crashes (or clean exits) become rarer with each incarnation, so that every run ends.
      if (rng.chance(0.35 * this.faults * 0.6 ** k)) {
        const status = weighted<ExitStatus>(rng, [
          [{ code: 1, signal: null }, 4],
          [{ code: 0, signal: null }, 3],
          [{ code: 2, signal: null }, 1],
          [{ code: null, signal: "SIGSEGV" }, 1],
        ]);
        this.queue.push({ t: at + rng.int(0, 2500), kind: "exit", pid: p.pid, status });
      }
      return;
    }
    // Hooks, oneshot up/down and task runs end by themselves, or rarely hang (tasks run
    // on another service's job event more often: their transition has a hook timeout).
    const jobTask = def.type === "task" && def.startOn !== null && JSON.stringify(def.startOn).includes('"kind":"job"');
    if (rng.chance(jobTask ? 0.12 : 0.03 * this.faults)) return;
    const ms = rng.chance(0.1 * this.faults) ? rng.int(300, 4000) : rng.chance(this.faults) ? rng.int(0, 300) : rng.int(0, 30);
    const status = rng.chance(0.15 * this.faults)
      ? rng.pick<ExitStatus>([
          { code: 1, signal: null },
          { code: 1, signal: null },
          { code: 2, signal: null },
          { code: null, signal: "SIGSEGV" },
        ])
      : { code: 0, signal: null };
    this.queue.push({ t: at + ms, kind: "exit", pid: p.pid, status });
  }

  private signal(name: string, pid: number, signal: string): void {
    const p = this.procs.get(pid);
    if (p === undefined || !p.alive || !p.reported || p.service !== name) {
      this.fail(`invariant 3: ${name} signalled pid ${pid} with ${signal}, which is ${p === undefined ? "unknown" : `${p.alive ? "alive" : "dead"}, of ${p.service}`}`);
    }
    const phase = this.phase.get(name)!;
    if (signal === "SIGKILL") {
      if (phase !== "stopping") this.fail(`${name}: SIGKILL while ${phase}`);
      const f = this.fact!;
      const purpose = this.purposeOfFact();
      if (f.kind !== "timer" || f.service !== name || purpose !== "stop-timeout") {
        this.fail(`${name}: SIGKILL on ${showFact(f)}${purpose === undefined ? "" : ` (a ${purpose})`}, not on its stop timeout`);
      }
      this.queue.push({ t: this.now + this.rng.int(0, 3), kind: "exit", pid, status: { code: null, signal: "SIGKILL" } });
      return;
    }
    // A stop-side hook (oneshot `down`, `post-stop`) is the stop itself: it is killed only after the stop timeout.
    if (p.role === "down" || p.role === "post-stop") this.fail(`${name}: sent ${signal} to its ${p.role} hook (pid ${pid})`);
    if (phase !== "stopping") this.fail(`${name}: sent ${signal} while ${phase}`);
    this.checkStop(name, `${name} was sent ${signal}`, true);
    if (p.ignoresSignals) return;
    const status: ExitStatus = this.rng.chance(0.7) ? { code: null, signal } : { code: 0, signal: null };
    this.queue.push({ t: this.now + this.rng.int(0, 300), kind: "exit", pid, status });
  }

  // ---- state checks

  /** Invariant 3: the engine and the world agree on every service's process and phase. */
  consistent(names: Iterable<string>): void {
    for (const name of names) {
      const s = this.engine.services.get(name);
      if (s === undefined) continue; // a bundle
      if (this.phase.get(name) !== s.phase) this.fail(`${name}: phase ${s.phase}, but the changed actions said ${this.phase.get(name)}`);
      const p = this.live.get(name);
      if (p === undefined) {
        if (s.pid !== null || s.role !== null) this.fail(`${name}: the engine tracks ${s.role} pid ${s.pid}, the world has no process`);
      } else if (s.role !== p.role || s.pid !== (p.reported ? p.pid : null)) {
        this.fail(`${name}: the engine tracks ${s.role} pid ${s.pid}, the world has ${p.role} pid ${p.pid}${p.reported ? "" : " (spawn not reported yet)"}`);
      }
      if (s.phase === "down" || s.phase === "failed") {
        if (p !== undefined) this.fail(`${name}: ${s.phase} with a live ${p.role} process`);
        if (s.delayed) this.fail(`${name}: ${s.phase} but waiting to restart`);
      }
      if (s.delayed && s.phase !== "starting") this.fail(`${name}: waiting to restart while ${s.phase}`);
    }
  }

  /**
   * Services that legitimately stay where they are with nothing pending: a live
   * process that will do nothing more by itself (never ready, hung, or ignoring the
   * stop signal) when the timeout that would end it is `none`. Anything else still
   * alive or in transition when no event is left is stuck: a failure.
   */
  private hung(): Set<string> {
    const roots = new Set<string>();
    for (const name of this.engine.topo.names) {
      const s = this.engine.services.get(name)!;
      const def = this.def(name);
      const p = this.live.get(name);
      if (p !== undefined && s.phase === "up" && p.role === "main" && p.ready) continue; // a daemon running, as it should
      if (s.phase !== "starting" && s.phase !== "running" && s.phase !== "stopping" && p === undefined) continue;
      const timeout = s.phase === "stopping" ? def.stopTimeoutMs : s.phase === "starting" || s.phase === "running" ? def.startTimeoutMs : undefined;
      if (p !== undefined && timeout === null) {
        roots.add(name);
        continue;
      }
      this.fail(
        `stuck: ${name} (${def.type}) is ${s.phase}${s.reason === null ? "" : ` (${s.reason})`} with ${p === undefined ? "no process" : `a live ${p.role} process`} and nothing pending`,
      );
    }
    return roots;
  }

  private stopping(names: Iterable<string>): string[] {
    return [...names].filter((name) => this.engine.services.get(name)!.phase === "stopping");
  }

  /** `roots` and everything reached from them along `edges`. */
  private closure(roots: Iterable<string>, ...edges: ReadonlyMap<string, readonly string[]>[]): Set<string> {
    const seen = new Set(roots);
    const stack = [...seen];
    while (stack.length > 0) {
      const name = stack.pop()!;
      for (const map of edges) {
        for (const next of map.get(name)!) {
          if (!seen.has(next)) {
            seen.add(next);
            stack.push(next);
          }
        }
      }
    }
    return seen;
  }

  /** A service that cannot come up until an admin acts: failed, or ended by itself and held. */
  private blocked(name: string): boolean {
    const s = this.engine.services.get(name)!;
    return s.phase === "failed" || (s.phase === "down" && s.held);
  }

  /** Invariant 4: quiet, with commands over: what is wanted is up (and so is all it requires), or failed (or held) with a reason. */
  checkSettled(): void {
    this.consistent(this.engine.topo.names);
    const { topo } = this.engine;
    const roots = this.hung();
    // What waits for a hung service: what requires it or is ordered after it.
    const waiting = this.closure(roots, topo.requiredBy, topo.before);
    // What a stop that hangs keeps from stopping: what it requires or is ordered after.
    const kept = this.closure(this.stopping(roots), topo.requires, topo.after);
    // A restart's bounce group comes back only when all of it is down: a group that a
    // hung service keeps up keeps all of it (and what waits for it) waiting.
    // What waits for an event that has not come (or has gone): a requirement that only its
    // event or schedule starts, and that is not wanted, keeps what requires it down.
    const untriggered = topo.names.filter((n) => waitsForTrigger(this.def(n)) && !this.engine.wanted.has(n));
    const awaiting = this.closure(untriggered, topo.requiredBy);
    const excused = new Set([...waiting, ...kept]);
    const held = new Set<Set<string>>();
    for (let grew = true; grew; ) {
      grew = false;
      for (const group of this.engine.bounces) {
        if (held.has(group) || ![...group].some((n) => excused.has(n))) continue;
        held.add(group);
        for (const n of this.closure(group, topo.requiredBy, topo.before)) excused.add(n);
        grew = true;
      }
    }
    for (const name of topo.names) {
      if (excused.has(name)) continue;
      const s = this.engine.services.get(name)!;
      const def = this.def(name);
      const why = `${name} (${def.type}) is ${s.phase}${s.held ? ", held" : ""}${s.reason === null ? "" : ` (${s.reason})`}`;
      if (this.engine.wanted.has(name) && awaiting.has(name) && !this.engine.hookRuns.has(name)) {
        if (s.phase !== "down" && s.phase !== "failed") this.fail(`invariant 4: wanted, but it requires what waits for its event, and ${why}`);
      } else if (this.engine.wanted.has(name)) {
        const asked = this.askedWhileStopping.get(name);
        if (s.held && asked !== undefined && (this.began.get(name) ?? -1) < asked) {
          this.fail(`invariant 4: an admin started ${name} at step ${asked} while it was stopping; it is ${s.phase}, held (${s.reason}), and never started again`);
        }
        if (s.phase === "up" && def.type !== "task") {
          // Up means everything it requires is up: a failure anywhere below takes it down (DESIGN.md).
          const broken = requirementsOf(topo, name).find((r) => r !== name && this.blocked(r));
          if (broken !== undefined) this.fail(`invariant 4: ${why}, but ${broken}, which it requires, is ${this.engine.services.get(broken)!.phase} (${this.engine.services.get(broken)!.reason})`);
          continue;
        }
        if ((s.phase === "failed" || (s.phase === "down" && s.held)) && s.reason !== null && s.reason !== "") continue;
        this.fail(`invariant 4: wanted, but ${why}`);
      } else if (s.phase !== "down" && s.phase !== "failed") {
        this.fail(`invariant 4: not wanted, but ${why}`);
      }
    }
  }

  /**
   * (d) Quiet: a service whose `start-on` is levels only (and has no `stop-on`) is wanted
   * exactly while its levels match, unless an admin stopped it since, or something else
   * (an admin's start, a requirement) wants it.
   */
  checkLevels(): void {
    if (this.model === null) return;
    const e = this.engine;
    for (const def of this.model.whiles) {
      const holds = this.model.whileHolds(def);
      const wanted = e.wanted.has(def.name);
      if (holds && !wanted && !e.stopped.has(def.name)) this.fail(`(d) ${def.name}: its levels hold, but it is not wanted`);
      if (!holds && wanted && !this.pulledIn(def.name).has(def.name)) this.fail(`(d) ${def.name}: its levels do not hold, but it is wanted`);
    }
  }

  /** Invariant 5: after shutdown, everything is down or failed and no process is left. */
  checkShutDown(): void {
    this.consistent(this.engine.topo.names);
    const { topo } = this.engine;
    // Only a stop that waits forever (no stop timeout) may keep anything: itself, and
    // what it requires or is ordered after.
    const kept = this.closure(this.stopping(this.hung()), topo.requires, topo.after);
    for (const name of topo.names) {
      if (kept.has(name)) continue;
      const s = this.engine.services.get(name)!;
      const p = this.live.get(name);
      if (s.phase !== "down" && s.phase !== "failed") {
        this.fail(`invariant 5: after shutdown ${name} is ${s.phase}${p === undefined ? "" : ` with a live ${p.role} process`}`);
      }
      if (p !== undefined) this.fail(`invariant 5: after shutdown ${name} still has a live ${p.role} process`);
    }
  }
}

/** The status a shell gives a process's end: its code, or 128 + the number of the signal that killed it. */
function shellStatus(status: ExitStatus): number {
  const numbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15 };
  if (status.code !== null) return status.code;
  const n = numbers[status.signal!];
  if (n === undefined) throw new Error(`the world sent a signal the sim has no number for: ${status.signal}`);
  return 128 + n;
}

const isSuccess = (def: ServiceDef, status: ExitStatus): boolean =>
  def.successExit.some((x) => (typeof x === "number" ? status.code === x : status.signal === x));

/** The service (or instance) a job event is about: an instance's come under its template's name, with INSTANCE. */
const jobOf = (o: { service: string; values: Readonly<Record<string, string>> }): string =>
  o.values.INSTANCE === undefined ? o.service : `${o.service}@${o.values.INSTANCE}`;

const showFact = (f: Fact): string => {
  switch (f.kind) {
    case "start":
    case "stop":
    case "restart":
    case "unwant":
      return `${f.kind} ${f.names.join(" ")}`;
    case "boot":
      return `boot ${f.names.join(" ")}${f.policy.exitWith === null ? "" : ` exit-with ${f.policy.exitWith}`} on-boot-failure ${f.policy.onBootFailure}`;
    case "shutdown":
      return "shutdown";
    case "apply":
      return `apply ${f.db.digest}`;
    case "spawned":
      return `spawned ${f.service} ${f.pid}`;
    case "spawn-failed":
      return `spawn-failed ${f.service}`;
    case "ready":
      return `ready ${f.service} ${f.pid}`;
    case "exited":
      return `exited ${f.service} ${f.pid} ${f.status.signal ?? f.status.code}`;
    case "timer":
      return `timer ${f.service} #${f.token}`;
    case "adopted":
      return `adopted ${f.service} ${f.process === null ? "-" : `${f.process.role} ${f.process.pid}${f.process.ready ? " ready" : ""}`}${f.exit === null ? "" : ` exit ${f.exit.pid}`}`;
    case "event":
      return `event ${f.name} ${JSON.stringify(f.values)}`;
    case "level":
      return `level ${f.name}=${f.value}`;
    case "scheduled":
      return `scheduled ${f.service}`;
    case "signal":
      return `signal ${f.service} ${f.signal}`;
  }
};

const showAction = (a: Action): string => {
  switch (a.kind) {
    case "spawn":
      return `spawn ${a.service} ${a.role}`;
    case "signal":
      return `signal ${a.service} ${a.pid} ${a.signal}`;
    case "kill":
      return `kill ${a.service}`;
    case "arm":
      return `arm ${a.service} #${a.token} ${a.ms}ms ${a.purpose}`;
    case "changed":
      return `${a.service}→${a.phase}${a.reason === null ? "" : ` (${a.reason})`}`;
    case "delay":
      return `delay ${a.service} ${a.ms}ms`;
    case "affected":
      return `affected by ${a.command}: ${a.services.join(" ")}`;
    case "switched":
      return `switched to ${a.db.digest}`;
    case "occurred":
      return `occurred ${a.what.kind === "job" ? `${a.what.verb} ${jobOf(a.what)}` : "service" in a.what ? `${a.what.kind} ${a.what.service}` : `${a.what.kind} ${a.what.name}${a.what.kind === "level" ? `=${a.what.value}` : ""}`}${a.started.length ? ` started ${a.started.join(",")}` : ""}${a.skipped.length ? ` skipped ${a.skipped.join(",")}` : ""}${a.stopped.length ? ` stopped ${a.stopped.join(",")}` : ""}`;
  }
};

// ---------------------------------------------------------------------------------
// A run

/** Admin commands at random times: start, stop, restart, disable (unwant) of services and bundles. */
function commands(rng: Random, db: Database, count: number, until: number): { t: number; fact: Fact }[] {
  const names = Object.keys(db.services);
  const out: { t: number; fact: Fact }[] = [];
  if (rng.chance(0.85)) out.push({ t: 0, fact: rng.chance(0.5) ? { kind: "start", names: ["default"] } : bootFact(rng, db) });
  for (let i = 0; i < count; i++) {
    const t = rng.int(0, until);
    const picked = Array.from({ length: weighted(rng, [[1, 70], [2, 20], [3, 10]] as const) }, () => rng.pick(names));
    const kind = weighted(rng, [
      ["start", 35],
      ["stop", 25],
      ["restart", 20],
      ["default", 15],
      ["stop-default", 5],
      ["unwant", 5],
    ] as const);
    const fact: Fact =
      kind === "default" ? { kind: "start", names: ["default"] } : kind === "stop-default" ? { kind: "stop", names: ["default"] } : { kind, names: picked };
    out.push({ t, fact });
  }
  return out;
}

/** A boot of `default`, with an exit-with service (a longrun or a task) and `on-boot-failure = stop` now and then. */
function bootFact(rng: Random, db: Database): Fact {
  const runs = Object.values(db.services).filter((d) => d.type === "longrun" || d.type === "task").map((d) => d.name);
  const exitWith = runs.length > 0 && rng.chance(0.35) ? rng.pick(runs) : null;
  return { kind: "boot", names: ["default"], policy: { exitWith, onBootFailure: rng.chance(0.35) ? "stop" : "report" } };
}

export interface SimOptions {
  /** Check every service after every step (slow on big graphs). */
  thorough?: boolean;
  /** Show every step in the failure report, not only the last 30. */
  trace?: boolean;
}

export function simulate(scenario: Scenario, options: SimOptions = {}): SimResult {
  const { seed, size } = scenario;
  // Separate streams, so that a change to how the world behaves keeps the same databases.
  const events = random(seed ^ 0x2545f491);
  const db = generateDatabase(random(seed), size, events.chance(0.75) ? events : null);
  const rng = random(seed ^ 0x5bd1e995);
  const sim = new Sim(db, rng, scenario, options.thorough ?? size <= 60, options.trace === true ? Infinity : 30, scenario.faults ?? rng.pick([1, 1, 0.3, 0.05]));
  const limit = 200_000 + size * 500;
  try {
    const count = size > 100 ? rng.int(10, 40) : rng.int(1, 12);
    for (const { t, fact } of commands(rng, db, count, 4000)) sim.queue.push({ t, kind: "command", fact });
    if (sim.model !== null) {
      // The world's events, level changes and clock runs, as many as the commands or more.
      const clockTasks = Object.values(db.services).filter((d) => d.schedule !== null && d.schedule.kind !== "after").map((d) => d.name);
      for (const { t, fact } of worldFacts(rng, clockTasks, rng.int(1, size > 100 ? 40 : 25), 4000)) sim.queue.push({ t, kind: "command", fact });
    }
    sim.run(limit);
    // A boot that ended is shutting down already: what is left to check is that it did.
    if (!sim.engine.shuttingDown) {
      sim.checkSettled();
      sim.checkLevels();
      sim.checkBoot();
      sim.queue.push({ t: sim.now + 1, kind: "command", fact: { kind: "shutdown" } });
      sim.run(limit);
    }
    sim.checkShutDown();
    return { scenario, digest: sim.hash, steps: sim.steps, failure: null, counts: sim.counts };
  } catch (e) {
    if (!(e instanceof Failure)) throw e;
    return { scenario, digest: sim.hash, steps: sim.steps, failure: sim.report(e.message), counts: sim.counts };
  }
}
