// systemd's time spans (systemd.time(7): `90`, `5min 20s`, `1h30m`, `500ms`) as tend
// durations, and its calendar events (`daily`, `Mon..Fri *-*-* 6,18:00`) as the cron
// expressions of tend's `schedule`.

const UNIT_MS: Record<string, number> = {
  us: 0.001, usec: 0.001, ms: 1, msec: 1,
  s: 1000, sec: 1000, second: 1000, seconds: 1000,
  m: 60_000, min: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hr: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
  w: 604_800_000, week: 604_800_000, weeks: 604_800_000,
};

/** A time span in milliseconds (null: `infinity`), or undefined when it is none. */
export function parseTimespan(text: string): number | null | undefined {
  const t = text.trim();
  if (t === "infinity") return null;
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const parts = [...t.matchAll(/\s*(\d+(?:\.\d+)?)\s*([a-z]+)/gy)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== t) return undefined;
  let ms = 0;
  for (const p of parts) {
    const unit = UNIT_MS[p[2]!];
    if (unit === undefined) return undefined;
    ms += Number(p[1]) * unit;
  }
  return Math.round(ms);
}

/** Milliseconds as a tend duration: `90s`, `1h30m`, `250ms`, `0`. */
export function tendDuration(ms: number): string {
  if (ms === 0) return "0";
  let rest = ms;
  let out = "";
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000], ["ms", 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

const NICKNAMES: Record<string, string> = {
  minutely: "* * * * *", hourly: "@hourly", daily: "@daily", weekly: "@weekly", monthly: "@monthly",
  yearly: "@yearly", annually: "@yearly", quarterly: "0 0 1 1,4,7,10 *", semiannually: "0 0 1 1,7 *",
};

/** One field of a calendar event (`6,18`, `1..5`, `*`, `0/15`) as cron's (`5/15` is `5-MAX/15`), or null. */
function field(text: string, max: number): string | null {
  if (text === "*") return "*";
  const items = text.split(",").map((item) => {
    const m = /^(\d+|\*)(?:\.\.(\d+))?(?:\/(\d+))?$/.exec(item);
    if (m === null) return null;
    const [start, end, step] = [m[1]!, m[2], m[3]];
    if (step === undefined) return end === undefined ? String(Number(start)) : `${Number(start)}-${Number(end)}`;
    return `${start === "*" ? "*" : `${Number(start)}-${end === undefined ? max : Number(end)}`}/${Number(step)}`;
  });
  return items.every((i) => i !== null) ? items.join(",") : null;
}

const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

function weekdays(text: string): string | null {
  const day = (d: string): number => WEEKDAYS.indexOf(d.slice(0, 3).toLowerCase());
  const items = text.split(",").map((item) => {
    const [a, b] = item.split("..");
    const from = day(a!);
    if (from < 0) return null;
    if (b === undefined) return String(from);
    const to = day(b);
    return to < 0 ? null : `${from}-${to}`;
  });
  return items.every((i) => i !== null) ? items.join(",") : null;
}

/** A calendar event as a cron expression (5 fields, or 6 with seconds first) or nickname, or null when it has no cron form (a year, a time zone, `~`). */
export function calendarToCron(text: string): string | null {
  const t = text.trim().replace(/\s+/g, " ");
  if (Object.hasOwn(NICKNAMES, t.toLowerCase())) return NICKNAMES[t.toLowerCase()]!;
  let words = t.split(" ");
  let dow = "*";
  if (words.length > 0 && /^[A-Za-z]/.test(words[0]!)) {
    const d = weekdays(words[0]!);
    if (d === null) return null;
    dow = d;
    words = words.slice(1);
  }
  let date = "*-*-*";
  let time = "00:00:00";
  for (const w of words) {
    if (w.includes("-")) date = w;
    else if (w.includes(":")) time = w;
    else return null;
  }
  const d = date.split("-");
  if (d.length === 2) d.unshift("*");
  const clock = time.split(":");
  if (d.length !== 3 || clock.length < 2 || clock.length > 3) return null;
  if (d[0] !== "*") return null; // cron has no year
  const [month, day] = [field(d[1]!, 12), field(d[2]!, 31)];
  const [hour, minute, second] = [field(clock[0]!, 23), field(clock[1]!, 59), field(clock[2] ?? "00", 59)];
  if ([month, day, hour, minute, second].some((f) => f === null)) return null;
  // systemd wants both a day of the month and a weekday; cron takes either unless `+` says both.
  const week = day !== "*" && dow !== "*" ? `+${dow}` : dow;
  const cron = `${minute} ${hour} ${day} ${month} ${week}`;
  return second === "0" ? cron : `${second} ${cron}`;
}
