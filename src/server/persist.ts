// What the server keeps across its own restarts: which services an admin enabled or
// disabled (persistently in or out of `default`), and the levels set with --persist.
// Written atomically.

import { readFileSync, renameSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";

export interface Persistent {
  enabled: string[];
  disabled: string[];
}

const FILE = "enabled.json";

export function loadPersistent(stateDir: string): Persistent {
  try {
    const data = JSON.parse(readFileSync(join(stateDir, FILE), "utf8")) as Partial<Persistent>;
    const names = (v: unknown): string[] => (Array.isArray(v) ? v.filter((n): n is string => typeof n === "string") : []);
    return { enabled: names(data.enabled), disabled: names(data.disabled) };
  } catch {
    return { enabled: [], disabled: [] };
  }
}

export function savePersistent(stateDir: string, value: Persistent): void {
  writeAtomically(join(stateDir, FILE), value);
}

function writeAtomically(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

const LEVELS_FILE = "levels.json";

/** Levels set with `--persist`: most levels describe the live machine and start empty. */
export function loadLevels(stateDir: string): Map<string, string> {
  try {
    const data = JSON.parse(readFileSync(join(stateDir, LEVELS_FILE), "utf8")) as Record<string, unknown>;
    return new Map(Object.entries(data).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
  } catch {
    return new Map();
  }
}

export function saveLevels(stateDir: string, levels: ReadonlyMap<string, string>): void {
  writeAtomically(join(stateDir, LEVELS_FILE), Object.fromEntries(levels));
}
