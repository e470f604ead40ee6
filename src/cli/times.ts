// The times `tend logs --since/--until` take, in one function: absolute ones
// (`2026-12-02 10:00`, `10:00`, ISO 8601 with a zone) and relative ones (`10 min ago`,
// `1h ago`, `now`, `today`, `yesterday`). A time without a zone is local time (TZ), as
// date(1) and journalctl read it.

const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1000, sec: 1000, secs: 1000, second: 1000, seconds: 1000,
  m: 60_000, min: 60_000, mins: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hr: 3_600_000, hrs: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
  w: 604_800_000, week: 604_800_000, weeks: 604_800_000,
};

const AGO = /^((?:\d+\s*[a-z]+\s*)+)ago$/;
const AGO_PART = /(\d+)\s*([a-z]+)\s*/y;
// 2026-12-02, then a time (10:00, 10:00:05, 10:00:05.250) after a blank or a T, then a zone (Z, +01:00, +0100, -05).
const ABSOLUTE = /^(?:(\d{4})-(\d\d)-(\d\d))?(?:(?:^|[ T])(\d\d?):(\d\d)(?::(\d\d)(?:\.(\d{1,3}))?)?)?\s*(Z|[+-]\d\d(?::?\d\d)?)?$/i;

/** `text` as ms since the epoch, read at `now`; or what is wrong with it, as a sentence. */
export function parseTime(text: string, now: Date): number | string {
  const t = text.trim().toLowerCase();
  const midnight = (daysBack: number): number => new Date(now.getFullYear(), now.getMonth(), now.getDate() - daysBack).getTime();
  if (t === "now") return now.getTime();
  if (t === "today") return midnight(0);
  if (t === "yesterday") return midnight(1);
  const ago = AGO.exec(t);
  if (ago !== null) {
    let ms = 0;
    AGO_PART.lastIndex = 0;
    for (let m = AGO_PART.exec(ago[1]!); m !== null; m = AGO_PART.exec(ago[1]!)) {
      const unit = Object.hasOwn(UNIT_MS, m[2]!) ? UNIT_MS[m[2]!]! : undefined;
      if (unit === undefined) return `'${text}': '${m[2]}' is not a unit of time: use s, min, h, d or w (or seconds, minutes, hours, days, weeks)`;
      ms += Number(m[1]) * unit;
    }
    return now.getTime() - ms;
  }
  const m = ABSOLUTE.exec(t);
  if (m === null || (m[1] === undefined && m[4] === undefined)) {
    return `'${text}' is not a time: use '2026-12-02 10:00', '10:00', '10 min ago', '1h ago', 'today' or 'now'`;
  }
  const [, year, month, day, hour, minute, second, fraction, zone] = m;
  const fields = {
    year: year === undefined ? now.getFullYear() : Number(year),
    month: month === undefined ? now.getMonth() : Number(month) - 1,
    day: day === undefined ? now.getDate() : Number(day),
    hour: Number(hour ?? 0),
    minute: Number(minute ?? 0),
    second: Number(second ?? 0),
    ms: Number((fraction ?? "0").padEnd(3, "0")),
  };
  if (fields.month > 11 || fields.day < 1 || fields.day > 31 || fields.hour > 23 || fields.minute > 59 || fields.second > 59) return `'${text}' is not a time: a field is out of range`;
  const { year: y, month: mo, day: d, hour: h, minute: mi, second: s, ms } = fields;
  if (zone === undefined) {
    const local = new Date(y, mo, d, h, mi, s, ms);
    if (local.getDate() !== d) return `'${text}' is not a time: there is no day ${d} in that month`;
    return local.getTime();
  }
  const utc = Date.UTC(y, mo, d, h, mi, s, ms);
  if (new Date(utc).getUTCDate() !== d) return `'${text}' is not a time: there is no day ${d} in that month`;
  return utc - zoneOffsetMs(zone);
}

/** `Z`, `+01:00`, `+0100`, `-05` as ms east of UTC. */
function zoneOffsetMs(zone: string): number {
  if (zone.toLowerCase() === "z") return 0;
  const digits = zone.slice(1).replace(":", "");
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0);
  return (zone[0] === "-" ? -1 : 1) * minutes * 60_000;
}
