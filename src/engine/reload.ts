// `tend reload`: an up longrun reads its configuration again, without a restart. Its
// `reload` command runs beside its main process (with MAINPID), or its main process
// alone is sent its `reload-signal`; a notify service that says RELOADING=1 is done at
// the READY=1 that follows. A reload never changes the service's phase: it is state
// beside it, ended by its command's exit, that READY=1, its timeout, or the service
// leaving `up`; how it ended is kept for the waiter (`reloadOutcome`).

import { defOf, type Engine, stateOf, type Step } from "./engine.js";
import { arm, describeExit, seconds } from "./processes.js";
import { members } from "./topology.js";
import type { ExitStatus, Fact } from "./types.js";

/** Why `name` cannot be reloaded now, or null when it can. */
export function cannotReload(e: Engine, name: string): string | null {
  const def = defOf(e, name);
  const s = stateOf(e, name);
  if (def.reload === null && def.reloadSignal === null) return `${name} has no 'reload' or 'reload-signal'; 'tend restart ${name}' restarts it`;
  // Its stop announced (its `stopping` hooks run): it is on its way down.
  if (s.phase !== "up" || s.announced || s.pid === null) return `${name} is not up (it is ${s.announced ? "stopping" : s.phase}): only an up service is reloaded`;
  return null;
}

/** The admin's reload of `names` (bundles stand for their members). One asked for while another runs waits for it. */
export function reloadNamed(ctx: Step, names: readonly string[]): void {
  for (const name of new Set(names.flatMap((n) => members(ctx.e.topo, n)))) {
    if (!ctx.e.services.has(name)) continue;
    const s = stateOf(ctx.e, name);
    if (s.reload !== null) continue;
    const refused = cannotReload(ctx.e, name);
    if (refused !== null) {
      s.reloaded = { at: ctx.now, error: refused };
      continue;
    }
    begin(ctx, name);
  }
}

function begin(ctx: Step, name: string): void {
  const def = defOf(ctx.e, name);
  const s = stateOf(ctx.e, name);
  const pid = s.pid!;
  if (def.reload === null) {
    ctx.out.push({ kind: "signal", service: name, pid, signal: def.reloadSignal!, to: "main" });
    // Only a notify service says when it is done (systemd's Type=notify-reload); for any other, sending is all.
    if (def.ready.kind !== "notify") return void (s.reloaded = { at: ctx.now, error: null });
  }
  s.reload = { command: def.reload !== null, pid: null, ready: def.reload === null ? "awaited" : "none", token: 0 };
  armTimeout(ctx, name);
  if (def.reload !== null) ctx.out.push({ kind: "spawn", service: name, role: "reload", env: { ...s.env, MAINPID: String(pid) } });
}

function armTimeout(ctx: Step, name: string): void {
  const ms = defOf(ctx.e, name).reloadTimeoutMs;
  if (ms === null) return;
  arm(ctx, name, ms, "reload-timeout");
  stateOf(ctx.e, name).reload!.token = stateOf(ctx.e, name).timer;
}

/** The reload command's process runs, could not be started, or ended. */
export function reloadProcessFact(ctx: Step, fact: Extract<Fact, { kind: "reload-spawned" | "reload-spawn-failed" | "reload-exited" }>): void {
  const name = fact.service;
  const r = stateOf(ctx.e, name).reload;
  const ours = r !== null && r.command;
  switch (fact.kind) {
    case "reload-spawned":
      // A command whose reload is over (it timed out, its service stopped) is not left to run.
      if (!ours || r.pid !== null) return void ctx.out.push({ kind: "signal", service: name, pid: fact.pid, signal: "SIGKILL", to: "reload" });
      r.pid = fact.pid;
      return;
    case "reload-spawn-failed":
      if (ours && r.pid === null) end(ctx, name, `cannot start the reload command: ${fact.error}`);
      return;
    case "reload-exited":
      if (!ours || r.pid !== fact.pid) return;
      return commandEnded(ctx, name, fact.status);
  }
}

function commandEnded(ctx: Step, name: string, status: ExitStatus): void {
  const r = stateOf(ctx.e, name).reload!;
  r.command = false;
  r.pid = null;
  if (status.code !== 0) return end(ctx, name, describeExit(status));
  if (r.ready !== "awaited") end(ctx, name, null);
}

/** The main process said RELOADING=1: the reload is done at its READY=1. A notify service reloading by itself (a SIGHUP from elsewhere) is shown reloading too. */
export function reloading(ctx: Step, name: string, pid: number): void {
  const s = stateOf(ctx.e, name);
  if (s.pid !== pid || s.role !== "main" || s.phase !== "up") return;
  if (s.reload === null) {
    if (s.announced) return; // its stop is under way: its hooks have the timer
    s.reload = { command: false, pid: null, ready: "awaited", token: 0 };
    return armTimeout(ctx, name);
  }
  s.reload.ready = "awaited";
}

/** READY=1 after RELOADING=1. */
export function reloaded(ctx: Step, name: string, pid: number): void {
  const s = stateOf(ctx.e, name);
  if (s.reload === null || s.pid !== pid) return;
  s.reload.ready = "came";
  if (!s.reload.command) end(ctx, name, null);
}

/** The reload's timeout ran out: it failed, and a command still running is killed. */
export function reloadTimedOut(ctx: Step, name: string): void {
  const def = defOf(ctx.e, name);
  const r = stateOf(ctx.e, name).reload!;
  if (r.pid !== null) ctx.out.push({ kind: "signal", service: name, pid: r.pid, signal: "SIGKILL", to: "reload" });
  end(ctx, name, `reload timeout: not done within ${seconds(def.reloadTimeoutMs!)}`);
}

/** The service left `up` (it is stopping, or its main process ended) with a reload under way: the reload failed. */
export function reloadInterrupted(ctx: Step, name: string): void {
  const s = stateOf(ctx.e, name);
  end(ctx, name, `${name} went ${s.phase} during the reload${s.reason === null ? "" : ` (${s.reason})`}`);
}

/**
 * After a server restart: the reload command the keeper runs for the service (its pid),
 * or none. A command that ended while no server ran has an outcome nobody saw.
 */
export function adoptReload(ctx: Step, name: string, pid: number | null): void {
  const r = stateOf(ctx.e, name).reload;
  if (r === null || !r.command) {
    if (pid !== null) ctx.out.push({ kind: "signal", service: name, pid, signal: "SIGKILL", to: "reload" });
    return;
  }
  if (pid === null) return end(ctx, name, "its reload command ended while no server was running: its outcome is not known");
  if (r.pid === null) r.pid = pid;
  else if (r.pid !== pid) ctx.out.push({ kind: "signal", service: name, pid, signal: "SIGKILL", to: "reload" });
}

function end(ctx: Step, name: string, error: string | null): void {
  const s = stateOf(ctx.e, name);
  if (s.reload !== null && s.reload.token !== 0 && s.timer === s.reload.token) s.timer = 0;
  s.reload = null;
  s.reloaded = { at: ctx.now, error };
}

/**
 * Where a `tend reload` given at `since` stands for `name`: null while its reload (or
 * the one it waits for) is under way, else how it ended (error null: reloaded). A
 * service an apply removed is done with.
 */
export function reloadOutcome(e: Engine, name: string, since: number): { error: string | null } | null {
  const s = e.services.get(name);
  if (s === undefined) return { error: `${name} was removed from the database` };
  if (s.reload !== null || s.reloaded === null || s.reloaded.at < since) return null;
  return { error: s.reloaded.error };
}
