// Bounces: a database change (`apply`) and an admin's `restart` both take a group of
// services down in order (what requires a service first) before any of it comes back
// (docs/DESIGN.md). An apply's group is what the new database removes or changes, with
// every instance of those and what requires them; it switches once all of it is down.

import type { Database } from "../compile/database.js";
import { mentionsLevel } from "../events/conditions.js";
import { argumentOf, instanceOf } from "../config/template.js";
import { compiledAlike, type DatabaseDiff, diffDatabases } from "./diff.js";
import { definitions, defOf, type Engine, initialState, isActive, stateOf, type Step, templateOf, watchersOf } from "./engine.js";
import { levelKey, reactTo } from "./events.js";
import { madeAtRunTime } from "./instances.js";
import { release } from "./restarts.js";
import { addInstance, edgesOf, requirersOf, topology } from "./topology.js";
import { rewant } from "./wanted.js";

/** What installing `next` would do: what it adds, removes and changes, and what goes down for it. */
export interface ApplyPlan extends DatabaseDiff {
  /** Every service that stops before the switch: the removed and changed, their instances, and what requires them. */
  leaving: Set<string>;
  /** Those of them that stay in the new database unchanged and are active: they stop, then start again. */
  bounced: string[];
}

export function planApply(e: Engine, next: Database): ApplyPlan {
  const diff = diffDatabases(e.db, next);
  const going = new Set([...diff.removed, ...diff.changed].filter((n) => e.topo.requires.has(n)));
  // The instances of what goes, and those the engine made that the new database compiles otherwise.
  const instances = new Set(
    e.topo.names.filter((n) => going.has(templateOf(e, n) ?? "") || (madeAtRunTime(e, n) && Object.hasOwn(next.services, n) && !alike(e, next, n))),
  );
  const leaving = new Set([...going, ...instances].flatMap((n) => requirersOf(e.topo, n)));
  const bounced = [...leaving].filter((n) => !going.has(n) && !instances.has(n) && isActive(stateOf(e, n).phase)).sort();
  return { ...diff, leaving, bounced };
}

/** An apply: what leaves stops first; `completeApply` switches once it has. */
export function beginApply(ctx: Step, db: Database): void {
  const { added, removed, changed, leaving } = planApply(ctx.e, db);
  ctx.e.pendingApply = { db, diff: { added, removed, changed }, leaving };
  for (const name of leaving) ctx.dirty.add(name);
}

/** An admin's restart of `name`: it and what is active that requires it form a bounce group. */
export function bounce(ctx: Step, name: string): void {
  const { e } = ctx;
  release(ctx, name);
  const group = new Set(requirersOf(e.topo, name).filter((r) => isActive(stateOf(e, r).phase) && stateOf(e, r).phase !== "stopping"));
  if (group.size > 0) e.bounces.push(group);
  for (const n of group) ctx.dirty.add(n);
}

/** A bounce group that is all down comes back: its services are wanted again. */
export function completeBounces(ctx: Step): boolean {
  const { e } = ctx;
  const done = e.bounces.filter((group) => [...group].every((n) => !e.services.has(n) || !isActive(stateOf(e, n).phase)));
  if (done.length === 0) return false;
  e.bounces = e.bounces.filter((group) => !done.includes(group));
  for (const group of done) for (const n of group) if (e.services.has(n)) ctx.dirty.add(n);
  return true;
}

/** Whether `next` compiles the instance `name` as the engine made it. */
const alike = (e: Engine, next: Database, name: string): boolean =>
  compiledAlike(next, name, defOf(e, name), { requires: [...edgesOf(e.topo, "requires", name)], wants: [...edgesOf(e.topo, "wants", name)], after: [...edgesOf(e.topo, "after", name)] });

/** A service the new database does not have: nothing may name it any more (its event, a hook run, a bounce). */
function forget(e: Engine, name: string): void {
  e.services.delete(name);
  e.triggered.delete(name);
  e.hookRuns.delete(name);
}

/** Once everything leaving the old database has stopped (a post-start it left included: its news is its state's), switch to the new one. */
export function completeApply(ctx: Step): boolean {
  const { e } = ctx;
  const pending = e.pendingApply;
  if (pending === null || [...pending.leaving].some((n) => isActive(stateOf(e, n).phase) || stateOf(e, n).postStartLeft)) return false;
  const { diff } = pending;
  // What the engine made, with its template, and whether the new database now compiles it alike (its state carries on).
  const made = [...e.defs.keys()].filter((n) => madeAtRunTime(e, n)).map((name) => ({ name, template: templateOf(e, name)!, compiled: alike(e, pending.db, name) }));
  const gone = new Set(diff.removed);
  e.db = pending.db;
  e.topo = topology(pending.db);
  e.defs = definitions(pending.db);
  e.watchers = watchersOf(pending.db);
  e.pendingApply = null;
  for (const name of diff.removed) forget(e, name);
  // Instances of an unchanged template carry on (as services of the new database, when
  // it compiles them alike); the others stopped with it and go.
  const carried = new Set<string>();
  for (const { name, template, compiled } of made) {
    if (compiled) carried.add(name);
    else if (e.defs.has(template) && !diff.changed.includes(template) && !Object.hasOwn(pending.db.services, name)) {
      e.defs.set(name, instanceOf(defOf(e, template), argumentOf(name, template)));
      addInstance(e.topo, template, name);
    } else {
      forget(e, name);
      gone.add(name);
    }
  }
  ctx.out.push({ kind: "switched", db: pending.db, removed: [...gone], changed: diff.changed });
  for (const name of [...diff.added, ...diff.changed]) {
    if (carried.has(name)) continue;
    const def = e.defs.get(name); // bundles have no definition here, nor a state
    if (def !== undefined) e.services.set(name, initialState(def, ctx.now));
    else e.services.delete(name);
  }
  // What arrives sees the levels as they are, as if they were set now: a "while" over a
  // level that holds already runs, and stops when the level goes.
  for (const name of [...diff.added, ...diff.changed]) {
    const def = e.defs.get(name);
    const startOn = def?.template === null ? def.startOn : null; // an instance's template watches for it
    if (startOn === null) continue;
    const env = Object.fromEntries([...e.levels].filter(([level]) => mentionsLevel(startOn, level)).map(([level, value]) => [levelKey(level), value]));
    if (Object.keys(env).length > 0) reactTo(ctx, [name], null, { started: [], stopped: [], skipped: [] }, env);
  }
  rewant(ctx);
  for (const name of e.topo.names) ctx.dirty.add(name);
  return true;
}
