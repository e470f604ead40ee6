// Durations longer than Node's timers can hold (2^31-1 ms, 24.8 days) must mean what
// they say: a `stop-timeout = 30d` does not SIGKILL at once, a `start-timeout = 30d`
// does not fail the start at once, a `restart-delay = 30d` does not restart at once.
//
// No sleeping: each long-timer service runs beside a twin whose timer is short, and
// what the twin's timer does (a kill, a failure, a restart) is the moment at which the
// long one must not have done the same.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { alive, readLines, waitFor, withRoot } from "./harness.js";

/** A longrun that ignores SIGTERM, says it is ready on fd 3 when `ready`, and runs until killed. */
const stubborn = (ready: boolean): string => `command = sh -c 'trap "" TERM; ${ready ? "echo >&3; " : ""}while :; do sleep 0.05; done'\nready = fd\n`;

describe("durations beyond 24.8 days", { concurrency: true }, () => {
  test("stop-timeout = 30d waits; its twin with 1s is SIGKILLed", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({
        long: `type = longrun\n${stubborn(true)}stop-timeout = 30d\n`,
        short: `type = longrun\n${stubborn(true)}stop-timeout = 1s\n`,
      });
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "long", "short")).status, 0);
      const { pid } = await root.state("long");
      assert.equal((await root.tend("stop", "--no-wait", "long", "short")).status, 0);
      await root.waitPhase("short", "down");
      const long = await root.state("long");
      assert.equal(long.phase, "stopping", `the 30d stop timeout fired: ${JSON.stringify(long)}`);
      assert.ok(alive(pid!), "the service with a 30d stop timeout was killed");
      // What the test started, it ends: the server's shutdown waits for the stop timeout too.
      assert.equal((await root.tend("signal", "long", "KILL")).status, 0);
      await root.waitPhase("long", "down");
      await root.shutdown(daemon);
    }),
  );

  test("start-timeout = 30d waits; its twin with 1s fails", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({
        long: `type = longrun\n${stubborn(false)}start-timeout = 30d\nstop-timeout = 300ms\n`,
        short: `type = longrun\n${stubborn(false)}start-timeout = 1s\nstop-timeout = 300ms\n`,
      });
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "--no-wait", "long", "short")).status, 0);
      const short = await root.waitPhase("short", "failed");
      assert.match(short.reason ?? "", /start timeout/);
      const long = await root.state("long");
      assert.equal(long.phase, "starting", `the 30d start timeout fired: ${JSON.stringify(long)}`);
      await root.shutdown(daemon);
    }),
  );

  test("restart-delay = 30d waits; its twin with 1s is restarted", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const exits = (name: string): string => `command = sh -c 'echo run >> ${root.path(name)}; exit 3'\nrestart = always\nrestart-limit = none\n`;
      root.services({
        long: `type = longrun\n${exits("long.runs")}restart-delay = 30d\nrestart-delay-max = 60d\n`,
        short: `type = longrun\n${exits("short.runs")}restart-delay = 1s\n`,
      });
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "--no-wait", "long", "short")).status, 0);
      await waitFor("short to run a second time", () => readLines(root.path("short.runs")).length >= 2);
      assert.equal(readLines(root.path("long.runs")).length, 1, "the 30d restart delay fired");
      await root.shutdown(daemon);
    }),
  );
});
