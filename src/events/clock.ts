// When clock schedules fall due: pure functions of a schedule and the wall-clock time
// (ms since the epoch; for `after boot`, also of when the machine booted), so they can
// be tested without waiting. Cron arithmetic is croner's; we only ask it questions.

import { Cron } from "croner";
import type { Schedule } from "../config/schedule.js";

type ClockSchedule = Extract<Schedule, { kind: "every" | "cron" | "boot" }>;

const crons = new Map<string, Cron>();
const cronOf = (expression: string): Cron => {
  let cron = crons.get(expression);
  if (cron === undefined) {
    cron = new Cron(expression, { paused: true, mode: "5-or-6-parts" });
    crons.set(expression, cron);
  }
  return cron;
};

/**
 * The next time the schedule falls due after `now`. An interval counts from the last
 * run (or from `now` when it never ran); runs missed meanwhile are skipped, keeping
 * the rhythm (catching one up is `missedSince`'s business). An `after boot` schedule
 * that has not run since `bootedAt` is due at the boot plus its delay, at once if that
 * has passed (the server started late, or was down then), as systemd's OnBootSec= is;
 * then at its interval from that run, or not again until the next boot.
 */
export function nextDue(schedule: ClockSchedule, now: number, lastRun: number | null, bootedAt: number): number | null {
  if (schedule.kind === "boot") {
    if (lastRun === null || lastRun < bootedAt) return Math.max(bootedAt + schedule.delayMs, now);
    return schedule.intervalMs === null ? null : nextDue({ kind: "every", intervalMs: schedule.intervalMs }, now, lastRun, bootedAt);
  }
  if (schedule.kind === "every") {
    // A last run in the future means the clock was set back since: count from now, or
    // the task would wait for the wrong clock.
    const base = lastRun === null || lastRun > now ? now : lastRun;
    const interval = schedule.intervalMs;
    return base + interval > now ? base + interval : now + interval - ((now - base) % interval);
  }
  return cronOf(schedule.expression).nextRun(new Date(now))?.getTime() ?? null;
}

/** The latest time the schedule fell due in (lastRun, now], or null: a run missed while the server was down. */
export function missedSince(schedule: Exclude<ClockSchedule, { kind: "boot" }>, lastRun: number | null, now: number): number | null {
  if (lastRun === null) return null; // never ran: nothing was missed, the first run is the next one
  if (schedule.kind === "every") return lastRun + schedule.intervalMs <= now ? lastRun + schedule.intervalMs : null;
  const previous = cronOf(schedule.expression).previousRuns(1, new Date(now))[0]?.getTime();
  return previous !== undefined && previous > lastRun ? previous : null;
}

export const isClockSchedule = (schedule: Schedule | null): schedule is ClockSchedule => schedule !== null && schedule.kind !== "after";
