// Watching processes the bench started (a service manager, the services under it):
// memory, liveness, CPU time, and finding and killing every process of a program by its
// path; tend's keeper among the server's descendants.

import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";

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

/** CONFIG_PROC_CHILDREN: the kernel lists each thread's children. */
const hasChildrenFiles = existsSync(`/proc/self/task/${process.pid}/children`);

/**
 * The children of `pid`, from /proc/PID/task/TID/children (every thread's: a Node
 * server's children may have been spawned from any of them); a /proc scan where the
 * kernel has no such files.
 */
export function childPids(pid: number): number[] {
  if (!hasChildrenFiles) return childrenOf(pid);
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const tid of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").split(" ")) if (c.trim() !== "") out.push(Number(c));
    } catch {
      // that thread is gone
    }
  }
  return out;
}

/** The program of `pid` (/proc/PID/exe, without the " (deleted)" of a rebuilt binary), or null. */
export function exeOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, "");
  } catch {
    return null;
  }
}

/** The process's name (/proc/PID/comm), or null. */
export function commOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return null;
  }
}

/** tend's native helper, the parent of every service once it lands: dist/keeper/tend-keeper. */
export const KEEPER_COMM = "tend-keeper";

/** Is `pid` a tend keeper: its program is `keeperExe`, or its name is tend-keeper? */
export function isKeeper(pid: number, keeperExe: string): boolean {
  const exe = exeOf(pid);
  if (exe !== null && exe === keeperExe) return true;
  return commOf(pid) === KEEPER_COMM;
}

/**
 * tend's keepers under `server`: its descendants that are keepers, reached through
 * tend's own processes only (the server's children, a keeper's children), never
 * through a service. None while the server still spawns services itself.
 */
export function keepersUnder(server: number, keeperExe: string): number[] {
  const found: number[] = [];
  const queue = [server];
  const seen = new Set<number>(queue);
  while (queue.length > 0) {
    for (const child of childPids(queue.shift()!)) {
      if (seen.has(child) || !isKeeper(child, keeperExe)) continue;
      seen.add(child);
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/**
 * Keepers anywhere on the machine whose command line names a path inside `dir` (a
 * scratch root of the bench): one that outlived its server (the keeper keeps running
 * when the server goes away) is found by this, and by nothing else once reparented.
 */
export function keepersNaming(dir: string, keeperExe: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (!isKeeper(pid, keeperExe)) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").some((a) => a === dir || a.includes(`${dir}/`))) pids.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** CPU time of one process so far, in clock ticks (utime + stime of /proc/PID/stat, its own only), or null. */
export function cpuTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]);
  } catch {
    return null;
  }
}

/**
 * CPU time of a single-threaded process so far in ms, from the scheduler's own
 * accounting (se.sum_exec_runtime of /proc/PID/sched: its main thread, not its
 * children), or null.
 * Exact where clock ticks are not: a process that runs a few µs every 10 ms (W6's
 * counters) may never be running when a tick comes on a mostly idle machine, and
 * show no utime at all.
 */
export function cpuMs(pid: number): number | null {
  try {
    const m = /^se\.sum_exec_runtime\s*:\s*([\d.]+)/m.exec(readFileSync(`/proc/${pid}/sched`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

let clockTicks: number | null = null;
/** Clock ticks per second (getconf CLK_TCK; 100 on Linux). */
export function ticksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 5000 }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Bytes the process has written so far (wchar of /proc/PID/io), or null. */
export function bytesWritten(pid: number): number | null {
  try {
    const m = /^wchar:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** A manager's memory: one process, or a scanner and its supervisors, or tend's server and keeper. */
export interface Memory {
  /** Σ VmRSS over the manager's processes, MiB (what `ps` and `top` show, added up). */
  rssMiB: number;
  /**
   * Σ Pss over the manager's processes (/proc/PID/smaps_rollup), MiB: each page shared
   * by k processes counts 1/k in each, so pages shared with other programs (libc, the
   * Node binary mapped by another node) are not all charged to the manager. NaN where
   * smaps_rollup cannot be read.
   */
  pssMiB: number;
  /**
   * Σ Private_Clean + Private_Dirty (USS), MiB: the pages no other process maps. PSS lies
   * between USS and RSS, and depends on what else runs: the Node binary's pages of
   * tend's server are shared with every other node process (the bench's own, at least).
   */
  ussMiB: number;
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

/** Pss and Private_Clean + Private_Dirty (USS) of a process in KiB (/proc/PID/smaps_rollup); NaN when it cannot be read, 0 when it is gone. */
function smapsKiB(pid: number): { pss: number; uss: number } {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const field = (name: string): number => {
      const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text);
      return m ? Number(m[1]) : Number.NaN;
    };
    return { pss: field("Pss"), uss: field("Private_Clean") + field("Private_Dirty") };
  } catch (e) {
    const gone = (e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ESRCH";
    return gone ? { pss: 0, uss: 0 } : { pss: Number.NaN, uss: Number.NaN };
  }
}

/** The memory of these processes (those gone meanwhile are left out); null when none is left. */
export function memoryOf(pids: readonly number[]): Memory | null {
  let rss = 0;
  let pss = 0;
  let uss = 0;
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
    const smaps = smapsKiB(pid);
    pss += smaps.pss;
    uss += smaps.uss;
  }
  if (processes === 0) return null;
  return { rssMiB: rss / 1024, pssMiB: pss / 1024, ussMiB: uss / 1024, sharedOnceMiB: (own + file) / 1024, anonMiB: own / 1024, fileMiB: file / 1024, processes };
}
