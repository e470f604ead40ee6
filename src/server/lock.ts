// One server per root: a pid file created exclusively, naming the server by its pid and
// the time the kernel started that process (/proc/PID/stat). The lock is held while
// that very process runs: a pid that has ended, is a zombie (killed, and its parent does
// not reap it: a container's PID 1 may never), or now names another process started
// later (a pid given out again) holds nothing, and the file is taken over at once.

import { closeSync, fchmodSync, linkSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { identityOf, runningPidOf } from "../system/processes.js";

export const LOCK_FILE = "tend.pid";

export type LockResult = { ok: true; release(): void } | { ok: false; pid: number };

/** Takes the lock of the run directory `runDir` (which the server made, 0755). */
export function lockRoot(runDir: string): LockResult {
  const path = join(runDir, LOCK_FILE);
  const self = `${identityOf(process.pid)}\n`;
  // Written in full beside it, then linked into place (link fails if the name exists):
  // no server ever reads a lock file that is not written yet.
  const mine = `${path}.new-${process.pid}`;
  rmSync(mine, { force: true });
  const fd = openSync(mine, "wx", 0o644);
  try {
    fchmodSync(fd, 0o644);
    writeSync(fd, self);
  } finally {
    closeSync(fd);
  }
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        linkSync(mine, path);
        return { ok: true, release: () => releaseIfOurs(path, self) };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        const text = contentOf(path);
        const holder = text === null ? null : holderOf(text);
        if (holder !== null) return { ok: false, pid: holder };
        if (text !== null) removeStale(path, text);
      }
    }
    return { ok: false, pid: 0 };
  } finally {
    rmSync(mine, { force: true });
  }
}

/** The pid of the server holding the lock of `runDir`, or null when none does (no file, or a stale one: left as it is). */
export function lockHolder(runDir: string): number | null {
  const text = contentOf(join(runDir, LOCK_FILE));
  return text === null ? null : holderOf(text);
}

const contentOf = (path: string): string | null => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null; // removed meanwhile: the next attempt creates it
  }
};

/**
 * Removes the stale lock file whose content is `text`, and only that one: a server
 * starting at the same moment may have taken it over already, and its lock stays.
 */
function removeStale(path: string, text: string): void {
  const aside = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // someone else moved it first
  }
  if (contentOf(aside) !== text) {
    try {
      linkSync(aside, path); // another server's fresh lock: put back
    } catch {
      // a third made one meanwhile: it holds the lock
    }
  }
  rmSync(aside, { force: true });
}

/** The pid of the server that holds a lock file with this content, or null when none does (one naming this very pid is an earlier life's). */
function holderOf(text: string): number | null {
  const pid = runningPidOf(text);
  return pid === process.pid ? null : pid;
}

/** A lock file taken over by a next server (this one was thought dead) is not removed. */
function releaseIfOurs(path: string, self: string): void {
  try {
    if (readFileSync(path, "utf8") === self) rmSync(path, { force: true });
  } catch {
    // already gone
  }
}
