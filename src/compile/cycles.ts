// Finds cycles in a directed graph of services, each one as the edges that close it.
// Iterative, so that a chain of 10,000 services cannot overflow the stack.

import { required } from "../records.js";

export interface Edge {
  from: string;
  to: string;
  /** Where the edge is declared: the file and line of the key that names `to`. */
  file: string;
  line: number;
  col: number;
}

export type Graph = ReadonlyMap<string, readonly Edge[]>;

/** A cycle's edges in order, the last one leading back to the first: never empty. */
export type Cycle = readonly [...Edge[], Edge];

/**
 * Cycles reported for one graph: each costs its length to describe, and a graph where
 * 10^5 services each close a cycle of 10^5 would otherwise be 10^10 of output.
 */
export const MAX_CYCLES = 20;

/** One cycle per back edge met by a depth-first search, each as its edges in order; at most `limit`. */
export function findCycles(graph: Graph, limit = MAX_CYCLES): Cycle[] {
  const WHITE = 0;
  const GREY = 1;
  const BLACK = 2;
  const colour = new Map<string, number>();
  const cycles: Cycle[] = [];
  for (const root of graph.keys()) {
    if ((colour.get(root) ?? WHITE) !== WHITE) continue;
    // The path from the root: each node with the edge that reached it and its next edge index.
    const path: { node: string; via: Edge | null; next: number }[] = [{ node: root, via: null, next: 0 }];
    // Where each grey node stands on the path, so that closing a cycle does not search it.
    const onPath = new Map<string, number>([[root, 0]]);
    colour.set(root, GREY);
    for (let top = path.at(-1); top !== undefined; top = path.at(-1)) {
      const edge = graph.get(top.node)?.[top.next];
      if (edge === undefined) {
        colour.set(top.node, BLACK);
        onPath.delete(top.node);
        path.pop();
        continue;
      }
      top.next++;
      const state = colour.get(edge.to) ?? WHITE;
      if (state === WHITE) {
        colour.set(edge.to, GREY);
        onPath.set(edge.to, path.length);
        path.push({ node: edge.to, via: edge, next: 0 });
      } else if (state === GREY) {
        cycles.push([...path.slice(required(onPath, edge.to, "the path's grey nodes") + 1).map((p) => p.via!), edge]);
        if (cycles.length === limit) return cycles;
      }
    }
  }
  return cycles;
}

/** The same cycle found from another starting point has the same key. */
export function cycleKey(cycle: Cycle): string {
  const nodes = cycle.map((e) => e.from);
  const first = nodes.indexOf(nodes.reduce((least, n) => (n < least ? n : least)));
  return [...nodes.slice(first), ...nodes.slice(0, first)].join("\0");
}

/** `a → b → c → a` */
export function describeCycle(cycle: Cycle): string {
  return [...cycle.map((e) => e.from), cycle[0].from].join(" → ");
}
