// Resolves the references between services into the graph the engine runs on:
// bundles expanded to their members, `before` turned around into `after`, and every
// name checked. Reports unknown names, requirements on tasks and every kind of cycle.

import { suggester, type Location, type Report } from "../config/diagnostics.js";
import type { ParsedService } from "../config/parse.js";
import type { Reference, ServiceDef } from "../config/service.js";
import { splitInstanceName } from "../config/template.js";
import { nameRecord, required } from "../records.js";
import { cycleKey, describeCycle, findCycles, type Cycle, type Edge } from "./cycles.js";

/** For each service that is not a bundle: other non-bundle services, by name. */
export interface ResolvedEdges {
  requires: string[];
  wants: string[];
  /** Everything this service is ordered after when both are starting (the reverse when stopping). */
  after: string[];
}

export interface ResolvedGraph {
  services: Record<string, ResolvedEdges>;
  /** Each bundle's members, nested bundles expanded. */
  bundles: Record<string, string[]>;
}

/** How many names expanding bundles may yield in one compilation (docs/service-files.md). */
export const MAX_EXPANDED_NAMES = 1_000_000;

/**
 * `unparsed` names the files that exist but could not be parsed (their errors are
 * already reported): references to them are dropped without a second error.
 */
export function resolveGraph(services: ReadonlyMap<string, ParsedService>, unparsed: ReadonlySet<string>, report: Report): ResolvedGraph {
  const known = (name: string): ServiceDef | undefined => services.get(name)?.def;
  const didYouMean = suggester(services.keys());
  const at = (def: ServiceDef, r: Reference) => ({ file: def.file, line: r.line, col: r.col });
  /** What is missing for `name` to be there: its file, or its template's (the compiler makes the instances the files name). */
  const missing = (name: string): string => {
    const instance = splitInstanceName(name);
    if (instance === null) return `which has no service file${didYouMean(name)}`;
    const plain = known(instance.template.slice(0, -1));
    const hint = plain?.instance != null ? `; '${plain.name}' makes its instances from events ('instance = ${plain.instance}'), not by name: a template is a file named '${instance.template}'` : didYouMean(instance.template);
    return `an instance of '${instance.template}', which has no template file${hint}`;
  };

  // 1. Every name must exist; a task cannot be required, since it is never up.
  const valid = (def: ServiceDef, refs: Reference[], key: string, severity: "error" | "warning"): Reference[] =>
    refs.filter((r) => {
      const target = known(r.name);
      if (target === undefined && unparsed.has(r.name)) return false;
      if (target === undefined) {
        const also = severity === "warning" ? "; the ordering is ignored" : "";
        report(severity, at(def, r), `'${key}' names '${r.name}', ${missing(r.name)}${also}`);
        return false;
      }
      if (key === "requires" && target.type === "task") {
        report("error", at(def, r), `'${r.name}' is a task and is never up, so it cannot be required; order after it with 'after', or run it on an event`);
        return false;
      }
      if (r.name === def.name) {
        report("error", at(def, r), `'${def.name}' names itself in '${key}'`);
        return false;
      }
      return true;
    });
  const checked = new Map<string, Record<"requires" | "wants" | "after" | "before" | "contents", Reference[]>>();
  const checkedOf = (name: string) => required(checked, name, "the checked references");
  for (const [name, { def, conditionRefs }] of services) {
    checked.set(name, {
      requires: valid(def, def.requires, "requires", "error"),
      wants: valid(def, def.wants, "wants", "error"),
      after: valid(def, def.after, "after", "warning"),
      before: valid(def, def.before, "before", "warning"),
      contents: valid(def, def.contents, "contents", "error"),
    });
    for (const r of conditionRefs) {
      if (known(r.name) === undefined && !unparsed.has(r.name)) report("error", at(def, r), `the condition names '${r.name}', which has no service file${didYouMean(r.name)}`);
    }
  }

  // 2. Bundles: no bundle may contain itself; expand each to the services it stands for.
  const edgesOf = (def: ServiceDef, refs: Reference[]): Edge[] =>
    refs.map((r) => ({ from: def.name, to: r.name, file: def.file, line: r.line, col: r.col }));
  const containment = new Map<string, Edge[]>();
  for (const [name, { def }] of services) {
    if (def.type === "bundle") containment.set(name, edgesOf(def, checkedOf(name).contents.filter((r) => known(r.name)?.type === "bundle")));
  }
  for (const cycle of findCycles(containment)) {
    const e = cycle[0];
    report("error", e, `bundle '${e.from}' contains itself: ${describeCycle(cycle)}${locations(cycle)}`);
  }
  // Expansion costs what it yields, and nested bundles yield quadratically many names
  // (10^4 bundles each inside the next): past a fixed total, one error, and nothing more.
  let expansionLeft = MAX_EXPANDED_NAMES;
  const spend = (count: number, where: Location): boolean => {
    if (expansionLeft < 0) return false;
    expansionLeft -= count;
    if (expansionLeft < 0) {
      report("error", where, `bundles expand to more than ${MAX_EXPANDED_NAMES} names in all here: nest bundles less deeply, or name fewer of them`);
    }
    return expansionLeft >= 0;
  };
  const contentsAt = (bundle: string): Location => {
    const { def, keyAt } = required(services, bundle, "the services");
    return keyAt.get("contents") ?? { file: def.file, line: 0, col: 0 };
  };
  const members = new Map<string, string[]>();
  // Depth first with an explicit stack (bundles may nest thousands deep); a bundle met
  // again while it is being expanded is a cycle, reported above, and adds nothing.
  const expand = (name: string): string[] => {
    if (known(name)?.type !== "bundle") return [name];
    const cached = members.get(name);
    if (cached) return cached;
    const open = new Set<string>([name]);
    const stack = [{ name, next: 0, found: new Set<string>() }];
    for (let top = stack.at(-1); top !== undefined; top = stack.at(-1)) {
      const ref = checkedOf(top.name).contents[top.next];
      if (ref === undefined) {
        const result = spend(top.found.size, contentsAt(top.name)) ? [...top.found] : [];
        members.set(top.name, result);
        open.delete(top.name);
        stack.pop();
        for (const m of result) stack.at(-1)?.found.add(m);
        continue;
      }
      top.next++;
      const member = ref.name;
      if (known(member)?.type !== "bundle") {
        top.found.add(member);
        continue;
      }
      const expanded = members.get(member);
      if (expanded !== undefined) {
        if (spend(expanded.length, contentsAt(top.name))) for (const m of expanded) top.found.add(m);
      } else if (!open.has(member)) {
        open.add(member);
        stack.push({ name: member, next: 0, found: new Set<string>() });
      }
    }
    return required(members, name, "the expanded bundles");
  };
  const expandRefs = (def: ServiceDef, refs: Reference[]): Reference[] =>
    refs.flatMap((r) => {
      const names = expand(r.name);
      return names.length === 1 || spend(names.length, at(def, r)) ? names.map((m) => ({ ...r, name: m })) : [];
    });

  // 3. Requirements must not form a cycle; nor may the order they, `wants`, `after` and `before` impose.
  const requireGraph = new Map<string, Edge[]>();
  const orderGraph = new Map<string, Edge[]>();
  const graph: ResolvedGraph = { services: nameRecord(), bundles: nameRecord() };
  for (const [name, { def }] of services) {
    if (def.type !== "bundle") orderGraph.set(name, []);
  }
  for (const [name, { def }] of services) {
    if (def.type === "bundle") {
      graph.bundles[name] = expand(name);
      continue;
    }
    const refs = checkedOf(name);
    const requires = refs.requires.flatMap((via) =>
      expandRefs(def, [via]).filter((r) => {
        // A task reached through a bundle: the direct case is reported in step 1.
        if (known(r.name)?.type !== "task") return true;
        report("error", at(def, r), `'${via.name}' contains the task '${r.name}', which is never up, so it cannot be required; use 'wants' or 'after'`);
        return false;
      }),
    );
    const wants = expandRefs(def, refs.wants);
    requireGraph.set(name, edgesOf(def, requires));
    required(orderGraph, name, "the ordering graph").push(...edgesOf(def, [...requires, ...wants, ...expandRefs(def, refs.after)]));
    for (const b of expandRefs(def, refs.before)) {
      orderGraph.get(b.name)?.push({ from: b.name, to: name, file: def.file, line: b.line, col: b.col });
    }
    graph.services[name] = { requires: unique(requires), wants: unique(wants), after: [] };
  }
  const reported = new Set<string>();
  for (const cycle of findCycles(requireGraph)) {
    reported.add(cycleKey(cycle));
    report("error", cycle[0], `dependency cycle: ${describeCycle(cycle)}${locations(cycle)}`);
  }
  for (const cycle of findCycles(orderGraph)) {
    if (reported.has(cycleKey(cycle))) continue;
    report("error", cycle[0], `ordering cycle (each must start after the next): ${describeCycle(cycle)}${locations(cycle)}`);
  }
  for (const [name, edges] of orderGraph) required(graph.services, name, "the graph's services").after = [...new Set(edges.map((e) => e.to))].filter((n) => n !== name);
  return graph;
}

const unique = (refs: Reference[]): string[] => [...new Set(refs.map((r) => r.name))];

/** The declarations that make up a cycle, so that every file involved is named. */
function locations(cycle: Cycle): string {
  return ` (${cycle.map((e) => `${e.file}:${e.line}`).join(", ")})`;
}
