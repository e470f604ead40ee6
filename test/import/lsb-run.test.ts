// An LSB init script translated by src/import/lsb.ts and run by a real server: its
// start is the forking daemon's launcher, the daemon the pid file names is the main,
// `tend reload` and `tend stop` call the script (its stop command stops the daemon).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { translateLsb } from "../../src/import/lsb.js";
import { readLines, readPid, waitFor, withRoot } from "../server/harness.js";

const script = (pidFile: string, log: string): string => `#!/bin/sh
### BEGIN INIT INFO
# Provides:          demo
# Required-Start:    $syslog
# Default-Start:     2 3 4 5
# Short-Description: a demo daemon
### END INIT INFO
PIDFILE=${pidFile}
LOG=${log}
case "$1" in
  start)
    setsid sh -c 'echo $$ > "$0"; trap "echo HUP >> $1" HUP; trap "exit 0" TERM; while :; do sleep 0.05; done' "$PIDFILE" "$LOG" > /dev/null 2>&1 &
    ;;
  stop)
    echo "stop $(cat "$PIDFILE")" >> "$LOG"; kill "$(cat "$PIDFILE")"
    ;;
  reload|force-reload)
    kill -HUP "$(cat "$PIDFILE")"
    ;;
esac
`;

describe("an LSB init script run by tend", () => {
  test("started through its script, supervised through its pid file, reloaded and stopped by its script", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const pidFile = root.path("demo.pid");
      const log = root.path("demo.log");
      const path = root.file("demo", script(pidFile, log));
      chmodSync(path, 0o755);
      const r = translateLsb({ path, text: readFileSync(path, "utf8"), files: { read: () => null, list: () => [] }, known: new Set(["syslog"]) });
      assert.ok(r.ok, r.ok ? "" : r.error);
      const syslog = readFileSync(join(import.meta.dirname, "../../../contrib/lsb/syslog"), "utf8");
      root.services({ demo: r.translation.files[0]!.text, syslog });
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "demo")).status, 0);
      const up = await root.state("demo");
      const pid = await readPid(pidFile);
      assert.deepEqual([up.phase, up.pid], ["up", pid], "the main is the daemon its pid file names");
      assert.equal((await root.tend("reload", "demo")).status, 0);
      await waitFor("the daemon's HUP", () => readLines(log).includes("HUP"));
      const stopped = await root.tend("stop", "demo");
      assert.equal(stopped.status, 0, stopped.stderr);
      assert.ok(readLines(log).includes(`stop ${pid}`), "stopped by its script");
      const after = await root.state("demo");
      assert.deepEqual([after.phase, after.reason], ["down", null]);
      await root.shutdown(daemon);
    }));
});
