// Syslog capture through the server: `tend boot --syslog` (or `syslog = …` in tend.conf)
// makes the keeper listen (RUN/dev-log for a --root server); a service's messages are in
// its `tend logs`, the others in `tend logs syslog`, which a service called `syslog`
// takes over (`tend logs _syslog` still names the syslog log); a socket another
// program listens on is refused, and the boot goes on without it, saying so.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { waitFor, withRoot } from "./harness.js";

const SKIP = spawnSync("logger", ["--version"]).status === 0 ? false : "util-linux logger is not installed";
const STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /gm;

describe("syslog", { concurrency: true }, () => {
  test("tend boot --syslog: a service's messages in its log, the rest in 'tend logs syslog'", { skip: SKIP, timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const socket = join(root.places.run, "dev-log");
      // The message comes from the service's main process, which lives on: the keeper places a
      // message by its sender's pid, and a `logger` gone and reaped before it is read cannot be
      // placed (docs/DESIGN.md, "Syslog captured by the keeper").
      const greeter = root.path("greeter.py");
      writeFileSync(
        greeter,
        ["import socket, sys, time", "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)", "s.connect(sys.argv[1])",
          "s.send(time.strftime('<28>%b %e %H:%M:%S mytag: hello').encode())", "time.sleep(1000)", ""].join("\n"),
      );
      root.services({
        greeter: `type = longrun\ncommand = python3 ${greeter} ${socket}\n`,
        default: "type = bundle\ncontents = greeter\n",
      });
      await root.compile();
      const daemon = await root.startDaemon({ boot: true, args: ["--syslog"] });
      await waitFor("the greeter's message", async () => (await root.tend("logs", "greeter")).stdout.includes("[syslog warning] mytag: hello"));
      assert.match(daemon.output(), /listening for syslog messages on .*dev-log: each goes to the log of the service that sent it/);
      execFileSync("logger", ["-u", socket, "-t", "outsider", "from the test"]);
      await waitFor("the outsider's message", async () => (await root.tend("logs", "syslog")).stdout.includes("from the test"));
      const syslog = await root.tend("logs", "syslog");
      assert.equal(syslog.stdout.replace(STAMP, ""), "[syslog notice] outsider: from the test\n");
      assert.equal((await root.tend("logs", "_syslog", "-n", "1")).stdout, syslog.stdout);
      // Every log, merged: the syslog log's lines named as it is.
      const all = (await root.tend("logs", "-n", "100")).stdout.replace(STAMP, "").split("\n");
      assert.ok(all.includes("syslog: [syslog notice] outsider: from the test") && all.includes("greeter: [syslog warning] mytag: hello"), all.join("\n"));
      assert.ok(all.indexOf("greeter: [syslog warning] mytag: hello") < all.indexOf("syslog: [syslog notice] outsider: from the test"), "in time order");
      assert.match((await root.tend("status")).stdout, /^settings: syslog on$/m);
      await root.shutdown(daemon);
    }),
  );

  test("a service called syslog: 'tend logs syslog' is its log, 'tend logs _syslog' the syslog log", { skip: SKIP, timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const socket = root.path("elsewhere.sock");
      writeFileSync(root.path("etc/tend.conf"), `syslog = ${socket}\n`, { mode: 0o644 });
      root.service("syslog", "type = longrun\ncommand = sh -c 'echo the service; exec sleep 1000'\n");
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "syslog")).status, 0);
      execFileSync("logger", ["-u", socket, "-t", "outsider", "to the syslog log"]);
      await waitFor("the syslog log", async () => (await root.tend("logs", "_syslog")).stdout.includes("to the syslog log"));
      await waitFor("the service's own line", async () => (await root.tend("logs", "syslog")).stdout.includes("the service"));
      assert.doesNotMatch((await root.tend("logs", "syslog")).stdout, /to the syslog log/);
      await root.shutdown(daemon);
    }),
  );

  test("a socket another program listens on: refused, said in the log and in status, and the boot goes on", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const taken = root.path("taken.sock");
      const other = createServer();
      await new Promise<void>((resolve) => other.listen(taken, resolve));
      try {
        root.services({ a: "type = longrun\ncommand = sleep 1000\n", default: "type = bundle\ncontents = a\n" });
        await root.compile();
        const daemon = await root.startDaemon({ boot: true, args: [`--syslog=${taken}`] });
        await root.waitPhase("a", "up");
        const warning = `not listening for syslog messages: ${taken} is in use: another program (a syslog daemon?) listens on it, and keeps it`;
        await waitFor("the warning", () => daemon.output().includes(warning));
        const { data } = await root.json<{ warnings: string[] }>("status");
        assert.ok(data.warnings.includes(warning), JSON.stringify(data.warnings));
        await root.shutdown(daemon);
      } finally {
        other.close();
      }
    }),
  );

  test("without --syslog there is no syslog log; a bad --syslog is a usage error", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.service("a", "type = longrun\ncommand = sleep 1000\n");
      await root.compile();
      const daemon = await root.startDaemon();
      const none = await root.tend("logs", "syslog");
      assert.equal(none.status, 1);
      assert.match(none.stderr, /there is no syslog log: this server does not listen for syslog messages \(see 'tend boot --syslog'\)/);
      await root.shutdown(daemon);
      for (const [value, message] of [
        ["dev/log", "--syslog: 'dev/log' is not on, off or an absolute path"],
        [`/${"x".repeat(120)}`, "--syslog: a socket path is at most 107 bytes"],
      ]) {
        const run = await root.tend("boot", `--syslog=${value}`);
        assert.equal(run.status, 2, run.stderr);
        assert.equal(run.stderr.split("\n")[0], `tend: ${message}`);
      }
    }),
  );
});
