// What a server leaves in its run directory for the next one, should it die: a
// snapshot of the engine (with the timers armed then) and a journal of every fact
// handled since. The journal is written ahead: a fact is on disk before the keeper is
// asked to do anything it led to, and before an exit it reports is acknowledged, so a
// next server that replays it through the (pure, deterministic) engine has exactly the
// state this one had when it last touched the world. A checkpoint now and then writes
// a new snapshot and starts the journal again; a clean shutdown removes both. Files
// are 0600: facts carry the environments events brought.

import { appendFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SECRET_FILE_MODE, tightenFile, writeFileAtomically } from "../system/files.js";
import type { ArmedTimer, EngineSnapshot } from "../engine/snapshot.js";
import type { TimedFact } from "../engine/types.js";

const SNAPSHOT = "engine.json";
const JOURNAL = "journal.jsonl";
/** A checkpoint is due after this many facts, or this long after the last one. */
const CHECKPOINT_FACTS = 5_000;
const CHECKPOINT_MS = 5_000;

export interface Checkpoint {
  snapshot: EngineSnapshot;
  timers: ArmedTimer[];
  /** The server was started by `tend boot` (enable and disable then change what runs). */
  booted: boolean;
}

/** What a previous server left: its last checkpoint and the facts it handled after it. */
export interface Previous {
  checkpoint: Checkpoint;
  facts: TimedFact[];
}

export interface RuntimeState {
  /** Left by a server that died (null after a clean shutdown, a reboot, or when unreadable). */
  previous: Previous | null;
  /** A fact about to be handled. */
  record(fact: TimedFact): void;
  /** Writes what was recorded (before the keeper is asked to act on it, or told it was handled). */
  flush(): void;
  /** Writes `current()` as the new snapshot and empties the journal, when one is due (or `force`). */
  checkpoint(force?: boolean): void;
  /** A clean shutdown: nothing to carry over. */
  remove(): void;
}

export function openRuntimeState(runDir: string, current: () => Checkpoint, log: (line: string) => void): RuntimeState {
  const snapshotPath = join(runDir, SNAPSHOT);
  const journalPath = join(runDir, JOURNAL);
  tightenFile(journalPath, SECRET_FILE_MODE); // emptied at each checkpoint, never made again: it keeps its mode
  const pending: string[] = [];
  let sinceCheckpoint = 0;
  let lastCheckpoint = Date.now();
  let failing = false;
  /** A checkpoint for the facts of a burst that then went quiet (a mass start), so that a next server need not replay them. */
  let settle: NodeJS.Timeout | undefined;

  const trouble = (what: string, e: unknown): void => {
    // A full /run costs the next server its memory of this one, not this server its work.
    if (!failing) log(`cannot write ${what}: ${(e as Error).message} (a server started after this one dies would start afresh)`);
    failing = true;
  };
  return {
    previous: readPrevious(snapshotPath, journalPath, log),
    record(fact) {
      pending.push(`${JSON.stringify(fact)}\n`);
      sinceCheckpoint++;
    },
    flush() {
      if (pending.length === 0) return;
      try {
        appendFileSync(journalPath, pending.join(""), { mode: SECRET_FILE_MODE });
        if (failing) log(`${journalPath} is written again`);
        failing = false;
      } catch (e) {
        trouble(journalPath, e);
      }
      pending.length = 0;
    },
    checkpoint(force = false) {
      if (!force && sinceCheckpoint < CHECKPOINT_FACTS && (sinceCheckpoint === 0 || Date.now() - lastCheckpoint < CHECKPOINT_MS)) {
        if (sinceCheckpoint > 0 && settle === undefined) {
          settle = setTimeout(() => this.checkpoint(true), CHECKPOINT_MS - (Date.now() - lastCheckpoint));
          settle.unref();
        }
        return;
      }
      clearTimeout(settle);
      settle = undefined;
      try {
        writeFileAtomically(snapshotPath, JSON.stringify(current()), { mode: SECRET_FILE_MODE });
        // Only now: a journal emptied before its snapshot is in place would lose facts.
        writeFileSync(journalPath, "", { mode: SECRET_FILE_MODE });
        sinceCheckpoint = 0;
        lastCheckpoint = Date.now();
      } catch (e) {
        trouble(snapshotPath, e);
      }
    },
    remove() {
      clearTimeout(settle);
      settle = undefined;
      pending.length = 0;
      rmSync(snapshotPath, { force: true });
      rmSync(journalPath, { force: true });
    },
  };
}

function readPrevious(snapshotPath: string, journalPath: string, log: (line: string) => void): Previous | null {
  let text: string;
  try {
    text = readFileSync(snapshotPath, "utf8");
  } catch {
    return null;
  }
  try {
    const checkpoint = JSON.parse(text) as Checkpoint;
    if (typeof checkpoint?.snapshot?.digest !== "string" || !Array.isArray(checkpoint.timers)) throw new Error("not a tend snapshot");
    let journal = "";
    try {
      journal = readFileSync(journalPath, "utf8");
    } catch {
      // no fact after the snapshot
    }
    const lines = journal.split("\n").filter((l) => l !== "");
    const facts: TimedFact[] = [];
    for (const [i, line] of lines.entries()) {
      try {
        facts.push(JSON.parse(line) as TimedFact);
      } catch {
        // Only the last line can be cut short (the server died while writing it); it had no effect yet.
        if (i !== lines.length - 1) throw new Error(`line ${i + 1} of ${journalPath} is not a fact`);
      }
    }
    return { checkpoint, facts };
  } catch (e) {
    log(`the previous server's state cannot be read (${(e as Error).message}): starting from the installed database alone`);
    return null;
  }
}
