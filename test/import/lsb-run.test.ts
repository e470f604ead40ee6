// An LSB init script translated by src/import/lsb.ts and run by a real server: its
// start is the forking daemon's launcher, the daemon the pid file names is the main,
// `tend reload` and `tend stop` call the script (its stop command stops the daemon);
// one that names no pid file has the one process its start leaves as its main.
// A hand-written one, and, as root, Debian's own /etc/init.d/cron with the real cron,
// under a server in a private mount namespace whose /run is a tmpfs of its own (its
// pid file goes there, not into the machine's /run).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { translateLsb } from "../../src/import/lsb.js";
import { findTool } from "../helpers.js";
import { alive, readLines, readPid, waitFor, withRoot } from "../server/harness.js";

const CONTRIB = join(import.meta.dirname, "../../../contrib/lsb");
const BUNDLES = Object.fromEntries(readdirSync(CONTRIB).map((n) => [n, readFileSync(join(CONTRIB, n), "utf8")]));
const NO_FILES = { read: () => null, list: () => [] };

/** Why Debian's cron cannot be run here in a private mount namespace, or false. */
function noCron(): string | false {
  if (process.getuid?.() !== 0) return "needs root: cron runs as root, in a private mount namespace";
  if (!existsSync("/etc/init.d/cron") || !existsSync("/usr/sbin/cron")) return "cron is not installed (apt-get install --no-install-recommends cron)";
  if (findTool("unshare") === null) return "needs unshare (util-linux)";
  const probe = spawnSync("unshare", ["--mount", "--propagation", "private", "true"], { stdio: "ignore" });
  return probe.status === 0 ? false : "unshare --mount is not permitted here (a container without CAP_SYS_ADMIN)";
}

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

  test("a script that names no pid file: its daemon, the one process its start leaves, is the main; killed, the service restarts; stopped by its script", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const log = root.path("bare.log");
      const path = root.file("bare", `#!/bin/sh
### BEGIN INIT INFO
# Provides:          bare
# Default-Start:     2 3 4 5
### END INIT INFO
case "$1" in
  start) setsid sh -c 'exec sleep 1000' > /dev/null 2>&1 & ;;
  stop) echo "stop $MAINPID" >> ${log}; kill "$MAINPID" ;;
esac
`);
      const r = translateLsb({ path, text: readFileSync(path, "utf8"), files: NO_FILES, known: new Set() });
      assert.ok(r.ok, r.ok ? "" : r.error);
      assert.match(r.translation.files[0]!.text, /^forking = yes$/m);
      root.services({ bare: `${r.translation.files[0]!.text}restart-delay = 100ms\n` });
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "bare")).status, 0);
      const up = await root.state("bare");
      assert.equal(up.phase, "up");
      assert.equal(readFileSync(`/proc/${up.pid}/cmdline`, "utf8"), "sleep\x001000\x00", "the main is the daemon, not its script");
      root.seenPids.add(up.pid!);
      process.kill(up.pid!, "SIGKILL");
      const again = await root.waitPhase("bare", (s) => s.phase === "up" && s.pid !== null && s.pid !== up.pid);
      assert.equal(again.restarts, 1, "its crash noticed, restarted by its policy");
      const stopped = await root.tend("stop", "bare");
      assert.equal(stopped.status, 0, stopped.stderr);
      assert.deepEqual(readLines(log), [`stop ${again.pid}`], "stopped by its script, told the daemon's pid");
      assert.deepEqual([(await root.state("bare")).phase, alive(again.pid!)], ["down", false]);
      await root.shutdown(daemon);
    }));

  test("Debian's /etc/init.d/cron: the real cron up as the main its pid file names, stopped by its script", { timeout: 60_000, skip: noCron() }, () =>
    withRoot(async (root) => {
      const r = translateLsb({ path: "/etc/init.d/cron", text: readFileSync("/etc/init.d/cron", "utf8"), files: NO_FILES, known: new Set(Object.keys(BUNDLES)) });
      assert.ok(r.ok, r.ok ? "" : r.error);
      root.services({ ...BUNDLES, cron: r.translation.files[0]!.text });
      await root.compile();
      const daemon = await root.startDaemon({ shellPrefix: `exec unshare --mount --propagation private sh -c 'mount -t tmpfs -o mode=0755 tend-test-run /run && exec "$@"' sh "$0" "$@"` });
      const started = await root.tend("start", "cron");
      assert.equal(started.status, 0, started.stderr + daemon.output());
      const up = await root.state("cron");
      assert.equal(up.phase, "up");
      assert.equal(readFileSync(`/proc/${up.pid}/comm`, "utf8").trim(), "cron", "the main is cron itself, not its script");
      const stopped = await root.tend("stop", "cron");
      assert.equal(stopped.status, 0, stopped.stderr);
      assert.equal((await root.state("cron")).phase, "down");
      await waitFor("cron to be gone", () => !alive(up.pid!));
      await root.shutdown(daemon);
    }));
});
