// The instances of templates that the source files name (`requires = postgresql@15-main`,
// `contents = getty@tty1 getty@tty2`) are compiled as services of their own, each made
// from its template's definition by `instanceOf` (config/template.ts): the graph, its
// cycles, the host checks and the boot plan see them as any service. Instances named
// only at run time (`tend start getty@tty3`) are the engine's to make, the same way.

import type { Report } from "../config/diagnostics.js";
import type { ParsedService } from "../config/parse.js";
import { instanceOf, isTemplateDef, splitInstanceName } from "../config/template.js";

const REFERENCES = ["requires", "wants", "after", "before", "contents"] as const;

/**
 * Adds to `parsed` an instance for every instance name the files reference, whose
 * template is there; one whose template could not be parsed joins `unparsed` (its
 * references are dropped without a second error); one with no template is left to the
 * graph check, which says so where it is named.
 */
export function addNamedInstances(parsed: Map<string, ParsedService>, unparsed: Set<string>, report: Report): void {
  for (const { def } of parsed.values()) {
    // `mount` with `instance = KEY` makes `mount@VALUE` from events: a template `mount@` would make the same names.
    const eventTemplate = isTemplateDef(def) ? parsed.get(def.name.slice(0, -1))?.def : undefined;
    if (eventTemplate?.instance != null) {
      report("error", { file: def.file, line: 0, col: 0 }, `'${eventTemplate.name}' makes instances named '${def.name}…' from its events ('instance = ${eventTemplate.instance}'): a template '${def.name}' would make the same names; keep one of them`);
    }
  }
  const named = new Set<string>();
  for (const { def } of parsed.values()) for (const key of REFERENCES) for (const r of def[key]) if (splitInstanceName(r.name) !== null) named.add(r.name);
  for (const name of [...named].sort()) {
    const { template, argument } = splitInstanceName(name)!;
    const made = parsed.get(template);
    if (made !== undefined) parsed.set(name, { def: instanceOf(made.def, argument), conditionRefs: [], keyAt: made.keyAt });
    else if (unparsed.has(template)) unparsed.add(name);
  }
}
