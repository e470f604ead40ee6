// Supervision with real processes: a crashed longrun comes back by itself; a crash
// loop backs off with growing delays and ends failed at its restart limit, and an
// admin's restart still works afterwards; a service that ignores its stop signal is
// killed after its stop timeout, its whole process group with it.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { alive, stamps, waitFor, withRoot, type ChangeResult } from "./harness.js";

const MS = 1_000_000n;

describe("restarts", { concurrency: true }, () => {
  test("a crash loop backs off with growing delays, ends failed at the restart limit, and 'tend restart' still works", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const starts = root.path("starts");
      root.service(
        "c",
        [
          "type = longrun",
          `command = sh -c 'date +%s%N >> ${starts}; if [ -e ${root.path("ok")} ]; then echo >&3; exec sleep 1000; fi; exit 3'`,
          "ready = fd",
          "restart-delay = 100ms",
          "restart-delay-max = 5s",
          "restart-limit = 4 in 60s",
          "",
        ].join("\n"),
      );
      await root.compile();
      const daemon = await root.startDaemon();
      const { run, data } = await root.json<ChangeResult>("start", "c");
      assert.equal(run.status, 1, run.stdout + run.stderr);
      assert.deepEqual(data.failed, ["c"]);
      assert.match(data.services[0]!.reason ?? "", /restart limit hit: 4 restarts within 60s; last exited with code 3/);

      // The first run and four restarts, the delays doubling from 100 ms.
      const times = stamps(starts);
      assert.equal(times.length, 5, `expected 5 runs, got ${times.length}`);
      const gaps = times.slice(1).map((t, i) => Number((t - times[i]!) / MS));
      [100, 200, 400, 800].forEach((delay, i) => assert.ok(gaps[i]! >= delay, `restart ${i + 1} came after ${gaps[i]} ms, before its ${delay} ms delay (gaps: ${gaps})`));
      assert.ok(gaps[3]! > gaps[0]! + 400, `the delays did not grow: ${gaps}`);
      const status = await root.json<{ services: { phase: string; restarts: number; lastExit: { code: number } }[] }>("status", "c");
      assert.equal(status.run.status, 1);
      assert.equal(status.data.services[0]!.phase, "failed");
      assert.equal(status.data.services[0]!.lastExit.code, 3);
      // Held: nothing starts it again by itself.
      assert.match((await root.tend("why", "c")).stdout, /held/);

      // The admin fixes the cause and restarts it: the limit does not block a manual restart.
      writeFileSync(root.path("ok"), "");
      const again = await root.json<ChangeResult>("restart", "c");
      assert.equal(again.run.status, 0, again.run.stdout + again.run.stderr);
      assert.deepEqual(again.data.services.map((s) => [s.name, s.phase]), [["c", "up"]]);
      assert.equal(stamps(starts).length, 6);
      assert.equal((await root.state("c")).restarts, 0, "a manual restart resets the restart count");
      await root.shutdown(daemon);
    }),
  );

  test("a longrun killed behind tend's back is restarted by itself with a new pid", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.service("k", "type = longrun\ncommand = sleep 1000\nrestart-delay = 50ms\n");
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "k")).status, 0);
      const before = await root.state("k");
      assert.equal(before.phase, "up");
      const sent = await root.json<{ pid: number; signal: string }>("signal", "k", "KILL");
      assert.equal(sent.run.status, 0, sent.run.stderr);
      assert.deepEqual(sent.data, { pid: before.pid, signal: "SIGKILL" });
      const after = await root.waitPhase("k", (s) => s.phase === "up" && s.pid !== before.pid);
      assert.equal(after.restarts, 1);
      assert.deepEqual(after.lastExit, { code: null, signal: "SIGKILL" });
      assert.equal(alive(before.pid!), false);
      await root.shutdown(daemon);
    }),
  );

  test("restart = never leaves a crashed service failed, with its exit status", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.service("n", `type = longrun\ncommand = sh -c 'echo x >> ${root.path("runs")}; echo >&3; sleep 0.1; exit 7'\nready = fd\nrestart = never\n`);
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "n")).status, 0);
      const n = await root.waitPhase("n", "failed");
      assert.equal(n.reason, "exited with code 7");
      assert.equal(readFileSync(root.path("runs"), "utf8"), "x\n");
      await root.shutdown(daemon);
    }),
  );
});

describe("stopping", { concurrency: true }, () => {
  test("a service that ignores SIGTERM is SIGKILLed after its stop timeout, with its process group", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.service(
        "s",
        [
          "type = longrun",
          // TERM is ignored by the shell and, inherited, by its background child.
          `command = sh -c 'trap "" TERM; sleep 1000 & echo $! > ${root.path("child")}; echo >&3; wait'`,
          "ready = fd",
          "stop-timeout = 300ms",
          "",
        ].join("\n"),
      );
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "s")).status, 0);
      const child = Number(await waitFor("the child's pid", () => readFileSync(root.path("child"), "utf8").trim()));
      const { pid } = await root.state("s");
      const { run, data } = await root.json<ChangeResult>("stop", "s");
      assert.equal(run.status, 0, run.stdout + run.stderr);
      assert.ok(run.ms >= 300, `stopped after ${run.ms} ms, before the stop timeout`);
      assert.equal(data.services[0]!.phase, "down");
      assert.match(data.services[0]!.reason ?? "", /killed after the stop timeout \(300ms\)/);
      const s = await root.state("s");
      assert.deepEqual(s.lastExit, { code: null, signal: "SIGKILL" });
      assert.match((await root.tend("status", "s")).stdout, /killed after the stop timeout/);
      assert.equal(alive(pid!), false);
      assert.equal(alive(child), false, "the service's child outlived the kill");
      await root.shutdown(daemon);
    }),
  );

  test("a child that ignores the stop signal does not outlive its stopped service", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      // The main process exits on TERM at once; its child ignores TERM and would stay.
      root.service("b", `type = longrun\ncommand = sh -c '(trap "" TERM; exec sleep 1000) & echo $! > ${root.path("bg")}; echo >&3; exec sleep 1000'\nready = fd\n`);
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "b")).status, 0);
      const bg = Number(await waitFor("the child's pid", () => readFileSync(root.path("bg"), "utf8").trim()));
      root.seenPids.add(bg);
      const { run, data } = await root.json<ChangeResult>("stop", "b");
      assert.equal(run.status, 0);
      assert.deepEqual(data.services.map((s) => [s.name, s.phase, s.reason]), [["b", "down", null]]);
      await waitFor("the child to be gone", () => !alive(bg), 5000);
      await root.shutdown(daemon);
    }),
  );

  test("a process that escaped its service into a session of its own is stopped with it, and the server exits after shutdown", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.service("e", `type = longrun\ncommand = sh -c 'setsid sleep 1000 & echo $! > ${root.path("escaped")}; echo >&3; exec sleep 1000'\nready = fd\n`);
      await root.compile();
      const daemon = await root.startDaemon({ boot: false });
      assert.equal((await root.tend("start", "e")).status, 0);
      const escaped = Number(await waitFor("the escaped pid", () => readFileSync(root.path("escaped"), "utf8").trim()));
      try {
        const r = await root.tend("shutdown");
        assert.equal(r.status, 0, r.stderr);
        let timer: NodeJS.Timeout | undefined;
        const exit = await Promise.race([daemon.exited, new Promise((resolve) => (timer = setTimeout(() => resolve("still running"), 10_000)))]);
        clearTimeout(timer);
        assert.deepEqual(exit, { code: 0, signal: null }, `the server did not exit:\n${daemon.output()}`);
        // The keeper kills the rest of a stopped service's tree: its cgroup, or (without
        // cgroups) the processes that carry the service's mark, whatever their session.
        await waitFor("the escaped process to be gone", () => !alive(escaped));
      } finally {
        if (alive(escaped)) process.kill(escaped, "SIGKILL");
      }
    }),
  );

  test("stop-signal is the signal sent, and a service that exits on it is not reported killed", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.service(
        "q",
        `type = longrun\ncommand = sh -c 'trap "echo INT >> ${root.path("got")}; exit 0" INT; trap "echo TERM >> ${root.path("got")}; exit 0" TERM; echo >&3; while :; do sleep 1000 & wait $!; done'\nready = fd\nstop-signal = INT\nstop-timeout = 10s\n`,
      );
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "q")).status, 0);
      const { run, data } = await root.json<ChangeResult>("stop", "q");
      assert.equal(run.status, 0);
      assert.deepEqual(data.services.map((s) => [s.name, s.phase, s.reason]), [["q", "down", null]]);
      assert.equal(readFileSync(root.path("got"), "utf8"), "INT\n");
      await root.shutdown(daemon);
    }),
  );
});
