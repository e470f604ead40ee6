// The `schedule` key: when a task runs by the clock.
//   every 1h                 an interval, measured from the start of the previous run
//   0 3 * * *                a cron expression (5 or 6 fields, or @hourly/@daily/…)
//   5m after started db      a delay after an event
//   15m after boot           once a boot of the machine, so long after it (cron's @reboot: 0 after boot)
//   every 1d from 15m after boot   the same, then at an interval (systemd's OnBootSec= + OnUnitActiveSec=)
// Cron expressions are validated by croner: we do not write a cron parser of our own.

import { Cron } from "croner";
import { parseCondition, type Condition, type ConditionReference } from "./condition.js";
import { parseDuration, type Parsed } from "./values.js";

export type Schedule =
  | { kind: "every"; intervalMs: number }
  | { kind: "cron"; expression: string }
  | { kind: "after"; delayMs: number; event: Condition }
  /** Due `delayMs` after the machine booted, then every `intervalMs` (null: once a boot). */
  | { kind: "boot"; delayMs: number; intervalMs: number | null };

/** `after boot` names the machine's boot, not an edge event called `boot` (start-on can still wait for one). */
const AFTER_BOOT = /^(?:every\s+(\S+)\s+from\s+)?(\S+)\s+after\s+boot$/d;

export function parseSchedule(text: string): Parsed<{ schedule: Schedule; references: ConditionReference[] }> {
  if (text === "@reboot") return { ok: true, value: { schedule: { kind: "boot", delayMs: 0, intervalMs: null }, references: [] } };
  const boot = AFTER_BOOT.exec(text);
  if (boot) {
    const [intervalAt, delayAt] = [boot.indices![1]?.[0] ?? 0, boot.indices![2]![0]];
    const interval = boot[1] === undefined ? null : parseInterval(boot[1], intervalAt);
    if (interval !== null && !interval.ok) return interval;
    const delay = parseDuration(boot[2]!);
    if (!delay.ok) return { ok: false, message: delay.message, offset: delayAt };
    return { ok: true, value: { schedule: { kind: "boot", delayMs: delay.value, intervalMs: interval?.value ?? null }, references: [] } };
  }
  const every = /^every\s+(\S+)$/.exec(text);
  if (every) {
    const intervalText = every[1]!;
    const interval = parseInterval(intervalText, text.length - intervalText.length);
    if (!interval.ok) return interval;
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
      message: `'${text}' is not a schedule: ${reason}. Use 'every DURATION', 'DURATION after EVENT', 'DURATION after boot', or a cron expression like '0 3 * * *'`,
    };
  }
  return { ok: true, value: { schedule: { kind: "cron", expression: text }, references: [] } };
}

/** An interval of at least a second, found at `offset` of the schedule's text. */
function parseInterval(text: string, offset: number): Parsed<number> {
  const interval = parseDuration(text);
  if (!interval.ok) return { ok: false, message: interval.message, offset };
  if (interval.value < 1000) return { ok: false, message: "an interval must be at least 1s", offset };
  return interval;
}
