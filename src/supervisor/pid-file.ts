// A forking daemon's pid file (`pid-file`), read as any file the service's user may
// write: a symlink in its place is not followed, only a regular file is read, a few
// bytes of it, without blocking; its content is never echoed (it could be anything).
// What it names is a claim only: the keeper checks that the process runs and is of the
// service's tree before taking it as the main (docs/keeper-protocol.md, `main`).

import { unlinkSync } from "node:fs";
import { hasEnded } from "../system/processes.js";
import { BoundedReadError, readRegularFile } from "../system/bounded-read.js";
import { poll } from "./readiness/poll.js";
import type { Watch } from "./readiness/watch.js";

/** A pid and its newline, with room for blanks. */
const MAX_PID_FILE_BYTES = 64;
/** The kernel's largest pid (PID_MAX_LIMIT). */
const MAX_PID = 4_194_304;
/** A file written by the daemon may carry an mtime this much before its launcher began (the kernel's file times are coarse). */
const CLOCK_SLACK_MS = 1_000;

/** What the file says now: a pid, nothing yet (no file), or what is wrong with it. */
export type PidFileRead = { pid: number } | { problem: string } | null;

/** `notBefore` (ms since the epoch): a file last written before it is a stale one, left from an earlier run. */
export function readPidFile(path: string, notBefore = 0): PidFileRead {
  let text: string;
  try {
    const stale = (stat: { mtimeMs: number }): string | null => (stat.mtimeMs < notBefore - CLOCK_SLACK_MS ? "is older than its launcher (left from an earlier run)" : null);
    text = readRegularFile(path, MAX_PID_FILE_BYTES, stale, { noFollow: true }).toString("latin1");
  } catch (e) {
    if (!(e instanceof BoundedReadError)) throw e;
    if (e.code === "ENOENT") return null;
    return { problem: e.code === "ELOOP" ? "is a symlink, which is not followed" : e.message };
  }
  const m = /^\s*(\d{1,7})\s*$/.exec(text);
  const pid = m === null ? 0 : Number(m[1]);
  if (pid < 1 || pid > MAX_PID) return text.trim() === "" ? null : { problem: "holds no pid" }; // empty: being written
  return { pid };
}

/**
 * Reads `path` again and again (backing off as the readiness probes do) until it names
 * a running process; then `found` is called once and the watch is over. What keeps it
 * from naming one (a stale pid, a symlink, no pid) is told through `note`, once each.
 */
export function watchPidFile(path: string, notBefore: number, found: (pid: number) => void, note: (text: string) => void): Watch {
  let told = "";
  let pid = 0;
  return poll(
    (done) => {
      const read = readPidFile(path, notBefore);
      const problem = read === null ? "" : "problem" in read ? read.problem : hasEnded(read.pid) ? `names ${read.pid}, which is not running` : null;
      if (problem === null) pid = (read as { pid: number }).pid;
      else if (problem !== "" && problem !== told) note(`pid file ${path} ${(told = problem)}: waiting for it to name the daemon`);
      done(problem === null);
      return () => {};
    },
    () => found(pid),
  );
}

/** The daemon `pid` ended: its pid file goes if it still names it (as systemd does), so that the next start does not read a stale one. */
export function removePidFile(path: string, pid: number): void {
  const read = readPidFile(path);
  if (read === null || !("pid" in read) || read.pid !== pid) return;
  try {
    unlinkSync(path);
  } catch {
    // gone already, or not ours to remove: the next start waits for a file naming a running process
  }
}
