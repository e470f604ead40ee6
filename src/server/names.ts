// The names a request gives: services, bundles and instances of templates by name
// (`getty@tty1`), made already or not yet (the engine makes those with the command
// that starts them). What does not resolve is refused in one line that says why and
// what was probably meant.

import { closest } from "../config/diagnostics.js";
import { argumentProblem, isTemplateName, splitInstanceName } from "../config/template.js";
import type { Engine } from "../engine/engine.js";
import { canMakeByName } from "../engine/instances.js";
import { members } from "../engine/topology.js";
import { own } from "../records.js";

/**
 * Null when every name is a service, a bundle, or (with `notMade: "accept"`) an
 * instance by name the engine can make; else the refusal, for the first name that is
 * none. Commands that only look (status, why) take only what is there.
 */
export function nameProblem(engine: Engine, names: readonly string[], notMade: "accept" | "refuse" = "accept"): string | null {
  const unknown = names.filter((n) => !isThere(engine, n) && (notMade === "refuse" || !canMakeByName(engine, n)));
  const template = names.find((n) => isTemplateName(n) && isThere(engine, n));
  if (template !== undefined) return `'${template}' is a template, which never runs itself: name one of its instances, like '${template}NAME'`;
  if (unknown.length === 0) return null;
  const first = unknown[0]!;
  if (canMakeByName(engine, first)) {
    return `'${first}' has not been made: no start has named it since the server started ('tend start ${first}' makes it, from '${splitInstanceName(first)!.template}')`;
  }
  return `unknown service${unknown.length > 1 ? "s" : ""}: ${unknown.join(", ")}${hint(engine, first)}`;
}

const isThere = (engine: Engine, name: string): boolean => members(engine.topo, name).length > 0 || Object.hasOwn(engine.db.services, name);

/** What was probably meant by a name that is no service: a template's instance, another name. */
function hint(engine: Engine, name: string): string {
  const at = name.indexOf("@");
  if (at < 0) {
    if (engine.defs.has(`${name}@`)) return ` ('${name}@' is a template: name one of its instances, like '${name}@NAME')`;
    const guess = closest(name, Object.keys(engine.db.services));
    return guess === undefined ? "" : ` (did you mean '${guess}'?)`;
  }
  const template = name.slice(0, at + 1);
  const plain = own(engine.db.services, name.slice(0, at));
  if (engine.defs.has(template)) return ` (${argumentProblem(name.slice(at + 1)) ?? `'${template}' cannot make it`})`;
  if (plain?.instance != null) return ` ('${plain.name}' makes its instances from its events: there is none for '${name.slice(at + 1)}' now)`;
  if (plain !== undefined) return ` ('${plain.name}' is no template: a template's file name ends in '@')`;
  const guess = closest(template, Object.keys(engine.db.services).filter(isTemplateName));
  return ` (there is no template '${template}'${guess === undefined ? "" : `; did you mean '${guess}'?`})`;
}
