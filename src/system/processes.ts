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

/** The fields of /proc/PID/stat after the command name (which may hold spaces and parentheses): state first. */
export function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** Has the process ended? A zombie has, though its parent has not reaped it yet. */
export function hasEnded(pid: number): boolean {
  if (!isAlive(pid)) return true;
  const fields = statFields(pid);
  // No fields: gone between the two looks, or no /proc (then being alive is all we know).
  return fields === null ? !isAlive(pid) : fields[0] === "Z";
}

/**
 * When the process started, in clock ticks since boot (field 22 of /proc/PID/stat): with
 * the pid, it names one process, since a pid given out again is given to a later one.
 * Null without /proc or once the process is gone.
 */
export function startTimeOf(pid: number): string | null {
  return statFields(pid)?.[19] ?? null;
}

/** One process, named so that a later process given its pid again is not taken for it: "PID START" ("?" without /proc). */
export const identityOf = (pid: number): string => `${pid} ${startTimeOf(pid) ?? "?"}`;

/**
 * The pid of the process an identity (`identityOf`) names while it runs, or null: it
 * has ended, is a zombie, or its pid names a later process. One without a start time
 * (a system without /proc) is taken as running while its pid is alive.
 */
export function runningPidOf(identity: string): number | null {
  const [pidText, started] = identity.trim().split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isSafeInteger(pid) || pid <= 0 || hasEnded(pid)) return null;
  if (started === undefined || started === "?") return pid;
  return startTimeOf(pid) === started ? pid : null;
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

/** Clock ticks a second in /proc's times (USER_HZ: 100 on every architecture Linux runs tend on). */
const USER_HZ = 100;

/**
 * When the machine booted, in ms on the wall clock of `now`, as its init sees it: the
 * start of pid 1, so that in a container (a pid namespace of its own) the boot is the
 * container's start, as systemd maps OnBootSec= there. Without /proc: `now`.
 */
export function bootedAt(now: number): number {
  try {
    const uptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    const init = Number(startTimeOf(1) ?? 0) / USER_HZ;
    return Number.isFinite(uptime) && Number.isFinite(init) ? now - (uptime - init) * 1000 : now;
  } catch {
    return now;
  }
}
