// What changes between two databases: the services added, removed, and changed (in
// their definition or their resolved edges). Where a line stands in a file moves
// without changing what the service means, so positions are not compared.

import type { Database } from "../compile/database.js";
import type { ResolvedEdges } from "../compile/graph.js";
import type { ServiceDef } from "../config/service.js";
import { own } from "../records.js";

export interface DatabaseDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

export function diffDatabases(current: Pick<Database, "services" | "graph">, next: Pick<Database, "services" | "graph">): DatabaseDiff {
  const diff: DatabaseDiff = { added: [], removed: [], changed: [] };
  const names = [...new Set([...Object.keys(current.services), ...Object.keys(next.services)])].sort();
  for (const name of names) {
    const a = own(current.services, name);
    const b = own(next.services, name);
    if (a === undefined) diff.added.push(name);
    else if (b === undefined) diff.removed.push(name);
    else if (meaning(a) !== meaning(b) || JSON.stringify(own(current.graph.services, name)) !== JSON.stringify(own(next.graph.services, name))) {
      diff.changed.push(name);
    }
  }
  return diff;
}

const meaning = (def: object): string => JSON.stringify(def, (key, value: unknown) => (key === "line" || key === "col" || key === "file" ? undefined : value));

/** Whether `next` holds `name` with this meaning and these edges: an instance the engine made that a new database compiles alike carries on. */
export function compiledAlike(next: Pick<Database, "services" | "graph">, name: string, def: ServiceDef, edges: ResolvedEdges): boolean {
  const compiled = own(next.services, name);
  return compiled !== undefined && meaning(compiled) === meaning(def) && JSON.stringify(own(next.graph.services, name)) === JSON.stringify(edges);
}
