// A service's processes: its start (pre-start, main, up), its stop (the stop signal,
// down, post-stop), their timeouts, and where each exit leads.

import type { ServiceDef } from "../config/service.js";
import { end, endsBoot, exitCodeOf } from "./boot.js";
import { defOf, stateOf, type Step } from "./engine.js";
import { commandRole, launcherEnded, leftBehind, mainNotFound, stopFinding } from "./forking.js";
import { announce, dropHooks, waitForHooks } from "./hooks.js";
import { setPhase } from "./phase.js";
import { afterCrash } from "./restarts.js";
import { requirementsUp } from "./rules.js";
import { mainStarted, postStartInterrupted } from "./post-start.js";
import { beginStopCommand, mainEndedDuringStopCommand, runsStopCommand } from "./stop-command.js";
import type { ExitStatus, Outcome, Role, TimerPurpose } from "./types.js";
import { rewant } from "./wanted.js";

export function beginStart(ctx: Step, name: string): void {
  const s = stateOf(ctx.e, name);
  s.killed = false;
  s.outcome = null;
  s.announced = false;
  setPhase(ctx, name, defOf(ctx.e, name).type === "task" ? "running" : "starting", null);
  // Tasks run on `starting NAME` finish before its first process starts.
  const hooks = announce(ctx, name, "starting", {});
  if (hooks.length > 0) return waitForHooks(ctx, name);
  launch(ctx, name);
}

/** Start the service's first process, under its start timeout. */
export function launch(ctx: Step, name: string): void {
  const def = defOf(ctx.e, name);
  const s = stateOf(ctx.e, name);
  dropHooks(ctx, name);
  // A requirement may have gone down while the hooks ran: wait for it, as any start does.
  if (!requirementsUp(ctx.e, name)) {
    s.timer = 0;
    return setPhase(ctx, name, "down", null);
  }
  if (s.reason !== null) setPhase(ctx, name, s.phase, null);
  s.timer = 0;
  if (def.startTimeoutMs !== null) arm(ctx, name, def.startTimeoutMs, "start-timeout");
  spawn(ctx, name, firstRole(def));
  if (def.type === "task") announce(ctx, name, "started", {});
}

const firstRole = (def: ServiceDef): Role => (def.type === "oneshot" ? "up" : def.preStart !== null ? "pre-start" : commandRole(def));

export function spawn(ctx: Step, name: string, role: Role): void {
  const s = stateOf(ctx.e, name);
  s.role = role;
  s.pid = null;
  ctx.out.push({ kind: "spawn", service: name, role, env: s.env });
}

export function spawned(ctx: Step, name: string, pid: number): void {
  const s = stateOf(ctx.e, name);
  s.pid = pid;
  const def = defOf(ctx.e, name);
  // A hook of the stop (`down`, `post-stop`) is never sent the stop signal: it runs to
  // its end, within its own stop timeout, counted from when it runs.
  if (isStopHook(s.role)) {
    if (def.stopTimeoutMs !== null) arm(ctx, name, def.stopTimeoutMs, "stop-timeout");
    return;
  }
  if (s.phase === "stopping") return signalStop(ctx, name, pid); // asked to stop before the spawn was reported
  if (s.role === "main" && def.type === "longrun" && def.ready.kind === "none" && s.phase === "starting") mainStarted(ctx, name);
}

export function becomeUp(ctx: Step, name: string): void {
  const s = stateOf(ctx.e, name);
  s.upSince = ctx.now;
  s.timer = 0; // the start timeout no longer applies
  setPhase(ctx, name, "up", null);
}

export function arm(ctx: Step, name: string, ms: number, purpose: TimerPurpose): void {
  const token = ctx.e.nextToken++;
  stateOf(ctx.e, name).timer = token;
  ctx.out.push({ kind: "arm", service: name, token, ms, purpose });
}

/**
 * Stop the service's process (or, for an up oneshot, run its `down`), then go where
 * `outcome` says. `note` is shown as the reason while stopping.
 */
export function stopProcess(ctx: Step, name: string, outcome: Outcome, note: string | null): void {
  const def = defOf(ctx.e, name);
  const s = stateOf(ctx.e, name);
  s.delayed = false;
  s.timer = 0; // a start timeout or restart delay no longer applies: a stop timeout may
  if (def.type === "oneshot" && s.phase === "up") {
    if (def.down === null) {
      ctx.out.push({ kind: "kill", service: name }); // what its `up` left running goes with it
      return finish(ctx, name, outcome);
    }
    s.outcome = outcome;
    setPhase(ctx, name, "stopping", note);
    return spawn(ctx, name, "down"); // its stop timeout is armed once it runs (see `spawned`)
  }
  if (s.findingMain) return stopFinding(ctx, name, outcome, note);
  if (s.role === null) return finish(ctx, name, outcome); // no process (waiting to restart)
  s.outcome = outcome;
  const command = runsStopCommand(ctx, name); // asked before the phase changes: it stops a reload
  setPhase(ctx, name, "stopping", note);
  if (command) return beginStopCommand(ctx, name);
  // A spawn asked for but not yet reported is signalled once it is (see `spawned`).
  if (s.pid !== null) signalStop(ctx, name, s.pid);
}

/** The hooks that run once the service is on its way down: they are never sent the stop signal. */
export const isStopHook = (role: Role | null): boolean => role === "down" || role === "post-stop";

export function signalStop(ctx: Step, name: string, pid: number): void {
  const def = defOf(ctx.e, name);
  const s = stateOf(ctx.e, name);
  // The launcher of a forking daemon runs `command` too: the program's own stop signal.
  ctx.out.push({ kind: "signal", service: name, pid, signal: s.role === "main" || s.role === "launcher" ? def.stopSignal : "SIGTERM", to: "group" });
  if (def.stopTimeoutMs !== null) arm(ctx, name, def.stopTimeoutMs, "stop-timeout");
}

export function timerFired(ctx: Step, name: string): void {
  const s = stateOf(ctx.e, name);
  const def = defOf(ctx.e, name);
  // Waiting for hook tasks: before its first process (no role yet), or before the stop
  // signal (up, its main still running).
  if (s.hooks.length > 0 && !s.delayed && (s.role === null || s.phase === "up")) {
    // The hook tasks took too long: the transition goes on without them.
    dropHooks(ctx, name);
    if (s.phase === "up") return void ctx.dirty.add(name);
    return launch(ctx, name);
  }
  if (s.phase === "starting" && s.delayed) {
    s.delayed = false;
    // A requirement may have gone down meanwhile (it crashed too, or was restarted), or
    // the post-start its last start left has not ended: wait for it as any start does.
    if (!requirementsUp(ctx.e, name) || s.postStartLeft) return setPhase(ctx, name, "down", null);
    s.killed = false; // a new attempt, as in `beginStart`
    if (def.startTimeoutMs !== null) arm(ctx, name, def.startTimeoutMs, "start-timeout");
    return spawn(ctx, name, firstRole(def));
  }
  if (s.phase === "starting" && s.findingMain) return mainNotFound(ctx, name);
  // With a spawn not yet reported too: `spawned` then sends the stop signal.
  if ((s.phase === "starting" || s.phase === "running") && s.role !== null) {
    const what = def.type === "task" ? "did not finish" : def.type === "oneshot" ? "'up' did not finish" : s.postStart !== null ? "its post-start did not finish" : "did not become ready";
    const reason = `start timeout: ${what} within ${seconds(def.startTimeoutMs!)}`;
    if (endsBoot(ctx.e, name)) end(ctx, { code: 1, reason: `${name} failed: ${reason}` });
    return stopProcess(ctx, name, { to: "failed", reason, held: true }, null);
  }
  if (s.phase === "stopping" && s.pid !== null) {
    s.killed = true;
    ctx.out.push({ kind: "signal", service: name, pid: s.pid, signal: "SIGKILL", to: "group" });
  }
}

/** The service's process has ended (or could not be started): decide what comes next. */
export function processEnded(ctx: Step, name: string, status: ExitStatus, spawnError: string | null): void {
  const { e } = ctx;
  const def = defOf(e, name);
  const s = stateOf(e, name);
  const role = s.role;
  s.pid = null;
  s.role = null;
  s.lastExit = spawnError === null ? status : null;
  const ok = spawnError === null && isSuccess(def, status);
  const described = spawnError ?? describeExit(status, s.killed);
  // A forking daemon's launcher succeeds by exiting 0, whatever `success-exit` says of its daemon.
  const launched = role === "launcher" && spawnError === null && status.code === 0;

  if (s.phase === "stopping") {
    if (role === "main" && mainEndedDuringStopCommand(ctx, name)) return;
    return stoppedProcess(ctx, name, role, ok, described);
  }
  // The `exit-with` service's run is over (its main ended, or never began): so is the
  // boot, with its status; shutting down, it is not restarted.
  if (endsBoot(e, name) && (role === "main" || (role === "pre-start" && !ok) || (role === "launcher" && !launched))) {
    end(ctx, { code: spawnError === null ? exitCodeOf(status) : 1, reason: `${name} ${role === "main" ? "" : `${role} `}${described}` });
  }
  switch (role) {
    case "pre-start":
      // A requirement that went down during the pre-start (it crashed, or was restarted)
      // must be up again before the main starts: start over once it is.
      if (ok) return requirementsUp(e, name) ? spawn(ctx, name, commandRole(def)) : finish(ctx, name, { to: "restart", delayMs: 0 });
      return finish(ctx, name, { to: "failed", reason: `pre-start ${described}`, held: true });
    case "up":
      if (!ok) {
        ctx.out.push({ kind: "kill", service: name }); // a failed `up` leaves nothing running
        return finish(ctx, name, { to: "failed", reason: `up ${described}`, held: true });
      }
      s.runs++;
      s.timer = 0;
      s.upSince = ctx.now;
      return setPhase(ctx, name, "up", null);
    case "launcher":
      if (launcherEnded(ctx, name, launched)) return;
      break; // a failed start, as a main's exit while starting
    case "main":
      break;
    default:
      return; // `down` and `post-stop` run only while stopping, handled above
  }
  if (def.type === "task") {
    s.runs++;
    endRun(ctx, name);
    const outcome: Outcome = ok ? { to: "down", reason: "completed", held: true } : { to: "failed", reason: `run ${described}`, held: true };
    return def.postStop !== null ? cleanUp(ctx, name, outcome, described) : finish(ctx, name, outcome);
  }
  const what = role === "launcher" ? `launcher ${described}` : described;
  const outcome = afterCrash(ctx, name, ok && role === "main", what);
  if (def.postStop !== null) return cleanUp(ctx, name, outcome, what);
  finish(ctx, name, outcome);
}

/** The process of a stopping service has ended (`ok`, `described`: how, for a `down`): its post-stop, or the stop is over. */
export function stoppedProcess(ctx: Step, name: string, role: Role | null, ok: boolean, described: string): void {
  const def = defOf(ctx.e, name);
  const s = stateOf(ctx.e, name);
  // A task's run is over, stopped or not: the next trigger runs it again.
  if (def.type === "task") endRun(ctx, name);
  const outcome = s.outcome ?? { to: "down", reason: null, held: false };
  if (role === "launcher") leftBehind(ctx, name);
  if ((role === "main" || role === "launcher") && def.postStop !== null) return spawn(ctx, name, "post-stop");
  const killedNote = s.killed ? `killed after the stop timeout (${seconds(def.stopTimeoutMs!)})` : null;
  // A oneshot's `down` runs only while stopping: say when it failed.
  const note = role === "down" && !ok ? `down ${described}` : killedNote;
  finish(ctx, name, outcome.to === "down" && note !== null ? { ...outcome, reason: note } : outcome);
}

/**
 * The main process ended by itself: run the `post-stop` hook, then go where `outcome`
 * says. The service is stopping meanwhile, not up: its process is gone.
 */
export function cleanUp(ctx: Step, name: string, outcome: Outcome, described: string): void {
  const s = stateOf(ctx.e, name);
  s.outcome = outcome;
  s.timer = 0; // the start timeout no longer applies; the hook's stop timeout does
  setPhase(ctx, name, "stopping", described);
  spawn(ctx, name, "post-stop");
}

export function finish(ctx: Step, name: string, outcome: Outcome): void {
  const s = stateOf(ctx.e, name);
  s.outcome = null;
  s.upSince = null;
  s.timer = 0;
  s.announced = false; // its stop, if one was under way, is over (a crash may have cut it short)
  dropHooks(ctx, name);
  // Its main has ended: a post-start still running goes with it (a restart stays `starting`, which alone would not end it).
  if (s.postStart !== null) postStartInterrupted(ctx, name);
  // However a task's run ended (it failed to start, timed out, was stopped), its trigger is spent.
  if (outcome.to !== "restart" && defOf(ctx.e, name).type === "task") endRun(ctx, name);
  if (outcome.to === "restart") {
    if (outcome.delayMs === 0) return setPhase(ctx, name, "down", null); // evaluate starts it again
    s.delayed = true;
    setPhase(ctx, name, "starting", `restarting in ${seconds(outcome.delayMs)} (${s.restarts.length} recent restarts)`);
    return arm(ctx, name, outcome.delayMs, "restart-delay");
  }
  s.held = outcome.held;
  setPhase(ctx, name, outcome.to, outcome.reason);
}

/** A task's run is over: its trigger is spent, and what it pulled in is no longer wanted for it. */
function endRun(ctx: Step, name: string): void {
  ctx.e.hookRuns.delete(name);
  if (ctx.e.triggered.delete(name)) rewant(ctx);
}

export function isSuccess(def: ServiceDef, status: ExitStatus): boolean {
  return def.successExit.some((x) => (typeof x === "number" ? status.code === x : status.signal === x));
}

export function describeExit(status: ExitStatus, killed = false): string {
  if (status.signal !== null) return `killed by ${status.signal}${killed ? " after the stop timeout" : ""}`;
  // A main named by MAINPID= whose parent outlived it: its parent reaped it, not the keeper.
  if (status.code === null) return "ended (its exit status went to its parent, not to tend)";
  return `exited with code ${status.code}`;
}

export function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
