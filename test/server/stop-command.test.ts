// A longrun's `stop` command with real processes: it runs beside the main process with
// MAINPID before any signal (a daemon that ignores SIGTERM is stopped by it alone), and
// one that hangs is killed at the stop timeout, the stop going on with the stop signal.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readLines, withRoot } from "./harness.js";

/** A daemon that ignores SIGTERM and ends on SIGUSR1, writing each to LOG. */
const DAEMON = `log=$1
trap '' TERM
trap 'echo main USR1 >> "$log"; exit 0' USR1
echo >&3
while :; do sleep 0.05; done
`;

describe("stop command", { concurrency: true }, () => {
  test("runs with MAINPID before any signal, and what it does is the stop", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const script = root.file("daemon.sh", DAEMON);
      const log = root.path("web.log");
      root.services({
        web: `type = longrun\ncommand = sh ${script} ${log}\nready = fd\nstop = sh -c 'echo stop $1 >> ${log}; kill -USR1 $1' stop $MAINPID\nstop-timeout = 30s\n`,
      });
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "web")).status, 0);
      const { pid } = await root.state("web");
      const stopped = await root.tend("stop", "web");
      assert.equal(stopped.status, 0, stopped.stderr);
      assert.deepEqual(readLines(log), [`stop ${pid}`, "main USR1"]);
      const after = await root.state("web");
      assert.deepEqual([after.phase, after.reason], ["down", null], "stopped by the command, not killed");
      await root.shutdown(daemon);
    }));

  test("one that hangs is killed at the stop timeout; the stop signal follows", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const marker = root.path("stop-ran");
      root.services({
        web: `type = longrun\ncommand = sleep 1000\nstop = sh -c 'touch ${marker}; exec sleep 1000'\nstop-timeout = 1s\n`,
      });
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "web")).status, 0);
      const stopped = await root.tend("stop", "web");
      assert.equal(stopped.status, 0, stopped.stderr);
      assert.ok(existsSync(marker), "the stop command ran");
      const after = await root.state("web");
      assert.equal(after.phase, "down");
      assert.equal(after.lastExit?.signal, "SIGTERM", "the main was sent its stop signal once the command was killed");
      await root.shutdown(daemon);
    }));
});
