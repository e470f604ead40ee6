// A longrun's `stop` command (systemd's ExecStop, an init script's `stop`): when an up
// service is stopped, the command runs beside its main process, with MAINPID, within
// the stop timeout; then whatever of the service is left is sent its stop signal, and
// SIGKILL after the grace, as any stop. A main that ends while the command runs ends
// the stop only once the command has ended too (a new start must not race the old
// stop). The command shares the keeper's place for a command beside the service's
// process with the reload command: a stop that begins while a reload command runs
// skips it (the stop signal alone), and the reload-* facts are its news while it runs.

import { defOf, stateOf, type Step } from "./engine.js";
import { setPhase } from "./phase.js";
import { arm, signalStop, stoppedProcess } from "./processes.js";
import type { ExitStatus, Fact } from "./types.js";

/** Whether the stop of `name` that now begins runs its stop command: it has one, it was up with its main process, and nothing occupies the place beside. */
export function runsStopCommand(ctx: Step, name: string): boolean {
  const s = stateOf(ctx.e, name);
  return defOf(ctx.e, name).stop !== null && s.phase === "up" && s.role === "main" && s.pid !== null && s.reload?.command !== true;
}

/** Run the stop command beside the main process, under the stop timeout. */
export function beginStopCommand(ctx: Step, name: string): void {
  const def = defOf(ctx.e, name);
  const s = stateOf(ctx.e, name);
  s.stopCommand = { pid: null, mainEnded: false };
  ctx.out.push({ kind: "spawn", service: name, role: "stop", env: { ...s.env, MAINPID: String(s.pid) } });
  if (def.stopTimeoutMs !== null) arm(ctx, name, def.stopTimeoutMs, "stop-timeout");
}

/** News of the command beside while a stop command is under way: its spawn, a failure to start it, its exit. */
export function stopCommandFact(ctx: Step, fact: Extract<Fact, { kind: "reload-spawned" | "reload-spawn-failed" | "reload-exited" }>): void {
  const name = fact.service;
  const c = stateOf(ctx.e, name).stopCommand!;
  switch (fact.kind) {
    case "reload-spawned":
      c.pid = fact.pid;
      return;
    case "reload-spawn-failed":
      return commandEnded(ctx, name, `cannot start the stop command: ${fact.error}`);
    case "reload-exited":
      if (c.pid !== fact.pid) return; // a reload command that ended after its reload
      return commandEnded(ctx, name, failure(fact.status));
  }
}

const failure = (status: ExitStatus): string | null => (status.code === 0 ? null : `the stop command ${status.signal !== null ? `was killed by ${status.signal}` : `exited with code ${status.code}`}`);

/** The stop timeout ran out with the stop command still running: it is killed, and the stop goes on. */
export function stopCommandTimedOut(ctx: Step, name: string): void {
  const c = stateOf(ctx.e, name).stopCommand!;
  if (c.pid !== null) ctx.out.push({ kind: "signal", service: name, pid: c.pid, signal: "SIGKILL", to: "reload" });
  commandEnded(ctx, name, "the stop command did not finish within the stop timeout");
}

/** The main process ended while the stop command runs: the stop waits for the command. */
export function mainEndedDuringStopCommand(ctx: Step, name: string): boolean {
  const c = stateOf(ctx.e, name).stopCommand;
  if (c === null) return false;
  c.mainEnded = true;
  return true;
}

/** After a server restart: the command the keeper runs beside the service (its pid), or none, while the restored state has a stop command under way. */
export function adoptStopCommand(ctx: Step, name: string, pid: number | null): void {
  const c = stateOf(ctx.e, name).stopCommand!;
  if (pid === null) return commandEnded(ctx, name, null); // it ended while no server ran
  if (c.pid === null) c.pid = pid;
}

/** The stop command is over (`problem`: how it failed, shown while stopping): what is left gets the stop signal, or the stop is over. */
function commandEnded(ctx: Step, name: string, problem: string | null): void {
  const s = stateOf(ctx.e, name);
  const mainEnded = s.stopCommand!.mainEnded;
  s.stopCommand = null;
  s.timer = 0;
  if (problem !== null) setPhase(ctx, name, "stopping", problem);
  if (mainEnded) return stoppedProcess(ctx, name, "main", true, "");
  if (s.pid !== null) signalStop(ctx, name, s.pid);
}
