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

/** The pids whose parent is `pid` (from /proc/PID/stat). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * The pids of every process whose working directory is `dir` or inside it: s6-svscan,
 * runsvdir, their supervisors and the services under them all run in the bench's scratch
 * directory, so this finds them (and nothing else) even once their parent is gone.
 */
export function processesIn(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (cwd === dir || cwd.startsWith(`${dir}/`)) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to look at
    }
  }
  return pids;
}

/** A manager's memory: one process, or a scanner and its supervisors. */
export interface Memory {
  /** Σ VmRSS over the manager's processes, MiB (what `ps` and `top` show, added up). */
  rssMiB: number;
  /**
   * Σ (RssAnon + RssShmem) + the largest RssFile, MiB: the file-backed pages (the
   * program, libc, …) counted once, since every supervisor maps the same ones. For a
   * one-process manager this is its VmRSS.
   */
  sharedOnceMiB: number;
  /** Of which anonymous (and shared-memory) pages: heaps, stacks, Σ over the processes. */
  anonMiB: number;
  /** Of which file-backed pages (program, libraries), the largest process's. */
  fileMiB: number;
  processes: number;
}

function statusKiB(text: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

/** The memory of these processes (those gone meanwhile are left out); null when none is left. */
export function memoryOf(pids: readonly number[]): Memory | null {
  let rss = 0;
  let own = 0;
  let file = 0;
  let processes = 0;
  for (const pid of pids) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/status`, "utf8");
    } catch {
      continue;
    }
    processes++;
    rss += statusKiB(text, "VmRSS");
    own += statusKiB(text, "RssAnon") + statusKiB(text, "RssShmem");
    file = Math.max(file, statusKiB(text, "RssFile"));
  }
  if (processes === 0) return null;
  return { rssMiB: rss / 1024, sharedOnceMiB: (own + file) / 1024, anonMiB: own / 1024, fileMiB: file / 1024, processes };
}
