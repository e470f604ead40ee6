// What the server says about services: `status` records and `why` explanations,
// both read off the engine's state without changing it.

import { defOf, isActive, type Engine } from "../engine/engine.js";
import { members } from "../engine/topology.js";
import type { ServiceStatus } from "./protocol.js";

/** What the shell knows about a service besides the engine's state. */
export interface ShellFacts {
  statusText: string | undefined;
  /** The next time its schedule falls due (ms since the epoch). */
  nextRun: number | undefined;
}

export function serviceStatus(e: Engine, name: string, shell: ShellFacts): ServiceStatus {
  const def = defOf(e, name);
  const s = e.services.get(name)!;
  return {
    name,
    type: def.type,
    description: def.description,
    phase: s.phase,
    wanted: e.wanted.has(name) && !e.shuttingDown,
    pid: s.pid,
    since: Math.round(s.since),
    reason: s.reason,
    lastExit: s.lastExit,
    restarts: s.restarts.length,
    runs: s.runs,
    skipped: s.skipped,
    nextRun: shell.nextRun ?? null,
    statusText: shell.statusText ?? null,
  };
}

/** The chain of explicit names and edges that makes `name` wanted, or null. */
export function wantedBecause(e: Engine, name: string): string[] | null {
  if (!e.wanted.has(name)) return null;
  // Breadth-first from the explicit names, remembering who pulled whom in.
  const via = new Map<string, string>();
  const queue: string[] = [];
  for (const name of e.triggered) {
    if (!via.has(name) && e.wanted.has(name)) {
      via.set(name, "started by its event or schedule (start-on, schedule)");
      queue.push(name);
    }
  }
  for (const root of e.explicit) {
    for (const m of members(e.topo, root)) {
      if (root !== m && e.excluded.has(m)) continue; // disabled: the bundle does not bring it up
      if (!via.has(m) && e.wanted.has(m)) {
        via.set(m, root === m ? `started explicitly (by an admin, the boot or 'enable')` : `member of '${root}', started explicitly`);
        queue.push(m);
      }
    }
  }
  for (let i = 0; i < queue.length; i++) {
    const from = queue[i]!;
    for (const [edge, targets] of [
      ["requires", e.topo.requires.get(from)!],
      ["wants", e.topo.wants.get(from)!],
    ] as const) {
      for (const t of targets) {
        if (!via.has(t) && e.wanted.has(t)) {
          via.set(t, `${from} ${edge} it`);
          queue.push(t);
        }
      }
    }
  }
  const chain: string[] = [];
  for (let n: string | undefined = name; n !== undefined && chain.length < 50; ) {
    const reason = via.get(n);
    if (reason === undefined) break;
    chain.push(`${n}: ${reason}`);
    const m = /^(\S+) (requires|wants) it$/.exec(reason);
    n = m?.[1];
  }
  return chain;
}

/** Why a service is not wanted, in words an admin can act on. */
function notWanted(e: Engine, name: string): string {
  const def = defOf(e, name);
  if (e.stopped.has(name)) return `not wanted: an admin stopped it (or something it requires); 'tend start ${name}' brings it back`;
  if (e.excluded.has(name)) return `not wanted: disabled ('tend enable ${name}' puts it back into what boot starts)`;
  if (def.startOn !== null) return "not wanted now: it starts when its start-on condition comes true";
  if (def.schedule !== null) return "not wanted now: it runs on its schedule";
  return "not wanted: nothing started it or pulls it in";
}

/** Lines that explain the state of one service. */
export function explain(e: Engine, name: string): string[] {
  const s = e.services.get(name)!;
  const lines = [`${name} is ${s.phase}${s.reason ? `: ${s.reason}` : ""}`];
  const because = wantedBecause(e, name);
  if (e.shuttingDown) lines.push("the server is shutting down: nothing is wanted");
  else if (because === null) lines.push(notWanted(e, name));
  else lines.push("wanted because:", ...because.map((l) => `  ${l}`));
  if (s.held && (s.phase === "failed" || s.phase === "down")) {
    lines.push(
      defOf(e, name).type === "task"
        ? `its run is over; 'tend start ${name}' runs it again`
        : `held: it is not started again by itself; 'tend start ${name}' retries it`,
    );
  }
  if (because !== null && e.excluded.has(name)) lines.push(`disabled: 'default' does not bring it up, but what is listed above still needs it`);
  if (e.wanted.has(name) && (s.phase === "down" || s.phase === "failed")) {
    for (const r of e.topo.requires.get(name)!) {
      const rs = e.services.get(r)!;
      if (rs.phase !== "up") lines.push(`waits for requirement ${r}, which is ${rs.phase}${rs.reason ? `: ${rs.reason}` : ""}`);
    }
    for (const a of e.topo.after.get(name)!) {
      const as = e.services.get(a)!;
      if (isActive(as.phase) && as.phase !== "up") lines.push(`ordered after ${a}, which is ${as.phase}`);
    }
  }
  if (isActive(s.phase) && !e.wanted.has(name)) {
    const active = e.topo.requiredBy.get(name)!.filter((d) => isActive(e.services.get(d)!.phase));
    if (active.length > 0) lines.push(`stops once these stop first: ${active.join(", ")}`);
  }
  return lines;
}
