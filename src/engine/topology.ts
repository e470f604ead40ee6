// The graph of a compiled database in the shape the engine walks it: forward and
// reverse edges for every service that is not a bundle.

import type { Database } from "../compile/database.js";
import { own, required } from "../records.js";

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
  // In name order, as `names`: what the reverse edges list comes in a stable order.
  for (const [name, edges] of Object.entries(db.graph.services).sort(([a], [b]) => (a < b ? -1 : 1))) {
    requires.set(name, edges.requires);
    wants.set(name, edges.wants);
    after.set(name, edges.after);
    for (const r of edges.requires) listIn(requiredBy, r).push(name);
    for (const a of edges.after) listIn(before, a).push(name);
  }
  return { names, requires, wants, after, requiredBy, before, bundles: db.graph.bundles };
}

/**
 * Add `name`, an instance of `template` (`mount@/dev/sdb1`): the same edges as its
 * template, and listed in the reverse edges of what it requires and follows.
 */
export function addInstance(topo: Topology, template: string, name: string): void {
  topo.names.push(name);
  for (const edge of ["requires", "wants", "after"] as const) topo[edge].set(name, edgesOf(topo, edge, template));
  topo.requiredBy.set(name, []);
  topo.before.set(name, []);
  for (const r of edgesOf(topo, "requires", name)) listIn(topo.requiredBy, r).push(name);
  for (const a of edgesOf(topo, "after", name)) listIn(topo.before, a).push(name);
}

/** Remove an instance that `addInstance` added, from its edges too. */
export function removeInstance(topo: Topology, name: string): void {
  topo.names.splice(topo.names.indexOf(name), 1);
  for (const r of edgesOf(topo, "requires", name)) topo.requiredBy.set(r, listIn(topo.requiredBy, r).filter((n) => n !== name));
  for (const a of edgesOf(topo, "after", name)) topo.before.set(a, listIn(topo.before, a).filter((n) => n !== name));
  for (const edges of [topo.requires, topo.wants, topo.after, topo.requiredBy, topo.before]) edges.delete(name);
}

export type Edge = "requires" | "wants" | "after" | "requiredBy" | "before";

/** What `name` has edges of this kind to (for `requiredBy` and `before`: from). */
export const edgesOf = (topo: Topology, edge: Edge, name: string): readonly string[] => required(topo[edge], name, "the engine's graph");

/** A reverse edge list, to add to. */
const listIn = (edges: ReadonlyMap<string, string[]>, name: string): string[] => required(edges, name, "the engine's reverse edges");

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
