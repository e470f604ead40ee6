// Re-adoption with real processes: the server is killed with SIGKILL while services are
// in every phase (up and printing, starting, stopping, a task running, a oneshot in its
// `up`, a restart delay pending, a hook running before its service's stop). The next
// server takes each over where it was: the same processes, nothing started twice,
// nothing forgotten, no line missing from a log.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ServiceStatus } from "../../src/server/protocol.js";
import { waitFor, withRoot } from "./harness.js";

describe("re-adoption", () => {
  test("a server killed with services in every phase: the next one carries each on where it was", { timeout: 120_000 }, () =>
    withRoot(async (root) => {
      const gate = (name: string): string => root.path(`gate-${name}`);
      const waitGate = (name: string): string => `while [ ! -e ${gate(name)} ]; do sleep 0.02; done`;
      root.services({
        counter: "type = longrun\ncommand = sh -c 'i=0; echo >&3; while :; do i=$((i+1)); echo $i; sleep 0.01; done'\nready = fd\n",
        slow: `type = longrun\ncommand = sh -c '${waitGate("slow")}; echo >&3; exec sleep 1000'\nready = fd\n`,
        stubborn: `type = longrun\ncommand = sh -c 'trap "${waitGate("stubborn")}; exit 0" TERM; echo >&3; while :; do sleep 0.05; done'\nready = fd\nstop-timeout = 60s\n`,
        job: `type = task\ncommand = sh -c '${waitGate("job")}'\n`,
        setup: `type = oneshot\nup = sh -c '${waitGate("setup")}'\n`,
        crashy: "type = longrun\ncommand = sh -c 'exit 1'\nrestart = always\nrestart-delay = 2s\nrestart-limit = none\n",
        db: "type = longrun\ncommand = sh -c 'echo >&3; exec sleep 1000'\nready = fd\n",
        backup: `type = task\ncommand = sh -c '${waitGate("backup")}'\nstart-on = stopping db\n`,
      });
      await root.compile();
      const first = await root.startDaemon();
      for (const name of ["counter", "db", "stubborn"]) assert.equal((await root.tend("start", name)).status, 0);
      for (const name of ["slow", "job", "setup", "crashy"]) assert.equal((await root.tend("start", name, "--no-wait")).status, 0);
      assert.equal((await root.tend("stop", "stubborn", "--no-wait")).status, 0);
      assert.equal((await root.tend("stop", "db", "--no-wait")).status, 0);
      const running = (s: ServiceStatus): boolean => s.pid !== null;
      const before = {
        counter: await root.waitPhase("counter", "up"),
        slow: await root.waitPhase("slow", (s) => s.phase === "starting" && running(s)),
        stubborn: await root.waitPhase("stubborn", (s) => s.phase === "stopping" && running(s)),
        job: await root.waitPhase("job", (s) => s.phase === "running" && running(s)),
        setup: await root.waitPhase("setup", (s) => s.phase === "starting" && running(s)),
        backup: await root.waitPhase("backup", (s) => s.phase === "running" && running(s)),
        db: await root.waitPhase("db", (s) => s.phase === "up" && running(s)),
        crashy: await root.waitPhase("crashy", (s) => s.phase === "starting" && /restarting in/.test(s.reason ?? "")),
      };
      const log = join(root.places.log, "counter", "current");
      await waitFor("the counter to be counting", () => readFileSync(log, "utf8").split("\n").length > 20);

      first.child.kill("SIGKILL");
      await first.exited;
      const second = await root.startDaemon();
      await waitFor("the take-over line", () => /took over 7 running processes and the previous server's state/.test(second.output()));
      for (const name of ["counter", "slow", "stubborn", "job", "setup", "backup", "db"] as const) {
        const now = await root.state(name);
        assert.deepEqual([now.phase, now.pid], [before[name].phase, before[name].pid], `${name} carries on as it was`);
      }

      // Each goes on from there, as if no server had changed.
      writeFileSync(gate("slow"), "");
      await root.waitPhase("slow", (s) => s.phase === "up" && s.pid === before.slow.pid);
      writeFileSync(gate("job"), "");
      await root.waitPhase("job", (s) => s.phase === "down" && s.reason === "completed");
      writeFileSync(gate("setup"), "");
      await root.waitPhase("setup", "up");
      writeFileSync(gate("stubborn"), "");
      await root.waitPhase("stubborn", "down");
      assert.equal((await root.state("db")).phase, "up", "db waits for its hook");
      writeFileSync(gate("backup"), "");
      await root.waitPhase("db", "down");
      // The restart delay was armed again: crashy comes back (and crashes) on its own.
      await root.waitPhase("crashy", (s) => s.restarts > before.crashy.restarts, 30_000);

      assert.equal((await root.tend("stop", "counter")).status, 0);
      const counted = readFileSync(log, "utf8")
        .split("\n")
        .map((l) => /^\S+ (\d+)$/.exec(l)?.[1])
        .filter((n): n is string => n !== undefined)
        .map(Number);
      assert.ok(counted.length > 20);
      counted.forEach((n, i) => i > 0 && assert.equal(n, counted[i - 1]! + 1, "a line was lost or doubled across the server's death"));
      const starts = readFileSync(log, "utf8").split("\n").filter((l) => l.endsWith("[tend] starting"));
      assert.equal(starts.length, 1, "the counter was started once");
      await root.shutdown(second);
    }),
  );
});
