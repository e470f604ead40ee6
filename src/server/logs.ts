// Reading service logs for `tend logs`. The keeper writes them (`TIME LINE` lines in
// LOG/NAME/current, rotated by size to current.1 … current.KEEP; the syslog log in
// LOG/_syslog/); the server only reads: the last lines across the generations or those
// of a time range, several merged in time order, and new lines as they are written,
// following `current` across rotations.

import { closeSync, fstatSync, openSync, readFileSync, readSync, readdirSync, statSync, watch, type FSWatcher } from "node:fs";
import { join } from "node:path";
import { SYSLOG_LOG_DIR } from "../places.js";

const CURRENT_LOG = "current";

/**
 * Whether a name `tend logs` is given means the syslog log (the syslog messages no
 * service sent), named as its directory, `_syslog` (no service's name begins with
 * '_'), or `syslog` when no service has that name (a service called `syslog` keeps it).
 */
export const namesSyslogLog = (name: string, isService: (name: string) => boolean): boolean => name === SYSLOG_LOG_DIR || (name === "syslog" && !isService(name));
const ROTATED_LOG = new RegExp(`^${CURRENT_LOG}\\.\\d+$`);

/** Where `current` ended when it was read: its inode (a rotation makes a new one) and the bytes up to its last newline. */
export interface LogEnd {
  ino: number;
  offset: number;
}

/** How often a follower looks at the file when no change notice comes (inotify may be unavailable, or out of watches). */
const POLL_MS = 250;
/** Read at most this much per turn, so that a follower of a service spewing output never holds up the event loop. */
const READ_BYTES = 64 * 1024;
const READS_PER_TURN = 16;
/** A line still unfinished after this much is passed on in pieces: a follower holds no more than this of one. */
const MAX_PARTIAL_BYTES = 64 * 1024;

/** Which lines of a log: at most the last `count`, and of those only the ones stamped from `since` to `until` (ms since the epoch). */
export interface LogRange {
  count?: number;
  since?: number;
  until?: number;
}

/**
 * The lines of a service's log in `range`, oldest first, from the current file and the
 * rotated ones (newest first, only as far back as the range reaches); and where
 * `current` ended, for a follower to go on from.
 */
export function readLog(dir: string, range: LogRange): { lines: string[]; end: LogEnd | null } {
  const current = readCurrent(join(dir, CURRENT_LOG));
  const end = current?.end ?? null;
  const { count = Infinity, since, until } = range;
  if (count <= 0) return { lines: [], end };
  const inRange = (line: string): boolean => {
    const time = lineTime(line);
    // A line without a stamp (none is written so) is kept: nothing says it is out.
    return !(time < (since ?? -Infinity)) && !(time > (until ?? Infinity));
  };
  const lines = current === null ? [] : linesOf(current.text).filter(inRange);
  /** Whether an older file may still hold lines of the range: the oldest line read is not before `since`. */
  let reaches = current === null || since === undefined || !(lineTime(linesOf(current.text)[0] ?? "") < since);
  if (lines.length < count && reaches) {
    for (const file of rotatedFiles(dir)) {
      let text: string;
      try {
        text = readFileSync(join(dir, file), "utf8");
      } catch {
        continue; // rotated away meanwhile
      }
      const all = linesOf(text);
      lines.unshift(...all.filter(inRange).slice(-(count - lines.length)));
      reaches = since === undefined || !(lineTime(all[0] ?? "") < since);
      if (lines.length >= count || !reaches) break;
    }
  }
  return { lines: count === Infinity ? lines : lines.slice(-count), end };
}

/** A merge reads at most this many lines of a range with no count, the newest: a year of logs is not one reply. */
export const MAX_MERGED_LINES = 50_000;

/**
 * Several services' logs merged in time order (a service's own lines keep their order;
 * at the same time, the order of `logs` decides), the last `range.count` of them but at
 * most MAX_MERGED_LINES; whether that bound left older lines of the range out; and
 * where each `current` ended.
 */
export function mergeLogs(
  logs: readonly { service: string; dir: string }[],
  range: LogRange,
): { lines: { service: string; line: string }[]; bounded: boolean; ends: (LogEnd | null)[] } {
  const count = Math.min(range.count ?? Infinity, MAX_MERGED_LINES);
  const ends: (LogEnd | null)[] = [];
  const all: { service: string; line: string; time: number; at: number }[] = [];
  for (const { service, dir } of logs) {
    // One line more than the bound, to know whether it left any out.
    const read = readLog(dir, { ...range, count: count + 1 });
    ends.push(read.end);
    let time = -Infinity; // an unstamped line goes with the line before it
    for (const line of read.lines) {
      const stamp = lineTime(line);
      if (!Number.isNaN(stamp)) time = stamp;
      all.push({ service, line, time, at: all.length });
    }
  }
  all.sort((a, b) => a.time - b.time || a.at - b.at);
  const bounded = (range.count ?? Infinity) > MAX_MERGED_LINES && all.length > count;
  return { lines: all.slice(all.length - Math.min(count, all.length)).map(({ service, line }) => ({ service, line })), bounded, ends };
}

/** The rotated files of a log, newest first. */
function rotatedFiles(dir: string): string[] {
  let rotated: string[];
  try {
    rotated = readdirSync(dir).filter((f) => ROTATED_LOG.test(f));
  } catch {
    return [];
  }
  const generation = (f: string): number => Number(f.slice(CURRENT_LOG.length + 1));
  return rotated.sort((a, b) => generation(a) - generation(b));
}

/** When a line was read: its stamp (`2026-11-21T21:45:22.773Z text`), in ms since the epoch; NaN for a line without one. */
export const lineTime = (line: string): number => Date.parse(line.slice(0, line.indexOf(" ")));

const linesOf = (text: string): string[] => {
  const lines = text.split("\n");
  lines.pop(); // after the last newline: nothing, or a line not finished yet (a follower gets it)
  return lines;
};

function readCurrent(path: string): { text: string; end: LogEnd } | null {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return null;
  }
  try {
    const { ino, size } = fstatSync(fd);
    const bytes = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, bytes, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    const complete = bytes.lastIndexOf(10, got - 1) + 1;
    return { text: bytes.subarray(0, complete).toString("utf8"), end: { ino, offset: complete } };
  } finally {
    closeSync(fd);
  }
}

/**
 * Calls `onLine` with each line written to the log after `from` (from the start of
 * `current` when there was none). On a rotation the old file is read to its end, then
 * the new `current` from its start. Returns the function that stops following; it
 * reads what was written up to then first.
 */
export function followLog(dir: string, from: LogEnd | null, onLine: (line: string) => void): () => void {
  const path = join(dir, CURRENT_LOG);
  const buffer = Buffer.alloc(READ_BYTES);
  let file: { fd: number; ino: number; offset: number } | null = null;
  let partial: Buffer[] = [];
  let partialBytes = 0;
  let stopped = false;
  let scheduled: NodeJS.Immediate | null = null;
  let watcher: FSWatcher | null = null;

  const open = (start: LogEnd | null): void => {
    try {
      const fd = openSync(path, "r");
      const { ino } = fstatSync(fd);
      file = { fd, ino, offset: start !== null && start.ino === ino ? start.offset : 0 };
    } catch {
      file = null; // not there yet: the service has not written, or log-keep = 0 just removed it
    }
  };

  const emit = (chunk: Buffer): void => {
    for (let at = 0; at < chunk.length; ) {
      const nl = chunk.indexOf(10, at);
      if (nl < 0) {
        partial.push(Buffer.from(chunk.subarray(at)));
        partialBytes += chunk.length - at;
        if (partialBytes >= MAX_PARTIAL_BYTES) flushPartial();
        return;
      }
      const piece = chunk.subarray(at, nl);
      if (partialBytes > 0) {
        partial.push(piece);
        flushPartial();
      } else onLine(piece.toString("utf8"));
      at = nl + 1;
    }
  };
  const flushPartial = (): void => {
    onLine(Buffer.concat(partial).toString("utf8"));
    partial = [];
    partialBytes = 0;
  };

  /** Reads the open file onwards; false when there may be more than a turn's worth. */
  const readOn = (limit: number): boolean => {
    if (file === null) return true;
    for (let i = 0; i < limit; i++) {
      const n = readSync(file.fd, buffer, 0, READ_BYTES, file.offset);
      if (n === 0) return true;
      file.offset += n;
      emit(buffer.subarray(0, n));
    }
    return false;
  };

  /** One turn: new lines of the file; on a rotation, the old file to its end and then the new one. */
  const turn = (limit = READS_PER_TURN): void => {
    scheduled = null;
    if (stopped) return;
    let ino: number | null = null;
    try {
      ino = statSync(path).ino;
    } catch {
      // no `current` at the moment
    }
    // Checked before reading: once `current` is a new file, nothing more is written to the old one.
    const rotated = ino !== null && (file === null || ino !== file.ino);
    if (!readOn(limit)) return void (scheduled = setImmediate(safeTurn));
    if (rotated) {
      if (file !== null) closeSync(file.fd);
      if (partialBytes > 0) flushPartial(); // the old file is finished: its last line is too
      open(null);
      if (!readOn(limit)) return void (scheduled = setImmediate(safeTurn));
    }
    if (watcher === null) watchDir();
  };

  const soon = (): void => {
    if (scheduled === null && !stopped) scheduled = setImmediate(safeTurn);
  };
  const safeTurn = (): void => {
    try {
      turn();
    } catch {
      // A read failed under us: start again from the current file on the next turn.
      if (file !== null) closeSync(file.fd);
      file = null;
    }
  };
  const watchDir = (): void => {
    try {
      watcher = watch(dir, { persistent: false }, soon);
      watcher.on("error", () => {
        watcher?.close();
        watcher = null; // polling goes on; the next turn tries again
      });
    } catch {
      watcher = null; // no directory yet
    }
  };

  open(from);
  const poll = setInterval(soon, POLL_MS);
  poll.unref();
  watchDir();
  soon();
  return () => {
    if (stopped) return;
    if (scheduled !== null) clearImmediate(scheduled);
    try {
      turn(Infinity);
    } catch {
      // the file went away under us: nothing more to pass on
    }
    stopped = true;
    clearInterval(poll);
    watcher?.close();
    if (file !== null) closeSync(file.fd);
  };
}
