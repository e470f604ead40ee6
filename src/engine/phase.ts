// A service's phase changes: the `changed` action, the boot's progress, the services
// that must look again, and the job events (`started`, `stopped`) it is.

import { bootProgress } from "./boot.js";
import { isActive, stateOf, type Step } from "./engine.js";
import { announce, hookWaiters } from "./hooks.js";
import { edgesOf } from "./topology.js";
import { reloadInterrupted } from "./reload.js";
import { postStartInterrupted } from "./post-start.js";
import type { Phase, ServiceState } from "./types.js";

export function setPhase(ctx: Step, name: string, phase: Phase, reason: string | null): void {
  const s = stateOf(ctx.e, name);
  const changed = s.phase !== phase || s.reason !== reason;
  const job = jobEvent(s, phase);
  const was = s.phase;
  s.phase = phase;
  s.reason = reason;
  if (!changed) return;
  s.since = ctx.now;
  ctx.out.push({ kind: "changed", service: name, phase, reason });
  // A reload happens only while up.
  if (phase !== "up" && s.reload !== null) reloadInterrupted(ctx, name);
  if (ctx.e.boot !== null && ctx.e.boot.completeAt === null) bootProgress(ctx, ctx.e.boot, name, was, phase, reason);
  const { topo } = ctx.e;
  ctx.dirty.add(name);
  for (const edge of ["requires", "requiredBy", "after", "before"] as const) {
    for (const n of edgesOf(topo, edge, name)) ctx.dirty.add(n);
  }
  // Into or out of down or failed: whether it blocks what requires it may have changed.
  if (!isActive(phase) || !isActive(was)) wakeBlocked(ctx, name);
  // A hook task that ended lets the transition waiting for it go on.
  if (!isActive(phase)) for (const waiting of hookWaiters(ctx.e, name)) ctx.dirty.add(waiting);
  if (job === "started") announce(ctx, name, "started", {});
  if (job === "stopped") {
    const exit = s.lastExit;
    const values: Record<string, string> = { RESULT: phase === "failed" ? "failed" : "ok" };
    if (exit?.code !== null && exit?.code !== undefined) values.EXIT_STATUS = String(exit.code);
    if (exit?.signal) values.EXIT_SIGNAL = exit.signal;
    announce(ctx, name, "stopped", values);
  }
  // A post-start runs only while starting (its kill after the job event, which says what the change is).
  if (phase !== "starting" && s.postStart !== null) postStartInterrupted(ctx, name);
}

/**
 * A failed (or held down) service blocks what requires it however far up, through
 * requirers that are still active (see `blockingRequirement`): when it fails or comes
 * back, each of those and what requires them looks again. The walk stops at what is
 * down or failed: its own change wakes what is above it. (A hold an admin's start
 * lifted shows here too, as the change that follows it, out of down.)
 */
function wakeBlocked(ctx: Step, name: string): void {
  const seen = new Set([name]);
  const stack = [name];
  while (stack.length > 0) {
    for (const r of edgesOf(ctx.e.topo, "requiredBy", stack.pop()!)) {
      if (seen.has(r)) continue;
      seen.add(r);
      ctx.dirty.add(r);
      if (isActive(stateOf(ctx.e, r).phase)) stack.push(r);
    }
  }
}

/**
 * The job event a phase change is, if any. `starting` and `stopping` are announced
 * before the change (with their hooks), a task's `started` when its run launches.
 */
function jobEvent(s: ServiceState, to: Phase): "started" | "stopped" | null {
  if (to === s.phase) return null;
  if (to === "up") return "started";
  if ((to === "down" || to === "failed") && isActive(s.phase)) return "stopped";
  return null;
}
