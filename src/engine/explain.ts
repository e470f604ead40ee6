// `tend why NAME`: the state of one service in words an admin can act on, read off the
// engine with the same rules that decide it (rules.ts, wanted.ts), never re-derived.

import { defOf, type Engine, isActive, stateOf } from "./engine.js";
import { requirementReady, settled, stopsFirst } from "./rules.js";
import { edgesOf, members } from "./topology.js";
import { broughtUpBy, wantedBecause } from "./wanted.js";

/** Lines that explain the state of one service. */
export function explain(e: Engine, name: string): string[] {
  const s = stateOf(e, name);
  const lines = [`${name} is ${s.phase}${s.reason ? `: ${s.reason}` : ""}`];
  const because = wantedBecause(e, name);
  if (e.shuttingDown) lines.push("the server is shutting down: nothing is wanted");
  else if (because === null) lines.push(notWanted(e, name));
  else lines.push("wanted because:", ...because.map((l) => `  ${l}`));
  if (s.held && (s.phase === "failed" || s.phase === "down")) {
    lines.push(
      defOf(e, name).type === "task"
        ? `its run is over; 'tend start ${name}' runs it again`
        : `held: it is not started again by itself; 'tend start ${name}' retries it`,
    );
  }
  const disabled = disabledBy(e, name);
  if (because !== null && disabled !== null) lines.push(`disabled: 'default' does not bring it up, but what is listed above still needs it`);
  if (because !== null && (s.phase === "down" || s.phase === "failed")) {
    for (const r of edgesOf(e.topo, "requires", name)) {
      const rs = stateOf(e, r);
      if (!requirementReady(e, name, r)) lines.push(`waits for requirement ${r}, which is ${rs.phase}${rs.reason ? `: ${rs.reason}` : ""}`);
    }
    for (const a of edgesOf(e.topo, "after", name)) {
      if (!settled(e, a)) lines.push(`ordered after ${a}, which is ${isActive(stateOf(e, a).phase) ? stateOf(e, a).phase : "about to start"}`);
    }
  }
  const first = isActive(s.phase) && because === null ? stopsFirst(e, name) : [];
  if (first.length > 0) lines.push(`stops once these stop first: ${first.join(", ")}`);
  return lines;
}

/** The name `tend disable` was given that takes `name` out of what a started bundle brings up: itself, or a bundle inside; or null. */
function disabledBy(e: Engine, name: string): string | null {
  if (e.excluded.has(name)) return name;
  const cut: string[] = [];
  for (const root of e.explicit) broughtUpBy(e, root, cut);
  return cut.find((n) => members(e.topo, n).includes(name)) ?? null;
}

/** Why a service is not wanted, in words an admin can act on. */
function notWanted(e: Engine, name: string): string {
  const def = defOf(e, name);
  if (e.stopped.has(name)) return `not wanted: an admin stopped it (or something it requires); 'tend start ${name}' brings it back`;
  const disabled = disabledBy(e, name);
  if (disabled !== null) return `not wanted: disabled${disabled === name ? "" : ` with '${disabled}'`} ('tend enable ${disabled}' puts it back into what boot starts)`;
  if (def.startOn !== null) return "not wanted now: it starts when its start-on condition comes true";
  if (def.schedule !== null) return "not wanted now: it runs on its schedule";
  return "not wanted: nothing started it or pulls it in";
}
