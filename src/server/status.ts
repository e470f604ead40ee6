// What the server says about a service in a `status` reply: the engine's state and
// what the shell knows (sd_notify's STATUS=, the next clock run, a readiness probe
// that found another process's listener). `why` is the engine's own (engine/explain.ts).

import { defOf, stateOf, type Engine } from "../engine/engine.js";
import type { ServiceStatus } from "./protocol.js";

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
