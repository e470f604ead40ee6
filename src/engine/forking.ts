// A forking daemon (`pid-file` or `forking = yes`: systemd's Type=forking, dinit's
// bgprocess). Its `command` runs as a *launcher* that daemonizes and exits: that exit,
// with status 0, is not the service's end. The service stays starting, with no process
// tracked, until the keeper has taken the process the pid file names (without one: the
// one process left in the service's tree, systemd's GuessMainPID; the supervisor finds
// it) as its main (`main-pid`: the keeper checks that it runs and is of the service's
// tree); from then on that process is the main, as any longrun's. sd_notify MAINPID= names a new main
// the same way. Readiness: with `ready = none` the service is up once its main is
// taken; a probe (tcp:, unix:, exec:) is run on the main once it is.

import type { ServiceDef } from "../config/service.js";
import { end, endsBoot } from "./boot.js";
import { defOf, stateOf, type Step } from "./engine.js";
import { setPhase } from "./phase.js";
import { mainStarted } from "./post-start.js";
import { finish, seconds, spawn, stopProcess } from "./processes.js";
import type { Outcome, Role } from "./types.js";

/** The role `command` runs as: a forking daemon's is a launcher. */
export const commandRole = (def: ServiceDef): Role => (def.forking ? "launcher" : "main");

/**
 * The launcher ended while the service starts. Exit 0: the pid file is watched for the
 * daemon (true: nothing more to do until the keeper answers, or the start timeout).
 * Otherwise the start failed as a main's exit would have (false): what the launcher
 * forked before it failed goes with it.
 */
export function launcherEnded(ctx: Step, name: string, launched: boolean): boolean {
  if (!launched) {
    leftBehind(ctx, name);
    return false;
  }
  stateOf(ctx.e, name).findingMain = true; // its start timeout keeps running
  const def = defOf(ctx.e, name);
  setPhase(ctx, name, "starting", def.pidFile !== null ? `its launcher exited: waiting for ${def.pidFile} to name its daemon` : "its launcher exited: waiting for one process to be left in its tree, its daemon");
  ctx.out.push({ kind: "find-main", service: name });
  return true;
}

/** What a launcher left running goes (it is never spawned with `kill-rest`: its daemon must outlive it). */
export const leftBehind = (ctx: Step, name: string): void => void ctx.out.push({ kind: "kill", service: name });

/** The keeper took `pid` as the service's main process. */
export function mainTaken(ctx: Step, name: string, pid: number): void {
  const s = stateOf(ctx.e, name);
  if (s.findingMain) {
    s.findingMain = false;
    s.role = "main";
    s.pid = pid;
    if (defOf(ctx.e, name).ready.kind === "none") return mainStarted(ctx, name);
    return setPhase(ctx, name, "starting", null); // its readiness probe has the word now
  }
  // MAINPID=: the main is now this process; the one before it is just another of the service's.
  if (s.role !== "main" || s.pid === null || s.pid === pid) return; // late: the service was given up on, its tree killed
  s.pid = pid;
  // The stop signal may have gone to the process before it: the new main is sent it too.
  if (s.phase === "stopping") ctx.out.push({ kind: "signal", service: name, pid, signal: defOf(ctx.e, name).stopSignal, to: "group" });
}

/** The keeper would not take `pid`: the start fails with the reason, unless the service was not waiting for a main (a MAINPID= refused: its main carries on). */
export function mainRefused(ctx: Step, name: string, reason: string): void {
  if (!stateOf(ctx.e, name).findingMain) return;
  if (endsBoot(ctx.e, name)) end(ctx, { code: 1, reason: `${name} failed: ${reason}` });
  stopFinding(ctx, name, { to: "failed", reason, held: true }, reason);
}

/** The start timeout fell due while the pid file was awaited. */
export function mainNotFound(ctx: Step, name: string): void {
  const def = defOf(ctx.e, name);
  const reason = def.pidFile !== null ? `start timeout: ${def.pidFile} named no running process of the service within ${seconds(def.startTimeoutMs!)}` : `start timeout: its launcher's tree did not come down to one process, its daemon, within ${seconds(def.startTimeoutMs!)}`;
  if (endsBoot(ctx.e, name)) end(ctx, { code: 1, reason: `${name} failed: ${reason}` });
  stopProcess(ctx, name, { to: "failed", reason, held: true }, null);
}

/** Stopped (or failed) while its pid file is awaited: what the launcher left goes, then `post-stop` runs. */
export function stopFinding(ctx: Step, name: string, outcome: Outcome, note: string | null): void {
  const s = stateOf(ctx.e, name);
  s.findingMain = false;
  s.timer = 0; // the start timeout no longer applies (a refused main gives up before it); the post-stop's stop timeout does
  leftBehind(ctx, name);
  if (defOf(ctx.e, name).postStop === null) return finish(ctx, name, outcome);
  s.outcome = outcome;
  setPhase(ctx, name, "stopping", note);
  spawn(ctx, name, "post-stop");
}

/** A restarted server: the pid file the previous one watched is watched again (the keeper has no main for it yet). */
export function findAgain(ctx: Step, name: string): void {
  if (stateOf(ctx.e, name).findingMain) ctx.out.push({ kind: "find-main", service: name });
}
