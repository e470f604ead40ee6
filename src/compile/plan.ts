// The boot plan: which services bringing a set up would start, as waves — every
// service in a wave can start in parallel once the waves before it are up.

import { own, required } from "../records.js";
import type { ResolvedGraph } from "./graph.js";

export interface Plan {
  waves: string[][];
}

/** The services a name stands for: a bundle's members, or the service itself. */
export function expandName(graph: ResolvedGraph, name: string): string[] {
  return own(graph.bundles, name) ?? (Object.hasOwn(graph.services, name) ? [name] : []);
}

/**
 * Everything starting `roots` pulls in, through `requires` and `wants`; `triggered`
 * services (started by an event or a clock) only when a root names them.
 */
export function closure(graph: ResolvedGraph, roots: readonly string[], triggered: (name: string) => boolean = () => false): Set<string> {
  const wanted = new Set<string>();
  const named = new Set(roots);
  const stack = roots.flatMap((r) => expandName(graph, r));
  for (let name = stack.pop(); name !== undefined; name = stack.pop()) {
    if (wanted.has(name) || (triggered(name) && !named.has(name))) continue;
    wanted.add(name);
    const edges = required(graph.services, name, "the graph's services");
    stack.push(...edges.requires, ...edges.wants);
  }
  return wanted;
}

/** Layers the closure of `roots` by its ordering edges (Kahn's algorithm, one wave per round). */
export function plan(graph: ResolvedGraph, roots: readonly string[], triggered?: (name: string) => boolean): Plan {
  const members = closure(graph, roots, triggered);
  const waiting = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const name of members) {
    const before = required(graph.services, name, "the graph's services").after.filter((n) => members.has(n));
    waiting.set(name, before.length);
    for (const b of before) {
      const list = dependents.get(b);
      if (list === undefined) dependents.set(b, [name]);
      else list.push(name);
    }
  }
  const waves: string[][] = [];
  let wave = [...members].filter((n) => waiting.get(n) === 0).sort();
  while (wave.length > 0) {
    waves.push(wave);
    const next: string[] = [];
    for (const done of wave) {
      for (const d of dependents.get(done) ?? []) {
        const left = required(waiting, d, "the counts of services waited for") - 1;
        waiting.set(d, left);
        if (left === 0) next.push(d);
      }
    }
    wave = next.sort();
  }
  return { waves };
}
