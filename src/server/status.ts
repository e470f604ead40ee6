// What the server says about services in `status` and `inspect` replies: the engine's
// state with what the shell knows (sd_notify's STATUS=, the next clock run, a readiness
// probe that found another process's listener, the processes /proc shows). `why` is the
// engine's own (engine/explain.ts), and what the next boot brings up is walked the
// engine's way (wanted.ts `bundleWalk`).

import { join } from "node:path";
import { defOf, stateOf, type Engine } from "../engine/engine.js";
import { explain } from "../engine/explain.js";
import { bundleWalk } from "../engine/wanted.js";
import { cgroupName } from "../supervisor/spawn-message.js";
import { describeProcesses, memoryOf } from "../system/process-tree.js";
import type { ServiceDef } from "../config/service.js";
import type { EnabledState, ServiceDetail, ServiceStatus } from "./protocol.js";

/** What the shell knows about a service besides the engine's state. */
export interface ShellFacts {
  statusText: string | undefined;
  /** The next time its schedule falls due (ms since the epoch). */
  nextRun: number | undefined;
  /** Why its readiness waits, where the supervisor knows (its tcp/unix listener is another process's). */
  notReady: string | undefined;
}

export function serviceStatus(e: Engine, name: string, shell: ShellFacts): ServiceStatus {
  const def = defOf(e, name);
  const s = stateOf(e, name);
  return {
    name,
    type: def.type,
    description: def.description,
    phase: s.phase,
    wanted: e.wanted.has(name) && !e.shuttingDown,
    pid: s.pid,
    since: Math.round(s.since),
    reason: s.reason ?? (s.phase === "starting" && shell.notReady !== undefined ? `not ready: ${shell.notReady}` : null),
    lastExit: s.lastExit,
    restarts: s.restarts.length,
    runs: s.runs,
    skipped: s.skipped,
    nextRun: shell.nextRun ?? null,
    statusText: shell.statusText ?? null,
    reloading: s.reload !== null,
  };
}

/** Why an instance by name that no start has made is down (`tend status getty@tty9`): systemd's inactive, never-started unit. */
export const NOT_MADE = "not made: no start has named it since the server started";

/** An instance by name not made yet, as of `now`: down, saying so, from the definition it would have. */
export function notMadeStatus(def: ServiceDef, now: number): ServiceStatus {
  return {
    name: def.name,
    type: def.type,
    description: def.description,
    phase: "down",
    wanted: false,
    pid: null,
    since: Math.round(now),
    reason: NOT_MADE,
    lastExit: null,
    restarts: 0,
    runs: 0,
    skipped: 0,
    nextRun: null,
    statusText: null,
    reloading: false,
  };
}

/** The same in detail: what it would run, and nothing running. */
export function notMadeDetail(def: ServiceDef, now: number, enablement: EnabledState): ServiceDetail {
  return {
    ...notMadeStatus(def, now),
    file: def.file,
    enablement,
    why: [`${def.name} is down: ${NOT_MADE}`, `'tend start ${def.name}' makes it, from '${def.template}'`],
    command: def.type === "oneshot" ? def.up : def.command,
    processes: [],
    processCount: 0,
    memory: null,
    restartLimit: def.restartLimit,
  };
}

/** What the shell knows of a service's processes: what the keeper listed of its tree (`total` counts them all), and the keeper's cgroup (null without cgroups). */
export interface ProcessFacts {
  pids: readonly number[];
  total: number;
  cgroupBase: string | null;
}

/** One service in detail: its status, why, what it runs, its processes and their memory, what the next boot does with it. */
export function serviceDetail(e: Engine, name: string, shell: ShellFacts, processes: ProcessFacts, enablement: EnabledState): ServiceDetail {
  const def = defOf(e, name);
  const running = describeProcesses(processes.pids);
  const cgroup = processes.cgroupBase === null ? null : join(processes.cgroupBase, cgroupName(name));
  return {
    ...serviceStatus(e, name, shell),
    file: def.file,
    enablement,
    why: explain(e, name),
    command: def.type === "oneshot" ? def.up : def.command,
    processes: running,
    processCount: Math.max(processes.total, running.length),
    memory: running.length === 0 ? null : memoryOf(cgroup, running.map((p) => p.pid)),
    restartLimit: def.restartLimit,
  };
}

/**
 * What the next boot does with each name, read off the persisted sets: what `boot`
 * (`default` and what `tend enable` named) brings up through its bundles, less what
 * `tend disable` took out, is enabled; what it took out (and what its bundles hold),
 * and is not brought up some other way, is disabled; the rest is manual.
 */
export function enablements(e: Engine, bootNames: readonly string[], disabled: readonly string[]): { of(name: string): EnabledState; disabled: string[] } {
  const off = new Set(disabled);
  // What the boot brings up is walked only when asked for: with nothing disabled, the
  // status table (every `tend status`) needs none of it.
  let on: Set<string> | undefined;
  const enabled = (): Set<string> => (on ??= new Set(bundleWalk(e, bootNames.filter((n) => !off.has(n)), off)));
  const takenOut = bundleWalk(e, disabled, new Set());
  const out = takenOut.length === 0 ? takenOut : takenOut.filter((n) => !enabled().has(n));
  const outSet = new Set(out);
  return {
    of: (name) => (enabled().has(name) ? "enabled" : outSet.has(name) ? "disabled" : "manual"),
    /** The services (not bundles) disabled, for the status table. */
    disabled: out.filter((n) => e.topo.requires.has(n)),
  };
}
