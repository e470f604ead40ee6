// Where `tend graph` puts each node: a row per layer (the boot plan's waves, known from
// the model, never guessed), the first on top; within a layer, an order that puts each
// node near what it is joined to (a few barycentre sweeps, as Sugiyama's method does),
// and a layer wider than a screen or two wrapped into several rows, so that 500
// services make a picture one can scroll through rather than one 40,000 px wide.
// Sizes come from the text (monospace: its length). Pure.

import { clip, textWidth } from "../draw/svg.js";
import type { DependencyGraph, GraphEdge, GraphNode } from "./graph-model.js";

export const NAME_SIZE = 12;
export const TRIGGER_SIZE = 10;
/** A trigger longer than this is cut (the whole of it is the node's tooltip). */
const TRIGGER_CHARS = 44;
const PAD_X = 8;
const ONE_LINE = 22;
const TWO_LINES = 36;
const GAP_X = 14;
/** Between the rows of one wrapped layer, and between layers (room for the edges' curves). */
const GAP_WRAPPED = 16;
const GAP_LAYERS = 54;
/** A layer wider than this wraps. */
export const MAX_ROW_WIDTH = 1800;
const SWEEPS = 4;

export interface PlacedNode extends GraphNode {
  x: number;
  y: number;
  width: number;
  height: number;
  /** The trigger as drawn (cut), or null. */
  shownTrigger: string | null;
}

export interface Layout {
  nodes: PlacedNode[];
  edges: GraphEdge[];
  width: number;
  height: number;
}

/** The nodes placed from (0, 0); `minWidth` makes room for what is drawn above them (the legend). */
export function layOut(g: DependencyGraph, minWidth = 0): Layout {
  const layers: GraphNode[][] = [];
  for (const n of g.nodes) (layers[n.layer] ??= []).push(n);
  const ordered = orderLayers(layers.filter((l) => l !== undefined), g.edges);

  const sized = ordered.map((layer) =>
    layer.map((n) => {
      const shownTrigger = n.trigger === null ? null : clip(n.trigger, TRIGGER_CHARS);
      const width = Math.max(textWidth(n.name, NAME_SIZE), shownTrigger === null ? 0 : textWidth(shownTrigger, TRIGGER_SIZE)) + 2 * PAD_X;
      return { ...n, shownTrigger, width, height: shownTrigger === null ? ONE_LINE : TWO_LINES, x: 0, y: 0 };
    }),
  );
  // Each layer into rows no wider than MAX_ROW_WIDTH (a node wider than that alone in its row).
  const rows: { nodes: PlacedNode[]; width: number; first: boolean }[] = [];
  for (const layer of sized) {
    let row: PlacedNode[] = [];
    let width = 0;
    let first = true;
    for (const n of layer) {
      if (row.length > 0 && width + GAP_X + n.width > MAX_ROW_WIDTH) {
        rows.push({ nodes: row, width, first });
        [row, width, first] = [[], 0, false];
      }
      width += (row.length > 0 ? GAP_X : 0) + n.width;
      row.push(n);
    }
    if (row.length > 0) rows.push({ nodes: row, width, first });
  }
  const width = Math.max(minWidth, ...rows.map((r) => r.width));
  let y = 0;
  rows.forEach((row, i) => {
    if (i > 0) y += row.first ? GAP_LAYERS : GAP_WRAPPED;
    const height = Math.max(...row.nodes.map((n) => n.height));
    let x = (width - row.width) / 2;
    for (const n of row.nodes) {
      n.x = x;
      n.y = y + (height - n.height) / 2;
      x += n.width + GAP_X;
    }
    y += height;
  });
  return { nodes: rows.flatMap((r) => r.nodes), edges: g.edges, width, height: y };
}

/**
 * Each layer's nodes in an order that shortens edges: sweeps down then up, each node
 * moved to the mean position (0 to 1 across its layer) of its neighbours on the side
 * swept from; one with none there keeps its place. Layers start in name order.
 */
function orderLayers(layers: GraphNode[][], edges: readonly GraphEdge[]): GraphNode[][] {
  const layerOf = new Map<string, number>();
  layers.forEach((l, i) => l.forEach((n) => layerOf.set(n.name, i)));
  const neighbours = new Map<string, string[]>();
  const join = (a: string, b: string): void => void (neighbours.get(a) ?? neighbours.set(a, []).get(a)!).push(b);
  for (const e of edges) {
    if (e.from === e.to || !layerOf.has(e.from) || !layerOf.has(e.to)) continue;
    join(e.from, e.to);
    join(e.to, e.from);
  }
  const position = new Map<string, number>();
  const place = (layer: GraphNode[]): void => layer.forEach((n, i) => position.set(n.name, (i + 0.5) / layer.length));
  const result = layers.map((l) => [...l]);
  result.forEach(place);
  const sweep = (i: number, fromAbove: boolean): void => {
    const keyed = result[i]!.map((n) => {
      const side = (neighbours.get(n.name) ?? []).filter((m) => (fromAbove ? layerOf.get(m)! < i : layerOf.get(m)! > i));
      const key = side.length === 0 ? position.get(n.name)! : side.reduce((sum, m) => sum + position.get(m)!, 0) / side.length;
      return { n, key };
    });
    keyed.sort((a, b) => a.key - b.key);
    result[i] = keyed.map((k) => k.n);
    place(result[i]!);
  };
  for (let s = 0; s < SWEEPS; s++) {
    if (s % 2 === 0) for (let i = 1; i < result.length; i++) sweep(i, true);
    else for (let i = result.length - 2; i >= 0; i--) sweep(i, false);
  }
  return result;
}
