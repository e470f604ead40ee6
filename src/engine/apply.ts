// Bounces: a database change (`apply`) and an admin's `restart` both take a group of
// services down in order before any of it comes back (docs/DESIGN.md).

import { mentionsLevel } from "../events/conditions.js";
import { diffDatabases } from "./diff.js";
import { addInstance, topology } from "./topology.js";
import { type Step, definitions, initialState, isActive, stateOf, templateOf, watchersOf } from "./engine.js";
import { levelKey, reactTo } from "./events.js";
import { rewant } from "./wanted.js";

/** A bounce group that is all down comes back: its services are wanted again. */
export function completeBounces(ctx: Step): boolean {
  const { e } = ctx;
  const done = e.bounces.filter((group) => [...group].every((n) => !e.services.has(n) || !isActive(stateOf(e, n).phase)));
  if (done.length === 0) return false;
  e.bounces = e.bounces.filter((group) => !done.includes(group));
  for (const group of done) for (const n of group) if (e.services.has(n)) ctx.dirty.add(n);
  return true;
}

/** Once everything leaving the old database has stopped, switch to the new one. */
export function completeApply(ctx: Step): boolean {
  const { e } = ctx;
  const pending = e.pendingApply;
  if (pending === null || [...pending.leaving].some((n) => isActive(stateOf(e, n).phase))) return false;
  const diff = diffDatabases(e.db, pending.db);
  const instances = [...e.defs.keys()].filter((n) => n !== templateOf(n));
  const gone = new Set(diff.removed);
  e.db = pending.db;
  e.topo = topology(pending.db);
  e.defs = definitions(pending.db);
  e.watchers = watchersOf(pending.db);
  e.pendingApply = null;
  for (const name of diff.removed) e.services.delete(name);
  // Instances of an unchanged template carry on; the others stopped with it and go.
  for (const name of instances) {
    const template = templateOf(name);
    if (e.defs.has(template) && !diff.changed.includes(template)) {
      e.defs.set(name, { ...e.defs.get(template)!, name });
      addInstance(e.topo, template, name);
    } else {
      e.services.delete(name);
      e.triggered.delete(name);
      gone.add(name);
    }
  }
  ctx.out.push({ kind: "switched", db: pending.db, removed: [...gone], changed: diff.changed });
  for (const name of [...diff.added, ...diff.changed]) {
    const def = e.defs.get(name); // bundles have no definition here, nor a state
    if (def !== undefined) e.services.set(name, initialState(def, ctx.now));
    else e.services.delete(name);
  }
  // What arrives sees the levels as they are, as if they were set now: a "while" over a
  // level that holds already runs, and stops when the level goes.
  for (const name of [...diff.added, ...diff.changed]) {
    const startOn = e.defs.get(name)?.startOn ?? null;
    if (startOn === null) continue;
    const env = Object.fromEntries([...e.levels].filter(([level]) => mentionsLevel(startOn, level)).map(([level, value]) => [levelKey(level), value]));
    if (Object.keys(env).length > 0) reactTo(ctx, [name], null, { started: [], stopped: [], skipped: [] }, env);
  }
  rewant(ctx);
  for (const name of e.topo.names) ctx.dirty.add(name);
  return true;
}
