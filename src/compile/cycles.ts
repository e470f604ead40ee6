// Finds cycles in a directed graph of services, each one as the edges that close it.
// Iterative, so that a chain of 10,000 services cannot overflow the stack.

export interface Edge {
  from: string;
  to: string;
  /** Where the edge is declared: the file and line of the key that names `to`. */
  file: string;
  line: number;
  col: number;
}

export type Graph = ReadonlyMap<string, readonly Edge[]>;

/** One cycle per back edge met by a depth-first search, each as its edges in order. */
export function findCycles(graph: Graph): Edge[][] {
  const WHITE = 0;
  const GREY = 1;
  const BLACK = 2;
  const colour = new Map<string, number>();
  const cycles: Edge[][] = [];
  for (const root of graph.keys()) {
    if ((colour.get(root) ?? WHITE) !== WHITE) continue;
    // The path from the root: each node with the edge that reached it and its next edge index.
    const path: { node: string; via: Edge | null; next: number }[] = [{ node: root, via: null, next: 0 }];
    colour.set(root, GREY);
    while (path.length > 0) {
      const top = path[path.length - 1]!;
      const edges = graph.get(top.node) ?? [];
      if (top.next >= edges.length) {
        colour.set(top.node, BLACK);
        path.pop();
        continue;
      }
      const edge = edges[top.next++]!;
      const state = colour.get(edge.to) ?? WHITE;
      if (state === WHITE) {
        colour.set(edge.to, GREY);
        path.push({ node: edge.to, via: edge, next: 0 });
      } else if (state === GREY) {
        const start = path.findIndex((p) => p.node === edge.to);
        cycles.push([...path.slice(start + 1).map((p) => p.via!), edge]);
      }
    }
  }
  return cycles;
}

/** The same cycle found from another starting point has the same key. */
export function cycleKey(cycle: readonly Edge[]): string {
  const nodes = cycle.map((e) => e.from);
  const first = nodes.indexOf([...nodes].sort()[0]!);
  return [...nodes.slice(first), ...nodes.slice(0, first)].join("\0");
}

/** `a → b → c → a` */
export function describeCycle(cycle: readonly Edge[]): string {
  return [...cycle.map((e) => e.from), cycle[0]!.from].join(" → ");
}
