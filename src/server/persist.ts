// What the server keeps across its own restarts: which services an admin enabled or
// disabled (persistently in or out of `default`), and the levels set with --persist.
// Every state file is written atomically (0600, synced); one that cannot be read is
// never taken for empty without a word: it is kept aside and the server says so.

import { chmodSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { SECRET_FILE_MODE, tightenFile, writeFileAtomically } from "../system/files.js";

export interface Persistent {
  enabled: string[];
  disabled: string[];
}

/** Says what went wrong with a state file, in the server's log and in `tend status`. */
export type Warn = (line: string) => void;

/**
 * Reads the state file `file` of `stateDir` with `decode` (null: not the shape it
 * should have). A missing file is `empty`; a damaged one is renamed to
 * `FILE.damaged-TIME`, reported through `warn`, and is `empty` too.
 */
export function loadStateFile<T>(stateDir: string, file: string, decode: (data: unknown) => T | null, empty: T, warn: Warn): T {
  const path = join(stateDir, file);
  let problem: string;
  try {
    tightenFile(path, SECRET_FILE_MODE);
    const value = decode(JSON.parse(readFileSync(path, "utf8")));
    if (value !== null) return value;
    problem = "not what tend writes there";
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return empty;
    problem = (e as Error).message;
  }
  const aside = `${path}.damaged-${new Date().toISOString()}`;
  try {
    renameSync(path, aside);
    chmodSync(aside, SECRET_FILE_MODE);
    warn(`${path} cannot be read (${problem}): kept as ${aside}, and the server starts without what it held; look at it, then remove it`);
  } catch (e) {
    warn(`${path} cannot be read (${problem}), nor be kept aside (${(e as Error).message}): the server starts without what it held`);
  }
  return empty;
}

export function saveStateFile(stateDir: string, file: string, value: unknown): void {
  writeFileAtomically(join(stateDir, file), `${JSON.stringify(value, null, 2)}\n`, { mode: SECRET_FILE_MODE });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
/** A JSON object whose values all pass `check`, as a Map (null when it is not one). */
export function mapOf<T>(data: unknown, check: (v: unknown) => v is T): Map<string, T> | null {
  return isObject(data) && Object.values(data).every(check) ? new Map(Object.entries(data as Record<string, T>)) : null;
}

const names = (v: unknown): string[] | null => (Array.isArray(v) && v.every((n) => typeof n === "string") ? v : null);

const FILE = "enabled.json";

export function loadPersistent(stateDir: string, warn: Warn): Persistent {
  const decode = (data: unknown): Persistent | null => {
    if (!isObject(data)) return null;
    const enabled = names(data.enabled ?? []);
    const disabled = names(data.disabled ?? []);
    return enabled === null || disabled === null ? null : { enabled, disabled };
  };
  return loadStateFile(stateDir, FILE, decode, { enabled: [], disabled: [] }, warn);
}

/** The lists after `enable` or `disable` of `names`: each named one in that list only, at its end. */
export function enablementAfter(current: Persistent, cmd: "enable" | "disable", names: readonly string[]): Persistent {
  const named = new Set(names);
  const enabled = current.enabled.filter((n) => !named.has(n));
  const disabled = current.disabled.filter((n) => !named.has(n));
  (cmd === "enable" ? enabled : disabled).push(...named);
  return { enabled, disabled };
}

export function savePersistent(stateDir: string, value: Persistent): void {
  saveStateFile(stateDir, FILE, value);
}

const LEVELS_FILE = "levels.json";

/** Levels set with `--persist`: most levels describe the live machine and start empty. */
export function loadLevels(stateDir: string, warn: Warn): Map<string, string> {
  const decode = (data: unknown): Map<string, string> | null => mapOf(data, (v): v is string => typeof v === "string");
  return loadStateFile(stateDir, LEVELS_FILE, decode, new Map<string, string>(), warn);
}

export function saveLevels(stateDir: string, levels: ReadonlyMap<string, string>): void {
  saveStateFile(stateDir, LEVELS_FILE, Object.fromEntries(levels));
}
