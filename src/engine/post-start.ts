// A longrun's `post-start` command (systemd's ExecStartPost): once its main process has
// started — at its spawn for `ready = none`, at its readiness otherwise — the command
// runs beside it, with MAINPID, and the service is up only once it has exited 0. Its
// failure fails the start: the main is stopped, and the restart policy says what comes
// next, as for a main that ended while starting. The start timeout keeps running from
// the start: a command that outlives it is a start that timed out. The command takes
// the keeper's one place for a command beside the service's process: the reload and
// stop commands run only while up or stopping, so never beside it, and the reload-*
// facts are its news while it runs. A start cut short (a stop, its main's end, its
// timeout) kills it; one whose spawn is not yet told, once it is, and until it has
// ended the service does not start again (`postStartLeft`).

import { end, endsBoot } from "./boot.js";
import { defOf, stateOf, type Step } from "./engine.js";
import { becomeUp, describeExit, stopProcess } from "./processes.js";
import { afterCrash } from "./restarts.js";
import type { Fact } from "./types.js";

/** The main process of a starting longrun has started (spawned, or ready): its post-start runs, or it is up. */
export function mainStarted(ctx: Step, name: string): void {
  const s = stateOf(ctx.e, name);
  if (defOf(ctx.e, name).postStart === null) return becomeUp(ctx, name);
  if (s.postStart !== null) return; // READY=1 said twice
  s.postStart = { pid: null };
  ctx.out.push({ kind: "spawn", service: name, role: "post-start", env: { ...s.env, MAINPID: String(s.pid) } });
}

/** News of the command beside while the post-start runs: its spawn, a failure to start it, its exit. */
export function postStartFact(ctx: Step, fact: Extract<Fact, { kind: "reload-spawned" | "reload-spawn-failed" | "reload-exited" }>): void {
  const name = fact.service;
  const c = stateOf(ctx.e, name).postStart!;
  switch (fact.kind) {
    case "reload-spawned":
      c.pid = fact.pid;
      return;
    case "reload-spawn-failed":
      return failed(ctx, name, `cannot start the post-start command: ${fact.error}`);
    case "reload-exited":
      if (c.pid !== fact.pid) return;
      if (fact.status.code !== 0) return failed(ctx, name, `post-start ${describeExit(fact.status)}`);
      stateOf(ctx.e, name).postStart = null;
      return becomeUp(ctx, name);
  }
}

/** The post-start failed: the start has failed, its main is stopped, and the restart policy applies (the `exit-with` service's run is over: so is the boot, as with a failed pre-start). */
function failed(ctx: Step, name: string, what: string): void {
  stateOf(ctx.e, name).postStart = null;
  if (endsBoot(ctx.e, name)) end(ctx, { code: 1, reason: `${name} ${what}` });
  stopProcess(ctx, name, afterCrash(ctx, name, false, what), what);
}

/** The service left `starting` with its post-start running (stopped, its main ended, its start timed out): the command is killed. */
export function postStartInterrupted(ctx: Step, name: string): void {
  const s = stateOf(ctx.e, name);
  const pid = s.postStart!.pid;
  s.postStart = null;
  if (pid !== null) ctx.out.push({ kind: "signal", service: name, pid, signal: "SIGKILL", to: "reload" });
  // A spawn not yet reported is killed when it is. Its report may come after a new start's
  // first process has started: that start's post-start would find the place taken, and
  // take the old command's news for its own.
  else s.postStartLeft = true;
}

/** News of a post-start cut short before its spawn was told: killed once spawned; once ended, the service may start again. */
export function leftPostStartFact(ctx: Step, fact: Extract<Fact, { kind: "reload-spawned" | "reload-spawn-failed" | "reload-exited" }>): void {
  if (fact.kind === "reload-spawned") return void ctx.out.push({ kind: "signal", service: fact.service, pid: fact.pid, signal: "SIGKILL", to: "reload" });
  stateOf(ctx.e, fact.service).postStartLeft = false;
  ctx.dirty.add(fact.service);
}

/** After a server restart: the command the keeper runs beside the service (its pid), or none, while the restored state has a post-start under way. */
export function adoptPostStart(ctx: Step, name: string, pid: number | null): void {
  const c = stateOf(ctx.e, name).postStart;
  if (c === null) return; // the start ended meanwhile (its main was lost): the keeper ends the command with its tree
  if (pid === null) return failed(ctx, name, "its post-start command ended while no server was running: its outcome is not known");
  if (c.pid === null) c.pid = pid;
}
