// A model of the conditions: for every occurrence the engine reports (an edge event, a
// level change, a job event, a schedule), which `start-on`, `stop-on` and `after`
// schedules it must have fired, written from the conditions alone. An apply replaces
// the services it watches: what is added or changed starts with no latches, and sees
// the levels as they are.

import type { Condition } from "../../../src/config/condition.js";
import type { ServiceDef } from "../../../src/config/service.js";
import { argumentOf, argumentProblem, instanceName, isTemplateDef } from "../../../src/config/template.js";
import { bindCondition, holds, levelsOnly, mentionsLevel, observe, occurrenceKey, watchKeys, type Latches, type Occurrence } from "../../../src/events/conditions.js";
import { templateOf } from "./graph.js";

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
const isWhile = (def: ServiceDef): boolean => def.startOn !== null && def.stopOn === null && levelsOnly(def.startOn);

/** The environment variable a level's value is given in: `net.eth0` → `net_eth0`. */
const levelKey = (level: string): string => level.replace(/[^A-Za-z0-9_]/g, "_");

export class EventModel {
  /** The services with a condition or an `after` schedule, by what they watch (`event:…`, `job:…`, `level:…`). */
  private watching = new Map<string, ServiceDef[]>();
  /** The services that follow their levels (see `isWhile`), tasks aside. */
  whiles: ServiceDef[] = [];
  /** Each instance's `stop-on`, bound to its value. */
  private readonly boundStopOn = new Map<string, Condition>();
  private readonly startLatches = new Map<string, Latches>();
  private readonly scheduleLatches = new Map<string, Latches>();
  private readonly stopLatches = new Map<string, Latches>();
  private readonly levelsHeld = new Set<string>();
  /** Instances made so far, by template, each with its KEY value. */
  readonly instances = new Map<string, Map<string, string>>();
  readonly levels = new Map<string, string>();

  /** `existing`: the instances of a template there are (compiled, made by name or by events), whose `stop-on` each sees. */
  constructor(
    defs: Iterable<ServiceDef>,
    private readonly existing: (template: string) => readonly string[] = () => [],
  ) {
    this.watch(defs);
  }

  get empty(): boolean {
    return this.watching.size === 0;
  }

  private watch(defs: Iterable<ServiceDef>): void {
    // An instance the files name watches nothing of its own: its template's conditions are the ones that fire.
    const all = [...defs].filter((d) => d.type !== "bundle" && d.template === null);
    this.watching = new Map();
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

  occur(occurrence: Occurrence): Expected {
    return this.react(this.watching.get(occurrenceKey(occurrence)), occurrence, () => true, {});
  }

  level(name: string, value: string | null): Expected {
    if (value === null) this.levels.delete(name);
    else this.levels.set(name, value);
    // Only the conditions that mention the level can change with it.
    return this.react(this.watching.get(`level:${name}`), null, (c) => mentionsLevel(c, name), { [levelKey(name)]: value ?? "", TEND_EVENT: name });
  }

  scheduled(def: ServiceDef, env: Record<string, string>): Expected {
    return { starts: [this.target(def, env)], stops: [], delays: [] };
  }

  /**
   * The database became `defs`: `renewed` (removed or changed, instances of those
   * included) forget what they saw, and what is `arriving` (added or changed) sees the
   * levels as they are, as if they had just been set.
   */
  switched(defs: Iterable<ServiceDef>, renewed: ReadonlySet<string>, arriving: readonly ServiceDef[]): Expected {
    this.watch(defs);
    for (const name of renewed) {
      for (const map of [this.startLatches, this.scheduleLatches, this.stopLatches]) map.delete(name);
      this.levelsHeld.delete(name);
      this.boundStopOn.delete(name);
      this.instances.get(templateOf(name))?.delete(name);
      if (templateOf(name) === name) this.instances.delete(name);
    }
    const out: Expected = { starts: [], stops: [], delays: [] };
    for (const def of arriving) {
      if (def.startOn === null) continue;
      const startOn = def.startOn;
      const env = Object.fromEntries([...this.levels].filter(([level]) => mentionsLevel(startOn, level)).map(([level, value]) => [levelKey(level), value]));
      if (Object.keys(env).length === 0) continue;
      const seen = this.react([def], null, () => true, env);
      out.starts.push(...seen.starts);
      out.stops.push(...seen.stops);
      out.delays.push(...seen.delays);
    }
    return out;
  }

  /** Does a "while" service's condition hold with the current levels? */
  whileHolds(def: ServiceDef): boolean {
    return holds(def.startOn!, new Map(), this.levels);
  }

  /** An instance's `stop-on` with `$INSTANCE` (and `$KEY`) its own argument. */
  private bound(def: ServiceDef, target: string): Condition {
    const argument = argumentOf(target, def.name);
    return bindCondition(def.stopOn!, def.instance === null ? { INSTANCE: argument } : { INSTANCE: argument, [def.instance]: argument });
  }

  private latches(map: Map<string, Latches>, key: string): Latches {
    let l = map.get(key);
    if (l === undefined) map.set(key, (l = new Map()));
    return l;
  }

  private target(def: ServiceDef, env: Record<string, string>): { service: string; target: string | null } {
    if (def.instance === null) return { service: def.name, target: def.name };
    const value = Object.hasOwn(env, def.instance) ? env[def.instance] : undefined;
    // A template by name makes an instance only for a value that may be an argument.
    if (value === undefined || value === "" || (isTemplateDef(def) && argumentProblem(value) !== null)) return { service: def.name, target: null };
    const target = instanceName(def.name, value);
    let made = this.instances.get(def.name);
    if (made === undefined) this.instances.set(def.name, (made = new Map()));
    if (!made.has(target)) {
      made.set(target, value);
      if (def.stopOn !== null) this.boundStopOn.set(target, this.bound(def, target));
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
        const existing = def.instance === null && made.size === 0 ? [] : this.existing(name);
        for (const target of existing.length === 0 ? [name, ...made.keys()] : new Set([name, ...made.keys(), ...existing])) {
          const bound = target === name ? def.stopOn : (this.boundStopOn.get(target) ?? this.bound(def, target));
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
}
