// Events end to end, with real processes (issue 4): edge events and instances (a disk
// appears: one mount task per device), levels as "while" conditions (a daemon follows
// an interface, a service runs while a device is present), `stop-on` bound to the
// instance's own value, levels kept across a restart with --persist and seen by what
// `tend apply` adds, job events and their hooks (`starting X`, `stopping X` — a backup
// before the database stops, also at shutdown, a flush before a oneshot's `down`, and a
// hung hook that does not hang them), bad input refused before it reaches the server, a
// burst of 10,000 events, and the contrib hooks (udev, ifupdown, NetworkManager).
//
// Nothing sleeps to synchronise: every wait is a condition polled until a deadline.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, connect, type Socket } from "node:net";
import { mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { REPO, childEnv } from "../helpers.js";
import { BIN, NODE, alive, events, once, rssKiB, waitFor, withRoot, writePrograms, type TestRoot } from "./harness.js";
import { ms, taskProgram } from "./event-programs.js";

interface History {
  entries: { time: number; kind: string; name: string; values: Record<string, string>; started: string[]; stopped: string[]; skipped: string[] }[];
  dropped: number;
  total: number;
}

describe("edge events and instances", { concurrency: true }, () => {
  test("a disk appearing runs the mount task once per device, with DEVNAME and TEND_EVENT in its environment", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const task = taskProgram(root);
      root.services({
        mount: `type = task\n${task.command("mount", 0, "TEND_SERVICE", "TEND_EVENT", "DEVNAME", "ID_FS_TYPE")}start-on = block-added DEVNAME=/dev/sd* ID_FS_TYPE=ext[234]\ninstance = DEVNAME\n`,
      });
      await root.compile();
      const daemon = await root.startDaemon();

      const first = await root.tend("emit", "block-added", "DEVNAME=/dev/sdb1", "ID_FS_TYPE=ext4");
      assert.equal(first.status, 0, first.stderr);
      assert.match(first.stdout, /block-added DEVNAME=\/dev\/sdb1 ID_FS_TYPE=ext4 → started mount@\/dev\/sdb1/);
      const second = await root.tend("emit", "block-added", "DEVNAME=/dev/sdc1", "ID_FS_TYPE=ext3");
      assert.equal(second.status, 0, second.stderr);
      // Not a disk the task is for: nothing runs.
      const other = await root.json<{ started: string[] }>("emit", "block-added", "DEVNAME=/dev/sdd1", "ID_FS_TYPE=vfat");
      assert.deepEqual(other.data.started, []);

      await waitFor("both mount runs to end", () => task.ends("mount").length === 2);
      for (const name of ["mount@/dev/sdb1", "mount@/dev/sdc1"]) await root.waitPhase(name, (s) => s.phase === "down" && s.runs === 1);
      const starts = task.starts("mount").map((r) => r.env);
      assert.deepEqual(
        starts.sort((a, b) => a.DEVNAME!.localeCompare(b.DEVNAME!)),
        [
          { TEND_SERVICE: "mount@/dev/sdb1", TEND_EVENT: "block-added", DEVNAME: "/dev/sdb1", ID_FS_TYPE: "ext4" },
          { TEND_SERVICE: "mount@/dev/sdc1", TEND_EVENT: "block-added", DEVNAME: "/dev/sdc1", ID_FS_TYPE: "ext3" },
        ],
      );
      const status = await root.tend("status");
      assert.equal(status.status, 0, status.stderr);
      assert.match(status.stdout, /^mount@\/dev\/sdb1\s+task\s+down\s.*completed; 1 run$/m);
      assert.match(status.stdout, /^mount@\/dev\/sdc1\s+task\s+down\s.*completed; 1 run$/m);
      assert.doesNotMatch(status.stdout, /sdd1/);
      // The same disk again (unplugged and plugged back): its instance runs once more.
      await root.tend("emit", "block-added", "DEVNAME=/dev/sdb1", "ID_FS_TYPE=ext4");
      await root.waitPhase("mount@/dev/sdb1", (s) => s.phase === "down" && s.runs === 2);
      assert.equal(task.starts("mount").length, 3);
      await root.shutdown(daemon);
    }),
  );

  test("an instance with 'stop-on = block-removed DEVNAME=$DEVNAME' stops when its own device goes, and only then", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({
        reader: "type = longrun\ncommand = sleep 1000\nstart-on = block-added DEVNAME=/dev/sd*\nstop-on = block-removed DEVNAME=$DEVNAME\ninstance = DEVNAME\n",
      });
      await root.compile();
      const daemon = await root.startDaemon();
      for (const dev of ["/dev/sdb1", "/dev/sdc1"]) assert.equal((await root.tend("emit", "block-added", `DEVNAME=${dev}`)).status, 0);
      const b = await root.waitPhase("reader@/dev/sdb1", "up");
      const c = await root.waitPhase("reader@/dev/sdc1", "up");

      // A device that has no instance: nothing stops.
      const unrelated = await root.json<{ stopped: string[] }>("emit", "block-removed", "DEVNAME=/dev/sdz9");
      assert.deepEqual(unrelated.data.stopped, []);
      const removed = await root.json<{ stopped: string[] }>("emit", "block-removed", "DEVNAME=/dev/sdb1");
      assert.deepEqual(removed.data.stopped, ["reader@/dev/sdb1"]);
      await root.waitPhase("reader@/dev/sdb1", "down");
      await waitFor("sdb1's reader to be gone", () => !alive(b.pid!));
      const still = await root.state("reader@/dev/sdc1");
      assert.equal(still.phase, "up");
      assert.equal(still.pid, c.pid, "the other device's instance keeps running, untouched");

      await root.tend("emit", "block-removed", "DEVNAME=/dev/sdc1");
      await root.waitPhase("reader@/dev/sdc1", "down");

      // The instance's value is taken literally, not as a pattern: '/dev/sd[x]' is not '/dev/sdx'.
      const emit = async (name: string, dev: string): Promise<{ started: string[]; stopped: string[] }> => {
        const reply = await root.request({ cmd: "emit", name, values: { DEVNAME: dev } });
        assert.ok(reply.ok, JSON.stringify(reply));
        return reply.result as { started: string[]; stopped: string[] };
      };
      assert.deepEqual((await emit("block-added", "/dev/sd[x]")).started, ["reader@/dev/sd[x]"]);
      await root.waitPhase("reader@/dev/sd[x]", "up");
      assert.deepEqual((await emit("block-removed", "/dev/sdx")).stopped, []);
      assert.deepEqual((await emit("block-removed", "/dev/sd[x]")).stopped, ["reader@/dev/sd[x]"]);
      await root.waitPhase("reader@/dev/sd[x]", "down");
      // The device comes back: its instance starts again.
      await root.tend("emit", "block-added", "DEVNAME=/dev/sdb1");
      await root.waitPhase("reader@/dev/sdb1", "up");
      await root.shutdown(daemon);
    }),
  );
});

describe("levels", { concurrency: true }, () => {
  test("a service whose start-on is only a level runs while the level matches and stops when it goes away", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({ watcher: "type = longrun\ncommand = sleep 1000\nstart-on = disk.sdb1=present\n" });
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.state("watcher")).phase, "down");

      const set = await root.tend("set", "disk.sdb1", "present");
      assert.equal(set.status, 0, set.stderr);
      assert.match(set.stdout, /level disk\.sdb1=present → started watcher/);
      const up = await root.waitPhase("watcher", "up");
      // Another value: the level no longer matches, so the service goes.
      const changed = await root.tend("set", "disk.sdb1", "gone");
      assert.match(changed.stdout, /level disk\.sdb1=gone → stopped watcher/);
      await root.waitPhase("watcher", "down");
      await waitFor("the watcher's process to end", () => !alive(up.pid!));

      await root.tend("set", "disk.sdb1", "present");
      await root.waitPhase("watcher", "up");
      // Unset: a level that is not set matches no pattern.
      const unset = await root.tend("unset", "disk.sdb1");
      assert.equal(unset.status, 0, unset.stderr);
      assert.match(unset.stdout, /level disk\.sdb1 unset → stopped watcher/);
      await root.waitPhase("watcher", "down");
      await root.shutdown(daemon);
    }),
  );

  test("a daemon bound to eth0 starts on net.eth0=up after what it requires, and stops on net.eth0=down, three times over", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const { longrun, log } = writePrograms(root);
      root.services({
        dep: longrun("dep", 0.2),
        netd: longrun("netd", 0, "requires = dep\nstart-on = net.eth0=up\nstop-on = net.eth0=down\n"),
      });
      await root.compile();
      const daemon = await root.startDaemon();
      for (let cycle = 1; cycle <= 3; cycle++) {
        const up = await root.tend("set", "net.eth0", "up");
        assert.equal(up.status, 0, up.stderr);
        await root.waitPhase("netd", "up");
        // Said again while it runs: nothing changes.
        if (cycle === 1) {
          const again = await root.tend("set", "net.eth0", "up");
          assert.equal(again.status, 0, again.stderr);
          assert.equal((await root.state("netd")).phase, "up");
          assert.equal(events(log).filter((e) => e.what === "start" && e.name === "netd").length, 1, "set again while up does not restart it");
        }
        const down = await root.tend("set", "net.eth0", "down");
        assert.equal(down.status, 0, down.stderr);
        await root.waitPhase("netd", "down");
        await root.waitPhase("dep", "down"); // nothing else wants it
        const list = events(log);
        const of = (what: string, name: string): bigint[] => list.filter((e) => e.what === what && e.name === name).map((e) => e.ns);
        assert.equal(of("start", "netd").length, cycle, `cycle ${cycle}: netd started once per up`);
        const at = (what: string, name: string): bigint => of(what, name)[cycle - 1]!;
        assert.ok(at("ready", "dep") < at("start", "netd"), `cycle ${cycle}: dep must be ready before netd starts`);
        assert.ok(at("stop", "netd") < at("stop", "dep"), `cycle ${cycle}: netd stops before dep`);
        assert.ok(cycle === 1 || of("stop", "dep")[cycle - 2]! < at("start", "dep"), `cycle ${cycle}: dep came back for netd`);
      }
      await root.shutdown(daemon);
    }),
  );

  test("a service that 'tend apply' adds or changes while its level holds runs, and stops when the level goes", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({ other: "type = longrun\ncommand = sleep 1000\n" });
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("set", "net.eth0", "up")).status, 0);
      root.service("follow", "type = longrun\ncommand = sleep 1000\nstart-on = net.eth0=up\n");
      const added = await root.tend("apply");
      assert.equal(added.status, 0, `${added.stdout}${added.stderr}`);
      const first = await root.waitPhase("follow", "up");
      root.service("follow", "type = longrun\ncommand = sleep 1001\nstart-on = net.eth0=up\n");
      const changed = await root.tend("apply");
      assert.equal(changed.status, 0, `${changed.stdout}${changed.stderr}`);
      const second = await root.waitPhase("follow", (s) => s.phase === "up" && s.pid !== first.pid);
      const down = await root.tend("set", "net.eth0", "down");
      assert.match(down.stdout, /→ stopped follow/);
      await root.waitPhase("follow", "down");
      await waitFor("the changed follow's process to end", () => !alive(second.pid!));
      await root.shutdown(daemon);
    }),
  );

  test("tend set --persist survives a restart of the server, a plain set does not; tend levels shows them; unset removes them", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({ maint: "type = longrun\ncommand = sleep 1000\nstart-on = mode=maintenance\n" });
      await root.compile();
      let daemon = await root.startDaemon();
      assert.equal((await root.tend("set", "mode", "maintenance", "--persist")).status, 0);
      assert.equal((await root.tend("set", "net.wlan0", "up")).status, 0);
      await root.waitPhase("maint", "up");
      const levels = await root.tend("levels");
      assert.equal(levels.status, 0, levels.stderr);
      assert.equal(levels.stdout, "mode=maintenance  (persisted)\nnet.wlan0=up\n");
      await root.shutdown(daemon);

      daemon = await root.startDaemon();
      const after = await root.json<Record<string, { value: string; persisted: boolean }>>("levels");
      assert.deepEqual(after.data, { mode: { value: "maintenance", persisted: true } });
      // The persisted level holds again, so what it starts is up again.
      await root.waitPhase("maint", "up");
      const unset = await root.tend("unset", "mode");
      assert.equal(unset.status, 0, unset.stderr);
      await root.waitPhase("maint", "down");
      assert.equal((await root.tend("levels")).stdout, "no levels are set\n");
      await root.shutdown(daemon);

      daemon = await root.startDaemon();
      assert.deepEqual((await root.json("levels")).data, {}, "an unset persisted level stays unset");
      assert.equal((await root.state("maint")).phase, "down");
      await root.shutdown(daemon);
    }),
  );
});

describe("job events and hooks", { concurrency: true }, () => {
  test("a backup task on 'stopping db' ends before db is sent its stop signal, on 'tend stop db' and on 'tend shutdown'", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const { longrun, log } = writePrograms(root);
      const task = taskProgram(root);
      root.services({
        db: longrun("db"),
        backup: `type = task\n${task.command("backup", 0.5, "TEND_EVENT", "JOB")}start-on = stopping db\nrequires = db\n`,
      });
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "db")).status, 0);
      assert.equal(task.starts("backup").length, 0, "no backup while db starts");

      const stop = await root.tend("stop", "db");
      assert.equal(stop.status, 0, `${stop.stdout}${stop.stderr}`);
      assert.equal((await root.state("db")).phase, "down");
      const first = events(log).filter((e) => e.what === "stop" && e.name === "db");
      assert.equal(first.length, 1);
      assert.equal(task.ends("backup").length, 1, "the backup ended before db was down");
      assert.deepEqual(task.starts("backup")[0]!.env, { TEND_EVENT: "stopping db", JOB: "db" });
      assert.ok(
        task.ends("backup")[0]!.ns < first[0]!.ns,
        `backup ended at ${ms(task.ends("backup")[0]!.ns)}, db got SIGTERM at ${ms(first[0]!.ns)}: the backup must end first`,
      );

      assert.equal((await root.tend("start", "db")).status, 0);
      await root.shutdown(daemon);
      const second = events(log).filter((e) => e.what === "stop" && e.name === "db");
      assert.equal(second.length, 2);
      assert.equal(task.ends("backup").length, 2, "the backup ran at shutdown too");
      assert.ok(task.starts("backup")[1]!.ns > first[0]!.ns);
      assert.ok(
        task.ends("backup")[1]!.ns < second[1]!.ns,
        `at shutdown, backup ended at ${ms(task.ends("backup")[1]!.ns)}, db got SIGTERM at ${ms(second[1]!.ns)}`,
      );
    }),
  );

  test("a task on 'stopping' a oneshot ends before the oneshot's down runs", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const { log } = writePrograms(root);
      const task = taskProgram(root);
      root.services({
        data: `type = oneshot\nup = true\ndown = sh -c 'echo "down data $(date +%s%N)" >> ${log}'\n`,
        flush: `type = task\n${task.command("flush", 0.3, "TEND_EVENT")}start-on = stopping data\n`,
      });
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "data")).status, 0);
      const stop = await root.tend("stop", "data");
      assert.equal(stop.status, 0, `${stop.stdout}${stop.stderr}`);
      const flush = task.ends("flush");
      assert.equal(flush.length, 1, "flush ran before data was down");
      assert.equal(task.starts("flush")[0]!.env.TEND_EVENT, "stopping data");
      const down = once(events(log), "down", "data");
      assert.ok(flush[0]!.ns < down, `flush ended at ${ms(flush[0]!.ns)}, data's down ran at ${ms(down)}`);
      await root.shutdown(daemon);
    }),
  );

  test("a hook that hangs is stopped at its start timeout and db stops anyway, on 'tend stop' and at shutdown; it runs again next time", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const { longrun, log } = writePrograms(root);
      root.services({
        db: longrun("db"),
        hang: "type = task\ncommand = sleep 1000\nstart-on = stopping db\nstart-timeout = 1s\n",
      });
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "db")).status, 0);
      const stop = await root.tend("stop", "db");
      assert.equal(stop.status, 0, `${stop.stdout}${stop.stderr}`);
      const first = await root.waitPhase("hang", (s) => s.phase !== "running" && s.phase !== "stopping");
      assert.equal(first.phase, "failed");
      assert.match(first.reason ?? "", /start timeout: did not finish within 1s/);
      assert.equal(events(log).filter((e) => e.what === "stop" && e.name === "db").length, 1);

      assert.equal((await root.tend("start", "db")).status, 0);
      const started = Date.now();
      const shutdown = root.tend("shutdown");
      // The hook runs again (it is not taken for still running), and is seen with its pid.
      const hang = await root.waitPhase("hang", (s) => s.phase === "running" && s.pid !== null).catch((e: Error) => e);
      const r = await shutdown;
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}\n${daemon.output()}`);
      const exit = await root.awaitExit(daemon);
      assert.deepEqual(exit, { code: 0, signal: null });
      assert.ok(!(hang instanceof Error), `the hook was not seen running at shutdown: ${String(hang)}\n${daemon.output()}`);
      assert.equal(hang.skipped, 0);
      assert.ok(!alive(hang.pid!), "the hung hook was stopped");
      assert.ok(Date.now() - started < 15_000, `shutdown took ${Date.now() - started} ms`);
      // At shutdown db gives up waiting when the hook's start timeout is over; whichever of
      // the two timers comes first, the hook is stopped (failed, or down as nothing wants it).
      assert.match(daemon.output(), /hang: (failed: start timeout: did not finish within 1s|down)\n[^]*hang: (failed|down)/);
      assert.equal(events(log).filter((e) => e.what === "stop" && e.name === "db").length, 2);
    }),
  );

  test("db waits for a stopping hook only as long as the hook's start timeout, even when the hook ignores its stop signal", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const { longrun, log } = writePrograms(root);
      const stubborn = root.file("stubborn.sh", `#!/bin/sh\necho "start hook $(date +%s%N)" >> ${log}\ntrap '' TERM\nsleep 1000\n`);
      root.services({
        db: longrun("db"),
        hook: `type = task\ncommand = sh ${stubborn}\nstart-on = stopping db\nstart-timeout = 1s\nstop-timeout = 5s\n`,
      });
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "db")).status, 0);
      await root.shutdown(daemon);
      const list = events(log);
      const waited = once(list, "stop", "db") - once(list, "start", "hook");
      // 1 s (the hook's start timeout), not 1 s + 5 s (until the hook is killed).
      assert.ok(waited >= 900_000_000n && waited < 4_000_000_000n, `db got its stop signal ${ms(waited)} ms after the hook started`);
      // Stopped at its start timeout, or as nothing wants it once db gave up on it; killed in the end.
      assert.match(daemon.output(), /hook: (failed: start timeout: did not finish within 1s|down: killed after the stop timeout \(5s\))/);
    }),
  );

  test("a task on 'starting web' ends before web's process starts, with TEND_EVENT and JOB", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const { longrun, log } = writePrograms(root);
      const task = taskProgram(root);
      root.services({
        web: longrun("web"),
        prep: `type = task\n${task.command("prep", 0.3, "TEND_EVENT", "JOB")}start-on = starting web\n`,
      });
      await root.compile();
      const daemon = await root.startDaemon();
      const start = await root.tend("start", "web");
      assert.equal(start.status, 0, start.stderr);
      const prep = task.ends("prep");
      assert.equal(prep.length, 1, "prep ran, once");
      assert.deepEqual(task.starts("prep")[0]!.env, { TEND_EVENT: "starting web", JOB: "web" });
      const webStart = once(events(log), "start", "web");
      assert.ok(prep[0]!.ns < webStart, `prep ended at ${ms(prep[0]!.ns)}, web started at ${ms(webStart)}`);
      await root.shutdown(daemon);
    }),
  );
});

describe("bad input and load", { concurrency: true }, () => {
  test("a condition that cannot be parsed is a 'tend check' error at file:line:col", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({
        a: "type = longrun\ncommand = sleep 1000\nstart-on = net.eth0=up and\n",
        b: "type = longrun\ncommand = sleep 1000\nstop-on = block-added DEVNAME=/dev/sd[bc\n",
        c: "type = task\ncommand = true\nschedule = 5s after (started a\n",
        d: "type = longrun\ncommand = sleep 1000\nstart-on = net.eth0=up net.wlan0=up\n",
      });
      const r = await root.tend("check");
      assert.equal(r.status, 1, r.stdout);
      const at = (name: string, line: number, col: number): string => `${join(root.sources, name)}:${line}:${col}: error: `;
      assert.ok(r.stdout.includes(`${at("a", 3, 27)}the condition ends too early`), r.stdout);
      assert.ok(r.stdout.includes(`${at("b", 3, 38)}unclosed '[' in pattern`), r.stdout);
      assert.ok(r.stdout.includes(`${at("c", 3, 21)}expected ')'`), r.stdout);
      assert.ok(r.stdout.includes(`${at("d", 3, 24)}unexpected 'net.wlan0=up': join conditions with 'and' or 'or'`), r.stdout);
    }),
  );

  test("'tend emit' and 'tend set' refuse malformed names and KEY=VALUE words with exit 2, and nothing reaches the server", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      // A stand-in for the server on the control socket: it counts what reaches it.
      mkdirSync(root.places.run, { recursive: true });
      const received: string[] = [];
      const fake = createServer((socket: Socket) => {
        socket.setEncoding("utf8");
        socket.on("data", (d: string) => {
          received.push(d);
          socket.end(`${JSON.stringify({ id: 1, ok: true, result: null })}\n`);
        });
      });
      await new Promise<void>((resolve) => fake.listen(join(root.places.run, "control.sock"), resolve));
      try {
        const bad: [string[], RegExp][] = [
          [["emit", "x", "=y"], /'=y' is not KEY=VALUE/],
          [["emit", "x", "novalue"], /'novalue' is not KEY=VALUE/],
          [["emit", "x", "1A=b"], /'1A' is not a valid key/],
          [["emit", "x", "A-B=c"], /'A-B' is not a valid key/],
          [["emit", "bad name"], /'bad name' is not an event name/],
          [["emit", "-x"], /./],
          [["emit", "x", `V=${"v".repeat(5000)}`], /longer than 4096/],
          [["set", "bad name", "up"], /'bad name' is not an event name/],
          [["emit"], /'emit' needs/],
        ];
        for (const [args, message] of bad) {
          const r = await root.tend(...args);
          assert.equal(r.status, 2, `tend ${args.join(" ").slice(0, 40)}: exit ${r.status}\n${r.stdout}${r.stderr}`);
          assert.match(r.stderr, /^tend: /);
          assert.match(r.stderr, message);
          assert.doesNotMatch(r.stderr, /internal error|    at /);
        }
        assert.deepEqual(received, [], "no malformed event reached the server");
        // The stand-in does answer a good one: the check above could have seen a request.
        const good = await root.tend("emit", "x", "A=b", "EMPTY=");
        assert.equal(good.status, 0, good.stderr);
        assert.equal(received.length, 1);
        assert.deepEqual(JSON.parse(received[0]!), { id: 1, cmd: "emit", name: "x", values: { A: "b", EMPTY: "" } });
      } finally {
        await new Promise((resolve) => fake.close(resolve));
        rmSync(join(root.places.run, "control.sock"), { force: true });
      }
    }),
  );

  test("10,000 events in a burst on one connection are all acknowledged; the history keeps the newest 1000; the server stays responsive and small", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({ idle: "type = longrun\ncommand = sleep 1000\nstart-on = tick N=never\n" });
      await root.compile();
      const daemon = await root.startDaemon();
      const rssBefore = rssKiB(daemon.pid);
      const COUNT = 10_000;

      const socket = connect(join(root.places.run, "control.sock"));
      await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
      const acked = new Set<number>();
      const refused: string[] = [];
      let buffered = "";
      const allAcked = new Promise<void>((resolve, reject) => {
        socket.setEncoding("utf8");
        socket.on("data", (chunk: string) => {
          buffered += chunk;
          for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
            const reply = JSON.parse(buffered.slice(0, nl)) as { id: number; ok: boolean; error?: string };
            buffered = buffered.slice(nl + 1);
            if (reply.ok) acked.add(reply.id);
            else refused.push(reply.error ?? "?");
            if (acked.size + refused.length === COUNT) resolve();
          }
        });
        socket.once("close", () => reject(new Error(`the server closed the connection after ${acked.size} replies`)));
      });
      let requests = "";
      for (let n = 1; n <= COUNT; n++) requests += `${JSON.stringify({ id: n, cmd: "emit", name: "tick", values: { N: String(n) } })}\n`;
      const sentAt = Date.now();
      socket.write(requests);
      // A status asked for during the burst is answered.
      const status = await root.tendWith({ timeoutMs: 15_000 }, "status");
      assert.equal(status.status, 0, `tend status during the burst: ${status.stderr}`);
      assert.ok(status.ms < 15_000, `tend status took ${status.ms} ms during the burst`);
      await waitFor(`${COUNT} acknowledgements (${acked.size} so far)`, () => acked.size + refused.length === COUNT || null, 30_000).catch((e: Error) => {
        throw new Error(`${e.message}; refused: ${refused.slice(0, 3).join(" | ")}`);
      });
      await allAcked;
      const burstMs = Date.now() - sentAt;
      socket.end();
      assert.deepEqual(refused, []);
      assert.equal(acked.size, COUNT);

      const history = await root.json<History>("events", "-n", "1000");
      assert.equal(history.run.status, 0, history.run.stderr);
      const { total, dropped, entries } = history.data;
      assert.ok(total >= COUNT, `total ${total}`);
      assert.equal(dropped, total - 1000);
      assert.equal(entries.length, 1000);
      // The newest, oldest first.
      const ticks = entries.filter((e) => e.name === "tick").map((e) => Number(e.values.N));
      assert.deepEqual(ticks, Array.from({ length: ticks.length }, (_, i) => COUNT - ticks.length + 1 + i));
      assert.ok(ticks.length >= 990 && ticks.at(-1) === COUNT, `the last ticks are kept (${ticks.length}, last ${ticks.at(-1)})`);
      const text = await root.tend("events", "-n", "3");
      assert.match(text.stdout, new RegExp(`^\\(${dropped} older entries dropped: the history keeps the last 1000\\)\\n`));
      assert.match(text.stdout, new RegExp(`tick N=${COUNT}\\n$`));

      const rssAfter = rssKiB(daemon.pid);
      assert.ok(rssAfter - rssBefore < 64 * 1024, `RSS grew from ${rssBefore} KiB to ${rssAfter} KiB after the burst (${burstMs} ms)`);
      const idle = await root.state("idle");
      assert.equal(idle.phase, "down");
      await root.shutdown(daemon);
    }),
  );
});

/** Runs a contrib script (or a udev RUN command) with TEND naming this build's CLI and TEND_ROOT the test root. */
function runHook(root: TestRoot, argv: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(argv[0]!, argv.slice(1), { env: childEnv({ TEND: `${NODE} ${BIN}`, TEND_ROOT: root.dir, ...env }), stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.once("error", reject);
    child.once("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stderr });
    });
  });
}

/** The RUN+= command of the udev rule for ACTION, with $env{KEY} replaced as udev does, and tend replaced by this build. */
function udevRun(action: string, env: Record<string, string>): string[] {
  const rules = readFileSync(join(REPO, "contrib/udev/90-tend-block.rules"), "utf8").split("\n");
  const rule = rules.find((l) => l.startsWith(`ACTION=="${action}"`));
  assert.ok(rule, `no rule for ACTION=="${action}"`);
  assert.match(rule, /SUBSYSTEM=="block"/);
  const command = /RUN\+="([^"]*)"/.exec(rule)![1]!.replace(/\$env\{(\w+)\}/g, (_, key: string) => env[key] ?? "");
  const [program, ...args] = command.split(/\s+/);
  assert.equal(program, "/usr/bin/tend");
  return [NODE, BIN, ...args];
}

describe("contrib hooks", { concurrency: true }, () => {
  test("the udev rule, the ifupdown scripts and the NetworkManager dispatcher script drive a server through TEND_ROOT", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const task = taskProgram(root);
      root.services({
        netd: "type = longrun\ncommand = sleep 1000\nstart-on = net.eth0=up\nstop-on = net.eth0=down\n",
        onup: `type = task\n${task.command("onup", 0, "TEND_EVENT", "IFACE", "METHOD", "ADDRFAM")}start-on = net-device-up IFACE=eth0\n`,
        mount: `type = task\n${task.command("mount", 0, "DEVNAME", "ID_FS_TYPE")}start-on = block-added DEVNAME=/dev/sd*\ninstance = DEVNAME\n`,
      });
      await root.compile();
      const daemon = await root.startDaemon();
      const contrib = (path: string): string => {
        const file = join(REPO, "contrib", path);
        assert.ok((statSync(file).mode & 0o111) === 0o111, `${path} is executable`);
        return file;
      };
      const ok = async (argv: string[], env: Record<string, string> = {}): Promise<void> => {
        const r = await runHook(root, argv, env);
        assert.deepEqual(r, { status: 0, stderr: "" }, argv.join(" "));
      };
      const ask = async (body: Parameters<TestRoot["request"]>[0]): Promise<unknown> => {
        const reply = await root.request(body);
        assert.ok(reply.ok, JSON.stringify(reply));
        return reply.result;
      };
      const levels = async (): Promise<Record<string, string>> =>
        Object.fromEntries(Object.entries((await ask({ cmd: "levels" })) as Record<string, { value: string }>).map(([k, v]) => [k, v.value]));
      const history = async (): Promise<History> => (await ask({ cmd: "events", count: 1000 })) as History;

      // ifupdown: up, then down; `ifup -a`'s extra call with IFACE=--all does nothing.
      const ifaceEnv = { IFACE: "eth0", LOGICAL: "eth0", ADDRFAM: "inet", METHOD: "dhcp", MODE: "start", PHASE: "post-up" };
      await ok(["/bin/sh", contrib("ifupdown/if-up.d/tend")], ifaceEnv);
      await root.waitPhase("netd", "up");
      await waitFor("onup to run", () => task.ends("onup").length === 1);
      assert.deepEqual(task.starts("onup")[0]!.env, { TEND_EVENT: "net-device-up", IFACE: "eth0", METHOD: "dhcp", ADDRFAM: "inet" });
      const before = (await history()).total;
      await ok(["/bin/sh", contrib("ifupdown/if-up.d/tend")], { ...ifaceEnv, IFACE: "--all" });
      assert.equal((await history()).total, before, "IFACE=--all is not an interface");
      await ok(["/bin/sh", contrib("ifupdown/if-down.d/tend")], { ...ifaceEnv, MODE: "stop", PHASE: "pre-down" });
      await root.waitPhase("netd", "down");
      assert.equal((await levels())["net.eth0"], "down");
      assert.ok((await history()).entries.some((e) => e.name === "net-device-down" && e.values.IFACE === "eth0" && e.values.METHOD === "dhcp"));

      // NetworkManager: $1 the interface, $2 the action.
      const nm = contrib("NetworkManager/dispatcher.d/50-tend");
      await ok([nm, "wlan0", "up"], { CONNECTION_ID: "Home Wifi", CONNECTION_UUID: "0b1c" });
      assert.equal((await levels())["net.wlan0"], "up");
      const up = (await history()).entries.find((e) => e.name === "net-device-up" && e.values.IFACE === "wlan0");
      assert.deepEqual(up?.values, { IFACE: "wlan0", CONNECTION_ID: "Home Wifi", CONNECTION_UUID: "0b1c" });
      await ok([nm, "wlan0", "pre-down"]);
      assert.equal((await levels())["net.wlan0"], "down");
      assert.ok(!(await history()).entries.some((e) => e.name === "net-device-down" && e.values.IFACE === "wlan0"), "pre-down only sets the level");
      await ok([nm, "wlan0", "down"]);
      await ok([nm, "", "connectivity-change"], { CONNECTIVITY_STATE: "FULL" });
      await ok([nm, "none", "hostname"]);
      assert.deepEqual(await levels(), { "net.eth0": "down", "net.wlan0": "down", "net.connectivity": "FULL" });

      // udev: the rule's RUN command, as udev expands it.
      await ok(udevRun("add", { DEVNAME: "/dev/sdb1", ID_FS_TYPE: "ext4" }));
      await ok(udevRun("add", { DEVNAME: "/dev/sdc" })); // a disk without a filesystem: an empty ID_FS_TYPE
      await waitFor("both mounts to run", () => task.ends("mount").length === 2);
      assert.deepEqual(
        task.starts("mount").map((r) => r.env).sort((a, b) => a.DEVNAME!.localeCompare(b.DEVNAME!)),
        [{ DEVNAME: "/dev/sdb1", ID_FS_TYPE: "ext4" }, { DEVNAME: "/dev/sdc", ID_FS_TYPE: "" }],
      );
      await ok(udevRun("remove", { DEVNAME: "/dev/sdb1", ID_FS_TYPE: "ext4" }));
      assert.ok((await history()).entries.some((e) => e.name === "block-removed" && e.values.DEVNAME === "/dev/sdb1"));
      await root.shutdown(daemon);

      // No server: the network scripts still succeed (an interface must not fail for it), and say why.
      const r = await runHook(root, ["/bin/sh", contrib("ifupdown/if-up.d/tend")], ifaceEnv);
      assert.equal(r.status, 0);
      assert.match(r.stderr, /no tend server is running/);
      assert.match(r.stderr, /if-up\.d\/tend: could not set net\.eth0=up/);
    }),
  );
});
