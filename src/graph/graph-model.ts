// What `tend graph` draws, from a compiled database: a node per service and bundle, an
// edge per relation the files state (requires, wants, ordering, a bundle's contents,
// the job events a start-on, stop-on or schedule waits for), and each node's layer.
// The layers are the boot plan's waves (compile/plan.ts) over every service: a service
// sits below everything it is ordered after; a bundle below its members. Pure.

import { plan } from "../compile/plan.js";
import type { Database } from "../compile/database.js";
import { conditionText, type Condition } from "../config/condition.js";
import type { Schedule } from "../config/schedule.js";
import type { ServiceType } from "../config/service.js";
import { ARGUMENT_VARIABLE, instanceName, isTemplateDef, isTemplateName } from "../config/template.js";
import { tendDuration } from "../import/durations.js";
import { own } from "../records.js";

export type EdgeKind = "requires" | "wants" | "after" | "contains" | "start-on" | "stop-on" | "schedule";
export const EDGE_KINDS: readonly EdgeKind[] = ["requires", "wants", "after", "contains", "start-on", "stop-on", "schedule"];

export interface GraphNode {
  name: string;
  type: ServiceType;
  description: string;
  /** What starts it besides being wanted: `start-on stopping db`, `schedule every 1h`; null for none. */
  trigger: string | null;
  /** 0 for the first wave; everything a node points to by `after` is in a layer above it. */
  layer: number;
}

/** `from` is the one whose file states the relation, `to` the one it names (a bundle `contains` its member). */
export interface GraphEdge {
  from: string;
  to: string;
  kind: EdgeKind;
}

export interface DependencyGraph {
  /** By layer, then by name. */
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** The whole graph of `db`: every service and bundle; not a template (`getty@`), which never runs: its instances are drawn. */
export function dependencyGraph(db: Pick<Database, "services" | "graph">): DependencyGraph {
  const { graph, services } = db;
  const names = Object.keys(graph.services).filter((n) => !isTemplateName(n));
  const layer = new Map<string, number>();
  const { waves } = plan(graph, names);
  waves.forEach((wave, i) => wave.forEach((n) => layer.set(n, i)));
  // An ordering cycle cannot be compiled; a database holding one all the same still draws.
  for (const n of names) if (!layer.has(n)) layer.set(n, waves.length);

  const edges: GraphEdge[] = [];
  for (const name of names) {
    const e = graph.services[name]!;
    for (const to of e.requires) edges.push({ from: name, to, kind: "requires" });
    for (const to of e.wants) edges.push({ from: name, to, kind: "wants" });
    const stronger = new Set([...e.requires, ...e.wants]);
    for (const to of e.after) if (!stronger.has(to)) edges.push({ from: name, to, kind: "after" });
  }
  const drawn = Object.values(services).filter((def) => !isTemplateDef(def));
  const isDrawn = (name: string): boolean => own(services, name) !== undefined && !isTemplateName(name);
  for (const def of drawn) {
    const name = def.name;
    if (def.type === "bundle") {
      for (const r of def.contents) if (isDrawn(r.name)) edges.push({ from: name, to: r.name, kind: "contains" });
      continue;
    }
    const jobs = (c: Condition | null, kind: EdgeKind): void => {
      for (const service of jobServices(c)) if (service !== name && isDrawn(service)) edges.push({ from: name, to: service, kind });
    };
    jobs(def.startOn, "start-on");
    jobs(def.stopOn, "stop-on");
    jobs(def.schedule?.kind === "after" ? def.schedule.event : null, "schedule");
  }

  // A bundle below the lowest of its members. Bundles nest (thousands deep, perhaps: a
  // stack of our own, not recursion); a cycle among them cannot be compiled, and is cut here.
  const bundleLayer = (bundle: string): number => {
    const open = new Set<string>();
    const stack = [bundle];
    for (let top = stack.at(-1); top !== undefined; top = stack.at(-1)) {
      if (layer.has(top)) {
        stack.pop();
        continue;
      }
      open.add(top);
      const inner = services[top]!.contents.map((r) => r.name).filter((m) => isDrawn(m) && !open.has(m));
      const pending = inner.filter((m) => !layer.has(m));
      if (pending.length > 0) {
        stack.push(...pending);
        continue;
      }
      layer.set(top, Math.max(-1, ...inner.map((m) => layer.get(m)!)) + 1);
      open.delete(top);
      stack.pop();
    }
    return layer.get(bundle)!;
  };
  const nodes: GraphNode[] = drawn.map((def) => ({
    name: def.name,
    type: def.type,
    description: def.description,
    trigger: triggerText(def.startOn, def.stopOn, def.schedule),
    layer: def.type === "bundle" ? bundleLayer(def.name) : (layer.get(def.name) ?? waves.length),
  }));
  return { nodes: sortNodes(nodes), edges };
}

/**
 * What `name` reaches: itself, what it needs (following edges forward: what it requires,
 * wants, is ordered after, contains or waits on the events of, and so on) and what needs
 * it (following them backward); null when the graph has no such node.
 */
export function reachedFrom(g: DependencyGraph, name: string): DependencyGraph | null {
  if (!g.nodes.some((n) => n.name === name)) return null;
  const forward = new Map<string, string[]>();
  const backward = new Map<string, string[]>();
  for (const e of g.edges) {
    (forward.get(e.from) ?? forward.set(e.from, []).get(e.from)!).push(e.to);
    (backward.get(e.to) ?? backward.set(e.to, []).get(e.to)!).push(e.from);
  }
  const walk = (next: Map<string, string[]>): Set<string> => {
    const seen = new Set<string>();
    const stack = [name];
    for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
      if (seen.has(n)) continue;
      seen.add(n);
      stack.push(...(next.get(n) ?? []));
    }
    return seen;
  };
  const kept = new Set([...walk(forward), ...walk(backward)]);
  // The layers of what is kept, numbered again without the empty ones.
  const used = [...new Set(g.nodes.filter((n) => kept.has(n.name)).map((n) => n.layer))].sort((a, b) => a - b);
  const renumber = new Map(used.map((l, i) => [l, i]));
  return {
    nodes: g.nodes.filter((n) => kept.has(n.name)).map((n) => ({ ...n, layer: renumber.get(n.layer)! })),
    edges: g.edges.filter((e) => kept.has(e.from) && kept.has(e.to)),
  };
}

const sortNodes = (nodes: GraphNode[]): GraphNode[] => nodes.sort((a, b) => a.layer - b.layer || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

/** The services a condition's job events name (`stopping db`: db; `started getty@tty1`, an instance's, which the parser keeps as its template's with INSTANCE=tty1: getty@tty1). */
function jobServices(c: Condition | null): string[] {
  if (c === null) return [];
  const found: string[] = [];
  const stack = [c];
  for (let x = stack.pop(); x !== undefined; x = stack.pop()) {
    if (x.kind === "and" || x.kind === "or") stack.push(...x.of);
    else if (x.kind === "job") {
      const argument = own(x.match, ARGUMENT_VARIABLE);
      found.push(isTemplateName(x.service) && argument !== undefined ? instanceName(x.service, argument) : x.service);
    }
  }
  return [...new Set(found)];
}

function triggerText(startOn: Condition | null, stopOn: Condition | null, schedule: Schedule | null): string | null {
  const parts: string[] = [];
  if (startOn !== null) parts.push(`start-on ${conditionText(startOn)}`);
  if (stopOn !== null) parts.push(`stop-on ${conditionText(stopOn)}`);
  if (schedule !== null) parts.push(`schedule ${scheduleText(schedule)}`);
  return parts.length === 0 ? null : parts.join("; ");
}

/** A schedule as a file would write it. */
export function scheduleText(s: Schedule): string {
  switch (s.kind) {
    case "every":
      return `every ${tendDuration(s.intervalMs)}`;
    case "cron":
      return s.expression;
    case "after":
      return `${tendDuration(s.delayMs)} after ${conditionText(s.event)}`;
    case "boot":
      return `${s.intervalMs === null ? "" : `every ${tendDuration(s.intervalMs)} from `}${tendDuration(s.delayMs)} after boot`;
  }
}
