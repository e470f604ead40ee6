// tend import of .timer units whose schedule counts from the boot: OnBootSec= alone runs
// once a boot, with OnUnitActiveSec= at an interval after it; OnStartupSec= and
// OnActiveSec= are counted from the boot too, and said to be approximated; a calendar
// takes the task's one schedule.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compile } from "../../src/compile/compile.js";
import { runImport, type ImportResult } from "../../src/import/import.js";
import { show, withTemp, writeSource } from "../helpers.js";

/** Imports `name.timer` and its service, checks the set, and gives the task's schedule line and the notes. */
function importTimer(dir: string, timer: string): { schedule: string | undefined; notes: ImportResult["units"][number]["notes"] } {
  writeSource(join(dir, "units"), { "job.timer": `[Timer]\n${timer}`, "job.service": "[Service]\nType=oneshot\nExecStart=/bin/true\n" });
  const to = join(dir, "etc");
  const result = runImport({ operands: [join(dir, "units", "job.timer")], to, force: false, root: "/" });
  const text = readFileSync(join(to, "job"), "utf8");
  const checked = compile({ sourceDir: to, hostChecks: false });
  assert.ok(checked.accepted, show(checked.diagnostics));
  return { schedule: text.split("\n").find((l) => l.startsWith("schedule = ")), notes: result.units.flatMap((u) => u.notes) };
}

const outcome = (notes: ReturnType<typeof importTimer>["notes"], directive: string) => notes.find((n) => n.directive === directive)?.outcome;

test("OnBootSec= alone: once a boot, so long after it", () =>
  withTemp((dir) => {
    const { schedule, notes } = importTimer(dir, "OnBootSec=5min\n");
    assert.equal(schedule, "schedule = 5m after boot");
    assert.equal(outcome(notes, "OnBootSec"), "translated");
  }));

test("OnBootSec= with OnUnitActiveSec=: the boot's run, then at the interval", () =>
  withTemp((dir) => {
    const { schedule, notes } = importTimer(dir, "OnUnitActiveSec=1h\nOnBootSec=90s\n");
    assert.equal(schedule, "schedule = every 1h from 1m30s after boot");
    assert.equal(outcome(notes, "OnUnitActiveSec"), "approximated");
  }));

test("OnStartupSec= and OnActiveSec= count from the boot: approximated, and a second one dropped", () =>
  withTemp((dir) => {
    const { schedule, notes } = importTimer(dir, "OnStartupSec=10s\nOnActiveSec=20s\n");
    assert.equal(schedule, "schedule = 10s after boot");
    assert.equal(outcome(notes, "OnStartupSec"), "approximated");
    assert.equal(outcome(notes, "OnActiveSec"), "dropped");
  }));

test("a calendar is the task's schedule: OnBootSec= beside it is dropped, saying why", () =>
  withTemp((dir) => {
    const { schedule, notes } = importTimer(dir, "OnCalendar=daily\nOnBootSec=15min\n");
    assert.equal(schedule, "schedule = @daily");
    const boot = notes.find((n) => n.directive === "OnBootSec")!;
    assert.equal(boot.outcome, "dropped");
    assert.match(boot.why!, /one schedule a task/);
  }));
