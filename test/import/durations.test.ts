// systemd time spans and calendar events as tend durations and schedules.

import { test } from "node:test";
import assert from "node:assert/strict";
import { calendarToCron, parseTimespan, tendDuration } from "../../src/import/durations.js";
import { parseSchedule } from "../../src/config/schedule.js";

test("time spans: bare seconds, units with and without blanks, infinity, nonsense", () => {
  assert.equal(parseTimespan("90"), 90_000);
  assert.equal(parseTimespan("5min 20s"), 320_000);
  assert.equal(parseTimespan("1h30m"), 5_400_000);
  assert.equal(parseTimespan("500ms"), 500);
  assert.equal(parseTimespan("infinity"), null);
  assert.equal(parseTimespan("5 parsecs"), undefined);
  assert.equal(parseTimespan("soon"), undefined);
});

test("tend durations", () => {
  assert.deepEqual([0, 250, 90_000, 5_400_000, 90_061_001].map(tendDuration), ["0", "250ms", "1m30s", "1h30m", "1d1h1m1s1ms"]);
});

test("calendar events as cron, each accepted by tend's schedule", () => {
  const cases: [string, string | null][] = [
    ["daily", "@daily"],
    ["*-*-* 6,18:00", "0 6,18 * * *"],
    ["*-*-* 6:00", "0 6 * * *"],
    ["Mon..Fri *-*-* 09:30:15", "15 30 9 * * 1-5"],
    ["Sat,Sun 10:00", "0 10 * * 6,0"],
    ["*-*-1 00:00", "0 0 1 * *"],
    ["*:0/15", "0-59/15 * * * *"],
    ["*-*-* *:5/20:00", "5-59/20 * * * *"],
    ["2027-01-01", null],
    ["*-*-* 00:00 Europe/Paris", null],
  ];
  for (const [event, cron] of cases) {
    assert.equal(calendarToCron(event), cron, event);
    if (cron !== null) assert.ok(parseSchedule(cron).ok, `${cron} is a tend schedule`);
  }
});
