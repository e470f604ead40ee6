// The status file (src/server/status-file.ts): the table `tend status` prints, kept by
// a real server in RUN/status.json and read by the built CLI without connecting; what
// a command did is in it when the command returns; a change the server sees by itself
// reaches it; a file its server no longer stands behind (it ended, or the file is
// damaged, not a file, or none it could write) is not taken: the CLI asks the socket.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { STATUS_FILE } from "../../src/server/status-file.js";
import { identityOf } from "../../src/system/processes.js";
import { childEnv, REPO } from "../helpers.js";
import { waitFor, withRoot, type TestRoot } from "./harness.js";

const fileOf = (root: TestRoot): string => join(root.places.run, STATUS_FILE);
const tableIn = (root: TestRoot): { server: string; table: { rows: [string, string, number, string][] } } => JSON.parse(readFileSync(fileOf(root), "utf8"));
/** The row of `name` in the table `tend status` printed. */
const rowOf = (stdout: string, name: string): string | undefined => stdout.split("\n").find((l) => l.startsWith(`${name} `));

describe("the status file", { concurrency: true }, () => {
  test("holds the table, everyone may read it, it names its server; tend status prints it with no socket to connect to; it is gone after the server", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({ web: "type = longrun\ncommand = sleep 1000\n", idle: "type = longrun\ncommand = sleep 1000\n", default: "type = bundle\ncontents = web\n" });
      await root.compile();
      const daemon = await root.startDaemon({ boot: true });
      await root.waitPhase("web", "up");
      await waitFor("web up in the status file", () => existsSync(fileOf(root)) && tableIn(root).table.rows.some((r) => r[0].startsWith("web ") && r[1] === "up"));
      assert.equal(statSync(fileOf(root)).mode & 0o777, 0o644);
      assert.equal(tableIn(root).server, identityOf(daemon.pid));

      // With both sockets moved away, only the file can answer.
      const sockets = ["control.sock", "status.sock"].map((s) => join(root.places.run, s));
      for (const s of sockets) renameSync(s, `${s}.away`);
      try {
        const r = await root.tend("status");
        assert.equal(r.status, 0, r.stderr);
        assert.match(rowOf(r.stdout, "web") ?? "", /^web +longrun +up +\d+ +\d+s ago$/);
        assert.match(rowOf(r.stdout, "idle") ?? "", /^idle +longrun +down +- +\d+s ago$/);
        const failed = await root.tend("status", "--failed");
        assert.deepEqual(failed.stdout.split("\n").filter((l) => /^(web|idle) /.test(l)), [], "--failed: no row of a service that is not failed");
      } finally {
        for (const s of sockets) renameSync(`${s}.away`, s);
      }
      await root.shutdown(daemon);
      assert.equal(existsSync(fileOf(root)), false, "the server removes its file at its end");
    }));

  test("bin/tend prints the table by itself: with no quick CLI beside it, and without loading node:net", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({ web: "type = longrun\ncommand = sleep 1000\n", default: "type = bundle\ncontents = web\n" });
      await root.compile();
      const daemon = await root.startDaemon({ boot: true });
      await root.waitPhase("web", "up");
      await waitFor("the status file", () => existsSync(fileOf(root)));
      // dist/bin/tend.cjs alone: the quick CLI (quick.cjs) it would load is not there.
      const alone = root.path("alone");
      mkdirSync(alone);
      copyFileSync(join(REPO, "dist/bin/tend.cjs"), join(alone, "tend.cjs"));
      const modules = root.file("modules.cjs", `process.on("exit", () => require("fs").writeSync(2, process.moduleLoadList.filter((m) => m === "NativeModule net").join() + "\\n"));\n`);
      const run = (...args: string[]) => spawnSync(process.execPath, ["--require", modules, join(alone, "tend.cjs"), "--root", root.dir, ...args], { encoding: "utf8", env: childEnv() });
      const table = run("status");
      assert.equal(table.status, 0, table.stderr);
      assert.match(rowOf(table.stdout, "web") ?? "", /^web +longrun +up /);
      assert.equal(table.stderr, "\n", "node:net not loaded");
      const json = run("status", "--json");
      assert.notEqual(json.status, 0, "--json is the quick CLI's, which is not there");
      assert.match(json.stderr, /quick\.cjs/);
      await root.shutdown(daemon);
    }));

  test("what a command did is in the file when it returns: start, stop, disable", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({ a: "type = longrun\ncommand = sleep 1000\n", b: "type = longrun\ncommand = sleep 1000\n", default: "type = bundle\ncontents = b\n" });
      await root.compile();
      const daemon = await root.startDaemon({ boot: true });
      await root.waitPhase("b", "up");
      const phaseInFile = (name: string): string | undefined => tableIn(root).table.rows.find((r) => r[0].startsWith(`${name} `))?.[1];
      assert.equal((await root.tend("start", "a")).status, 0);
      assert.equal(phaseInFile("a"), "up", "read at once after `tend start a` returned");
      assert.equal((await root.tend("stop", "a")).status, 0);
      assert.equal(phaseInFile("a"), "down");
      assert.equal((await root.tend("disable", "b")).status, 0);
      assert.match(tableIn(root).table.rows.find((r) => r[0].startsWith("b "))![3], /^disabled/);
      await root.shutdown(daemon);
    }));

  test("a change the server sees by itself (a crash and its restart) reaches the file", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({ flaky: "type = longrun\ncommand = sleep 1000\nrestart = always\nrestart-delay = 100ms\n", default: "type = bundle\ncontents = flaky\n" });
      await root.compile();
      const daemon = await root.startDaemon({ boot: true });
      const first = await root.waitPhase("flaky", "up");
      process.kill(first.pid!, "SIGKILL");
      const restarted = await root.waitPhase("flaky", (s) => s.phase === "up" && s.pid !== first.pid);
      await waitFor("the new pid in the status file", () => {
        const row = tableIn(root).table.rows.find((r) => r[0].startsWith("flaky "));
        return row !== undefined && row[0].includes(` ${restarted.pid} `) && row[3].includes("1 recent restart");
      });
      await root.shutdown(daemon);
    }));

  test("a file whose server has ended, a damaged one, or none the server can write: tend status asks the socket", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({ web: "type = longrun\ncommand = sleep 1000\n", default: "type = bundle\ncontents = web\n" });
      await root.compile();
      // A file left by a server that has ended: named by a process that is gone.
      const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
      mkdirSync(root.places.run, { recursive: true });
      writeFileSync(fileOf(root), sample(`${gone.stdout} 1`));
      const none = await root.tend("status");
      assert.notEqual(none.status, 0);
      assert.match(none.stderr, /no tend server is running for this root/);

      // Damaged files naming a process that runs (this test): not taken either.
      for (const damaged of [sample(identityOf(process.pid)).slice(0, 200), JSON.stringify({ ...JSON.parse(sample(identityOf(process.pid))), table: { head: "", state: { at: 0, width: 0 }, rows: [null] } })]) {
        writeFileSync(fileOf(root), damaged);
        assert.match((await root.tend("status")).stderr, /no tend server is running/, damaged);
      }
      rmSync(fileOf(root));
      // Nor a FIFO: it is not waited on.
      execFileSync("mkfifo", [fileOf(root)]);
      assert.match((await root.tend("status")).stderr, /no tend server is running/);
      rmSync(fileOf(root));

      // Where the file would be, a directory: the server cannot write it, says so once, and the socket answers.
      mkdirSync(fileOf(root));
      const daemon = await root.startDaemon({ boot: true });
      await root.waitPhase("web", "up");
      const r = await root.tend("status");
      assert.equal(r.status, 0, r.stderr);
      assert.match(rowOf(r.stdout, "web") ?? "", /^web +longrun +up /);
      await waitFor("the server's word on its status file", () => daemon.output().includes(`cannot write ${fileOf(root)}`));
      assert.equal(daemon.output().split(`cannot write ${fileOf(root)}`).length, 2, "said once");
      await root.shutdown(daemon);
      rmSync(fileOf(root), { recursive: true });
    }));
});

/** A status file of one service up, as a server of this build writes it, naming `server`. */
function sample(server: string): string {
  const settings = { exitWith: null, onBootFailure: "report", stopGraceMs: 8000, logFormat: "text", serviceLogs: "auto", syslog: "off", compile: false, file: "", controlGroup: null, places: { state: "", log: "", moved: [] } };
  const table = { head: "NAME  KIND     STATE  PID  ", state: { at: 15, width: 5 }, rows: [["web   longrun  up     1    ", "up", Date.now(), ""]] };
  return JSON.stringify({ format: 1, server, generation: 1, shuttingDown: false, tracking: { kind: "fallback", cgroup: null }, settings, boot: null, end: null, warnings: [], bootFailures: [], table });
}
