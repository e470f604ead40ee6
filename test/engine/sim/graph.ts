// The graph of a database as the simulation's own checks walk it, read from the
// compiled database (not from the engine's topology): the edges of each service, an
// instance's being its template's, and the walks over them the rules are written in.

import type { Database } from "../../../src/compile/database.js";
import type { ServiceDef } from "../../../src/config/service.js";

/**
 * `mount@/dev/sdb1` → `mount`, `s0005@a` → `s0005@`. The generator keeps the two kinds
 * apart by their arguments: a service with `instance = DEVNAME` (no template by name)
 * has values that begin with `/dev/`, which no argument of a template by name may hold.
 */
export const templateOf = (name: string): string => {
  const at = name.indexOf("@");
  if (at < 0) return name;
  return name[at + 1] === "/" ? name.slice(0, at) : name.slice(0, at + 1);
};

export interface Graph {
  readonly db: Database;
  /** The instances that exist, by template: they have their template's edges. */
  readonly instances: ReadonlyMap<string, readonly string[]>;
  /** The instances of a template there are: those the files name (compiled), and those made at run time. */
  instancesOf(template: string): readonly string[];
  /** Every service that is not a bundle, instances included. */
  names(): string[];
  requires(name: string): readonly string[];
  wants(name: string): readonly string[];
  /** What it is ordered after (requires and wants included). */
  after(name: string): readonly string[];
  /** The reverse of `requires`. */
  requiredBy(name: string): readonly string[];
  /** The reverse of `after`. */
  before(name: string): readonly string[];
  /** The services a name stands for: a bundle's members (nested bundles expanded), a service itself, or nothing. */
  members(name: string): readonly string[];
  /** A service's definition (an instance has its template's), or undefined for a bundle or a name not in the database. */
  def(name: string): ServiceDef | undefined;
}

const NONE: readonly string[] = [];

/** What the checks look up at every step, indexed once per database. */
interface Index {
  edges: Map<string, { requires: readonly string[]; wants: readonly string[]; after: readonly string[] }>;
  defs: Map<string, ServiceDef>;
  requiredBy: Map<string, string[]>;
  before: Map<string, string[]>;
  compiledInstances: Map<string, string[]>;
}
const indexes = new WeakMap<Database, Index>();

function indexOf(db: Database): Index {
  let index = indexes.get(db);
  if (index !== undefined) return index;
  index = { edges: new Map(Object.entries(db.graph.services)), defs: new Map(), requiredBy: new Map(), before: new Map(), compiledInstances: new Map() };
  for (const name of index.edges.keys()) {
    const def = db.services[name]!;
    index.defs.set(name, def);
    if (def.template !== null) index.compiledInstances.set(def.template, [...(index.compiledInstances.get(def.template) ?? []), name]);
  }
  for (const [name, e] of index.edges) {
    for (const x of e.requires) index.requiredBy.set(x, [...(index.requiredBy.get(x) ?? []), name]);
    for (const x of e.after) index.before.set(x, [...(index.before.get(x) ?? []), name]);
  }
  indexes.set(db, index);
  return index;
}

/** The graph of `db`, with the instances `instances` holds (the map is read as it changes). */
export function graphOf(db: Database, instances: ReadonlyMap<string, readonly string[]> = new Map()): Graph {
  const index = indexOf(db);
  const edges = (name: string) => index.edges.get(name) ?? index.edges.get(templateOf(name));
  // A template's instances stand beside it wherever it is a dependent.
  const withInstances = (list: readonly string[]): readonly string[] =>
    instances.size === 0 || !list.some((d) => instances.has(d)) ? list : list.flatMap((d) => [d, ...(instances.get(d) ?? NONE)]);
  return {
    db,
    instances,
    instancesOf: (template) => [...(index.compiledInstances.get(template) ?? NONE), ...(instances.get(template) ?? NONE)],
    names: () => [...index.edges.keys(), ...[...instances.values()].flat()],
    requires: (name) => edges(name)?.requires ?? NONE,
    wants: (name) => edges(name)?.wants ?? NONE,
    after: (name) => edges(name)?.after ?? NONE,
    requiredBy: (name) => withInstances(index.requiredBy.get(name) ?? NONE),
    before: (name) => withInstances(index.before.get(name) ?? NONE),
    // (An instance named that is not made is no service yet.)
    members: (name) => (Object.hasOwn(db.graph.bundles, name) ? db.graph.bundles[name]! : index.edges.has(name) || (instances.get(templateOf(name))?.includes(name) ?? false) ? [name] : NONE),
    def: (name) => index.defs.get(name) ?? index.defs.get(templateOf(name)),
  };
}

/** `names` and everything reached from them along `next`. */
export function closure(names: Iterable<string>, next: (name: string) => Iterable<string>): Set<string> {
  const seen = new Set(names);
  const stack = [...seen];
  while (stack.length > 0) {
    for (const n of next(stack.pop()!)) {
      if (!seen.has(n)) {
        seen.add(n);
        stack.push(n);
      }
    }
  }
  return seen;
}

/** `names` and everything they require, directly or not. */
export const requirementsOf = (g: Graph, names: Iterable<string>): Set<string> => closure(names, g.requires);

/** `names` and everything that requires them, directly or not. */
export const requirersOf = (g: Graph, names: Iterable<string>): Set<string> => closure(names, g.requiredBy);
