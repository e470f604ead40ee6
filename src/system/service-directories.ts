// A service's own directories (`runtime-directory`, `state-directory`,
// `cache-directory`, `logs-directory`: systemd's RuntimeDirectory= and co.): where they
// are, the variables that name them, making them before the service starts, removing
// the runtime ones once it is down. The server makes them as root for a service that
// runs as another user, so it follows nothing on the way: a symbolic link or a file
// where a directory should be fails the start, a directory it passes through below the
// base must be root's alone, and only the innermost one is given to the service.

import { closeSync, constants, fchmodSync, fchownSync, fstatSync, lstatSync, mkdirSync, openSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DIRECTORY_KINDS, type DirectoryKind, type ServiceDef } from "../config/service.js";
import { makeMissingDirectories } from "./files.js";

/** Where each kind's directories go (src/places.ts). */
export type DirectoryBases = Readonly<Record<DirectoryKind, string>>;

/** The variable that lists each kind's directories in the service's environment, as systemd names it. */
export const DIRECTORY_VARIABLES: Readonly<Record<DirectoryKind, string>> = {
  runtime: "RUNTIME_DIRECTORY",
  state: "STATE_DIRECTORY",
  cache: "CACHE_DIRECTORY",
  logs: "LOGS_DIRECTORY",
};

/** Who the innermost directory is given to: the service's user and group. */
export interface Owner {
  uid: number;
  gid: number;
}

const hasDirectories = (def: ServiceDef): boolean => DIRECTORY_KINDS.some((k) => def.directories[k] !== undefined);

/** RUNTIME_DIRECTORY & co. for the kinds `def` has: their absolute paths, colon-separated. */
export function directoryEnvironment(def: ServiceDef, bases: DirectoryBases): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kind of DIRECTORY_KINDS) {
    const d = def.directories[kind];
    if (d !== undefined) env[DIRECTORY_VARIABLES[kind]] = d.names.map((n) => join(bases[kind], n)).join(":");
  }
  return env;
}

/**
 * Makes each directory of `def` that is missing, and gives each to `owner` with its
 * mode, whatever the umask (an existing one too: a `user` changed since). Null when
 * all are as they should be; else what is wrong, for the failed start.
 */
export function makeDirectories(def: ServiceDef, bases: DirectoryBases, owner: Owner): string | null {
  if (!hasDirectories(def)) return null;
  for (const kind of DIRECTORY_KINDS) {
    const d = def.directories[kind];
    for (const name of d?.names ?? []) {
      const problem = makeOne(bases[kind], name, d!.mode, owner);
      if (problem !== null) return `cannot make its ${kind}-directory ${join(bases[kind], name)}: ${problem}`;
    }
  }
  return null;
}

const NO_FOLLOW = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const octal = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, "0");

function makeOne(base: string, name: string, mode: number, owner: Owner): string | null {
  const asRoot = process.geteuid?.() === 0;
  try {
    // The base is the machine's (/run, /var/log: some are group-writable by design): only made when missing.
    const made = makeMissingDirectories(base);
    if (made.includes(base)) fchmodPath(base, 0o755);
    let at = base;
    const parts = name.split("/");
    for (const [i, part] of parts.entries()) {
      at = join(at, part);
      const innermost = i === parts.length - 1;
      let created = false;
      try {
        mkdirSync(at, 0o700); // root's and closed until it has its owner and mode
        created = true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const problem = withDirectory(at, (fd) => {
        const st = fstatSync(fd);
        if (!innermost) {
          if (created) fchmodSync(fd, 0o755);
          else if (asRoot && (st.uid !== 0 || (st.mode & 0o022) !== 0)) {
            return `${at} (on the way) is owned by uid ${st.uid} with mode ${octal(st.mode)}: it must be root's alone, or its owner could turn what root makes below it into a link`;
          }
          return null;
        }
        if (st.uid !== owner.uid && !asRoot) return `${at} is owned by uid ${st.uid}: only root may give it to uid ${owner.uid}; remove it, or chown it`;
        if (st.uid !== owner.uid || st.gid !== owner.gid) fchownSync(fd, owner.uid, owner.gid);
        if (created || (st.mode & 0o7777) !== mode) fchmodSync(fd, mode);
        return null;
      });
      if (problem !== null) return problem;
    }
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Runs `use` on `path` opened as a directory without following a link; what is wrong when it is not one. */
function withDirectory(path: string, use: (fd: number) => string | null): string | null {
  let fd: number;
  try {
    fd = openSync(path, NO_FOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ELOOP" && code !== "ENOTDIR") throw e;
    // Linux says ENOTDIR for a link opened with O_DIRECTORY: which it is, lstat tells.
    if (lstatSync(path).isSymbolicLink()) return `${path} is a symbolic link: tend does not follow one there; remove it`;
    return `${path} is not a directory: remove what is there`;
  }
  try {
    return use(fd);
  } finally {
    closeSync(fd);
  }
}

function fchmodPath(path: string, mode: number): void {
  const problem = withDirectory(path, (fd) => (fchmodSync(fd, mode), null));
  if (problem !== null) throw new Error(problem);
}

/**
 * Removes the runtime directories of `def` (the innermost of each name, what is in
 * it included), once the service is down. As root, each is first made root's and 0700:
 * no process of the service's user reaches into it by its path while it goes. A link
 * or a file in its place is left as it is, never followed (a start refuses it, saying
 * so). Returns what went wrong.
 */
export function removeRuntimeDirectories(def: ServiceDef, bases: DirectoryBases): string[] {
  const problems: string[] = [];
  const asRoot = process.geteuid?.() === 0;
  for (const name of def.directories.runtime?.names ?? []) {
    const path = join(bases.runtime, name);
    try {
      const notOne = withDirectory(path, (fd) => {
        if (asRoot) {
          fchownSync(fd, 0, 0);
          fchmodSync(fd, 0o700);
        }
        return null;
      });
      if (notOne === null) rmSync(path, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
      problems.push(`cannot remove its runtime-directory ${path}: ${(e as Error).message}`);
    }
  }
  return problems;
}
