// Events decide when something is wanted (docs/DESIGN.md, "Events"): an edge event, a
// level change or a job event that makes a `start-on` true triggers its service, a
// `stop-on` untriggers it, an `after` schedule arms its delay.

import type { Condition } from "../config/condition.js";
import { bindCondition, holds, levelsOnly, mentionsLevel, observe, type Occurrence, occurrenceKey } from "../events/conditions.js";
import { own } from "../records.js";
import type { ServiceDef } from "../config/service.js";
import { ARGUMENT_VARIABLE, argumentProblem, isTemplateDef } from "../config/template.js";
import { defOf, isActive, stateOf, type Step } from "./engine.js";
import { instancesOf, makeInstance } from "./instances.js";
import { release } from "./restarts.js";
import { requirementsOf } from "./topology.js";
import { rewant } from "./wanted.js";

interface Effect {
  started: string[];
  stopped: string[];
  skipped: string[];
}

/** An edge or job event occurred: fire the conditions it completes. */
export function occur(ctx: Step, occurrence: Occurrence): Effect {
  const effect: Effect = { started: [], stopped: [], skipped: [] };
  reactTo(ctx, ctx.e.watchers.get(occurrenceKey(occurrence)) ?? [], occurrence, effect);
  ctx.out.push({ kind: "occurred", what: occurrence, ...effect });
  return effect;
}

export function levelChanged(ctx: Step, name: string, value: string | null): void {
  const { e } = ctx;
  if (value === null) e.levels.delete(name);
  else e.levels.set(name, value);
  const effect: Effect = { started: [], stopped: [], skipped: [] };
  reactTo(ctx, e.watchers.get(`level:${name}`) ?? [], name, effect, { [levelKey(name)]: value ?? "", TEND_EVENT: name });
  ctx.out.push({ kind: "occurred", what: { kind: "level", name, value }, ...effect });
}

/** The environment variable a level's value is given to jobs in: `net.eth0` → `net_eth0`. */
export const levelKey = (level: string): string => level.replace(/[^A-Za-z0-9_]/g, "_");

/**
 * Let each watching service's conditions see the occurrence, a change of the level it
 * names, or (with null) the levels as they are: `start-on` may trigger it (or a new
 * instance), `stop-on` untrigger it or its instances, an `after` schedule arm its
 * delay. A condition that does not mention the level changed is not looked at, as
 * one that does not mention an event is not.
 */
export function reactTo(ctx: Step, watchers: readonly string[], what: Occurrence | string | null, effect: Effect, levelEnv: Record<string, string> = {}): void {
  const { e } = ctx;
  const occurrence = typeof what === "string" ? null : what;
  const concerns = (c: Condition): boolean => typeof what !== "string" || mentionsLevel(c, what);
  for (const name of watchers) {
    if (!e.defs.has(name)) continue;
    const def = defOf(e, name);
    const s = stateOf(e, name);
    if (def.startOn !== null && concerns(def.startOn)) {
      if (occurrence === null && def.stopOn === null && levelsOnly(def.startOn)) {
        // A start-on over levels alone is a "while": wanted exactly as long as it holds.
        const now = holds(def.startOn, s.startLatches, e.levels);
        if (now && !s.levelsHeld) collect(effect, trigger(ctx, name, levelEnv));
        if (!now && s.levelsHeld && def.type !== "task") effect.stopped.push(...untrigger(ctx, name));
        s.levelsHeld = now;
      } else {
        const fired = observe(def.startOn, s.startLatches, occurrence, e.levels);
        if (fired !== null) collect(effect, trigger(ctx, name, { ...levelEnv, ...fired.env }, !(occurrence?.kind === "job" && occurrence.verb === "stopping")));
      }
    }
    if (def.stopOn !== null && concerns(def.stopOn)) {
      for (const target of [name, ...instancesOf(e, name)]) {
        const t = stateOf(e, target);
        // `$INSTANCE` (and `$KEY`) is the instance's own argument, also for one made by name, which no event started.
        const bound = target === name ? t.env : { ...instanceValues(defOf(e, target)), ...t.env };
        if (observe(bindCondition(def.stopOn, bound), t.stopLatches, occurrence, e.levels) !== null) effect.stopped.push(...untrigger(ctx, target));
      }
    }
    if (def.schedule?.kind === "after" && concerns(def.schedule.event)) {
      const fired = observe(def.schedule.event, s.scheduleLatches, occurrence, e.levels);
      if (fired !== null) ctx.out.push({ kind: "delay", service: name, ms: def.schedule.delayMs, env: { ...levelEnv, ...fired.env } });
    }
  }
}

/** An instance's argument, as INSTANCE and its template's `instance` KEY. */
const instanceValues = (def: ServiceDef): Record<string, string> => {
  const values: Record<string, string> = { [ARGUMENT_VARIABLE]: def.env[ARGUMENT_VARIABLE] ?? "" };
  if (def.instance !== null) values[def.instance] = def.env[def.instance] ?? "";
  return values;
};

const collect = (effect: Effect, result: { started: string[]; skipped: string[] }): void => {
  effect.started.push(...result.started);
  effect.skipped.push(...result.skipped);
};

/**
 * Make a service wanted because its event came (with the event's values for its
 * environment); a service with `instance = KEY` gets an instance per value of KEY
 * (instances.ts `makeInstance`), a template by name one per value that is an argument.
 * A task still running is not started twice: the trigger is counted as skipped.
 */
export function trigger(ctx: Step, name: string, env: Record<string, string>, unstops = true): { started: string[]; skipped: string[] } {
  const { e } = ctx;
  const def = defOf(e, name);
  let target = name;
  if (def.instance !== null) {
    const value = own(env, def.instance);
    // The event does not say which instance, or (for a template by name) says it with what no argument may hold.
    if (value === undefined || value === "" || (isTemplateDef(def) && argumentProblem(value) !== null)) return { started: [], skipped: [] };
    const made = makeInstance(ctx, name, value);
    if (made === null) return { started: [], skipped: [] }; // the template keeps as many as it may, none at rest
    target = made;
  } else if (isTemplateDef(def)) return { started: [], skipped: [] }; // a template never runs itself (parse.ts refuses the file)
  const s = stateOf(e, target);
  // A task's run going on, or to come (triggered and wanted): this one is skipped. A run an
  // admin's stop holds down is none to come: the event names the task again, as a start would.
  const runToCome = e.triggered.has(target) && e.wanted.has(target);
  if (def.type === "task" && (isActive(s.phase) || s.hooks.length > 0 || runToCome)) {
    s.skipped++;
    return { started: [], skipped: [target] };
  }
  // Wanted by its event and running already: a repeat changes nothing (a crash loop still reaches its restart limit).
  if (e.triggered.has(target) && isActive(s.phase)) return { started: [], skipped: [] };
  // An instance's INSTANCE is its argument, whatever the event carries (its environment comes after the service's own).
  s.env = target !== name && Object.hasOwn(env, ARGUMENT_VARIABLE) ? { ...env, [ARGUMENT_VARIABLE]: defOf(e, target).env[ARGUMENT_VARIABLE] ?? "" } : env;
  // Named by its event, as by an admin's start: what it requires is no longer held down
  // by a stop — but for a task run on `stopping X`, which must not undo the stop under way.
  e.stopped.delete(target);
  if (unstops) for (const r of requirementsOf(e.topo, target)) e.stopped.delete(r);
  e.triggered.add(target);
  release(ctx, target);
  rewant(ctx);
  return { started: [target], skipped: [] };
}

/** No longer wanted because of its event (its `stop-on` came, or its level went). */
export function untrigger(ctx: Step, name: string): string[] {
  if (!ctx.e.triggered.delete(name)) return [];
  rewant(ctx);
  return isActive(stateOf(ctx.e, name).phase) ? [name] : [];
}
