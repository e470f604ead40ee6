// What the server keeps across its own restarts: which services an admin enabled or
// disabled (persistently in or out of `default`). Written atomically.

import { readFileSync, renameSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

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
  mkdirSync(stateDir, { recursive: true });
  const path = join(stateDir, FILE);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}
