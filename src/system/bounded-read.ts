// Reading a file someone else may have put there (an env-file): the server reads it
// synchronously, so a FIFO would block it for good (no status, no shutdown) and
// /dev/zero would fill its memory. Only a regular file is read, opened without
// blocking, and at most `maxBytes` of it.

import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from "node:fs";

const CHUNK_BYTES = 64 * 1024;

export class BoundedReadError extends Error {
  constructor(
    message: string,
    /** The errno code when the file could not be opened or read (ENOENT: it does not exist). */
    readonly code: string | null,
  ) {
    super(message);
  }
}

/**
 * The file's bytes; throws a BoundedReadError that says what is wrong in a few words.
 * `vet` judges the file opened (its fstat, so no swap can come between) before it is read.
 */
export function readRegularFile(path: string, maxBytes: number, vet: (stat: Stats) => string | null = () => null, options: { noFollow?: boolean } = {}): Buffer {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one.
    // O_NOFOLLOW (asked for): a symlink put in the file's place is not followed (ELOOP).
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY | (options.noFollow ? constants.O_NOFOLLOW : 0));
  } catch (e) {
    throw systemError(e);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new BoundedReadError(`not a regular file (${kindOf(stat)})`, null);
    const problem = vet(stat);
    if (problem !== null) throw new BoundedReadError(problem, null);
    // Up to one byte more than allowed, to tell a file of exactly `maxBytes` from a larger one.
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, maxBytes + 1 - length));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) return Buffer.concat(chunks, length);
      chunks.push(chunk.subarray(0, n));
      length += n;
      if (length > maxBytes) throw new BoundedReadError(`larger than ${maxBytes} bytes`, null);
    }
  } catch (e) {
    throw e instanceof BoundedReadError ? e : systemError(e);
  } finally {
    closeSync(fd);
  }
}

function systemError(e: unknown): BoundedReadError {
  const code = (e as NodeJS.ErrnoException).code ?? null;
  return new BoundedReadError(code ?? String(e), code);
}

function kindOf(stat: Stats): string {
  if (stat.isFIFO()) return "a FIFO";
  if (stat.isDirectory()) return "a directory";
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return "a device";
  if (stat.isSocket()) return "a socket";
  return "not a file";
}
