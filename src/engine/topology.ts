// The graph of a compiled database in the shape the engine walks it: forward and
// reverse edges for every service that is not a bundle.

import type { Database } from "../compile/database.js";
import { own } from "../records.js";

export interface Topology {
  /** Services that are not bundles (in name order), then instances as they are made. */
  names: string[];
  requires: Map<string, readonly string[]>;
  wants: Map<string, readonly string[]>;
  /** What each service is ordered after (requires and wants included). */
  after: Map<string, readonly string[]>;
  /** The reverse of `requires`: who requires each service. */
  requiredBy: Map<string, string[]>;
  /** The reverse of `after`: who is ordered after each service. */
  before: Map<string, string[]>;
  bundles: Readonly<Record<string, readonly string[]>>;
}

export function topology(db: Pick<Database, "graph">): Topology {
  const names = Object.keys(db.graph.services).sort();
  const requires = new Map<string, string[]>();
  const wants = new Map<string, string[]>();
  const after = new Map<string, string[]>();
  const requiredBy = new Map<string, string[]>(names.map((n) => [n, []]));
  const before = new Map<string, string[]>(names.map((n) => [n, []]));
  for (const name of names) {
    const edges = db.graph.services[name]!;
    requires.set(name, edges.requires);
    wants.set(name, edges.wants);
    after.set(name, edges.after);
    for (const r of edges.requires) requiredBy.get(r)!.push(name);
    for (const a of edges.after) before.get(a)!.push(name);
  }
  return { names, requires, wants, after, requiredBy, before, bundles: db.graph.bundles };
}

/**
 * Add `name`, an instance of `template` (`mount@/dev/sdb1`): the same edges as its
 * template, and listed in the reverse edges of what it requires and follows.
 */
export function addInstance(topo: Topology, template: string, name: string): void {
  topo.names.push(name);
  topo.requires.set(name, topo.requires.get(template)!);
  topo.wants.set(name, topo.wants.get(template)!);
  topo.after.set(name, topo.after.get(template)!);
  topo.requiredBy.set(name, []);
  topo.before.set(name, []);
  for (const r of topo.requires.get(name)!) topo.requiredBy.get(r)!.push(name);
  for (const a of topo.after.get(name)!) topo.before.get(a)!.push(name);
}

/** Remove an instance that `addInstance` added, from its edges too. */
export function removeInstance(topo: Topology, name: string): void {
  topo.names.splice(topo.names.indexOf(name), 1);
  for (const r of topo.requires.get(name)!) topo.requiredBy.set(r, topo.requiredBy.get(r)!.filter((n) => n !== name));
  for (const a of topo.after.get(name)!) topo.before.set(a, topo.before.get(a)!.filter((n) => n !== name));
  for (const edges of [topo.requires, topo.wants, topo.after, topo.requiredBy, topo.before]) edges.delete(name);
}

/** The services a name stands for: a bundle's members, a service itself, or nothing. */
export function members(topo: Topology, name: string): readonly string[] {
  return own(topo.bundles, name) ?? (topo.requires.has(name) ? [name] : []);
}

/** `name` and everything that requires it, directly or not: what stopping `name` stops. */
export const requirersOf = (topo: Topology, name: string): string[] => reach(topo.requiredBy, name);

/** `name` and everything it requires, directly or not. */
export const requirementsOf = (topo: Topology, name: string): string[] => reach(topo.requires, name);

function reach(edges: ReadonlyMap<string, readonly string[]>, name: string): string[] {
  const seen = new Set<string>([name]);
  const stack = [name];
  while (stack.length > 0) {
    for (const next of edges.get(stack.pop()!) ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        stack.push(next);
      }
    }
  }
  return [...seen];
}
