// Templates and their instances (docs/DESIGN.md, the Instances rule):
//   (e) the engine makes an instance only for a start, restart or boot that names it
//       (a template by name), or for a value an event carried, when a condition of its
//       template fired with it (the model says so), and each holds its argument in its
//       environment as INSTANCE (and as its template's `instance` KEY);
//   a template (`s0005@`) is never wanted, never spawned, never active itself; every
//   spawn of an instance carries INSTANCE=its argument;
//   a template has at most MAX_INSTANCES made at run time (those the files name aside);
//   one is forgotten only to make room — when the template has as many as it may
//   keep — and only when at rest (down or failed, not wanted, no hook running), the
//   longest at rest first; one named that is not made was refused for want of room:
//   as many as it may keep, none at rest.

import type { Database } from "../../../src/compile/database.js";
import { argumentOf, isTemplateName, splitInstanceName } from "../../../src/config/template.js";
import { type Engine } from "../../../src/engine/engine.js";
import { MAX_INSTANCES } from "../../../src/engine/instances.js";
import type { Action, Fact } from "../../../src/engine/types.js";
import { isActive, type Check, type Sim } from "./check.js";
import type { EventModel } from "./event-model.js";
import { templateOf } from "./graph.js";

/** The instances of `template` the engine made at run time (not the files). */
const madeOf = (e: Engine, template: string): string[] => e.topo.names.filter((n) => e.defs.get(n)?.template === template && !Object.hasOwn(e.db.services, n));

/** At rest: down or failed, not wanted, no hook running; what the engine may forget. */
const atRest = (e: Engine, name: string): boolean => {
  const s = e.services.get(name)!;
  return !isActive(s.phase) && !e.wanted.has(name) && s.hooks.length === 0;
};

/** The templates by name of a database, looked up once. */
const templateNames = new WeakMap<Database, string[]>();
const templatesOf = (db: Database): string[] => {
  let names = templateNames.get(db);
  if (names === undefined) templateNames.set(db, (names = Object.values(db.services).filter((d) => isTemplateName(d.name) && d.template === null).map((d) => d.name)));
  return names;
};

/** A template that may make no instance now: as many made as it may keep, none of them at rest. */
export const noRoom = (e: Engine, template: string): boolean => {
  const made = madeOf(e, template);
  return made.length >= MAX_INSTANCES && !made.some((n) => atRest(e, n));
};

export function instanceChecks(sim: Sim, model: EventModel | null): Check {
  const { world, count } = sim;
  const fail: Sim["fail"] = sim.fail;
  const e = world.engine;
  /** Every value each event key carried in the events the world emitted. */
  const carried = new Map<string, Set<string>>();
  /** The instances made at run time that exist, and when each last changed phase (or was made): how long it has been at rest. */
  const since = new Map<string, number>();
  /** How many names the engine had when last looked at. */
  let names = -1;
  let last: string | undefined;

  const templateDefOf = (name: string) => world.graph.def(templateOf(name));

  /** A new instance made at run time: named by the fact, or made by an event; its environment holds its argument. */
  const made = (name: string, fact: Fact): void => {
    const template = templateOf(name);
    const def = e.defs.get(name);
    if (def === undefined || def.template !== template) fail(`(e) the engine made ${name}, which is no instance of a template (its definition says ${def?.template})`);
    const argument = argumentOf(name, template);
    if (def.env.INSTANCE !== argument) fail(`(e) ${name}: its definition has INSTANCE=${def.env.INSTANCE}`);
    const byName = (fact.kind === "start" || fact.kind === "restart" || fact.kind === "boot") && fact.names.includes(name) && isTemplateName(template);
    if (byName) return count("instance by name");
    const key = templateDefOf(name)?.instance ?? null;
    if (key === null) fail(`(e) the engine made ${name} on '${fact.kind}', which does not name it, and ${template} has no 'instance = KEY'`);
    if (def.env[key] !== argument) fail(`(e) ${name}: its definition has ${key}=${def.env[key]}`);
    if (!(carried.get(key)?.has(argument) ?? false)) fail(`(e) ${name}: no event carried ${key}=${argument}`);
    if (!(model?.instances.get(template)?.has(name) ?? false)) fail(`(e) ${name} was made, but no condition of ${template} fired with ${key}=${argument}`);
    if (e.services.get(name)!.env?.[key] !== argument) fail(`(e) ${name}: its environment has ${key}=${e.services.get(name)!.env?.[key]}`);
    count("instance");
  };

  /** What the step forgot was at rest, forgotten to make room for one more, the longest at rest first; the bound holds. */
  const forgotten = (fact: Fact, actions: readonly Action[]): void => {
    const switched = actions.find((a) => a.kind === "switched");
    const gone = [...since.keys()].filter((n) => !e.services.has(n));
    const templates = new Set<string>();
    for (const name of gone) {
      since.delete(name);
      if (switched?.kind === "switched" && switched.removed.includes(name)) continue; // an apply took it with its template
      if (isActive(world.phase(name))) fail(`an instance forgotten: ${name} was ${world.phase(name)} (on ${fact.kind})`);
      templates.add(templateOf(name));
      count("instance forgotten");
    }
    for (const template of templates) {
      const left = madeOf(e, template);
      if (left.length !== MAX_INSTANCES) fail(`an instance forgotten: ${template} has ${left.length} instances made after it, fewer than the ${MAX_INSTANCES} it may keep: no room was needed`);
      const oldest = Math.max(...gone.filter((n) => templateOf(n) === template).map((n) => lastAt.get(n) ?? -1));
      const older = left.filter((n) => atRest(e, n) && (lastAt.get(n) ?? Infinity) < oldest && !madeNow.has(n));
      if (older.length > 0) fail(`an instance forgotten: ${template}'s ${older[0]} has been at rest longer than what went`);
    }
    for (const name of gone) lastAt.delete(name);
  };

  /** When each instance made at run time last changed phase: its `since`. */
  const lastAt = new Map<string, number>();
  const madeNow = new Set<string>();

  return {
    beforeStep(fact) {
      madeNow.clear();
      if (fact.kind !== "event") return;
      for (const [key, value] of Object.entries(fact.values)) {
        let values = carried.get(key);
        if (values === undefined) carried.set(key, (values = new Set()));
        values.add(value);
      }
    },
    stepped(fact, actions) {
      // (As the world does: a step that forgets one and makes another leaves the count, not the last name.)
      if (e.topo.names.length !== names || e.topo.names[names - 1] !== last) {
        for (const name of e.topo.names) {
          if (name.includes("@") && !since.has(name) && !Object.hasOwn(e.db.services, name) && e.defs.get(name)?.template != null) {
            since.set(name, world.now);
            lastAt.set(name, world.now);
            madeNow.add(name);
          }
        }
      }
      if (since.size > 0) forgotten(fact, actions);
    },
    action(a) {
      if (a.kind === "changed" && since.has(a.service)) lastAt.set(a.service, world.now);
      if (a.kind !== "spawn") return;
      if (isTemplateName(a.service)) fail(`a template spawned: ${a.service} ${a.role}`);
      const def = e.defs.get(a.service);
      if (def?.template == null) return;
      // What the process is given: the service's environment, then the event's (the supervisor's order).
      const argument = argumentOf(a.service, def.template);
      const instance = { ...def.env, ...(a.env ?? {}) }.INSTANCE;
      if (instance !== argument) fail(`an instance's spawn: ${a.service} ${a.role} runs with INSTANCE=${instance}`);
      count("instance spawn");
    },
    afterStep(fact) {
      // (After the step's actions: the model has seen the occurrences that made them.)
      for (const name of madeNow) if (e.services.has(name)) made(name, fact);
      names = e.topo.names.length;
      last = e.topo.names[names - 1];
      const g = world.graph;
      for (const name of templatesOf(g.db)) {
        if (!e.services.has(name)) continue;
        if (e.wanted.has(name)) fail(`a template is wanted: ${name}`);
        if (isActive(e.services.get(name)!.phase)) fail(`a template is ${e.services.get(name)!.phase}: ${name}`);
      }
      if (madeNow.size > 0) {
        // The bound, counted over what the engine has (`since` is what this module saw of it).
        const made = new Map<string, number>();
        for (const name of since.keys()) made.set(templateOf(name), (made.get(templateOf(name)) ?? 0) + 1);
        for (const [template, n] of made) {
          if (n > MAX_INSTANCES) fail(`${template} has ${n} instances made, more than ${MAX_INSTANCES}`);
          if (n === MAX_INSTANCES) count("instances at the bound");
        }
      }
      // A name an admin or the boot gave that the engine did not make: refused, for want of room alone.
      if (fact.kind === "start" || fact.kind === "restart" || fact.kind === "boot") {
        for (const name of fact.names) {
          const split = splitInstanceName(name);
          if (split === null || e.defs.has(name) || g.db.services[split.template] === undefined) continue;
          if (!noRoom(e, split.template)) fail(`${fact.kind} ${name}: not made, but ${split.template} has ${madeOf(e, split.template).length} made, some at rest`);
          count("instance refused");
        }
      }
    },
  };
}
