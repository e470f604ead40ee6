// A main process named after the spawn, driven over the keeper's protocol with real
// processes: a forking daemon's, once its launcher exited (`main`), and the one sd_notify
// MAINPID= names. The keeper takes only a running process of the service's tree
// (cgroup, or what the fallback knows of it), and from then on it is the main: in the
// table, its exit the service's, the rest of the tree going with it.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { TRACKINGS } from "../helpers.js";
import { alive, readPid, waitFor } from "../server/harness.js";
import { withKeeper, type Connection, type Keeper } from "./harness.js";



/** A launcher that forks a daemon (a shell that forks a child, then becomes `sleep`), writes its pid to `pidFile` and exits 0. */
function launch(k: Keeper, c: Connection, service: string, pidFile: string, childFile: string): void {
  const daemon = `sleep 1000 & echo \\$! > ${childFile}; exec sleep 1000`;
  c.send(k.spawnMessage(service, ["sh", "-c", `sh -c "${daemon}" & echo $! > ${pidFile}`], { role: "launcher", killRest: false }));
}

/** A notify service that forks a child and names it with MAINPID= (python3: it sends the datagram itself), then `after`. */
function mainpid(k: Keeper, c: Connection, service: string, after: "lives on" | "exits"): void {
  const notify = join(k.dir, `${service}.notify`);
  const python = [
    "import os, socket, subprocess, sys, time",
    "child = subprocess.Popen(['sleep', '1000'])",
    "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)",
    "s.connect(os.environ['NOTIFY_SOCKET'])",
    "s.send(b'MAINPID=%d\\nREADY=1' % child.pid)",
    after === "exits" ? "time.sleep(0.3); sys.exit(0)" : "time.sleep(1000)",
  ].join("\n");
  c.send(k.spawnMessage(service, ["python3", "-c", python], { notify, env: ["PATH=/usr/local/bin:/usr/bin:/bin", `TEND_SERVICE=${service}`, `NOTIFY_SOCKET=${notify}`] }));
}

describe("keeper: a main named after the spawn", { concurrency: true }, () => {
  for (const tracking of TRACKINGS) {
    test(`a launcher's daemon taken as the main: in the table, its exit the service's, its child with it (${tracking.name})`, { timeout: 30_000, skip: tracking.skip }, () =>
      withKeeper({ tracking: tracking.name }, async (k) => {
        const c = await k.connect();
        const pidFile = join(k.dir, "d.pid");
        const childFile = join(k.dir, "d.child");
        launch(k, c, "d", pidFile, childFile);
        const launcher = await c.next("exited", (m) => m.service === "d");
        assert.equal(launcher.code, 0);
        const [daemon, child] = [await readPid(pidFile), await readPid(childFile)];
        assert.ok(alive(daemon) && alive(child), "the launcher's exit leaves its daemon running (no kill-rest)");
        c.send({ type: "main", service: "d", pid: daemon });
        assert.equal((await c.next("main", (m) => m.service === "d")).pid, daemon);

        c.socket.destroy(); // the server goes; the next one reads the table
        await c.closed;
        const again = await k.connect();
        const proc = again.messages.find((m) => m.type === "proc" && m.service === "d");
        assert.deepEqual(proc?.type === "proc" && [proc.role, proc.pid], ["main", daemon], "a next server sees the daemon as the main, not the dead launcher");

        process.kill(daemon, "SIGKILL");
        const exited = await again.next("exited", (m) => m.service === "d" && m.pid === daemon);
        assert.equal(exited.signal, "SIGKILL");
        await waitFor("the daemon's child to go with it", () => !alive(child));
      }),
    );

    test(`what is not the service's is refused: the test's own pid, a pid not running, another service's main (${tracking.name})`, { timeout: 30_000, skip: tracking.skip }, () =>
      withKeeper({ tracking: tracking.name }, async (k) => {
        const c = await k.connect();
        c.send(k.spawnMessage("other", ["sleep", "1000"]));
        const other = await c.next("spawned", (m) => m.service === "other");
        launch(k, c, "d", join(k.dir, "d.pid"), join(k.dir, "d.child"));
        await c.next("exited", (m) => m.service === "d");
        const refusal = async (pid: number): Promise<string> => {
          const from = c.messages.length;
          c.send({ type: "main", service: "d", pid });
          return (await c.next("main-refused", (m) => m.service === "d" && m.pid === pid, from)).error;
        };
        assert.equal(await refusal(process.pid), "is not a process of d");
        assert.equal(await refusal(4_000_000), "is not running");
        assert.equal(await refusal(other.pid), "is other's main process");
        assert.equal(c.messages.some((m) => m.type === "main"), false);
        c.send({ type: "main", service: "nobody", pid: process.pid });
        assert.match((await c.next("error")).message, /no such service/);
        // The daemon was never taken as a main, so nothing of the keeper's ends it: the test does.
        const daemons = [await readPid(join(k.dir, "d.pid")), await readPid(join(k.dir, "d.child"))];
        for (const pid of daemons) process.kill(pid, "SIGKILL");
        await waitFor("the refused daemon and its child to be gone", () => daemons.every((pid) => !alive(pid)));
      }),
    );

    test(`MAINPID= naming a child the main forked: taken; the child's end ends the service, the old main with it (${tracking.name})`, { timeout: 30_000, skip: tracking.skip }, () =>
      withKeeper({ tracking: tracking.name }, async (k) => {
        const c = await k.connect();
        mainpid(k, c, "n", "lives on");
        const spawned = await c.next("spawned", (m) => m.service === "n");
        const taken = await c.next("main", (m) => m.service === "n");
        assert.notEqual(taken.pid, spawned.pid);
        assert.equal((await c.next("ready", (m) => m.service === "n")).pid, taken.pid, "readiness said of the run holds for its main");
        process.kill(taken.pid, "SIGKILL");
        // Its parent, the old main, reaps it (or would): its status is not the keeper's to know.
        const exited = await c.next("exited", (m) => m.service === "n");
        assert.deepEqual([exited.pid, exited.code, exited.signal], [taken.pid, null, null]);
        await waitFor("the old main to go with it", () => !alive(spawned.pid));
      }),
    );

    test(`MAINPID= naming a child the main forked, and the main exits: the child is the keeper's, its exit status known (${tracking.name})`, { timeout: 30_000, skip: tracking.skip }, () =>
      withKeeper({ tracking: tracking.name }, async (k) => {
        const c = await k.connect();
        mainpid(k, c, "n", "exits");
        const spawned = await c.next("spawned", (m) => m.service === "n");
        const taken = await c.next("main", (m) => m.service === "n");
        await waitFor("the old main to exit", () => !alive(spawned.pid));
        assert.equal(c.messages.some((m) => m.type === "exited" && m.service === "n"), false, "the old main's exit is not the service's");
        process.kill(taken.pid, "SIGTERM");
        const exited = await c.next("exited", (m) => m.service === "n");
        assert.deepEqual([exited.pid, exited.signal], [taken.pid, "SIGTERM"]);
      }),
    );
  }
});
