// Small facts about processes, asked of the kernel.

import { closeSync, readdirSync, readFileSync } from "node:fs";

/** Is a process with this pid alive (ours or not)? */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Has the process ended? A zombie has, though its parent has not reaped it yet. */
export function hasEnded(pid: number): boolean {
  if (!isAlive(pid)) return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true; // gone between the two looks
  }
}

const O_CLOEXEC = 0o2000000;

/**
 * Close every fd above 2 that this process inherited without close-on-exec. Node's
 * own fds are all close-on-exec; an fd left open by whoever started the server (a
 * shell, a container runtime) would otherwise leak into the keeper it starts.
 */
export function closeInheritedFds(): number[] {
  const closed: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc/self/fdinfo");
  } catch {
    return closed; // no /proc: nothing we can do without it
  }
  for (const entry of entries) {
    const fd = Number(entry);
    if (!Number.isInteger(fd) || fd <= 2) continue;
    try {
      const flags = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"));
      if (flags !== null && (parseInt(flags[1]!, 8) & O_CLOEXEC) === 0) {
        closeSync(fd);
        closed.push(fd);
      }
    } catch {
      // the fd was the directory listing itself, or is already gone
    }
  }
  return closed;
}
