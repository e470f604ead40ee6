// `tend graph --format dot`: the dependency graph as Graphviz DOT, drawn as tend draws
// its SVG (graph-svg.ts): the first wave on top, an edge from the service whose file
// states it to the one it names, a style per kind. Every name is a quoted ID.

import type { DependencyGraph, EdgeKind } from "./graph-model.js";
import type { ServiceType } from "../config/service.js";

/** A DOT quoted string: `"` and `\` escaped, line breaks as `\n` (DOT's own escape in labels). */
export const dotString = (s: string): string => `"${s.replace(/[\\"]/g, "\\$&").replace(/\r\n|\r|\n/g, "\\n")}"`;

const EDGE_STYLE: Record<EdgeKind, string> = {
  requires: `style=solid, color="#333333"`,
  wants: `style=dashed, color="#555555", arrowhead=empty`,
  after: `style=dotted, color="#999999", arrowsize=0.6`,
  contains: `style=solid, color="#6b46c1", arrowhead=dot, arrowsize=0.5`,
  "start-on": `style=dotted, color="#2f855a", penwidth=1.5, label="start-on", fontcolor="#2f855a"`,
  "stop-on": `style=dotted, color="#c53030", penwidth=1.5, label="stop-on", fontcolor="#c53030"`,
  schedule: `style=dotted, color="#2b6cb0", penwidth=1.5, label="schedule", fontcolor="#2b6cb0"`,
};

const NODE_STYLE: Record<ServiceType, string> = {
  longrun: `fillcolor="#e8f1fb", color="#2b6cb0"`,
  oneshot: `fillcolor="#eef7ee", color="#2f855a"`,
  task: `fillcolor="#fff7e6", color="#b7791f", style="rounded,filled"`,
  bundle: `fillcolor="#f3eefa", color="#6b46c1", style="dashed,filled"`,
};

export function graphDot(g: DependencyGraph): string {
  const lines = [
    "digraph tend {",
    // Edges point at what they name; bottom to top puts the first wave on top, as the SVG does.
    `  rankdir=BT;`,
    `  node [shape=box, style=filled, fontname="monospace", fontsize=11];`,
    `  edge [fontname="monospace", fontsize=9];`,
  ];
  for (const n of g.nodes) {
    const label = n.trigger === null ? n.name : `${n.name}\n${n.trigger}`;
    lines.push(`  ${dotString(n.name)} [label=${dotString(label)}, tooltip=${dotString(n.description)}, ${NODE_STYLE[n.type]}];`);
  }
  // Same layer, same rank: the waves of the boot plan.
  const layers = new Map<number, string[]>();
  for (const n of g.nodes) (layers.get(n.layer) ?? layers.set(n.layer, []).get(n.layer)!).push(n.name);
  for (const names of layers.values()) if (names.length > 1) lines.push(`  { rank=same; ${names.map(dotString).join("; ")}; }`);
  for (const e of g.edges) lines.push(`  ${dotString(e.from)} -> ${dotString(e.to)} [${EDGE_STYLE[e.kind]}];`);
  lines.push("}", "");
  return lines.join("\n");
}
