// Strict modes, as sshd's StrictModes: when the compiler runs as root, what tend will
// run as root must be writable by root alone. A service file, its source directory,
// an env-file or a program that another user can change is that user's way to root, so
// each must be owned by root (or, for what runs as a service's own user, by that user)
// and not writable by group or others, and so must every directory above it: whoever
// may write a directory may replace what is in it. A sticky directory (/tmp) is the
// exception for an entry in it that is itself trusted, since nobody else may replace it.

import { dirname, resolve } from "node:path";
import { lstatSync, realpathSync, type Stats } from "node:fs";

/** What is wrong with one path on the way to a file, for the message that says how to fix it. */
export interface Untrusted {
  path: string;
  /** Its owner's name and uid, and its mode, as the message shows them. */
  owner: string;
  mode: number;
  /** "is not root's", "is writable by others", … */
  why: string;
  /** Set when the file is not there yet and `path` is the directory it would be made in. */
  missing?: string;
}

/** Checks paths against the allowed owners, remembering directories shared by many services. */
export interface StrictModes {
  /** The first path on the way to `path` (itself or a directory above it) that someone else may change, or null. */
  check(path: string, owners: readonly number[]): Untrusted | null;
}

export function strictModes(nameOf: (uid: number) => string | undefined): StrictModes {
  // `owners\0dir` → the problem of `dir` and everything above it, given a trusted entry in it.
  const directories = new Map<string, Untrusted | null>();
  const owner = (uid: number): string => {
    const name = nameOf(uid);
    return name === undefined ? `uid ${uid}` : `${name}, uid ${uid}`;
  };
  // A path that cannot be looked at (a name too long, no permission) is as one that is
  // missing: the checks that the file exists report it.
  const stat = (path: string): Stats | undefined => {
    try {
      return lstatSync(path);
    } catch {
      return undefined;
    }
  };

  /** `entryTrusted`: an entry in this directory exists and passed, so a sticky bit protects it. */
  const judge = (path: string, st: Stats, owners: readonly number[], entryTrusted: boolean): Untrusted | null => {
    const found = { path, owner: owner(st.uid), mode: st.mode & 0o7777 };
    if (!owners.includes(st.uid)) return { ...found, why: "belongs to another user" };
    if ((st.mode & 0o022) === 0 || (entryTrusted && st.isDirectory() && (st.mode & 0o1000) !== 0)) return null;
    return { ...found, why: `is writable by ${st.mode & 0o020 ? "its group" : ""}${(st.mode & 0o022) === 0o022 ? " and " : ""}${st.mode & 0o002 ? "others" : ""}` };
  };

  /** `dir` and every directory above it, as written (a symlink on the way is its directory's to replace). */
  const chain = (dir: string, owners: readonly number[]): Untrusted | null => {
    const walked: string[] = [];
    let problem: Untrusted | null = null;
    for (let d = dir; ; d = dirname(d)) {
      const key = `${owners.join(",")}\0${d}`;
      const known = directories.get(key);
      if (known !== undefined) {
        problem = known;
        break;
      }
      walked.push(key);
      const st = stat(d);
      if (st !== undefined && !st.isSymbolicLink()) problem = judge(d, st, owners, true);
      if (problem !== null || d === dirname(d)) break;
    }
    for (const key of walked) directories.set(key, problem);
    return problem;
  };

  // `owners\0path` → the answer for a file many services share (a program, an env-file).
  const files = new Map<string, Untrusted | null>();
  const check = (path: string, owners: readonly number[]): Untrusted | null => {
    const key = `${owners.join(",")}\0${path}`;
    let answer = files.get(key);
    if (answer === undefined) files.set(key, (answer = checkFile(path, owners)));
    return answer;
  };

  const checkFile = (path: string, owners: readonly number[]): Untrusted | null => {
    const target = resolve(path);
    const st = stat(target);
    if (st === undefined) {
      // Not there yet: whoever may write the nearest directory that is there may create it.
      let d = dirname(target);
      while (stat(d) === undefined && d !== dirname(d)) d = dirname(d);
      const parent = stat(d);
      const problem = parent === undefined ? null : judge(d, parent, owners, false);
      if (problem !== null) return { ...problem, missing: target };
      return chain(dirname(d), owners);
    }
    if (st.isSymbolicLink()) {
      let real: string;
      try {
        real = realpathSync(target);
      } catch {
        return null; // a dangling link: the checks that the file exists say so
      }
      return check(real, owners) ?? chain(dirname(target), owners);
    }
    return judge(target, st, owners, false) ?? chain(dirname(target), owners);
  };

  return { check };
}

/** The error message for an untrusted path: which, whose, what mode, and what to do. */
export function untrustedMessage(problem: Untrusted, owners: string): string {
  const { path, owner, mode, why, missing } = problem;
  const found = `${path} (owned by ${owner}, mode ${mode.toString(8).padStart(4, "0")}) ${why}`;
  const rule = `in root mode, tend runs only what ${owners} alone may change`;
  const portable = "or check with --portable a set built for another machine";
  if (missing !== undefined) {
    return `${missing} does not exist, and ${found}, so someone else may create it: ${rule}; create it (owned by root, mode 0600), or keep it in a directory that only root may write, ${portable}`;
  }
  return `${found}: ${rule}; run 'chown root ${path} && chmod go-w ${path}', ${portable}`;
}
