// Watching processes the bench started (a service manager, the services under it):
// memory, liveness, and finding and killing every process of a program by its path.

import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** Blocks the bench for `ms` (timed rounds are synchronous: the measured processes are elsewhere). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** VmRSS of a process in MiB (the "MB" of the tables), or null when it is gone. */
export function rssMiB(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Is the process there and not a zombie? */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) [ZX]/s.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** The pids of every process whose executable is `exe` (an absolute path the bench created). */
export function processesOf(exe: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/exe`) === exe) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to look at
    }
  }
  return pids;
}

/** Polls `done` every `everyMs` until it is true; false when `timeoutMs` passed first. */
export function waitUntil(done: () => boolean, timeoutMs: number, everyMs = 2): boolean {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (done()) return true;
    if (performance.now() > deadline) return false;
    sleepSync(everyMs);
  }
}

/** Sends `signal` to each pid that is still there. */
export function killEach(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Kills every process of the bench's own program `exe` (services a crashed manager left behind). */
export function killProgram(exe: string): number {
  const pids = processesOf(exe);
  killEach(pids, "SIGKILL");
  return pids.length;
}
