// `tend graph` as SVG, drawn by tend (no Graphviz): a caption, a legend of what each
// line and box means, then the laid-out nodes (graph-layout.ts) with an edge per
// relation, each kind its own stroke (solid, dashed, dotted, coloured) and head.
// Every name and text is escaped (src/draw/svg.ts). Pure.

import { element, num, svgDocument, text, textWidth, title } from "../draw/svg.js";
import type { ServiceType } from "../config/service.js";
import { EDGE_KINDS, type DependencyGraph, type EdgeKind } from "./graph-model.js";
import { layOut, NAME_SIZE, TRIGGER_SIZE, type PlacedNode } from "./graph-layout.js";

const MARGIN = 20;
const CAPTION_SIZE = 14;
const LEGEND_ROW = 20;
const LEGEND_SAMPLE = 34;

const EDGE_CLASS: Record<EdgeKind, { stroke: string; dash: string; width: number; head: "filled" | "open" | "dot"; meaning: string }> = {
  requires: { stroke: "#333333", dash: "none", width: 1.3, head: "filled", meaning: "requires" },
  wants: { stroke: "#555555", dash: "6 4", width: 1.2, head: "open", meaning: "wants" },
  after: { stroke: "#999999", dash: "2 3", width: 1, head: "open", meaning: "ordered after" },
  contains: { stroke: "#6b46c1", dash: "none", width: 1, head: "dot", meaning: "bundle contains" },
  "start-on": { stroke: "#2f855a", dash: "1.5 3", width: 1.6, head: "filled", meaning: "start-on its event" },
  "stop-on": { stroke: "#c53030", dash: "1.5 3", width: 1.6, head: "filled", meaning: "stop-on its event" },
  schedule: { stroke: "#2b6cb0", dash: "1.5 3", width: 1.6, head: "filled", meaning: "schedule after its event" },
};

const NODE_CLASS: Record<ServiceType, { fill: string; stroke: string; dash: string; radius: number }> = {
  longrun: { fill: "#e8f1fb", stroke: "#2b6cb0", dash: "none", radius: 3 },
  oneshot: { fill: "#eef7ee", stroke: "#2f855a", dash: "none", radius: 3 },
  task: { fill: "#fff7e6", stroke: "#b7791f", dash: "none", radius: 11 },
  bundle: { fill: "#f3eefa", stroke: "#6b46c1", dash: "4 2", radius: 3 },
};

function style(): string {
  const rules = [`text{fill:#1a202c}`, `.t{font-size:${NAME_SIZE}px}`, `.g{font-size:${TRIGGER_SIZE}px;fill:#4a5568}`, `.l{font-size:11px}`, `.c{font-size:${CAPTION_SIZE}px;font-weight:bold}`];
  for (const [kind, c] of Object.entries(EDGE_CLASS)) rules.push(`.e-${kind}{fill:none;stroke:${c.stroke};stroke-width:${c.width};stroke-dasharray:${c.dash}}`);
  for (const [type, c] of Object.entries(NODE_CLASS)) rules.push(`.n-${type}{fill:${c.fill};stroke:${c.stroke};stroke-dasharray:${c.dash}}`);
  return rules.join("\n");
}

/** An arrowhead per edge kind, in the kind's colour. */
function markers(): string {
  const defs = EDGE_KINDS.map((kind) => {
    const c = EDGE_CLASS[kind];
    const shape =
      c.head === "dot"
        ? `<circle cx="4" cy="4" r="2.5" fill="${c.stroke}"/>`
        : `<path d="M0,0 L8,4 L0,8 z" fill="${c.head === "filled" ? c.stroke : "#ffffff"}" stroke="${c.stroke}" stroke-width="1"/>`;
    const refX = c.head === "dot" ? 4 : 8;
    return `<marker id="h-${kind}" viewBox="0 0 8 8" refX="${refX}" refY="4" markerWidth="8" markerHeight="8" markerUnits="userSpaceOnUse" orient="auto">${shape}</marker>`;
  });
  return `<defs>${defs.join("")}</defs>`;
}

/** The legend: a sample of each edge kind and of each kind of box; its height and width. */
function legend(y0: number): { body: string[]; height: number; width: number } {
  const body: string[] = [];
  let x = MARGIN;
  const kinds = EDGE_KINDS.map((kind) => ({ kind, label: EDGE_CLASS[kind].meaning }));
  for (const { kind, label } of kinds) {
    const y = y0 + LEGEND_ROW / 2;
    body.push(element("path", { class: `e-${kind}`, d: `M${num(x)},${num(y)} H${num(x + LEGEND_SAMPLE)}`, "marker-end": `url(#h-${kind})` }));
    body.push(text(x + LEGEND_SAMPLE + 6, y + 4, label, { class: "l" }));
    x += LEGEND_SAMPLE + 6 + textWidth(label, 11) + 18;
  }
  const edgesWidth = x;
  x = MARGIN;
  const y1 = y0 + LEGEND_ROW + 6;
  for (const type of ["longrun", "oneshot", "task", "bundle"] as const) {
    const w = textWidth(type, 11) + 16;
    body.push(element("rect", { class: `n-${type}`, x, y: y1, width: w, height: 18, rx: NODE_CLASS[type].radius }));
    body.push(text(x + 8, y1 + 13, type, { class: "l" }));
    x += w + 12;
  }
  const note = `a second line: what starts it besides being wanted (a bundle of more than ${MAX_DRAWN_CONTENTS}: its size); first wave on top`;
  body.push(text(x + 6, y1 + 13, note, { class: "g" }));
  x += 6 + textWidth(note, TRIGGER_SIZE);
  return { body, height: LEGEND_ROW + 6 + 18, width: Math.max(edgesWidth, x) + MARGIN };
}

type Side = "top" | "bottom";

/** Which sides of its nodes an edge leaves and enters: the facing ones; both tops when they share a row (an arc above). */
function sides(from: PlacedNode, to: PlacedNode): [Side, Side] {
  if (Math.abs(from.y + from.height / 2 - (to.y + to.height / 2)) < 1) return ["top", "top"];
  return to.y < from.y ? ["top", "bottom"] : ["bottom", "top"];
}

/**
 * Where each edge meets its nodes: the edges on one side of a node spread along it in
 * the order of their other ends, so that ten edges into `prepare` do not meet in a point.
 */
function ports(edges: { from: PlacedNode; to: PlacedNode }[]): { x1: number; x2: number }[] {
  const groups = new Map<string, { edge: number; end: 0 | 1; other: number }[]>();
  const out = edges.map(() => ({ x1: 0, x2: 0 }));
  edges.forEach(({ from, to }, i) => {
    const [s1, s2] = sides(from, to);
    const add = (node: PlacedNode, side: Side, end: 0 | 1, other: PlacedNode): void => {
      const key = `${side} ${node.name}`;
      (groups.get(key) ?? groups.set(key, []).get(key)!).push({ edge: i, end, other: other.x + other.width / 2 });
    };
    add(from, s1, 0, to);
    add(to, s2, 1, from);
  });
  const byName = new Map(edges.flatMap(({ from, to }) => [[from.name, from], [to.name, to]]));
  for (const [key, list] of groups) {
    const node = byName.get(key.slice(key.indexOf(" ") + 1))!;
    list.sort((a, b) => a.other - b.other);
    // Within the straight part of the box (its rounded corners left alone).
    const inset = Math.min(node.width / 2, 8);
    list.forEach((p, k) => {
      const x = list.length === 1 ? node.x + node.width / 2 : node.x + inset + ((node.width - 2 * inset) * (k + 0.5)) / list.length;
      if (p.end === 0) out[p.edge]!.x1 = x;
      else out[p.edge]!.x2 = x;
    });
  }
  return out;
}

/** An edge as a curve between its ports: vertical at both ends, an arc when both are tops. */
function edgePath(from: PlacedNode, to: PlacedNode, fx: number, tx: number): string {
  const [s1, s2] = sides(from, to);
  const y1 = s1 === "top" ? from.y : from.y + from.height;
  const y2 = s2 === "top" ? to.y : to.y + to.height;
  if (s1 === s2) {
    const lift = Math.min(40, 12 + Math.abs(fx - tx) / 8);
    const y = Math.min(y1, y2) - lift;
    return `M${num(fx)},${num(y1)} C${num(fx)},${num(y)} ${num(tx)},${num(y)} ${num(tx)},${num(y2)}`;
  }
  const mid = (y1 + y2) / 2;
  return `M${num(fx)},${num(y1)} C${num(fx)},${num(mid)} ${num(tx)},${num(mid)} ${num(tx)},${num(y2)}`;
}

/**
 * A bundle with more members than this has its `contains` edges left out of the
 * picture (its box says how many): `default` holding 500 services would otherwise
 * draw 500 lines across everything. DOT and --json keep them.
 */
export const MAX_DRAWN_CONTENTS = 16;

/** The graph as drawn: a large bundle's contents as a count on its box, not as edges. */
function drawable(g: DependencyGraph): DependencyGraph {
  const members = new Map<string, number>();
  for (const e of g.edges) if (e.kind === "contains") members.set(e.from, (members.get(e.from) ?? 0) + 1);
  const large = new Set([...members].filter(([, n]) => n > MAX_DRAWN_CONTENTS).map(([b]) => b));
  if (large.size === 0) return g;
  return {
    nodes: g.nodes.map((n) => (large.has(n.name) ? { ...n, trigger: `contains ${members.get(n.name)} (not drawn)` } : n)),
    edges: g.edges.filter((e) => e.kind !== "contains" || !large.has(e.from)),
  };
}

/** The whole picture; `caption` says what it shows (the command writes it). */
export function graphSvg(whole: DependencyGraph, caption: string): string {
  const g = drawable(whole);
  const captionY = MARGIN + CAPTION_SIZE;
  const key = legend(captionY + 12);
  const layout = layOut(g, Math.max(key.width, textWidth(caption, CAPTION_SIZE) + 2 * MARGIN) - 2 * MARGIN);
  const top = captionY + 12 + key.height + 30;
  const at = new Map(layout.nodes.map((n) => [n.name, { ...n, x: n.x + MARGIN, y: n.y + top }]));
  const body = [markers(), text(MARGIN, captionY, caption, { class: "c" }), ...key.body];
  const drawn = layout.edges.flatMap((e) => {
    const from = at.get(e.from);
    const to = at.get(e.to);
    return from === undefined || to === undefined || from === to ? [] : [{ from, to, kind: e.kind }];
  });
  const where = ports(drawn);
  body.push(`<g>`);
  drawn.forEach(({ from, to, kind }, i) => {
    const { x1, x2 } = where[i]!;
    body.push(element("path", { class: `e-${kind}`, d: edgePath(from, to, x1, x2), "marker-end": `url(#h-${kind})` }));
  });
  body.push(`</g>`);
  for (const n of at.values()) {
    const tip = [n.name, `(${n.type})`, n.description, n.trigger ?? ""].filter((s) => s !== "").join(" — ");
    const parts = [`<g>${title(tip)}`, element("rect", { class: `n-${n.type}`, x: n.x, y: n.y, width: n.width, height: n.height, rx: NODE_CLASS[n.type].radius })];
    const cx = n.x + n.width / 2;
    if (n.shownTrigger === null) parts.push(text(cx, n.y + 15, n.name, { class: "t", "text-anchor": "middle" }));
    else parts.push(text(cx, n.y + 15, n.name, { class: "t", "text-anchor": "middle" }), text(cx, n.y + 29, n.shownTrigger, { class: "g", "text-anchor": "middle" }));
    body.push(`${parts.join("")}</g>`);
  }
  return svgDocument(layout.width + 2 * MARGIN, top + layout.height + MARGIN, body, style());
}
