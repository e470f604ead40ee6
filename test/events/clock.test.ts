// When an `after boot` schedule falls due, as a function of the time, its last run and
// the boot: once a boot at the boot plus its delay (at once when that has passed), then
// at its interval, or not until the next boot.

import { test } from "node:test";
import assert from "node:assert/strict";
import { nextDue } from "../../src/events/clock.js";

const MIN = 60_000;
const BOOT = Date.UTC(2026, 11, 3, 8, 0);
const once = { kind: "boot", delayMs: 15 * MIN, intervalMs: null } as const;
const daily = { kind: "boot", delayMs: 15 * MIN, intervalMs: 1440 * MIN } as const;

test("'15m after boot': due 15 minutes after the boot, once a boot", () => {
  assert.equal(nextDue(once, BOOT + MIN, null, BOOT), BOOT + 15 * MIN, "never ran");
  assert.equal(nextDue(once, BOOT + MIN, BOOT - 1440 * MIN, BOOT), BOOT + 15 * MIN, "its last run was an earlier boot's");
  assert.equal(nextDue(once, BOOT + 15 * MIN, BOOT + 15 * MIN, BOOT), null, "it ran this boot");
});

test("a server that starts after the boot's delay has passed runs the task at once", () => {
  assert.equal(nextDue(once, BOOT + 60 * MIN, null, BOOT), BOOT + 60 * MIN);
});

test("'every 1d from 15m after boot': the boot's run, then a day after each run", () => {
  assert.equal(nextDue(daily, BOOT + MIN, null, BOOT), BOOT + 15 * MIN);
  assert.equal(nextDue(daily, BOOT + 16 * MIN, BOOT + 15 * MIN, BOOT), BOOT + 1455 * MIN);
  // The machine was suspended over two days: the rhythm is kept, the missed runs are not made.
  assert.equal(nextDue(daily, BOOT + 3000 * MIN, BOOT + 15 * MIN, BOOT), BOOT + 15 * MIN + 3 * 1440 * MIN);
});
