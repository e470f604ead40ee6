// Where tend writes when the places it reads cannot be written: a container whose root
// filesystem is read-only (`docker run --read-only --tmpfs /run`), or one run as a user
// who does not own the image's directories. The state and log directories then move
// under the run directory (a tmpfs in a container), for this boot only: the state is
// seeded with the state files of the one that cannot be written (the database compiled
// into the image), the logs start empty. The server and the commands that install a
// database (`compile`, `apply`) decide it here, so they use the same state.

import { closeSync, existsSync, lstatSync, openSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { PLACE_MODES, type Places } from "../places.js";
import { ensureDirectory, PlaceError, SECRET_FILE_MODE, writeFileAtomically } from "./files.js";

/** A place tend uses elsewhere because it cannot write where it should be. */
export interface MovedPlace {
  place: "state" | "log";
  from: string;
  to: string;
  /** Why `from` cannot be used: "is on a read-only file system", … */
  why: string;
}

export interface WritablePlaces {
  /** The places to use: those of `places`, with the moved ones under the run directory. */
  places: Places;
  moved: MovedPlace[];
}

/** The sentence that says a place moved, for the server's log and `tend status`. */
export const describeMove = (m: MovedPlace): string => `the ${m.place} directory ${m.from} ${m.why}: using ${m.to} instead, for this boot only`;

/**
 * The places tend writes to. A state or log directory that cannot be written (or made)
 * moves to RUN/state or RUN/log; a moved state directory is seeded first with each
 * state file (`*.json`) of the original that it does not have yet, so a database
 * installed during this boot, and what the server wrote, are kept. Throws a PlaceError
 * when the moved state cannot be made or seeded.
 */
export function writablePlaces(places: Places): WritablePlaces {
  const uid = process.geteuid?.() ?? 0;
  const moved: MovedPlace[] = [];
  const usable = { ...places };
  for (const place of ["state", "log"] as const) {
    const why = unwritable(places[place], uid);
    if (why === null) continue;
    const m: MovedPlace = { place, from: places[place], to: join(places.run, place), why };
    if (place === "state") {
      try {
        seed(m.from, m.to);
      } catch (e) {
        throw new PlaceError(`the state directory ${m.from} ${why}, and ${m.to} cannot take its place: ${(e as Error).message}`);
      }
    }
    usable[place] = m.to;
    moved.push(m);
  }
  return { places: usable, moved };
}

/**
 * Why tend cannot write `dir`, or make it where it is missing; null when it can, or when
 * what is wrong is not what moving mends (a file in its place, a directory owned by
 * another user who could replace what tend reads there): ensureDirectory refuses those.
 */
function unwritable(dir: string, uid: number): string | null {
  let at = dir;
  let st;
  for (;;) {
    try {
      st = statSync(at);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT" || dirname(at) === at) return null;
      at = dirname(at);
    }
  }
  if (!st.isDirectory()) return null;
  // An image's directories are root's: root may change anything anyway, so what is there is read.
  if (at === dir && st.uid !== uid) return st.uid === 0 ? `is owned by uid 0, not by uid ${uid} who runs tend` : null;
  const code = probe(at);
  if (code === null) return null;
  const problem = code === "EROFS" ? "is on a read-only file system" : `is not writable by uid ${uid}`;
  return at === dir ? problem : `cannot be made (${at} ${problem})`;
}

/**
 * Whether a file can be made in `dir`: one with a name nobody else uses (this process's
 * pid and a count: a name left by a crashed process of the same pid is passed over),
 * removed at once. Null, or the error's code. No random name: node:crypto would cost
 * every `tend status` its loading (status shows what this decided).
 */
function probe(dir: string): string | null {
  let fd: number;
  let path: string;
  for (let n = 0; ; n++) {
    path = join(dir, `.tend-probe-${process.pid}-${n}`);
    try {
      fd = openSync(path, "wx", 0o600);
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? "";
      if (code === "EEXIST" && n < 100) continue;
      // Anything else (a full disk) is not a read-only place: what writes there reports it.
      return ["EROFS", "EACCES", "EPERM"].includes(code) ? code : null;
    }
  }
  closeSync(fd);
  rmSync(path, { force: true });
  return null;
}

/** Copies the state files of `from` that `to` does not have, with the modes of the state. */
function seed(from: string, to: string): void {
  ensureDirectory(to, PLACE_MODES.state);
  let names: string[];
  try {
    names = readdirSync(from);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  // Temporaries (`db.json.tmp-PID`) and files kept aside (`.damaged-TIME`) do not end in .json.
  for (const name of names.filter((n) => n.endsWith(".json"))) {
    const path = join(from, name);
    // A file written during this boot is newer than the original: never replaced, even
    // one written between this look and the copy (keepExisting).
    if (existsSync(join(to, name)) || !lstatSync(path).isFile()) continue;
    writeFileAtomically(join(to, name), readFileSync(path), { mode: SECRET_FILE_MODE, keepExisting: true });
  }
}
