// Forking daemons with real processes (`pid-file`, and sd_notify MAINPID=): a launcher
// that forks a daemon, which writes its pid file and leaves the session, is up with the
// daemon's pid, restarted by its launcher when the daemon dies, and stopped with it; a
// pid file that names a process not the service's is a failed start that says so; one
// never written is a start timeout; MAINPID= naming a child the main forked makes it
// the main; without a pid file (`forking = yes`) the one process left in the tree is
// the main, and a launcher that leaves none fails its start; a server that dies meanwhile leaves the next one the daemon as the main, or
// its pid file to watch. Each with cgroups (as root) and with the fallback tree (nginx
// itself: test/daemons/nginx.test.ts).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { findTool, TRACKINGS } from "../helpers.js";
import { alive, readPid, waitFor, withRoot, type TestRoot } from "./harness.js";

const PYTHON = findTool("python3");

/**
 * A launcher as nginx is one: it forks a daemon and exits 0 at once; the daemon leaves
 * the session, writes its own pid file once GATE exists (at once without one), and runs.
 */
const LAUNCHER = `#!/bin/sh
pidfile=$1 gate=$2
setsid sh -c 'while [ -n "$1" ] && [ ! -e "$1" ]; do sleep 0.02; done; echo $$ > "$0"; exec sleep 1000' "$pidfile" "$gate" &
exit 0
`;


function forking(root: TestRoot, extra = "", gate = ""): { pidFile: string } {
  const pidFile = root.path("d.pid");
  const launcher = root.file("launcher.sh", LAUNCHER);
  root.service("d", `type = longrun\ncommand = sh ${launcher} ${pidFile} ${gate}\npid-file = ${pidFile}\nrestart-delay = 100ms\n${extra}`);
  return { pidFile };
}

describe("forking daemons", { concurrency: true }, () => {
  for (const tracking of TRACKINGS) {
    const env = { TEND_TRACKING: tracking.name };

    test(`up with the daemon's pid; killed, restarted by its launcher; stopped, gone with its pid file (tracking ${tracking.name})`, { timeout: 60_000, skip: tracking.skip }, () =>
      withRoot(async (root) => {
        const { pidFile } = forking(root);
        await root.compile();
        const daemon = await root.startDaemon({ env });
        assert.equal((await root.tend("start", "d")).status, 0);
        const up = await root.state("d");
        const first = await readPid(pidFile);
        assert.deepEqual([up.phase, up.pid], ["up", first], "the main is the daemon the pid file names, not the launcher");
        assert.ok(alive(first));

        process.kill(first, "SIGKILL");
        const again = await root.waitPhase("d", (s) => s.phase === "up" && s.pid !== null && s.pid !== first);
        assert.equal(again.restarts, 1);
        assert.equal(await readPid(pidFile), again.pid, "the new daemon wrote its pid");

        assert.equal((await root.tend("stop", "d")).status, 0);
        assert.equal((await root.state("d")).phase, "down");
        await waitFor("the daemon to be gone", () => !alive(again.pid!));
        assert.equal(existsSync(pidFile), false, "the pid file of a daemon that ended is removed: the next start cannot read a stale one");
        await root.shutdown(daemon);
      }),
    );

    test(`forking = yes without a pid file: the main is the one process left in its tree (a daemon and its worker: the daemon); killed, restarted; an empty tree fails the start (tracking ${tracking.name})`, { timeout: 60_000, skip: tracking.skip }, () =>
      withRoot(async (root) => {
        const said = root.path("said.pid"); // for the test only: tend reads no pid file here
        root.service("g", `type = longrun\ncommand = sh -c 'setsid sh -c "echo \\$\\$ > ${said}; sleep 1000 & wait" & exit 0'\nforking = yes\nrestart-delay = 100ms\n`);
        root.service("e", "type = longrun\ncommand = sh -c 'exit 0'\nforking = yes\n");
        await root.compile();
        const daemon = await root.startDaemon({ env });
        assert.equal((await root.tend("start", "g")).status, 0);
        const up = await root.state("g");
        const first = await readPid(said);
        assert.deepEqual([up.phase, up.pid], ["up", first], "the daemon, not its worker (a child of it) nor the launcher");
        root.seenPids.add(first);
        writeFileSync(said, "");
        process.kill(first, "SIGKILL");
        const again = await root.waitPhase("g", (s) => s.phase === "up" && s.pid !== null && s.pid !== first);
        assert.equal(again.restarts, 1);
        assert.equal(again.pid, await readPid(said));
        assert.equal((await root.tend("stop", "g")).status, 0);
        await waitFor("the daemon to be gone", () => !alive(again.pid!));
        const empty = await root.tend("start", "e");
        assert.equal(empty.status, 1, empty.stdout + empty.stderr);
        assert.equal((await root.state("e")).reason, "its launcher left no process running: its daemon ended, or was never started");
        await root.shutdown(daemon);
      }),
    );

    test(`a pid file naming a process that is not the service's is a failed start that says so (tracking ${tracking.name})`, { timeout: 60_000, skip: tracking.skip }, () =>
      withRoot(async (root) => {
        const pidFile = root.path("x.pid");
        // It names the test's own process: running, and nothing of the service's.
        root.service("x", `type = longrun\ncommand = sh -c 'echo ${process.pid} > ${pidFile}'\npid-file = ${pidFile}\n`);
        await root.compile();
        const daemon = await root.startDaemon({ env });
        const run = await root.tend("start", "x");
        assert.equal(run.status, 1, run.stdout + run.stderr);
        const failed = await root.state("x");
        assert.equal(failed.phase, "failed");
        assert.equal(failed.reason, `pid file ${pidFile} names ${process.pid}, which is not a process of x`);
        await root.shutdown(daemon);
      }),
    );

    test(`a pid file never written is a start timeout, and what the launcher left is killed (tracking ${tracking.name})`, { timeout: 60_000, skip: tracking.skip }, () =>
      withRoot(async (root) => {
        const pidFile = root.path("never.pid");
        const orphan = root.path("orphan");
        root.service("n", `type = longrun\ncommand = sh -c 'sleep 1000 & echo $! > ${orphan}'\npid-file = ${pidFile}\nstart-timeout = 1s\n`);
        await root.compile();
        const daemon = await root.startDaemon({ env });
        const run = await root.tend("start", "n");
        assert.equal(run.status, 1, run.stdout + run.stderr);
        const failed = await root.state("n");
        assert.equal(failed.reason, `start timeout: ${pidFile} named no running process of the service within 1s`);
        const left = await readPid(orphan);
        root.seenPids.add(left);
        await waitFor("what the launcher left to be killed", () => !alive(left));
        await root.shutdown(daemon);
      }),
    );

    test(`sd_notify MAINPID= naming a child the main forked: the child is the main (tracking ${tracking.name})`, { timeout: 60_000, skip: tracking.skip || (PYTHON === null ? "python3 is not installed" : false) }, () =>
      withRoot(async (root) => {
        const program = root.file(
          "notify.py",
          [
            "import os, socket, subprocess, time",
            "child = subprocess.Popen(['sleep', '1000'])",
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)",
            "s.connect(os.environ['NOTIFY_SOCKET'])",
            "s.send(b'MAINPID=%d\\nREADY=1' % child.pid)",
            "time.sleep(1000)",
            "",
          ].join("\n"),
        );
        root.service("m", `type = longrun\ncommand = ${PYTHON} ${program}\nready = notify\nrestart-delay = 100ms\n`);
        await root.compile();
        const daemon = await root.startDaemon({ env });
        assert.equal((await root.tend("start", "m")).status, 0);
        const up = await root.waitPhase("m", (s) => s.phase === "up" && s.pid !== null && readFileSync(`/proc/${s.pid}/cmdline`, "utf8").startsWith("sleep"));
        // Its end is the service's (its status went to its parent): restarted, the old main with it.
        process.kill(up.pid!, "SIGKILL");
        const again = await root.waitPhase("m", (s) => s.phase === "up" && s.pid !== up.pid && s.restarts === 1);
        assert.match(readFileSync(`/proc/${again.pid}/cmdline`, "utf8"), /^sleep/);
        assert.equal((await root.tend("stop", "m")).status, 0);
        await waitFor("the main to be gone", () => !alive(again.pid!));
        await root.shutdown(daemon);
      }),
    );

    test(`a server that dies while the pid file is awaited: the next one watches it, and the daemon is its main (tracking ${tracking.name})`, { timeout: 60_000, skip: tracking.skip }, () =>
      withRoot(async (root) => {
        const gate = root.path("gate");
        const { pidFile } = forking(root, "", gate);
        await root.compile();
        const first = await root.startDaemon({ env });
        assert.equal((await root.tend("start", "d", "--no-wait")).status, 0);
        await waitFor("the launcher to have exited", async () => {
          const s = await root.state("d");
          return s.phase === "starting" && s.pid === null;
        });
        first.child.kill("SIGKILL");
        await first.exited;
        writeFileSync(gate, "");
        const daemonPid = await readPid(pidFile);
        root.seenPids.add(daemonPid);

        const second = await root.startDaemon({ env });
        const up = await root.waitPhase("d", "up");
        assert.equal(up.pid, daemonPid);
        // A third server finds the daemon in the keeper's table as the main, not the dead launcher.
        second.child.kill("SIGKILL");
        await second.exited;
        const third = await root.startDaemon({ env });
        const kept = await root.state("d");
        assert.deepEqual([kept.phase, kept.pid], ["up", daemonPid]);
        assert.equal((await root.tend("stop", "d")).status, 0);
        await waitFor("the daemon to be gone", () => !alive(daemonPid));
        await root.shutdown(third);
      }),
    );
  }

  test("a pid file left from an earlier run is waited past, even one naming a running process: the daemon's own is taken", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const gate = root.path("gate");
      const { pidFile } = forking(root, "", gate);
      // Older than the launcher, and naming a process that runs (the test's): not a refusal, a stale file.
      writeFileSync(pidFile, `${process.pid}\n`);
      const hourAgo = new Date(Date.now() - 3_600_000);
      utimesSync(pidFile, hourAgo, hourAgo);
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "d", "--no-wait")).status, 0);
      await waitFor("the stale file noticed", () => /d: pid file .* is older than its launcher \(left from an earlier run\): waiting for it to name the daemon/.test(daemon.output()));
      assert.equal((await root.state("d")).phase, "starting");
      writeFileSync(gate, "");
      const up = await root.waitPhase("d", "up");
      assert.notEqual(up.pid, process.pid);
      assert.equal(up.pid, await readPid(pidFile));
      await root.shutdown(daemon);
    }),
  );

  test("'ready = notify' and 'ready = fd' with 'pid-file' or 'forking' are refused by the compiler, and so are a relative pid file, 'forking = no' with one, and 'forking' on a oneshot", { timeout: 30_000 }, () =>
    withRoot(async (root) => {
      root.services({
        a: "type = longrun\ncommand = nginx\npid-file = /run/a.pid\nready = notify\n",
        b: "type = longrun\ncommand = nginx\npid-file = /run/b.pid\nready = fd\n",
        c: "type = longrun\ncommand = nginx\npid-file = run/c.pid\n",
        d: "type = longrun\ncommand = nginx\nforking = no\npid-file = /run/d.pid\n",
        e: "type = longrun\ncommand = nginx\nforking = yes\nready = notify\n",
        f: "type = oneshot\nup = nginx\nforking = yes\n",
      });
      const run = await root.tend("check");
      assert.equal(run.status, 1);
      assert.match(run.stdout + run.stderr, /a:4: .*names its main process itself \(MAINPID=\)/);
      assert.match(run.stdout + run.stderr, /b:4: .*'ready = fd' cannot tell when a forking daemon is ready/);
      assert.match(run.stdout + run.stderr, /c:3:\d+: .*a pid file is an absolute path/);
      assert.match(run.stdout + run.stderr, /d:3: .*'forking = no' with a 'pid-file'/);
      assert.match(run.stdout + run.stderr, /e:4: .*names its main process itself \(MAINPID=\): leave out 'forking'/);
      assert.match(run.stdout + run.stderr, /f:3:\d*:? .*forking/);
    }),
  );
});
