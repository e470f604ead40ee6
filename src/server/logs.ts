// Reading service logs for `tend logs`. The keeper writes them (`TIME LINE` lines in
// LOG/NAME/current, rotated by size to current.1 … current.KEEP; the syslog log in
// LOG/_syslog/); the server only reads: the last lines across the generations, and new
// lines as they are written, following `current` across rotations.

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

/** The last `count` lines of a service's log, from the current file and the rotated ones; and where `current` ended. */
export function tailLog(dir: string, count: number): { lines: string[]; end: LogEnd | null } {
  const current = readCurrent(join(dir, CURRENT_LOG));
  const lines = current === null ? [] : linesOf(current.text);
  if (count <= 0) return { lines: [], end: current?.end ?? null };
  if (lines.length < count) {
    let rotated: string[];
    try {
      rotated = readdirSync(dir).filter((f) => ROTATED_LOG.test(f));
    } catch {
      rotated = [];
    }
    const generation = (f: string): number => Number(f.slice(CURRENT_LOG.length + 1));
    for (const file of rotated.sort((a, b) => generation(a) - generation(b))) {
      let text: string;
      try {
        text = readFileSync(join(dir, file), "utf8");
      } catch {
        continue; // rotated away meanwhile
      }
      lines.unshift(...linesOf(text).slice(-(count - lines.length)));
      if (lines.length >= count) break;
    }
  }
  return { lines: lines.slice(-count), end: current?.end ?? null };
}

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
