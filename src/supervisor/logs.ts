// Service logs. A service's stdout and stderr are read in chunks as the kernel hands
// them over and written straight to its log file, one timestamped line at a time:
// nothing accumulates in the server's memory but a partial line, and that is capped.
// Files rotate by size (current → current.1 → … → current.KEEP, then dropped).

import { closeSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";

/** Longer lines are split: a service printing without newlines cannot grow our heap. */
export const MAX_LINE_BYTES = 16 * 1024;

export interface LogSink {
  /** Raw output of the service's process. */
  write(chunk: Buffer): void;
  /** A line from tend itself about the service (started, exited, …). */
  note(text: string): void;
  /** Receive every line written from now on; returns the unsubscribe function. */
  follow(onLine: (line: string) => void): () => void;
  close(): void;
}

export interface FileLogOptions {
  dir: string;
  maxBytes: number;
  keep: number;
  now?: () => Date;
}

export const CURRENT_LOG = "current";

export function fileLog({ dir, maxBytes, keep, now = () => new Date() }: FileLogOptions): LogSink {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, CURRENT_LOG);
  let fd = openSync(path, "a", 0o640);
  let size = fstatSync(fd).size;
  const emit = (line: string): void => {
    const text = `${now().toISOString()} ${line}\n`;
    size += writeSync(fd, text);
    for (const f of followers) f(text.slice(0, -1));
    if (size >= maxBytes) rotate();
  };
  const rotate = (): void => {
    closeSync(fd);
    rmSync(join(dir, `${CURRENT_LOG}.${keep}`), { force: true });
    for (let i = keep - 1; i >= 1; i--) {
      try {
        renameSync(join(dir, `${CURRENT_LOG}.${i}`), join(dir, `${CURRENT_LOG}.${i + 1}`));
      } catch {
        // that generation does not exist yet
      }
    }
    if (keep > 0) renameSync(path, join(dir, `${CURRENT_LOG}.1`));
    else rmSync(path, { force: true });
    fd = openSync(path, "a", 0o640);
    size = 0;
  };
  const followers = new Set<(line: string) => void>();
  return { ...lineSplitter(emit), follow: subscribe(followers), close: () => closeSync(fd) };
}

/** `log = stdout`: lines go to the server's stdout, prefixed with the service name (for containers). */
export function stdoutLog(service: string, out: NodeJS.WritableStream = process.stdout): LogSink {
  const followers = new Set<(line: string) => void>();
  const emit = (line: string): void => {
    out.write(`${service}: ${line}\n`);
    for (const f of followers) f(line);
  };
  return { ...lineSplitter(emit), follow: subscribe(followers), close: () => {} };
}

/** `log = none`. */
export const nullLog: LogSink = { write: () => {}, note: () => {}, follow: () => () => {}, close: () => {} };

function subscribe(followers: Set<(line: string) => void>): LogSink["follow"] {
  return (onLine) => {
    followers.add(onLine);
    return () => followers.delete(onLine);
  };
}

/** Cuts raw output into lines, keeping at most MAX_LINE_BYTES of a partial line. */
function lineSplitter(emit: (line: string) => void): Pick<LogSink, "write" | "note"> {
  let partial: Buffer = Buffer.alloc(0);
  return {
    write(chunk) {
      let data = partial.length > 0 ? Buffer.concat([partial, chunk]) : chunk;
      for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10)) {
        emit(data.subarray(0, nl).toString("utf8"));
        data = data.subarray(nl + 1);
      }
      while (data.length >= MAX_LINE_BYTES) {
        emit(data.subarray(0, MAX_LINE_BYTES).toString("utf8"));
        data = data.subarray(MAX_LINE_BYTES);
      }
      partial = Buffer.from(data);
    },
    note(text) {
      emit(`[tend] ${text}`);
    },
  };
}
