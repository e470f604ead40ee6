// tend enable / disable with no server running: they record the lists themselves,
// checked against the installed database, and the next boot honours them; a server
// that holds the lock but does not answer yet is never written behind.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startTimeOf } from "../../src/system/processes.js";
import { withRoot } from "./harness.js";

describe("enable and disable with no server", () => {
  test("recorded for the next boot, which starts what is enabled and leaves out what is disabled", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({
        default: "type = bundle\ncontents = web metrics\n",
        web: "type = longrun\ncommand = sleep 1000\n",
        metrics: "type = longrun\ncommand = sleep 1000\n",
        db: "type = longrun\ncommand = sleep 1000\n",
      });
      await root.compile();
      const file = join(root.places.state, "enabled.json");
      const enable = await root.tend("enable", "db");
      assert.equal(enable.status, 0, enable.stderr);
      assert.equal(enable.stdout, "enabled: db (not running: the next 'tend boot' starts it)\n");
      const disable = await root.tend("disable", "metrics");
      assert.equal(disable.status, 0, disable.stderr);
      assert.equal(disable.stdout, "disabled: metrics (not running: the next 'tend boot' leaves it out)\n");
      assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), { enabled: ["db"], disabled: ["metrics"] });
      assert.equal(statSync(file).mode & 0o777, 0o600);

      const unknown = await root.tend("enable", "db", "nope");
      assert.equal(unknown.status, 1);
      assert.match(unknown.stderr, /unknown service: nope \(not in the installed database, generation 1\); nothing is recorded/);
      const { run, data } = await root.json("enable", "db");
      assert.equal(run.status, 0);
      assert.deepEqual(data, { enabled: ["db"], disabled: ["metrics"], booted: false, running: false });

      const daemon = await root.startDaemon({ boot: true });
      await root.waitPhase("db", "up");
      await root.waitPhase("web", "up");
      const metrics = await root.state("metrics");
      assert.equal(metrics.phase, "down");
      assert.equal(metrics.wanted, false);
      // With a server, the server records it, as before.
      const online = await root.tend("enable", "metrics");
      assert.equal(online.stdout, "enabled: metrics (kept across server restarts; starting it now)\n");
      await root.waitPhase("metrics", "up");
      await root.shutdown(daemon);
      assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), { enabled: ["db", "metrics"], disabled: [] });
    }),
  );

  test("refused while a server holds the lock without answering, or with no database", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.service("web", "type = longrun\ncommand = sleep 1000\n");
      const none = await root.tend("enable", "web");
      assert.equal(none.status, 1);
      assert.match(none.stderr, /no server is running, and no database is installed at .*; run 'tend compile' first/);
      await root.compile();
      // This test's own process stands for a server that is starting: alive, its socket not there yet.
      mkdirSync(root.places.run, { recursive: true });
      writeFileSync(join(root.places.run, "tend.pid"), `${process.pid} ${startTimeOf(process.pid)}\n`);
      const held = await root.tend("enable", "web");
      assert.equal(held.status, 1);
      assert.match(held.stderr, new RegExp(`the server of this root \\(pid ${process.pid}\\) runs but does not answer`));
      assert.throws(() => statSync(join(root.places.state, "enabled.json")), /ENOENT/, "nothing was written behind it");
    }),
  );
});
