// Temporal events end to end, with real processes (issue 4): an `every` task never
// overlaps itself (its extra triggers are counted as skipped, in `tend status` and in
// `tend events`); a `catch-up` task runs once after a downtime (simulated by moving its
// last run, persisted in STATE/timers.json, into the past) while one without catch-up
// does not, and a last run in the future (a clock set back) does not hold a schedule
// back; `DURATION after EVENT` runs once per event, with the event's values; `DURATION
// after boot` runs once a boot of the machine, whatever the server's restarts.
//
// Waiting for a clock is a condition too: every wait is polled until a deadline.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bootedAt } from "../../src/system/processes.js";
import { events, waitFor, withRoot, writePrograms } from "./harness.js";
import { ms, taskProgram } from "./event-programs.js";

describe("schedules", { concurrency: true }, () => {
  test("an 'every 1s' task whose run takes 2.5 s never overlaps itself; skipped triggers show in status and events", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const task = taskProgram(root);
      root.services({ slow: `type = task\n${task.command("slow", 2.5, "TEND_EVENT")}schedule = every 1s\n` });
      await root.compile();
      const daemon = await root.startDaemon();
      // The first run at ~1 s ends at ~3.5 s; the triggers at ~2 s and ~3 s find it running;
      // the one at ~4 s starts the second run.
      await waitFor("the second run to start", () => task.starts("slow").length >= 2);
      const state = await root.state("slow");
      assert.ok(state.skipped >= 2, `skipped ${state.skipped}`);
      assert.ok(state.nextRun !== null && state.nextRun > Date.now() - 1000, "the next run is shown");

      const records = task.records().filter((r) => r.tag === "slow");
      // Strictly alternating start, end, start…: a run never begins before the previous one ended.
      records.forEach((r, i) => assert.equal(r.what, i % 2 === 0 ? "start" : "end", `record ${i}: ${records.map((x) => `${x.what}@${ms(x.ns)}`).join(" ")}`));
      for (let i = 1; i < records.length; i++) assert.ok(records[i - 1]!.ns < records[i]!.ns);
      for (const r of task.starts("slow")) assert.equal(r.env.TEND_EVENT, "schedule");

      const status = await root.tend("status", "slow");
      assert.match(status.stdout, /\d+ triggers skipped while running/);
      assert.match(status.stdout, /Next run: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d \(/);
      const history = await root.tend("events");
      assert.match(history.stdout, /schedule of slow → skipped slow \(still running\)/);
      assert.match(history.stdout, /schedule of slow → started slow/);
      await root.shutdown(daemon);
    }),
  );

  test("after a downtime a catch-up task runs once at start with TEND_EVENT=catch-up; one without catch-up does not; a last run in the future is ignored", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const task = taskProgram(root);
      root.services({
        catchy: `type = task\n${task.command("catchy", 0, "TEND_EVENT", "TEND_DUE")}schedule = every 2s\ncatch-up = yes\n`,
        plain: `type = task\n${task.command("plain", 0, "TEND_EVENT")}schedule = every 1h\n`,
        ahead: `type = task\n${task.command("ahead", 0, "TEND_EVENT")}schedule = every 2s\n`,
      });
      await root.compile();
      let daemon = await root.startDaemon();
      // Never ran before: nothing to catch up; the first run is the scheduled one.
      await waitFor("catchy's first scheduled run", () => task.ends("catchy").length >= 1);
      assert.equal(task.starts("catchy")[0]!.env.TEND_EVENT, "schedule");
      await root.shutdown(daemon);
      const timers = join(root.places.state, "timers.json");
      const saved = JSON.parse(readFileSync(timers, "utf8")) as Record<string, number>;
      assert.ok(typeof saved.catchy === "number" && typeof saved.plain === "number", `last runs are persisted: ${JSON.stringify(saved)}`);
      const runsBefore = task.starts("catchy").length;

      // The downtime: the server was off for hours, both tasks missed runs.
      const now = Date.now();
      // And the clock was wrong the last time `ahead` ran: its last run is a day ahead of now.
      writeFileSync(timers, JSON.stringify({ catchy: now - 3_600_000, plain: now - 7_200_000, ahead: now + 86_400_000 }));
      const aheadBefore = task.starts("ahead").length;
      const restartedAt = Date.now();
      daemon = await root.startDaemon();
      await waitFor("the catch-up run", () => task.ends("catchy").length > runsBefore);
      const catchUp = task.starts("catchy")[runsBefore]!;
      assert.equal(catchUp.env.TEND_EVENT, "catch-up");
      assert.ok(Date.parse(catchUp.env.TEND_DUE!) <= restartedAt, `due ${catchUp.env.TEND_DUE}, before the restart`);
      assert.match(daemon.output(), /catchy: caught up: the run due .* was missed while the server was down/);
      // The schedule goes on from the catch-up: the next run is a normal one, not another catch-up.
      await waitFor("catchy's next scheduled run", () => task.ends("catchy").length > runsBefore + 1);
      const after = task.starts("catchy").slice(runsBefore);
      assert.deepEqual(after.map((r) => r.env.TEND_EVENT).slice(0, 2), ["catch-up", "schedule"]);
      assert.equal(after.filter((r) => r.env.TEND_EVENT === "catch-up").length, 1, "exactly one catch-up run");

      // A last run in the future does not hold the schedule back a day.
      await waitFor("ahead's next run", () => task.starts("ahead").length > aheadBefore);
      const plain = await root.state("plain");
      assert.equal(task.starts("plain").length, 0, "a task without catch-up does not run at start");
      assert.equal(plain.runs, 0);
      assert.ok(plain.nextRun !== null && plain.nextRun > Date.now() + 30 * 60_000, `plain's next run is the scheduled one (${plain.nextRun})`);
      assert.doesNotMatch(daemon.output(), /plain: caught up/);
      await root.shutdown(daemon);
    }),
  );

  test("'1s after started web' runs once per event, a second after it, with the event's values", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const { longrun, log } = writePrograms(root);
      const task = taskProgram(root);
      root.services({
        web: longrun("web"),
        warm: `type = task\n${task.command("warm", 0, "TEND_EVENT", "JOB")}schedule = 1s after started web\n`,
      });
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "web")).status, 0);
      await waitFor("warm to run after web started", () => task.ends("warm").length === 1);
      assert.equal((await root.tend("restart", "web")).status, 0);
      await waitFor("warm to run after web started again", () => task.ends("warm").length === 2);

      const ready = events(log).filter((e) => e.what === "ready" && e.name === "web").map((e) => e.ns);
      const runs = task.starts("warm");
      assert.equal(ready.length, 2);
      for (const [i, run] of runs.entries()) {
        assert.deepEqual(run.env, { TEND_EVENT: "started web", JOB: "web" });
        // web writes its stamp before it says it is ready: the event comes after it.
        assert.ok(run.ns - ready[i]! >= 1_000_000_000n - 20_000_000n, `run ${i} ${ms(run.ns - ready[i]!)} ms after web was ready`);
        assert.ok(run.ns - ready[i]! < 10_000_000_000n, `run ${i} ${ms(run.ns - ready[i]!)} ms after web was ready`);
      }
      assert.ok(runs[0]!.ns < ready[1]!, "one run per event: the first ran before the second event");
      const warm = await root.state("warm");
      assert.equal(warm.runs, 2);
      assert.equal(warm.skipped, 0);
      await root.shutdown(daemon);
    }),
  );

  test("'1s after boot' runs once a boot: at once when that time has passed, not again after a server restart, again after a new boot", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const task = taskProgram(root);
      root.services({
        once: `type = task\n${task.command("once", 0, "TEND_EVENT")}schedule = 1s after boot\n`,
        daily: `type = task\n${task.command("daily", 0, "TEND_EVENT")}schedule = every 1d from 1s after boot\n`,
        tick: `type = task\n${task.command("tick", 0)}schedule = every 1s\n`,
      });
      await root.compile();
      let daemon = await root.startDaemon();
      // The machine booted long before the test: both are due at once.
      await waitFor("the boot runs", () => task.ends("once").length === 1 && task.ends("daily").length === 1);
      assert.equal(task.starts("once")[0]!.env.TEND_EVENT, "schedule");
      await waitFor("once's status to settle", async () => (await root.state("once")).runs === 1);
      assert.equal((await root.state("once")).nextRun, null, "nothing more this boot");
      const daily = await root.state("daily");
      assert.ok(daily.nextRun !== null && daily.nextRun > Date.now() + 23 * 3_600_000, `daily's next run is a day on (${daily.nextRun})`);
      await root.shutdown(daemon);

      // The same boot: a timer due at once would fire before the first tick, a second after the start.
      const ticks = task.ends("tick").length;
      daemon = await root.startDaemon();
      await waitFor("a tick of the restarted server", () => task.ends("tick").length > ticks);
      assert.equal(task.starts("once").length, 1, "not again on the same boot");
      assert.equal(task.starts("daily").length, 1, "its interval goes on from the boot's run");
      await root.shutdown(daemon);

      // A new boot: the last runs were before it.
      const timers = join(root.places.state, "timers.json");
      const before = bootedAt(Date.now()) - 60_000;
      writeFileSync(timers, JSON.stringify({ ...JSON.parse(readFileSync(timers, "utf8")), once: before, daily: before }));
      daemon = await root.startDaemon();
      await waitFor("the runs of the new boot", () => task.ends("once").length === 2 && task.ends("daily").length === 2);
      await root.shutdown(daemon);
    }),
  );
});
