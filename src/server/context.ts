// What the parts of one server share, in place of one closure: start-up (server.ts)
// builds it, the loop (loop.ts) carries facts through its engine, the request
// handlers (handlers.ts) read and change it. Plain fields: what is replaced while the
// server runs (the engine at a take-over, the persisted sets) is replaced here, so
// every part sees the same.

import { BOOT_BUNDLE } from "../compile/compile.js";
import type { Engine } from "../engine/engine.js";
import type { Fact } from "../engine/types.js";
import type { Places } from "../places.js";
import type { DefaultEnvironment } from "../supervisor/default-environment.js";
import type { Supervisor } from "../supervisor/supervisor.js";
import type { MovedPlace } from "../system/writable.js";
import type { History, HistoryEntry } from "./history.js";
import type { Monitors } from "./monitors.js";
import type { Persistent } from "./persist.js";
import type { RunSettings } from "./run-settings.js";
import type { Scheduler } from "./scheduler.js";
import type { StatusFile } from "./status-file.js";
import type { Timings } from "./timings.js";
import type { createWaiters } from "./waiters.js";

export interface Settings {
  controlGroup: { name: string; gid: number } | null;
  /** The flags over tend.conf over the defaults. */
  run: RunSettings;
  /** What was wrong with tend.conf (then it is not used): `tend status` repeats it. */
  problems: string[];
}

/** What exists before the keeper is reached: enough to queue facts and to apply a database. */
export interface ServerCore {
  places: Places;
  /** The state or log directories moved under the run directory for this boot. */
  moved: MovedPlace[];
  settings: Settings;
  /** tend.env, read again when it changed: its problems are in `tend status` while they last. */
  environment: DefaultEnvironment;
  /** What went wrong with what the server keeps (a database or a state file it could not read): in `tend status` until it exits. */
  warnings: string[];
  log(line: string): void;
  /** The engine's clock: ms since the epoch, monotonic within a server. */
  now(): number;
  /** Replaced once, when start-up takes over a previous server's state (see `readopt`). */
  engine: Engine;
  persistent: Persistent;
  /** Whether this server brought up the boot (or took over a server that did). */
  booted: boolean;
  scheduler: Scheduler;
  /** The transitions recorded: the last boot, the last start, a ring of the latest (`tend analyze`). */
  timings: Timings;
  /** The table of `tend status` kept in RUN/status.json: told of every change, flushed before every reply. */
  statusFile: StatusFile;
  /** Queues a fact; once the server serves, it is handled at once (a request's, whose outcome its reply names). */
  emit(fact: Fact, told?: Told): void;
}

/** Told by the step of a start, stop or restart every service the command concerns (its `affected` action). */
export type Told = (affected: string[]) => void;

/** The whole server, once the keeper is reached and the engine settled. */
export interface ServerContext extends ServerCore {
  supervisor: Supervisor;
  waiters: ReturnType<typeof createWaiters>;
  history: History;
  persistedLevels: Map<string, string>;
  /** The history entry of the event or level change just handled (facts are drained at once). */
  lastOccurrence: HistoryEntry | null;
  /** `tend monitor` clients, fed every change by the loop. */
  monitors: Monitors;
  /** `tend logs -f` and `tend monitor` clients: each is sent its final reply when the server exits. */
  followers: Set<() => void>;
}

/** The names boot brings up: `default` and what is enabled (the engine leaves out what is disabled). */
export const bootNames = (server: ServerCore): string[] => bootNamesOf(server.persistent);
/** The same, of persisted sets that are not (yet) the server's: what a dry run of enable or disable compares. */
export const bootNamesOf = (persistent: Persistent): string[] => [BOOT_BUNDLE, ...persistent.enabled];
