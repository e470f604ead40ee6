// Job events (`starting`, `started`, `stopping`, `stopped X`) and the tasks they run
// that X's transition waits for: its hooks.

import { ARGUMENT_VARIABLE, argumentOf } from "../config/template.js";
import { defOf, type Engine, isActive, stateOf, type Step, templateOf } from "./engine.js";
import { occur } from "./events.js";
import { setPhase } from "./phase.js";
import { arm } from "./processes.js";
import { rewant } from "./wanted.js";

/**
 * Emit a job event of `name`; record (in its `hooks`) and return the tasks it started
 * (or found still running) that the transition of `name` waits for (only `starting` and
 * `stopping` have such hooks).
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
  // Recorded before the wanted set is derived again, which asks: a run on `stopping NAME` does not keep NAME (`stopWaitsFor`).
  stateOf(e, name).hooks = hooks;
  for (const t of hooks) e.hookRuns.add(t);
  if (hooks.length > 0) rewant(ctx);
  return hooks;
}

/** Hook tasks may take as long as their own start timeout, or 90 s when they have none. */
const DEFAULT_HOOK_TIMEOUT_MS = 90_000;

/** The transition of `name` waits for the hooks `announce` recorded. */
export function waitForHooks(ctx: Step, name: string): void {
  const s = stateOf(ctx.e, name);
  const hooks = s.hooks;
  const limit = Math.max(...hooks.map((h) => defOf(ctx.e, h).startTimeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS));
  setPhase(ctx, name, s.phase, `waiting for ${hooks.join(", ")} (run on ${s.phase === "up" ? "stopping" : "starting"} ${name})`);
  arm(ctx, name, limit, "hook-timeout");
}

/**
 * The transition of `name` no longer waits for its hook tasks (they ran, timed out, or
 * it was called off): those still running, that nothing else waits for, go on as
 * ordinary runs (a shutdown stops them too). Either way what they require, `name`
 * included, they pull in again as any task (see `stopWaitsFor`).
 */
export function dropHooks(ctx: Step, name: string): void {
  const s = stateOf(ctx.e, name);
  const abandoned = s.hooks;
  if (abandoned.length === 0) return;
  s.hooks = [];
  for (const h of abandoned) if (ctx.e.services.has(h) && hookWaiters(ctx.e, h).length === 0 && ctx.e.hookRuns.delete(h)) ctx.dirty.add(h);
  rewant(ctx);
}

/** The services whose transition waits for the hook task `task`. */
export const hookWaiters = (e: Engine, task: string): string[] =>
  e.hookRuns.has(task) || defOf(e, task).type === "task" ? e.topo.names.filter((n) => stateOf(e, n).hooks.includes(task)) : [];

/** Have the hook tasks run (or given up)? */
export const hooksDone = (e: Engine, hooks: readonly string[]): boolean =>
  hooks.every((h) => !e.services.has(h) || (!isActive(stateOf(e, h).phase) && !e.triggered.has(h)));
