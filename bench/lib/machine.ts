// What the numbers were measured on, recorded with every result.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, cpus, release, totalmem } from "node:os";

export interface Machine {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  v8: string;
  /** The repository's commit and whether the tree had changes. */
  commit: string | null;
  dirty: boolean | null;
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m) return m[1]!.trim();
  } catch {
    // not Linux, or no /proc: fall back on what Node sees
  }
  return cpus()[0]?.model ?? "unknown";
}

function git(root: string, args: string[]): string | null {
  try {
    return execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
}

export function machine(root: string): Machine {
  const status = git(root, ["status", "--porcelain"]);
  return {
    nproc: availableParallelism(),
    cpuModel: cpuModel(),
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    kernel: release(),
    node: process.version,
    v8: process.versions.v8,
    commit: git(root, ["rev-parse", "--short", "HEAD"]),
    dirty: status === null ? null : status !== "",
  };
}

export interface CpuSnapshot {
  /** All CPU time so far, in clock ticks (from /proc/stat). */
  total: number;
  /** Of which not idle. */
  busy: number;
  /** This process and its waited-for children (from /proc/self/stat). */
  ours: number;
}

/**
 * The service managers the bench started, with the CPU ticks last seen for each (user +
 * system, their reaped children included), so that their work counts as the bench's own
 * and not as "other work" (which --wait-idle would throw rounds away for):
 * - a manager that is the bench's child counts in /proc/self/stat's cutime only once
 *   Node reaped it, which happens when the event loop turns — after a synchronous round
 *   has been judged; until then (running, or a zombie) its own ticks are added here;
 * - pm2's daemon is not the bench's child (pm2's CLI starts it detached and exits): its
 *   last reading is kept after it is gone.
 */
const adopted = new Map<number, { ticks: number; child: boolean }>();

function ticksOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
    return f[11]! + f[12]! + f[13]! + f[14]!;
  } catch {
    return null;
  }
}

/** Counts `pid`'s CPU time as the bench's own (`child`: the bench's own child, which Node reaps). */
export function adopt(pid: number, child: boolean): void {
  adopted.set(pid, { ticks: ticksOf(pid) ?? 0, child });
}

/** Reads the adopted processes' CPU ticks again and returns their sum (see `adopted`). */
export function refreshAdopted(): number {
  let sum = 0;
  for (const [pid, a] of adopted) {
    const now = ticksOf(pid);
    if (now === null) {
      // Reaped: a child's ticks are in our cutime now; another's keeps its last reading.
      if (a.child) {
        adopted.delete(pid);
        continue;
      }
    } else if (now >= a.ticks) {
      a.ticks = now;
    }
    sum += a.ticks;
  }
  return sum;
}

/** Null where /proc cannot be read (not Linux). */
export function cpuSnapshot(): CpuSnapshot | null {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
    // /proc/self/stat: fields 14–17 are utime, stime, cutime, cstime (after "pid (comm) state").
    const self = readFileSync("/proc/self/stat", "utf8");
    const after = self.slice(self.lastIndexOf(")") + 2).split(" ").map(Number);
    const ours = after[11]! + after[12]! + after[13]! + after[14]! + refreshAdopted();
    return { total, busy: total - idle, ours };
  } catch {
    return null;
  }
}

/**
 * The fraction (0–1) of all CPU time between two snapshots that went to other
 * processes than this one and its children: how much other work disturbed the numbers.
 */
export function otherWork(a: CpuSnapshot | null, b: CpuSnapshot | null): number | null {
  if (a === null || b === null || b.total <= a.total) return null;
  const other = b.busy - a.busy - (b.ours - a.ours);
  return Math.round(Math.min(1, Math.max(0, other / (b.total - a.total))) * 100) / 100;
}

/** How much of the CPUs other processes use right now, measured over `ms`. */
export async function cpuBusy(ms = 500): Promise<number | null> {
  const a = cpuSnapshot();
  await new Promise((done) => setTimeout(done, ms));
  return otherWork(a, cpuSnapshot());
}
