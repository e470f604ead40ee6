// `instance = KEY`: one instance of a template per value its events bring
// (`mount@/dev/sdb1`), a bounded number of them.

import { type Engine, isActive, stateOf, templateOf } from "./engine.js";
import { removeInstance } from "./topology.js";

export const instancesOf = (e: Engine, template: string): string[] => e.topo.names.filter((n) => n !== template && templateOf(n) === template);

/** Instances kept per template: each distinct value makes one, and values come from outside. */
export const MAX_INSTANCES = 64;

/** Make room for a new instance: forget the ones longest at rest (down or failed, not wanted). */
export function forgetOldInstances(e: Engine, template: string): void {
  const resting = instancesOf(e, template)
    .filter((n) => !isActive(stateOf(e, n).phase) && !e.wanted.has(n) && stateOf(e, n).hooks.length === 0)
    .sort((a, b) => stateOf(e, a).since - stateOf(e, b).since);
  const excess = instancesOf(e, template).length - (MAX_INSTANCES - 1);
  for (const name of resting.slice(0, Math.max(0, excess))) {
    removeInstance(e.topo, name);
    e.defs.delete(name);
    e.services.delete(name);
    e.triggered.delete(name);
  }
}
