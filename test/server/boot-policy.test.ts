// When a booted server ends, and with which status (`--exit-with`, `--on-boot-failure`),
// what `tend ready` answers, and the run settings from flags and tend.conf: real
// servers in a temporary root, as a container's entry point runs them.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { DEADLINE_MS, events, once, withRoot, writePrograms, type Daemon, type TestRoot } from "./harness.js";

/** A longrun that is ready once `gate` exists, then exits `code` once `stop` exists. */
const gated = (root: TestRoot, name: string, code: number): string =>
  `type = longrun\nready = fd\ncommand = sh -c 'until [ -e ${root.path(`${name}.ready`)} ]; do sleep 0.02; done; echo >&3; until [ -e ${root.path(`${name}.stop`)} ]; do sleep 0.02; done; exit ${code}'\n`;

const touch = (root: TestRoot, file: string): void => writeFileSync(root.path(file), "");

/** Waits for the server to exit by itself, with no service process left. */
async function ends(root: TestRoot, daemon: Daemon): Promise<number | null> {
  const exit = await root.awaitExit(daemon);
  assert.equal(exit.signal, null, daemon.output());
  return exit.code;
}

describe("boot policy", { concurrency: true }, () => {
  test("--exit-with app: app exits 7, every other service stops first, and 'tend boot' exits 7", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const { longrun, log } = writePrograms(root);
      root.services({
        db: longrun("db"),
        app: `${gated(root, "app", 7)}requires = db\nrestart = always\n`,
        default: "type = bundle\ncontents = db\n",
      });
      await root.compile();
      const daemon = await root.startDaemon({ boot: true, args: ["--exit-with", "app"] });
      touch(root, "app.ready");
      await root.waitPhase("app", "up"); // not in default: --exit-with starts it
      await root.status();
      touch(root, "app.stop");
      assert.equal(await ends(root, daemon), 7, daemon.output());
      once(events(log), "stop", "db");
      assert.match(daemon.output(), /app exited with code 7: stopping everything \(the server will exit with status 7\)/);
      assert.match(daemon.output(), /all services are down; exiting with status 7: app exited with code 7\n/);
      assert.doesNotMatch(daemon.output(), /app: starting: restarting/, "restart = always, yet it is not restarted");
    }),
  );

  test("--on-boot-failure stop: a required oneshot fails during the boot, the server stops everything and exits 1 naming it", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({
        web: "type = longrun\ncommand = sleep 1000\nrequires = setup\n",
        other: "type = longrun\ncommand = sleep 1000\n",
        setup: "type = oneshot\nup = sh -c 'exit 4'\n",
        default: "type = bundle\ncontents = web other\n",
      });
      await root.compile();
      const daemon = await root.startDaemon({ boot: true, args: ["--on-boot-failure", "stop"], noWait: true });
      assert.equal(await ends(root, daemon), 1, daemon.output());
      assert.match(daemon.output(), /exiting with status 1: boot failed: setup failed: up exited with code 4\n/);
    }),
  );

  test("without it (report): the failure is in the status, and the server serves on", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({ setup: "type = oneshot\nup = sh -c 'exit 4'\n", other: "type = longrun\ncommand = sleep 1000\n", default: "type = bundle\ncontents = setup other\n" });
      await root.compile();
      const daemon = await root.startDaemon({ boot: true });
      await root.waitPhase("setup", "failed");
      await root.waitPhase("other", "up");
      const ready = await root.tend("ready");
      assert.equal(ready.status, 1);
      assert.equal(ready.stdout, "not ready: failed: setup\n");
      await root.shutdown(daemon);
    }),
  );

  test("a database without the --exit-with service cannot be applied: the boot could not end", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({ app: "type = longrun\ncommand = sleep 1000\n", other: "type = longrun\ncommand = sleep 1000\n" });
      await root.compile();
      const daemon = await root.startDaemon({ args: ["--exit-with", "app"] });
      await root.waitPhase("app", "up"); // a daemon boots nothing, but starts its --exit-with service
      root.removeService("app");
      const applied = await root.tend("apply");
      assert.equal(applied.status, 1, applied.stdout + applied.stderr);
      assert.match(applied.stderr, /^tend: the server runs with --exit-with app: there is no service 'app' in the database \(generation 2\): this database cannot be applied$/m);
      assert.equal((await root.state("app")).phase, "up");
      await root.shutdown(daemon);
    }),
  );

  test("an --exit-with that names no longrun or task: the server does not boot, and exits 2", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({ setup: "type = oneshot\nup = true\n" });
      await root.compile();
      for (const [name, why] of [
        ["nosuch", "there is no service 'nosuch' in the database"],
        ["setup", "'setup' is a oneshot; only a longrun or a task"],
      ] as const) {
        const daemon = await root.startDaemon({ boot: true, args: ["--exit-with", name], noWait: true });
        assert.equal(await ends(root, daemon), 2, daemon.output());
        assert.ok(daemon.output().includes(`cannot boot: --exit-with ${name}: ${why}`), daemon.output());
      }
    }),
  );

  test("tend ready: 1 while a service comes up, 0 once it is; --wait returns when it is, or names what is still waiting", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const none = await root.tend("ready");
      assert.equal(none.status, 3, "no server: not running");
      assert.match(none.stderr, /no tend server is running/);
      root.services({
        slow: gated(root, "slow", 0),
        never: "type = longrun\nready = fd\ncommand = sleep 1000\n",
        broken: "type = oneshot\nup = false\n",
        tune: "type = oneshot\nup = true\n",
        default: "type = bundle\ncontents = slow tune\n",
      });
      await root.compile();
      // A probe that starts before the server waits for it too.
      const early = root.tend("ready", "--wait", "30s", "tune");
      const quick = await root.tend("ready", "--wait", "100ms");
      assert.equal(quick.status, 3, "no server came within the wait");
      const daemon = await root.startDaemon({ boot: true });
      const before = await root.tend("ready");
      assert.equal(before.status, 1);
      assert.equal(before.stdout, "not ready: waiting for slow\n");
      const first = await early;
      assert.equal(first.status, 0, first.stdout + first.stderr);
      const { data } = await root.json("ready");
      assert.deepEqual(data, { ready: false, waiting: ["slow"], failed: [], shuttingDown: false });

      const waiting = root.tend("ready", "--wait", "30s");
      touch(root, "slow.ready");
      const waited = await waiting;
      assert.equal(waited.status, 0, waited.stdout + waited.stderr);
      assert.ok(waited.ms < DEADLINE_MS, `${waited.ms} ms`);
      assert.equal(waited.stdout, "ready\n");
      assert.equal((await root.tend("ready")).status, 0);

      assert.equal((await root.tend("start", "never", "--no-wait")).status, 0);
      const late = await root.tend("ready", "never", "--wait", "300ms");
      assert.equal(late.status, 1);
      assert.equal(late.stdout, "not ready within 300ms: waiting for never\n");
      const failing = root.tend("ready", "broken", "--wait", "30s");
      assert.equal((await root.tend("start", "broken")).status, 1);
      const failed = await failing;
      assert.equal(failed.status, 1, "a failed service ends the wait at once");
      assert.equal(failed.stdout, "not ready: failed: broken\n");

      const bad = await root.tend("ready", "--wait", "soon");
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /^tend: --wait: 'soon' is not a duration/);
      const unknown = await root.tend("ready", "nosuch");
      assert.equal(unknown.status, 1);
      assert.match(unknown.stderr, /unknown service: nosuch/);
      await root.shutdown(daemon);
    }),
  );

  test("the run settings: tend.conf under the flags; status shows those that are not the defaults", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      writeFileSync(root.path("etc/tend.conf"), "on-boot-failure = stop\nstop-grace = 30s\nlog-format = json\n", { mode: 0o644 });
      root.services({ a: "type = longrun\ncommand = sleep 1000\n" });
      await root.compile();
      const daemon = await root.startDaemon({ args: ["--stop-grace", "5s", "--log-format", "text"] });
      const { data } = await root.json<{ settings: Record<string, unknown> }>("status");
      assert.deepEqual(data.settings, {
        file: root.path("etc/tend.conf"),
        controlGroup: null,
        exitWith: null,
        onBootFailure: "stop",
        stopGraceMs: 5000,
        logFormat: "text",
        serviceLogs: "auto",
        syslog: "off",
        compile: false,
        places: { state: root.places.state, log: root.places.log, moved: [] },
      });
      assert.match((await root.tend("status")).stdout, /^settings: on-boot-failure stop, stop-grace 5s$/m);
      await root.shutdown(daemon);
    }),
  );

  test("bad values of the run flags are usage errors", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      for (const [args, message] of [
        [["--on-boot-failure", "halt"], "--on-boot-failure: 'halt' is neither report nor stop"],
        [["--stop-grace", "2h"], "--stop-grace: '2h' is too long a stop grace: at most 1h"],
        [["--log-format", "xml"], "--log-format: 'xml' is neither text nor json"],
        [["--exit-with", "a/b"], "--exit-with: 'a/b' is not a service name"],
      ] as const) {
        for (const command of ["boot", "daemon"]) {
          const run = await root.tend(command, ...args);
          assert.equal(run.status, 2, run.stderr);
          assert.equal(run.stderr.split("\n")[0], `tend: ${message}`);
        }
      }
    }),
  );
});
