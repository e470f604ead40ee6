// The compiled database: one versioned JSON file holding every service with every
// reference resolved. It is installed atomically (temp file, fsync, rename) with the
// previous one kept beside it, so a crash at any moment leaves a database that boots;
// a damaged one is refused on reading (its whole shape is checked), and the server
// then boots the previous one. Both are 0600 in a 0700 directory: they hold every
// `env` value of every service file.

import { createHash } from "node:crypto";
import { linkSync, readFileSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { ServiceDef } from "../config/service.js";
import { PLACE_MODES } from "../places.js";
import { ensureDirectory, SECRET_FILE_MODE, syncDirectory, tightenFile, writeFileAtomically } from "../system/files.js";
import { isAlive } from "../system/processes.js";
import { checkDatabaseShape } from "./database-shape.js";
import type { SourcesRecord } from "./freshness.js";
import type { ResolvedGraph } from "./graph.js";

export const DB_FORMAT = "tend-db";
export const DB_VERSION = 1;
export const DB_FILE = "db.json";
export const PREVIOUS_DB_FILE = "db.prev.json";

/** What a compilation produces, before it is installed. */
export interface CompiledSet {
  /** The source directory, absolute. */
  source: string;
  services: Record<string, ServiceDef>;
  graph: ResolvedGraph;
  /** What booting (`default`) starts, in parallel waves. */
  boot: string[][];
  /**
   * Each service file's sha256, by name, for telling at boot that the files changed
   * since (src/compile/freshness.ts). Absent in a database compiled before tend kept it.
   */
  sources?: SourcesRecord;
  /** sha256 of the above: equal digests mean the same configuration, compiled from the same files. */
  digest: string;
}

export interface Database extends CompiledSet {
  format: typeof DB_FORMAT;
  version: typeof DB_VERSION;
  /** Counts installs: 1 for the first. */
  generation: number;
  compiledAt: string;
}

export function digestOf(set: Omit<CompiledSet, "digest">): string {
  return createHash("sha256").update(JSON.stringify([set.source, set.services, set.graph, set.boot, set.sources ?? null])).digest("hex");
}

export type InstallResult = { changed: false; database: Database } | { changed: true; database: Database; previous: Database | null };

export interface InstallOptions {
  now?: Date;
  /** Test hook: runs after the new file is written and synced, before it replaces the old one. */
  beforeRename?: () => void;
}

/** Installs `set` into `dir` unless the installed database is already the same configuration. */
export function installDatabase(dir: string, set: CompiledSet, options: InstallOptions = {}): InstallResult {
  ensureDirectory(dir, PLACE_MODES.state);
  removeStaleTemporaries(dir);
  for (const file of [DB_FILE, PREVIOUS_DB_FILE]) tightenFile(join(dir, file), SECRET_FILE_MODE);
  const current = readDatabase(dir);
  const previous = current.ok ? current.database : null;
  if (previous !== null && previous.digest === set.digest) return { changed: false, database: previous };
  // A damaged current database is replaced: it was (as far as anyone can tell) the one
  // after db.prev.json, and the new one comes after it.
  const older = previous === null ? readDatabase(dir, PREVIOUS_DB_FILE) : null;

  const database: Database = {
    format: DB_FORMAT,
    version: DB_VERSION,
    generation: (previous?.generation ?? (older?.ok ? older.database.generation + 1 : 0)) + 1,
    compiledAt: (options.now ?? new Date()).toISOString(),
    ...set,
  };
  const path = join(dir, DB_FILE);
  // Hold on to the database being replaced (a hard link) before anything moves.
  const keep = join(dir, `${PREVIOUS_DB_FILE}.tmp-${process.pid}`);
  if (previous !== null) linkSync(path, keep);
  writeFileAtomically(path, `${JSON.stringify(database)}\n`, { mode: SECRET_FILE_MODE, beforeRename: options.beforeRename });
  // Only now does the replaced database become the previous one: a crash before this
  // point leaves the old current and the old previous as they were.
  if (previous !== null) renameSync(keep, join(dir, PREVIOUS_DB_FILE));
  syncDirectory(dir);
  return { changed: true, database, previous };
}

/** `problem` says what is wrong with the file; `message` adds what to do. */
export type ReadResult = { ok: true; database: Database } | { ok: false; missing: boolean; problem: string; message: string };

const COMPILE_AGAIN = "'tend compile' writes a new one";

export function readDatabase(dir: string, file = DB_FILE): ReadResult {
  const path = join(dir, file);
  const refuse = (problem: string, missing = false, todo = COMPILE_AGAIN): ReadResult => ({ ok: false, missing, problem, message: `${problem}; ${todo}` });
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return refuse(`no database is installed at ${path}`, true, "run 'tend compile' first");
    return refuse(`cannot read ${path}: ${(e as Error).message}`);
  }
  let data: Partial<Database>;
  try {
    data = JSON.parse(text) as Partial<Database>;
  } catch (e) {
    return refuse(`${path} is damaged (${(e as Error).message})`);
  }
  if (typeof data !== "object" || data === null || data.format !== DB_FORMAT) return refuse(`${path} is not a tend database`);
  if (data.version !== DB_VERSION) return refuse(`${path} has format version ${data.version}; this tend reads version ${DB_VERSION}`, false, "run 'tend compile' again");
  const wrong = checkDatabaseShape(data as Record<string, unknown>);
  if (wrong !== null) return refuse(`${path} is damaged (${wrong})`);
  return { ok: true, database: data as Database };
}

export type LoadResult = { ok: true; database: Database; warning: string | null } | { ok: false; message: string };

/**
 * The database a server boots: the installed one, or when it cannot be read the
 * previous one, with a warning that says so. Refused only when neither can be read.
 */
export function loadDatabase(dir: string): LoadResult {
  // Files an older tend installed 0644 hold secrets all the same.
  for (const file of [DB_FILE, PREVIOUS_DB_FILE]) tightenFile(join(dir, file), SECRET_FILE_MODE);
  const current = readDatabase(dir);
  if (current.ok) return { ok: true, database: current.database, warning: null };
  const previous = readDatabase(dir, PREVIOUS_DB_FILE);
  if (previous.ok) {
    const generation = previous.database.generation;
    return { ok: true, database: previous.database, warning: `${current.problem}: running the previous database, ${join(dir, PREVIOUS_DB_FILE)} (generation ${generation}); run 'tend compile' to install a new one` };
  }
  if (current.missing && previous.missing) return { ok: false, message: current.message };
  const also = previous.missing ? `there is no ${join(dir, PREVIOUS_DB_FILE)} to fall back on` : previous.problem;
  return { ok: false, message: `no database can be booted: ${current.problem}, and ${also}; run 'tend compile' to install a new database` };
}

/** Temporary files left by an install that crashed; they never replaced anything. */
function removeStaleTemporaries(dir: string): void {
  for (const name of readdirSync(dir)) {
    const m = /^db(?:\.prev)?\.json\.tmp-(\d+)$/.exec(name);
    if (m !== null && (Number(m[1]) === process.pid || !isAlive(Number(m[1])))) rmSync(join(dir, name), { force: true });
  }
}
