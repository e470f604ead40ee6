// The compiled database: one versioned JSON file holding every service with every
// reference resolved. It is installed atomically (temp file, fsync, rename) with the
// previous one kept beside it, so a crash at any moment leaves a database that boots.

import { createHash } from "node:crypto";
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { ServiceDef } from "../config/service.js";
import { isAlive } from "../system/processes.js";
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
  /** sha256 of the above: equal digests mean the same configuration. */
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
  return createHash("sha256").update(JSON.stringify([set.source, set.services, set.graph, set.boot])).digest("hex");
}

export type InstallResult = { changed: false; database: Database } | { changed: true; database: Database; previous: Database | null };

export interface InstallOptions {
  now?: Date;
  /** Test hook: runs after the new file is written and synced, before it replaces the old one. */
  beforeRename?: () => void;
}

/** Installs `set` into `dir` unless the installed database is already the same configuration. */
export function installDatabase(dir: string, set: CompiledSet, options: InstallOptions = {}): InstallResult {
  mkdirSync(dir, { recursive: true });
  removeStaleTemporaries(dir);
  const current = readDatabase(dir);
  const previous = current.ok ? current.database : null;
  if (previous !== null && previous.digest === set.digest) return { changed: false, database: previous };

  const database: Database = {
    format: DB_FORMAT,
    version: DB_VERSION,
    generation: (previous?.generation ?? 0) + 1,
    compiledAt: (options.now ?? new Date()).toISOString(),
    ...set,
  };
  const path = join(dir, DB_FILE);
  // Hold on to the database being replaced (a hard link) before anything moves.
  const keep = join(dir, `${PREVIOUS_DB_FILE}.tmp-${process.pid}`);
  if (previous !== null) linkSync(path, keep);
  const temporary = join(dir, `${DB_FILE}.tmp-${process.pid}`);
  writeSynced(temporary, `${JSON.stringify(database)}\n`);
  options.beforeRename?.();
  renameSync(temporary, path);
  // Only now does the replaced database become the previous one: a crash before this
  // point leaves the old current and the old previous as they were.
  if (previous !== null) renameSync(keep, join(dir, PREVIOUS_DB_FILE));
  syncDirectory(dir);
  return { changed: true, database, previous };
}

export type ReadResult = { ok: true; database: Database } | { ok: false; missing: boolean; message: string };

export function readDatabase(dir: string, file = DB_FILE): ReadResult {
  const path = join(dir, file);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
    return { ok: false, missing, message: missing ? `no database is installed at ${path}: run 'tend compile' first` : `cannot read ${path}: ${e}` };
  }
  try {
    const data = JSON.parse(text) as Partial<Database>;
    if (data.format !== DB_FORMAT) return { ok: false, missing: false, message: `${path} is not a tend database` };
    if (data.version !== DB_VERSION) {
      return { ok: false, missing: false, message: `${path} has format version ${data.version}; this tend reads version ${DB_VERSION}: run 'tend compile' again` };
    }
    return { ok: true, database: data as Database };
  } catch (e) {
    return { ok: false, missing: false, message: `${path} is damaged (${(e as Error).message}); 'tend compile' writes a new one` };
  }
}

function writeSynced(path: string, text: string): void {
  const fd = openSync(path, "w", 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Temporary files left by an install that crashed; they never replaced anything. */
function removeStaleTemporaries(dir: string): void {
  for (const name of readdirSync(dir)) {
    const m = /^db(?:\.prev)?\.json\.tmp-(\d+)$/.exec(name);
    if (m !== null && (Number(m[1]) === process.pid || !isAlive(Number(m[1])))) rmSync(join(dir, name), { force: true });
  }
}
