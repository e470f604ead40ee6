// What /proc says about a service's processes, for `tend status NAME`: each one's
// parent and command line, ordered as a tree, and the memory they use. Every read may
// find the process gone meanwhile: it is then left out, never an error.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { statFields } from "./processes.js";

export interface ProcessInfo {
  pid: number;
  /** Its parent; a parent that is not one of the service's processes makes it a root of the tree. */
  ppid: number;
  /** Its command line, its arguments joined by blanks; `[comm]` for one with none (a kernel thread, a zombie). */
  command: string;
}

/** The `pids` still alive, parents before their children, siblings by pid. */
export function describeProcesses(pids: readonly number[]): ProcessInfo[] {
  const found = new Map<number, ProcessInfo>();
  for (const pid of new Set(pids)) {
    const info = describe(pid);
    if (info !== null) found.set(pid, info);
  }
  const children = new Map<number, ProcessInfo[]>();
  const roots: ProcessInfo[] = [];
  for (const p of found.values()) {
    if (found.has(p.ppid) && p.ppid !== p.pid) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
    else roots.push(p);
  }
  const ordered: ProcessInfo[] = [];
  const byPid = (a: ProcessInfo, b: ProcessInfo): number => a.pid - b.pid;
  const stack = roots.sort(byPid).reverse();
  while (stack.length > 0) {
    const p = stack.pop()!;
    ordered.push(p);
    stack.push(...(children.get(p.pid) ?? []).sort(byPid).reverse());
  }
  return ordered;
}

function describe(pid: number): ProcessInfo | null {
  const fields = statFields(pid);
  if (fields === null) return null;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    if (argv.at(-1) === "") argv.pop();
    const command = argv.length > 0 ? argv.join(" ") : `[${readFileSync(`/proc/${pid}/comm`, "utf8").trim()}]`;
    return { pid, ppid: Number(fields[1]), command };
  } catch {
    return null; // gone meanwhile, or not ours to read
  }
}

/**
 * What a service's processes use: its cgroup's `memory.current` (page cache and kernel
 * memory included, what the kernel charges it) when there is one to read, else the sum
 * of their resident sets (VmRSS: statm counts pages, whose size Node cannot ask for).
 */
export function memoryOf(cgroup: string | null, pids: readonly number[]): { bytes: number; from: "cgroup" | "rss" } | null {
  if (cgroup !== null) {
    try {
      const bytes = Number(readFileSync(join(cgroup, "memory.current"), "utf8").trim());
      if (Number.isSafeInteger(bytes)) return { bytes, from: "cgroup" };
    } catch {
      // no memory controller in this subtree, or no cgroup yet: the resident sets say it
    }
  }
  let kib = 0;
  let counted = 0;
  for (const pid of new Set(pids)) {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m !== null) {
        kib += Number(m[1]);
        counted++;
      }
    } catch {
      // gone meanwhile
    }
  }
  return counted === 0 ? null : { bytes: kib * 1024, from: "rss" };
}
