// The clock of scheduled tasks: arms a timer for each task's next due time (cron via
// croner, an interval, or a delay after the boot) and for each pending "DURATION after EVENT" delay, and tells
// the engine when one falls due. The last run of each task is persisted, so that a
// run missed while the machine or the server was down can be caught up once (for tasks
// that ask for it with `catch-up = yes`), and an interval survives server restarts.

import type { Database } from "../compile/database.js";
import { own } from "../records.js";
import type { Fact } from "../engine/types.js";
import { isClockSchedule, missedSince, nextDue } from "../events/clock.js";
import { after, type Timer } from "../system/timers.js";
import { loadStateFile, mapOf, saveStateFile, type Warn } from "./persist.js";

const FILE = "timers.json";

export interface SchedulerOptions {
  stateDir: string;
  emit(fact: Fact): void;
  /** Wall-clock time, ms since the epoch. */
  now(): number;
  /** When the machine (or the container) booted, on the clock of `now`. */
  bootedAt(): number;
  log(line: string): void;
  /** A state file could not be read: for the log and `tend status`. */
  warn: Warn;
}

export interface Scheduler {
  /** Arm every clock schedule of `db` except the `disabled` tasks; catch up what was missed. */
  load(db: Database, disabled: ReadonlySet<string>): void;
  /** An `after` schedule's event occurred: the task falls due in `ms`. */
  delay(service: string, ms: number, env: Record<string, string>): void;
  /** When each scheduled task falls due next (ms since the epoch), for `tend status`. */
  nextRuns(): ReadonlyMap<string, number>;
  close(): void;
}

export function createScheduler(options: SchedulerOptions): Scheduler {
  const clocks = new Map<string, Timer>();
  const delays = new Set<Timer>();
  const due = new Map<string, number>();
  let lastRuns = readLastRuns(options.stateDir, options.warn);
  let db: Database | null = null;

  const persist = (): void => {
    try {
      saveStateFile(options.stateDir, FILE, Object.fromEntries(lastRuns));
    } catch (e) {
      options.log(`cannot save the last run times in ${options.stateDir}: ${(e as Error).message}`);
    }
  };

  const fire = (service: string, env: Record<string, string>): void => {
    lastRuns.set(service, options.now());
    persist();
    options.emit({ kind: "scheduled", service, env });
  };

  const arm = (service: string): void => {
    const schedule = (db === null ? undefined : own(db.services, service))?.schedule ?? null;
    if (!isClockSchedule(schedule)) return;
    const now = options.now();
    const next = nextDue(schedule, now, lastRuns.get(service) ?? null, options.bootedAt());
    if (next === null) return void due.delete(service); // a cron expression that never matches again, a boot's run made
    due.set(service, next);
    clocks.set(
      service,
      after(next - now, () => {
        fire(service, { TEND_EVENT: "schedule", TEND_DUE: new Date(next).toISOString() });
        arm(service);
      }),
    );
  };

  return {
    load(next, disabled) {
      for (const timer of clocks.values()) timer.cancel();
      clocks.clear();
      due.clear();
      db = next;
      const now = options.now();
      let baselines = false;
      for (const def of Object.values(next.services)) {
        if (!isClockSchedule(def.schedule) || disabled.has(def.name)) continue;
        const lastRun = lastRuns.get(def.name);
        // An `after boot` schedule counts from the boot, and a run before it was an earlier boot's: no baseline, no catch-up.
        if (def.schedule.kind === "boot") {
          arm(def.name);
          continue;
        }
        if (lastRun === undefined) {
          // Never ran: count from now, and remember it, so that a restart does not reset the count.
          lastRuns.set(def.name, now);
          baselines = true;
        } else if (def.catchUp) {
          const missed = missedSince(def.schedule, lastRun, now);
          if (missed !== null) {
            options.log(`${def.name}: caught up: the run due ${new Date(missed).toISOString()} was missed while the server was down`);
            fire(def.name, { TEND_EVENT: "catch-up", TEND_DUE: new Date(missed).toISOString() });
          }
        }
        arm(def.name);
      }
      if (baselines) persist();
    },
    delay(service, ms, env) {
      const timer = after(ms, () => {
        delays.delete(timer);
        options.emit({ kind: "scheduled", service, env });
      });
      delays.add(timer);
    },
    nextRuns: () => due,
    close() {
      for (const timer of [...clocks.values(), ...delays]) timer.cancel();
      clocks.clear();
      delays.clear();
      lastRuns = new Map();
    },
  };
}

function readLastRuns(stateDir: string, warn: Warn): Map<string, number> {
  const decode = (data: unknown): Map<string, number> | null => mapOf(data, (v): v is number => typeof v === "number");
  return loadStateFile(stateDir, FILE, decode, new Map<string, number>(), warn);
}
