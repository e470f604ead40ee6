// The `schedule` key: when a task runs by the clock.
//   every 1h                 an interval, measured from the start of the previous run
//   0 3 * * *                a cron expression (5 or 6 fields, or @hourly/@daily/…)
//   5m after started db      a delay after an event
// Cron expressions are validated by croner: we do not write a cron parser of our own.

import { Cron } from "croner";
import { parseCondition, type Condition, type ConditionReference } from "./condition.js";
import { parseDuration, type Parsed } from "./values.js";

export type Schedule =
  | { kind: "every"; intervalMs: number }
  | { kind: "cron"; expression: string }
  | { kind: "after"; delayMs: number; event: Condition };

export function parseSchedule(text: string): Parsed<{ schedule: Schedule; references: ConditionReference[] }> {
  const every = /^every\s+(\S+)$/.exec(text);
  if (every) {
    const intervalText = every[1]!;
    const interval = parseDuration(intervalText);
    const intervalAt = text.length - intervalText.length;
    if (!interval.ok) return { ok: false, message: interval.message, offset: intervalAt };
    if (interval.value < 1000) return { ok: false, message: "an interval must be at least 1s", offset: intervalAt };
    return { ok: true, value: { schedule: { kind: "every", intervalMs: interval.value }, references: [] } };
  }
  const after = /^(\S+)\s+after\s+(.*)$/.exec(text);
  if (after) {
    const delay = parseDuration(after[1]!);
    if (!delay.ok) return { ok: false, message: delay.message, offset: 0 };
    const eventText = after[2]!;
    const eventAt = text.length - eventText.length;
    const event = parseCondition(eventText);
    if (!event.ok) return { ok: false, message: event.message, offset: eventAt + (event.offset ?? 0) };
    const references = event.value.references.map((r) => ({ ...r, offset: r.offset + eventAt }));
    return { ok: true, value: { schedule: { kind: "after", delayMs: delay.value, event: event.value.condition }, references } };
  }
  try {
    new Cron(text, { paused: true, mode: "5-or-6-parts" });
  } catch (e) {
    const reason = e instanceof Error ? e.message.replace(/^CronPattern: /, "").replace(/\.+$/, "") : String(e);
    return {
      ok: false,
      message: `'${text}' is not a schedule: ${reason}. Use 'every DURATION', 'DURATION after EVENT', or a cron expression like '0 3 * * *'`,
    };
  }
  return { ok: true, value: { schedule: { kind: "cron", expression: text }, references: [] } };
}
