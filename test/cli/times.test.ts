// The times `tend logs --since/--until` take: parseTime alone, at a fixed "now". Local
// times are built with the local Date constructor, so the cases hold in any TZ.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseTime } from "../../src/cli/times.js";

const NOW = new Date(2026, 11, 2, 10, 30, 15, 500); // 2026-12-02 10:30:15.500, local
const at = (text: string): number | string => parseTime(text, NOW);

describe("parseTime", () => {
  test("relative: N UNIT ago, with or without blanks, several parts, every spelling of the units", () => {
    const ago = (ms: number): number => NOW.getTime() - ms;
    assert.equal(at("10 min ago"), ago(600_000));
    assert.equal(at("10min ago"), ago(600_000));
    assert.equal(at("1h ago"), ago(3_600_000));
    assert.equal(at("2 hours ago"), ago(7_200_000));
    assert.equal(at("30s ago"), ago(30_000));
    assert.equal(at("45 seconds ago"), ago(45_000));
    assert.equal(at("1 day ago"), ago(86_400_000));
    assert.equal(at("2w ago"), ago(14 * 86_400_000));
    assert.equal(at("1h 30min ago"), ago(5_400_000));
    assert.equal(at("  5 Min Ago "), ago(300_000));
  });

  test("words: now, today (midnight), yesterday", () => {
    assert.equal(at("now"), NOW.getTime());
    assert.equal(at("today"), new Date(2026, 11, 2).getTime());
    assert.equal(at("yesterday"), new Date(2026, 11, 1).getTime());
  });

  test("absolute, in local time: a date, a date and a time, a time today, seconds and milliseconds, a T", () => {
    assert.equal(at("2026-12-02 10:00"), new Date(2026, 11, 2, 10, 0).getTime());
    assert.equal(at("2026-11-30 23:59:58"), new Date(2026, 10, 30, 23, 59, 58).getTime());
    assert.equal(at("2026-11-30T08:05:01.25"), new Date(2026, 10, 30, 8, 5, 1, 250).getTime());
    assert.equal(at("2026-01-15"), new Date(2026, 0, 15).getTime());
    assert.equal(at("10:00"), new Date(2026, 11, 2, 10, 0).getTime());
    assert.equal(at("9:05:30"), new Date(2026, 11, 2, 9, 5, 30).getTime());
  });

  test("with a zone: Z, +HH:MM, +HHMM, -HH; what tend status prints reads back", () => {
    assert.equal(at("2026-12-02T10:00:00Z"), Date.UTC(2026, 11, 2, 10, 0, 0));
    assert.equal(at("2026-12-02T10:00:00.773Z"), Date.UTC(2026, 11, 2, 10, 0, 0, 773));
    assert.equal(at("2026-12-02 10:00 +01:00"), Date.UTC(2026, 11, 2, 9, 0));
    assert.equal(at("2026-12-02 10:00+0530"), Date.UTC(2026, 11, 2, 4, 30));
    assert.equal(at("2026-12-02 10:00 -05"), Date.UTC(2026, 11, 2, 15, 0));
    assert.equal(at("10:00Z"), Date.UTC(2026, 11, 2, 10, 0));
  });

  test("anything else is a sentence saying what is wrong", () => {
    for (const bad of ["", "bogus", "10 parsecs ago", "ago", "2026-13-01", "2026-02-30", "25:00", "10:61", "2026-12-02 10", "1h", "-1h", "10 min"]) {
      const r = at(bad);
      assert.equal(typeof r, "string", `'${bad}' gave ${r}`);
      assert.match(r as string, /is not a (time|unit of time)/, `'${bad}'`);
    }
    assert.match(at("10 parsecs ago") as string, /'parsecs' is not a unit of time/);
  });
});
