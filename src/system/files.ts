// The files and directories tend keeps, made with the modes tend chooses whatever the
// umask (which masks the mode of open and mkdir), and written so that a crash at any
// moment leaves either the old file or the new one, never a part of one.

import { chmodSync, closeSync, fchmodSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, basename } from "node:path";

/** Mode of what tend keeps that may hold secrets (the database holds every `env` value). */
export const SECRET_FILE_MODE = 0o600;
/** Mode of the directories tend makes on the way to one of its places (`--root DIR/var/lib`). */
const PARENT_MODE = 0o755;

export interface AtomicWriteOptions {
  mode?: number;
  /** Write `path` only if there is none: a file written meanwhile by someone else is kept (a link, not a rename). */
  keepExisting?: boolean;
  /**
   * False: neither the file nor its directory is synced. For what lives only while a
   * server runs, in the run directory (the status file), which a crash of the machine
   * loses anyway: readers still see the old file or the new one, never a part of one.
   */
  durable?: boolean;
  /** Test hook: runs after the new file is written and synced, before it replaces the old one. */
  beforeRename?: (() => void) | undefined;
}

/** The name of the temporary file `writeFileAtomically` writes `path` into, for cleaning up after a crash. */
export const temporaryOf = (path: string): string => join(dirname(path), `${basename(path)}.tmp-${process.pid}`);

/**
 * Replaces `path` with `text`: a temporary file in the same directory, made exclusively
 * (a symlink planted at its name is not followed) with an explicit mode, written,
 * synced, renamed over `path`, then the directory synced so that the rename lasts.
 * With `keepExisting`, linked into place instead, so that a `path` there already is
 * kept: then the temporary file is removed and the result is false.
 */
export function writeFileAtomically(path: string, text: string | Uint8Array, options: AtomicWriteOptions = {}): boolean {
  const mode = options.mode ?? SECRET_FILE_MODE;
  const temporary = temporaryOf(path);
  // One with our pid is a leftover of an earlier life of this pid: never in use.
  rmSync(temporary, { force: true });
  const fd = openSync(temporary, "wx", mode);
  try {
    try {
      fchmodSync(fd, mode); // the umask masked open's mode
      writeFileSync(fd, text); // all of it: a write may be partial
      if (options.durable !== false) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    options.beforeRename?.();
    if (options.keepExisting) {
      try {
        linkSync(temporary, path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        rmSync(temporary, { force: true });
        return false;
      }
      rmSync(temporary, { force: true });
    } else renameSync(temporary, path);
  } catch (e) {
    rmSync(temporary, { force: true });
    throw e;
  }
  if (options.durable !== false) syncDirectory(dirname(path));
  return true;
}

export function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A place tend cannot use as it is: says which and what to do. */
export class PlaceError extends Error {
  override name = "PlaceError";
}

/**
 * Makes the missing directories on the way to `dir` (0755, whatever the umask) and
 * `dir` itself if it is missing (0700: its caller gives it its mode). Existing ones are
 * left as they are. Returns those it made, outermost first.
 */
export function makeMissingDirectories(dir: string): string[] {
  const missing: string[] = [];
  for (let at = dir; ; at = dirname(at)) {
    try {
      statSync(at);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT" || dirname(at) === at) throw e;
      missing.unshift(at);
    }
  }
  for (const made of missing) {
    try {
      mkdirSync(made, 0o700);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e; // made meanwhile: checked by the caller
    }
    if (made !== dir) chmodSync(made, PARENT_MODE);
  }
  return missing;
}

/**
 * Makes `dir` (and the missing directories above it, 0755) with exactly `mode`. An
 * existing `dir` with more permissions than `mode` is tightened to it; one owned by
 * another user is refused: whoever owns it could replace what tend keeps there.
 */
export function ensureDirectory(dir: string, mode: number): void {
  const missing = makeMissingDirectories(dir);
  const st = statSync(dir);
  if (!st.isDirectory()) throw new PlaceError(`${dir} is not a directory: remove it, and tend makes the directory it needs there`);
  const uid = process.geteuid?.() ?? st.uid;
  if (st.uid !== uid) {
    throw new PlaceError(`${dir} is owned by uid ${st.uid}, not by uid ${uid} who runs tend: whoever owns it could replace what tend keeps there; chown it, or remove it`);
  }
  if ((st.mode & 0o7777 & ~mode) !== 0 || missing.includes(dir)) chmodSync(dir, mode);
}

/** Tightens an existing file tend keeps to `mode` (one written by an older tend, or by hand). */
export function tightenFile(path: string, mode = SECRET_FILE_MODE): void {
  try {
    const st = lstatSync(path);
    if (st.isFile() && (st.mode & 0o7777 & ~mode) !== 0) chmodSync(path, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}
