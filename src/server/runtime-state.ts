// What a server leaves in its run directory for the next one, should it die: the
// engine's snapshot and the timers it had armed. Saved a moment after things change
// (never more often than every SAVE_DELAY_MS), atomically, mode 0600 (it holds the
// environments events brought), and removed by a clean shutdown. A server that starts
// while the keeper still runs services rebuilds its engine from it.

import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EngineSnapshot } from "../engine/snapshot.js";
import type { TimerPurpose } from "../engine/types.js";

const FILE = "engine.json";
export const SAVE_DELAY_MS = 50;

export interface ArmedTimer {
  service: string;
  token: number;
  /** When it falls due, on the engine's clock (ms since the epoch). */
  due: number;
  purpose: TimerPurpose;
}

export interface RuntimeState {
  snapshot: EngineSnapshot;
  timers: ArmedTimer[];
}

/** The state a previous server left, or null (none, or unreadable: then it is set aside with the reason). */
export function loadRuntimeState(runDir: string, log: (line: string) => void): RuntimeState | null {
  const path = join(runDir, FILE);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return null;
  }
  try {
    const state = JSON.parse(text) as RuntimeState;
    if (typeof state?.snapshot?.digest !== "string" || !Array.isArray(state.timers)) throw new Error("not a tend runtime state");
    return state;
  } catch (e) {
    log(`${path} cannot be read (${(e as Error).message}): starting from the installed database alone`);
    rmSync(path, { force: true });
    return null;
  }
}

export interface RuntimeSaver {
  /** Something changed: save soon. */
  changed(): void;
  /** Save now if a save is due (before acknowledging what the keeper told). */
  flush(): void;
  /** A clean shutdown: nothing to carry over. */
  remove(): void;
}

/** `onSaved` runs after each save: what the saved state covers may be acknowledged to the keeper. */
export function runtimeSaver(runDir: string, current: () => RuntimeState, onSaved: () => void, log: (line: string) => void): RuntimeSaver {
  const path = join(runDir, FILE);
  let timer: NodeJS.Timeout | undefined;
  let failing = false;
  const save = (): void => {
    clearTimeout(timer);
    timer = undefined;
    try {
      rmSync(`${path}.tmp`, { force: true }); // a leftover would keep its own mode
      writeFileSync(`${path}.tmp`, JSON.stringify(current()), { mode: 0o600 });
      renameSync(`${path}.tmp`, path);
      if (failing) log(`${path} is written again`);
      failing = false;
    } catch (e) {
      // A full /run costs the next server its memory of this one, not this server its work.
      if (!failing) log(`cannot save ${path}: ${(e as Error).message} (a server restarted now would start afresh)`);
      failing = true;
    }
    onSaved();
  };
  return {
    changed() {
      timer ??= setTimeout(save, SAVE_DELAY_MS);
    },
    flush() {
      if (timer !== undefined) save();
    },
    remove() {
      clearTimeout(timer);
      timer = undefined;
      rmSync(path, { force: true });
    },
  };
}
