// Instances of templates (config/template.ts) that the engine makes: those an admin or
// the boot names (`tend start getty@tty3`, an enabled `getty@tty3`) and those events
// make (`instance = KEY`: `mount@/dev/sdb1`), each from its template's definition, at
// most MAX_INSTANCES a template. Instances the source files name are compiled as
// services of the database, made the same way; the bound is not theirs.

import type { ServiceDef } from "../config/service.js";
import { instanceName, instanceOf, isTemplateDef, splitInstanceName } from "../config/template.js";
import { defOf, type Engine, initialState, isActive, stateOf, type Step } from "./engine.js";
import { addInstance, removeInstance } from "./topology.js";

/** Instances the engine keeps per template: names and values come from outside. */
export const MAX_INSTANCES = 64;

/** The instances of `template` there are, compiled or made. */
export const instancesOf = (e: Engine, template: string): string[] => e.topo.names.filter((n) => e.defs.get(n)?.template === template);

/** Made by the engine, not compiled: what the bound counts, what a snapshot carries, what an apply carries over. */
export const madeAtRunTime = (e: Engine, name: string): boolean => e.defs.get(name)?.template != null && !Object.hasOwn(e.db.services, name);

/** `name` as an instance of a template by name that the engine has, made or not: its template's definition and its argument. */
function byName(e: Engine, name: string): { template: ServiceDef; argument: string } | null {
  const split = splitInstanceName(name);
  const template = split === null ? undefined : e.defs.get(split.template);
  return template === undefined || !isTemplateDef(template) ? null : { template, argument: split!.argument };
}

/** The definition of a service, or the one an instance by name not made yet would have; undefined for a name that is neither. */
export function definitionOf(e: Engine, name: string): ServiceDef | undefined {
  const def = e.defs.get(name);
  if (def !== undefined) return def;
  const instance = byName(e, name);
  return instance === null ? undefined : instanceOf(instance.template, instance.argument);
}

/** Whether `name` is an instance by name that is not made yet, but could be. */
export const canMakeByName = (e: Engine, name: string): boolean => !e.defs.has(name) && byName(e, name) !== null;

/** Why an instance by name cannot be made now: its template has as many as it may keep, none at rest; null when it can (or is there). */
export function roomProblem(e: Engine, name: string): string | null {
  const instance = e.defs.has(name) ? null : byName(e, name);
  if (instance === null || resting(e, instance.template.name).length > 0 || made(e, instance.template.name).length < MAX_INSTANCES) return null;
  return `${instance.template.name} has ${MAX_INSTANCES} instances, none at rest: stop one of them first`;
}

/** A start, restart or boot naming instances by name: those not made yet are made (when there is room). */
export function makeNamed(ctx: Step, names: readonly string[]): void {
  for (const name of names) {
    const instance = canMakeByName(ctx.e, name) ? byName(ctx.e, name) : null;
    if (instance !== null) makeInstance(ctx, instance.template.name, instance.argument);
  }
}

/**
 * The instance of `template` for `argument`, made now if it is not there: its name, or
 * null when the template has MAX_INSTANCES made and none at rest to forget.
 */
export function makeInstance(ctx: Step, template: string, argument: string): string | null {
  const { e } = ctx;
  const name = instanceName(template, argument);
  if (e.defs.has(name)) return name;
  if (!makeRoom(e, template)) return null;
  const def = instanceOf(defOf(e, template), argument);
  e.defs.set(name, def);
  e.services.set(name, initialState(def, ctx.now));
  addInstance(e.topo, template, name);
  // Made while an apply that changes its template waits: it goes with the template's other instances.
  if (e.pendingApply?.leaving.has(template) === true) e.pendingApply.leaving.add(name);
  return name;
}

const made = (e: Engine, template: string): string[] => instancesOf(e, template).filter((n) => madeAtRunTime(e, n));

/** Instances made that may be forgotten, longest at rest first: down or failed, not wanted, no hook running. */
const resting = (e: Engine, template: string): string[] =>
  made(e, template)
    .filter((n) => !isActive(stateOf(e, n).phase) && !e.wanted.has(n) && stateOf(e, n).hooks.length === 0)
    .sort((a, b) => stateOf(e, a).since - stateOf(e, b).since);

/** Make room for one more instance of `template`, forgetting those longest at rest; false when none can go. */
function makeRoom(e: Engine, template: string): boolean {
  const excess = made(e, template).length - (MAX_INSTANCES - 1);
  if (excess <= 0) return true;
  const forgotten = resting(e, template).slice(0, excess);
  for (const name of forgotten) {
    removeInstance(e.topo, name);
    e.defs.delete(name);
    e.services.delete(name);
    e.triggered.delete(name);
    // An apply waiting for it to stop (with its template) waits for it no longer: it has no state to wait on.
    e.pendingApply?.leaving.delete(name);
  }
  return forgotten.length === excess;
}
