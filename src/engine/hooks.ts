// Job events (`starting`, `started`, `stopping`, `stopped X`) and the tasks they run
// that X's transition waits for: its hooks.

import { ARGUMENT_VARIABLE, argumentOf } from "../config/template.js";
import { defOf, type Engine, isActive, stateOf, type Step, templateOf } from "./engine.js";
import { occur } from "./events.js";
import { setPhase } from "./phase.js";
import { arm } from "./processes.js";
import { rewant } from "./wanted.js";

/**
 * Emit a job event of `name`; return the tasks it started (or found still running)
 * that the transition of `name` waits for (only `starting` and `stopping` have such hooks).
 */
export function announce(ctx: Step, name: string, verb: "starting" | "started" | "stopping" | "stopped", values: Record<string, string>): string[] {
  const { e } = ctx;
  // An instance's job events are its template's, with INSTANCE set (as Upstart's are):
  // `stopping mount` sees every mount@… instance, `stopping mount INSTANCE=/dev/sdb1` one.
  const template = templateOf(e, name);
  const job = template ?? name;
  const instance: Record<string, string> = template === null ? {} : { [ARGUMENT_VARIABLE]: argumentOf(name, template) };
  const effect = occur(ctx, { kind: "job", verb, service: job, values: { JOB: job, ...instance, ...values } });
  if (verb !== "starting" && verb !== "stopping") return [];
  const hooks = [...effect.started, ...effect.skipped].filter((t) => defOf(e, t).type === "task");
  for (const t of hooks) e.hookRuns.add(t);
  if (hooks.length > 0) rewant(ctx); // hook runs pull in less (see `computeWanted`)
  return hooks;
}

/** Hook tasks may take as long as their own start timeout, or 90 s when they have none. */
const DEFAULT_HOOK_TIMEOUT_MS = 90_000;

export function waitForHooks(ctx: Step, name: string, hooks: string[]): void {
  const s = stateOf(ctx.e, name);
  s.hooks = hooks;
  const limit = Math.max(...hooks.map((h) => defOf(ctx.e, h).startTimeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS));
  setPhase(ctx, name, s.phase, `waiting for ${hooks.join(", ")} (run on ${s.phase === "up" ? "stopping" : "starting"} ${name})`);
  arm(ctx, name, limit, "hook-timeout");
}

/**
 * The transition of `name` no longer waits for its hook tasks (they ran, timed out, or
 * it was called off): those still running, that nothing else waits for, go on as
 * ordinary runs (a shutdown stops them too).
 */
export function dropHooks(ctx: Step, name: string): void {
  const s = stateOf(ctx.e, name);
  const abandoned = s.hooks;
  s.hooks = [];
  const dropped = abandoned.filter((h) => ctx.e.services.has(h) && hookWaiters(ctx.e, h).length === 0 && ctx.e.hookRuns.delete(h));
  if (dropped.length === 0) return;
  for (const h of dropped) ctx.dirty.add(h);
  rewant(ctx);
}

/** The services whose transition waits for the hook task `task`. */
export const hookWaiters = (e: Engine, task: string): string[] =>
  e.hookRuns.has(task) || defOf(e, task).type === "task" ? e.topo.names.filter((n) => stateOf(e, n).hooks.includes(task)) : [];

/** Have the hook tasks run (or given up)? */
export const hooksDone = (e: Engine, hooks: readonly string[]): boolean =>
  hooks.every((h) => !e.services.has(h) || (!isActive(stateOf(e, h).phase) && !e.triggered.has(h)));
