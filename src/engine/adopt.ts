// A restarted server takes over the processes the keeper kept running: the restored
// state and the keeper's table are reconciled, the keeper being the truth.

import { defOf, stateOf, type Step } from "./engine.js";
import { findAgain } from "./forking.js";
import { setPhase } from "./phase.js";
import { arm, becomeUp, isStopHook, processEnded, spawn, spawned } from "./processes.js";
import { adoptReload } from "./reload.js";
import { adoptPostStart, mainStarted } from "./post-start.js";
import { adoptStopCommand } from "./stop-command.js";
import type { AdoptedProcess, Fact } from "./types.js";

/**
 * After a server restart: reconcile what the restored state says a service runs with
 * what the keeper says it runs. The same process carries on; a spawn the snapshot was
 * waiting for is reported; a process the snapshot did not know is taken over in the
 * phase its role means; a process that ended unseen ends now; a spawn that was asked
 * for and never made is asked for again. Whether it is still wanted is then decided
 * as for any service.
 */
export function adopt(ctx: Step, fact: Extract<Fact, { kind: "adopted" }>): void {
  const s = stateOf(ctx.e, fact.service);
  const beside = fact.reload ?? null;
  // A post-start cut short before its spawn was told: the command the keeper runs beside is it (killed below), or it has gone.
  if (beside === null) s.postStartLeft = false;
  // A post-start is adopted once its main is: a main lost meanwhile ends the start, and the command with it.
  if (s.postStart !== null) {
    adoptProcess(ctx, fact);
    return adoptPostStart(ctx, fact.service, beside);
  }
  (s.stopCommand !== null ? adoptStopCommand : adoptReload)(ctx, fact.service, beside);
  adoptProcess(ctx, fact);
}

function adoptProcess(ctx: Step, fact: Extract<Fact, { kind: "adopted" }>): void {
  const name = fact.service;
  const s = stateOf(ctx.e, name);
  const { process: live, exit } = fact;
  if (live === null) {
    if (s.pid === null && s.role !== null && exit !== null) spawned(ctx, name, exit.pid); // it ran and ended unseen
    if (s.pid !== null) {
      if (exit?.pid === s.pid) return processEnded(ctx, name, exit.status, null);
      return processEnded(ctx, name, { code: null, signal: null }, "its process was lost while no server was running");
    }
    if (s.role !== null) spawn(ctx, name, s.role);
    return findAgain(ctx, name);
  }
  if (s.pid !== live.pid) {
    if (s.pid === null && s.role === live.role) spawned(ctx, name, live.pid);
    else takeOver(ctx, name, live);
  }
  // It said it was ready while no server ran: its post-start has not run yet.
  if (live.ready && s.phase === "starting" && s.role === "main" && s.pid === live.pid && s.postStart === null) mainStarted(ctx, name);
}

/** A process the restored state did not know: it runs, so the service is in the phase its role means. */
export function takeOver(ctx: Step, name: string, live: AdoptedProcess): void {
  const def = defOf(ctx.e, name);
  const s = stateOf(ctx.e, name);
  s.pid = live.pid;
  s.role = live.role;
  s.delayed = false;
  s.findingMain = false; // a forking daemon's main, taken by the keeper after the state was saved
  s.timer = 0;
  if (isStopHook(live.role)) {
    s.outcome = { to: "down", reason: null, held: false };
    setPhase(ctx, name, "stopping", null);
    if (def.stopTimeoutMs !== null) arm(ctx, name, def.stopTimeoutMs, "stop-timeout");
    return;
  }
  s.outcome = null;
  setPhase(ctx, name, def.type === "task" ? "running" : "starting", null);
  if (def.startTimeoutMs !== null) arm(ctx, name, def.startTimeoutMs, "start-timeout");
  if (live.role === "main" && def.type === "longrun" && def.ready.kind === "none") becomeUp(ctx, name);
}
