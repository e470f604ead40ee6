// The event side of the simulation (see sim.ts): conditions and schedules added to a
// random database, the facts the world emits (edge events, level changes, clock
// schedules), and a model of the conditions that says, for every occurrence the
// engine reports, which `start-on`, `stop-on` and `after` schedules it must have fired.
//
// The database stays free of loops that a user could write on purpose (a task run on
// `stopped X` that wants X again runs forever, and rightly so): a condition on the job
// events of another service belongs either to a hook task (`starting X`, `stopping X`,
// which may require X and nothing else) or to a leaf, a service that requires and
// wants nothing and is required by nothing; both name only services before them, so
// that job events set off runs further down the list only. Instance
// templates are never required either (a requirement on `mount` cannot say which
// `mount@…` it means). Everything else may be as tangled as the generator makes it.

import type { Condition, JobVerb } from "../../src/config/condition.js";
import type { Reference, ServiceDef } from "../../src/config/service.js";
import { bindCondition, holds, levelsOnly, mentionsLevel, observe, occurrenceKey, watchKeys, type Latches, type Occurrence } from "../../src/events/conditions.js";
import type { Fact } from "../../src/engine/types.js";
import type { Random } from "./sim.js";

const DEVNAMES = ["/dev/sda", "/dev/sdb", "/dev/sdc1"] as const;
const EVENT_NAMES = ["block-added", "block-removed", "wake", "tick"] as const;
const LEVELS: Readonly<Record<string, readonly string[]>> = {
  "net.eth0": ["up", "down"],
  power: ["ac", "battery"],
  mode: ["normal", "rescue", "maint"],
};
const LEVEL_NAMES = Object.keys(LEVELS);
const VERBS: readonly JobVerb[] = ["starting", "started", "stopping", "stopped"];

function weighted<T>(rng: Random, choices: readonly (readonly [T, number])[]): T {
  const total = choices.reduce((s, [, w]) => s + w, 0);
  let x = rng.next() * total;
  for (const [value, w] of choices) if ((x -= w) < 0) return value;
  return choices[choices.length - 1]![0];
}

function eventAtom(rng: Random): Condition {
  const match = weighted<Record<string, string>>(rng, [
    [{}, 40],
    [{ DEVNAME: "/dev/sd*" }, 25],
    [{ DEVNAME: rng.pick(DEVNAMES) }, 20],
    [{ FS: "ext*" }, 15],
  ]);
  return { kind: "event", name: rng.pick(EVENT_NAMES), match };
}

function levelAtom(rng: Random): Condition {
  const name = rng.pick(LEVEL_NAMES);
  return { kind: "level", name, value: rng.chance(0.15) ? "*" : rng.pick(LEVELS[name]!) };
}

/** A condition over what the world emits (edge events and levels), no job events. */
function outside(rng: Random, levels: boolean, events: boolean, depth = 0): Condition {
  const atom = (): Condition => (levels && (!events || rng.chance(0.45)) ? levelAtom(rng) : eventAtom(rng));
  const shape = depth > 0 ? "atom" : weighted(rng, [["atom", 70], ["and", 15], ["or", 15]] as const);
  if (shape === "atom") return atom();
  return { kind: shape, of: [outside(rng, levels, events, depth + 1), outside(rng, levels, events, depth + 1)] };
}

const job = (verb: JobVerb, service: string, match: Record<string, string> = {}): Condition => ({ kind: "job", verb, service, match });

/** What a decorated service is: see the cases of `decorate`. */
type EventRole = "event" | "while" | "stop-only" | "instance" | "hook" | "leaf" | "after" | "every";

/**
 * Give some of the services conditions and schedules (in place), and drop the
 * requirements the rules above forbid. `defs` are the generated services in index
 * order (bundles included), before the graph is resolved.
 */
export function decorate(rng: Random, defs: ServiceDef[]): void {
  // Fewer on big graphs, where every trigger recomputes what is wanted.
  const density = rng.pick([0.08, 0.2, 0.35]) / (defs.length > 500 ? 3 : 1);
  const index = new Map(defs.map((d, i) => [d.name, i]));
  const runnable = defs.filter((d) => d.type !== "bundle");
  const unrequirable = new Set<string>();
  for (let i = 0; i < defs.length; i++) {
    const def = defs[i]!;
    if (def.type === "bundle" || !rng.chance(density)) continue;
    const earlier = runnable.filter((d) => index.get(d.name)! < i);
    const role = weighted<EventRole>(rng, [
      ["event", 30],
      ["while", def.type === "task" ? 0 : 15],
      ["stop-only", 8],
      ["instance", def.type === "oneshot" ? 0 : 12],
      ["hook", def.type === "task" && earlier.length > 0 ? 45 : 0],
      ["leaf", earlier.length > 0 ? 20 : 0],
      ["after", def.type === "task" ? 15 : 0],
      ["every", def.type === "task" ? 8 : 0],
    ]);
    switch (role) {
      case "event":
        def.startOn = outside(rng, true, true);
        if (rng.chance(0.5)) def.stopOn = outside(rng, true, true);
        break;
      case "while":
        def.startOn = outside(rng, true, false);
        break;
      case "stop-only":
        def.stopOn = outside(rng, true, true);
        break;
      case "instance": {
        def.instance = "DEVNAME";
        const added: Condition = { kind: "event", name: "block-added", match: { DEVNAME: rng.pick(["/dev/sd*", "*"]) } };
        def.startOn = rng.chance(0.75) ? added : { kind: "and", of: [added, levelAtom(rng)] };
        if (def.type === "task" && rng.chance(0.3)) {
          // Its runs come a little after the device does, one per device.
          def.startOn = null;
          def.schedule = { kind: "after", delayMs: rng.int(0, 300), event: added };
        }
        const removed: Condition = { kind: "event", name: "block-removed", match: { DEVNAME: "$DEVNAME" } };
        def.stopOn = weighted<Condition | null>(rng, [
          [removed, 60],
          [null, 25],
          [levelAtom(rng), 15],
        ]);
        unrequirable.add(def.name);
        break;
      }
      case "hook": {
        // A task run on another service's transition, which waits for it (up to its start timeout).
        const x = rng.pick(earlier);
        const verb = rng.chance(0.6) ? "stopping" : "starting";
        def.startOn = rng.chance(0.85) ? job(verb, x.name) : { kind: "or", of: [job(verb, x.name), job(rng.pick(["starting", "stopping"] as const), rng.pick(earlier).name)] };
        def.startTimeoutMs = weighted<number | null>(rng, [
          [rng.int(50, 600), 80],
          [null, 20],
        ]);
        def.requires = [];
        def.wants = [];
        // What a hook of a stop needs may be the service that stops: it stays up for it.
        if (x.type !== "task" && !unrequirable.has(x.name) && rng.chance(0.3)) def.requires.push(ref(x.name));
        break;
      }
      case "leaf": {
        const x = rng.pick(earlier);
        const verb = rng.pick(VERBS.filter((v) => def.type === "task" || v === "started" || v === "stopped"));
        const on = job(verb, x.name, verb === "stopped" && rng.chance(0.25) ? { RESULT: "ok" } : {});
        def.startOn = rng.chance(0.7) ? on : { kind: rng.pick(["and", "or"] as const), of: [on, outside(rng, true, true, 1)] };
        if (def.type !== "task" && rng.chance(0.6)) def.stopOn = job(verb === "started" ? "stopped" : "started", rng.pick(earlier).name);
        def.requires = [];
        def.wants = [];
        unrequirable.add(def.name);
        break;
      }
      case "after": {
        const leaf = earlier.length > 0 && rng.chance(0.4);
        def.schedule = { kind: "after", delayMs: rng.int(0, 400), event: leaf ? job(rng.pick(["started", "stopped"] as const), rng.pick(earlier).name) : outside(rng, true, true) };
        if (leaf) {
          def.requires = [];
          def.wants = [];
        }
        break;
      }
      case "every":
        def.schedule = { kind: "every", intervalMs: 1000 };
        break;
    }
  }
  // No requirement on what may not be required, directly or through a bundle.
  const holds = new Set(unrequirable);
  for (const def of defs) {
    if (def.type === "bundle" && def.contents.some((r) => holds.has(r.name))) holds.add(def.name);
  }
  for (const def of defs) def.requires = def.requires.filter((r) => !holds.has(r.name));
}

const ref = (name: string): Reference => ({ name, line: 1, col: 1 });

/** The services a condition names after a job verb, for the compiler's reference check. */
export function conditionRefs(def: ServiceDef): Reference[] {
  const out: Reference[] = [];
  const walk = (c: Condition | null): void => {
    if (c === null) return;
    if (c.kind === "and" || c.kind === "or") c.of.forEach(walk);
    else if (c.kind === "job") out.push(ref(c.service));
  };
  walk(def.startOn);
  walk(def.stopOn);
  walk(def.schedule?.kind === "after" ? def.schedule.event : null);
  return out;
}

/** Edge events, level changes and clock runs at random times in [0, until]. */
export function worldFacts(rng: Random, clockTasks: readonly string[], count: number, until: number): { t: number; fact: Fact }[] {
  const out: { t: number; fact: Fact }[] = [];
  for (let i = 0; i < count; i++) {
    const t = rng.int(0, until);
    const kind = weighted(rng, [
      ["event", 55],
      ["level", 35],
      ["scheduled", clockTasks.length > 0 ? 10 : 0],
    ] as const);
    if (kind === "event") {
      const values: Record<string, string> = {};
      if (rng.chance(0.75)) values.DEVNAME = rng.pick(DEVNAMES);
      if (rng.chance(0.4)) values.FS = rng.pick(["ext4", "vfat"]);
      if (rng.chance(0.2)) values.N = String(rng.int(1, 3));
      out.push({ t, fact: { kind: "event", name: rng.pick(EVENT_NAMES), values } });
    } else if (kind === "level") {
      const name = rng.pick(LEVEL_NAMES);
      out.push({ t, fact: { kind: "level", name, value: rng.chance(0.15) ? null : rng.pick(LEVELS[name]!) } });
    } else {
      out.push({ t, fact: { kind: "scheduled", service: rng.pick(clockTasks), env: { TEND_EVENT: "schedule", TEND_DUE: new Date(t).toISOString() } } });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------
// The model: what each occurrence must fire

/** What one occurrence fires, by the rules of the conditions alone. */
export interface Expected {
  /** Triggers: the target (an instance for a template), or null when the event does not say which instance. */
  starts: { service: string; target: string | null }[];
  /** Targets whose `stop-on` fired, or whose "while" levels stopped holding. */
  stops: string[];
  /** `after` schedules whose event came: a `delay` action each. */
  delays: { service: string; env: Record<string, string> }[];
}

/** A service whose `start-on` is levels only, with no `stop-on`: wanted exactly while its levels match. */
export const isWhile = (def: ServiceDef): boolean => def.startOn !== null && def.stopOn === null && levelsOnly(def.startOn);

export class EventModel {
  /** The services with a condition or an `after` schedule, by what they watch (`event:…`, `job:…`, `level:…`). */
  private readonly watching = new Map<string, ServiceDef[]>();
  /** Each instance's `stop-on`, bound to its value. */
  private readonly boundStopOn = new Map<string, Condition>();
  /** The services that follow their levels (see `isWhile`), tasks aside. */
  readonly whiles: ServiceDef[];
  private readonly startLatches = new Map<string, Latches>();
  private readonly scheduleLatches = new Map<string, Latches>();
  private readonly stopLatches = new Map<string, Latches>();
  private readonly levelsHeld = new Set<string>();
  /** Instances made so far, by template, each with its KEY value. */
  readonly instances = new Map<string, Map<string, string>>();
  readonly levels = new Map<string, string>();

  constructor(defs: Iterable<ServiceDef>) {
    const all = [...defs].filter((d) => d.type !== "bundle");
    for (const def of all) {
      const conditions = [def.startOn, def.stopOn, def.schedule?.kind === "after" ? def.schedule.event : null];
      for (const key of new Set(conditions.flatMap((c) => (c === null ? [] : watchKeys(c))))) {
        let list = this.watching.get(key);
        if (list === undefined) this.watching.set(key, (list = []));
        list.push(def);
      }
    }
    this.whiles = all.filter((d) => d.type !== "task" && isWhile(d));
  }

  get empty(): boolean {
    return this.watching.size === 0;
  }

  occur(occurrence: Occurrence): Expected {
    return this.react(this.watching.get(occurrenceKey(occurrence)), occurrence, () => true, {});
  }

  level(name: string, value: string | null): Expected {
    if (value === null) this.levels.delete(name);
    else this.levels.set(name, value);
    // Only the conditions that mention the level can change with it.
    return this.react(this.watching.get(`level:${name}`), null, (c) => mentionsLevel(c, name), { [name.replace(/[^A-Za-z0-9_]/g, "_")]: value ?? "", TEND_EVENT: name });
  }

  scheduled(def: ServiceDef, env: Record<string, string>): Expected {
    return { starts: [this.target(def, env)], stops: [], delays: [] };
  }

  private latches(map: Map<string, Latches>, key: string): Latches {
    let l = map.get(key);
    if (l === undefined) map.set(key, (l = new Map()));
    return l;
  }

  private target(def: ServiceDef, env: Record<string, string>): { service: string; target: string | null } {
    if (def.instance === null) return { service: def.name, target: def.name };
    const value = env[def.instance];
    if (value === undefined || value === "") return { service: def.name, target: null };
    const target = `${def.name}@${value}`;
    let made = this.instances.get(def.name);
    if (made === undefined) this.instances.set(def.name, (made = new Map()));
    if (!made.has(target)) {
      made.set(target, value);
      if (def.stopOn !== null) this.boundStopOn.set(target, bindCondition(def.stopOn, { [def.instance]: value }));
    }
    return { service: def.name, target };
  }

  private react(watching: readonly ServiceDef[] | undefined, occurrence: Occurrence | null, concerns: (c: Condition) => boolean, levelEnv: Record<string, string>): Expected {
    const out: Expected = { starts: [], stops: [], delays: [] };
    for (const def of watching ?? []) {
      const name = def.name;
      if (def.startOn !== null && concerns(def.startOn)) {
        if (occurrence === null && isWhile(def)) {
          const now = holds(def.startOn, new Map(), this.levels);
          const before = this.levelsHeld.has(name);
          if (now && !before) out.starts.push(this.target(def, levelEnv));
          if (!now && before && def.type !== "task") out.stops.push(name);
          if (now) this.levelsHeld.add(name);
          else this.levelsHeld.delete(name);
        } else {
          const fired = observe(def.startOn, this.latches(this.startLatches, name), occurrence, this.levels);
          if (fired !== null) out.starts.push(this.target(def, { ...levelEnv, ...fired.env }));
        }
      }
      if (def.stopOn !== null && concerns(def.stopOn)) {
        const made = this.instances.get(name) ?? new Map<string, string>();
        for (const target of [name, ...made.keys()]) {
          const bound = target === name ? def.stopOn : this.boundStopOn.get(target)!;
          if (observe(bound, this.latches(this.stopLatches, target), occurrence, this.levels) !== null) out.stops.push(target);
        }
      }
      if (def.schedule?.kind === "after" && concerns(def.schedule.event)) {
        const fired = observe(def.schedule.event, this.latches(this.scheduleLatches, name), occurrence, this.levels);
        if (fired !== null) out.delays.push({ service: name, env: { ...levelEnv, ...fired.env } });
      }
    }
    return out;
  }

  /** Does a "while" service's condition hold with the current levels? */
  whileHolds(def: ServiceDef): boolean {
    return holds(def.startOn!, new Map(), this.levels);
  }
}
