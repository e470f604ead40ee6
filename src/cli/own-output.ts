// tend's own stdout and stderr. The CLI writes them with write(2) (`writeOut`,
// `writeErr`), not through process.stdout: making that stream loads node:net and Node's
// streams, 2 to 3 ms of a `tend status` (W3 in docs/benchmarks.md). What needs the
// stream itself (its events: the demo notices its reader going) takes it from
// `ownStream`, watched, and from then on every write to that fd goes through it, in order.
//
// Writing fails with EPIPE (a reader that went away, as in `tend list | head -1`) or
// EIO (a terminal that closed): a command ends quietly; the server (`daemon`, `boot`)
// and the demo never end for it: they drop their own output and go on, since what they
// supervise does not depend on anyone reading their log. An fd that whoever opened it
// left non-blocking (EAGAIN: a full pipe) has the rest written by the stream, which
// waits for the reader.

import { fstatSync, writeSync } from "node:fs";

type Fd = 1 | 2;

let keepRunning = false;
const failed = new Set<Fd>();
const streams = new Map<Fd, NodeJS.WriteStream>();

export const writeOut = (text: string): void => write(1, text);
export const writeErr = (text: string): void => write(2, text);

function write(fd: Fd, text: string): void {
  if (failed.has(fd)) return;
  const stream = streams.get(fd);
  if (stream !== undefined) {
    stream.write(text);
    return;
  }
  const bytes = Buffer.from(text);
  let done = 0;
  try {
    while (done < bytes.length) done += writeSync(fd, bytes, done);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EAGAIN") ownStream(fd).write(bytes.subarray(done));
    else lost(fd, e as NodeJS.ErrnoException);
  }
}

function lost(fd: Fd, e: NodeJS.ErrnoException): void {
  failed.add(fd);
  if (keepRunning) return;
  if (e.code === "EPIPE" || e.code === "EIO") process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
  throw e;
}

/** process.stdout (1) or process.stderr (2), watched as above; writes to its fd go through it from now on. */
export function ownStream(fd: Fd): NodeJS.WriteStream {
  const known = streams.get(fd);
  if (known !== undefined) return known;
  const stream = fd === 1 ? process.stdout : process.stderr;
  stream.on("error", (e: NodeJS.ErrnoException) => lost(fd, e));
  streams.set(fd, stream);
  return stream;
}

/** Whether the fd is a terminal; only a character device may be, and only one asks for the stream (and node:tty). */
export function isTerminal(fd: Fd): boolean {
  try {
    if (!fstatSync(fd).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  return ownStream(fd).isTTY === true;
}

/** From now on, a failed stdout or stderr is dropped, and the process goes on. */
export function keepRunningWithoutOutput(): void {
  keepRunning = true;
}

/** Whether the fd still takes what is written to it. */
export const writable = (fd: Fd): boolean => !failed.has(fd) && streams.get(fd)?.destroyed !== true;
