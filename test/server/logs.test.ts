// Service logs with real processes: `tend logs -n`, stderr apart, rotation by size,
// `tend logs -f`, and a service spewing output does not grow the server's memory.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { CONTROL_SOCKET } from "../../src/server/protocol.js";
import { childEnv } from "../helpers.js";
import { BIN, NODE, rssKiB, waitFor, withRoot, type TestRoot } from "./harness.js";

const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;

/** Shell that waits for the gate file: a service's output then comes after tend's "[tend] up". */
const gated = (root: TestRoot): string => `while [ ! -e ${root.path("gate")} ]; do sleep 0.02; done`;

/**
 * Opens the gate once "[tend] up" is in the service's log. The keeper tells the server a
 * process runs once it has exec'd, so the note of a `ready = none` service being up can
 * come after the first lines it printed.
 */
async function openGateWhenUp(root: TestRoot, service: string): Promise<void> {
  const current = join(root.places.log, service, "current");
  await waitFor("[tend] up in the log", () => existsSync(current) && readFileSync(current, "utf8").includes("[tend] up\n"));
  writeFileSync(root.path("gate"), "");
}

describe("logs", { concurrency: true }, () => {
  test("'tend logs NAME -n 3' prints the last 3 lines", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.service("p", `type = longrun\ncommand = sh -c '${gated(root)}; for i in 1 2 3 4 5 6 7 8 9 10; do echo line $i; done; exec sleep 1000'\n`);
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "p")).status, 0);
      await openGateWhenUp(root, "p");
      const current = join(root.places.log, "p", "current");
      await waitFor("line 10 in the log", () => readFileSync(current, "utf8").includes("line 10\n"));
      const r = await root.tend("logs", "p", "-n", "3");
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trimEnd().split("\n");
      assert.equal(lines.length, 3, r.stdout);
      for (const line of lines) assert.match(line, TIMESTAMP);
      assert.deepEqual(lines.map((l) => l.replace(TIMESTAMP, "")), ["line 8", "line 9", "line 10"]);
      const all = await root.tend("logs", "p");
      assert.match(all.stdout, /\[tend\] starting\n/, "tend's own notes are in the log");
      const json = await root.json<{ line: string }>("logs", "p", "-n", "1");
      assert.match(json.data.line, /line 10$/);
      await root.shutdown(daemon);
    }),
  );

  test("stderr = apart: 'tend logs NAME' shows the service's stderr lines marked [stderr]", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.service("e", `type = longrun\ncommand = sh -c 'echo to-stdout; echo to-stderr >&2; exec sleep 1000'\nstderr = apart\n`);
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "e")).status, 0);
      const current = join(root.places.log, "e", "current");
      await waitFor("both lines in the log", () => existsSync(current) && /to-stdout\n/.test(readFileSync(current, "utf8")) && /to-stderr\n/.test(readFileSync(current, "utf8")));
      const r = await root.tend("logs", "e");
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trimEnd().split("\n").map((l) => l.replace(TIMESTAMP, ""));
      assert.ok(lines.includes("[stderr] to-stderr"), r.stdout);
      assert.ok(lines.includes("to-stdout"), r.stdout);
      await root.shutdown(daemon);
    }),
  );

  test("log-size = 4K with log-keep = 2 rotates: current, current.1, current.2, no more, each about 4K", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const line = "x".repeat(60);
      root.service(
        "r",
        `type = longrun\ncommand = sh -c '${gated(root)}; i=0; while [ $i -lt 500 ]; do echo "$i ${line}"; i=$((i+1)); done; echo DONE; exec sleep 1000'\nlog-size = 4K\nlog-keep = 2\n`,
      );
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "r")).status, 0);
      await openGateWhenUp(root, "r");
      const dir = join(root.places.log, "r");
      await waitFor("DONE in the log", () => existsSync(join(dir, "current")) && readFileSync(join(dir, "current"), "utf8").includes("DONE\n"));
      assert.deepEqual(readdirSync(dir).sort(), ["current", "current.1", "current.2"]);
      const longest = 25 + line.length + 5;
      for (const f of ["current", "current.1", "current.2"]) {
        const size = statSync(join(dir, f)).size;
        assert.ok(size <= 4096 + longest, `${f} is ${size} bytes`);
      }
      for (const f of ["current.1", "current.2"]) assert.ok(statSync(join(dir, f)).size >= 4096, `${f} was rotated early`);
      // The generations follow each other: current.2, current.1, current hold consecutive lines.
      const numbers = ["current.2", "current.1", "current"].flatMap((f) =>
        readFileSync(join(dir, f), "utf8")
          .split("\n")
          .map((l) => /^\S+ (\d+) x+$/.exec(l)?.[1])
          .filter((n): n is string => n !== undefined)
          .map(Number),
      );
      assert.ok(numbers.length > 100);
      numbers.forEach((n, i) => i > 0 && assert.equal(n, numbers[i - 1]! + 1, "a line was lost between generations"));
      assert.equal(numbers.at(-1), 499);
      // tend logs reads across the generations.
      const r = await root.tend("logs", "r", "-n", "100");
      const got = r.stdout.trimEnd().split("\n");
      assert.equal(got.length, 100);
      assert.match(got.at(-1)!, /DONE$/);
      await root.shutdown(daemon);
    }),
  );

  test("'tend logs -f' streams a line printed after it started", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.service(
        "f",
        `type = longrun\ncommand = sh -c 'trap "echo got USR1 at \\$(date +%s%N)" USR1; echo >&3; while :; do sleep 1000 & wait $!; done'\nready = fd\n`,
      );
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "f")).status, 0);
      const follower = spawn(NODE, [BIN, "--root", root.dir, "logs", "f", "-f"], { env: childEnv(), stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      follower.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
      try {
        // The tail comes first; once it is there, the follower is subscribed.
        await waitFor("the follower to print the tail", () => out.includes("[tend] up"));
        assert.equal(out.includes("got USR1"), false);
        assert.equal((await root.tend("signal", "f", "USR1")).status, 0);
        await waitFor("the new line on the follower's output", () => /got USR1 at \d+/.test(out));
        assert.equal(follower.exitCode, null, "the follower is still following");
      } finally {
        follower.kill();
      }
      await root.shutdown(daemon);
    }),
  );

  test("a follower that does not read loses lines, and is told so, rather than growing the server's memory", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.service(
        "s",
        `type = longrun\ncommand = sh -c 'echo >&3; while [ ! -e ${root.path("go")} ]; do sleep 0.02; done; yes 01234567890123456789012345678901234567890123456789012345678901234567890123456789 | head -c 30000000; echo; echo SPEW-DONE; exec sleep 1000'\nready = fd\nlog-size = 1M\nlog-keep = 1\n`,
      );
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "s")).status, 0);
      // A follower that stops reading at once (as a `tend logs -f` stopped with ^Z).
      const follower = connect(join(root.places.run, CONTROL_SOCKET));
      await new Promise((resolve) => follower.once("connect", resolve));
      follower.write('{"id": 1, "cmd": "logs", "name": "s", "lines": 0, "follow": true}\n');
      follower.pause();
      try {
        const before = rssKiB(daemon.pid);
        writeFileSync(root.path("go"), "");
        const dir = join(root.places.log, "s");
        let peak = before;
        await waitFor("the whole output to be logged", () => {
          peak = Math.max(peak, rssKiB(daemon.pid));
          return readdirSync(dir).some((f) => readFileSync(join(dir, f), "utf8").includes("SPEW-DONE"));
        }, 45_000, 50);
        const grewMiB = (Math.max(peak, rssKiB(daemon.pid)) - before) / 1024;
        assert.ok(grewMiB < 20, `the server grew by ${grewMiB.toFixed(1)} MiB for 30 MB of output to a follower that does not read`);
        // Reading again: what was kept, then a note of what was dropped.
        let received = "";
        follower.setEncoding("utf8").on("data", (d: string) => (received += d));
        follower.resume();
        assert.equal((await root.tend("stop", "s")).status, 0); // one more line ("[tend] stopping"), after the drop
        await waitFor("the drop note", () => /lines dropped \(reader too slow\)/.test(received));
      } finally {
        follower.destroy();
      }
      await root.shutdown(daemon);
    }),
  );

  test("a follower ends when the server shuts down, and the server exits", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.service("f", "type = longrun\ncommand = sleep 1000\n");
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "f")).status, 0);
      const follower = spawn(NODE, [BIN, "--root", root.dir, "logs", "f", "-f"], { env: childEnv(), stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      follower.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
      follower.stderr.setEncoding("utf8").on("data", (d: string) => (out += d));
      const ended = new Promise<number | null>((resolve) => follower.once("exit", resolve));
      try {
        await waitFor("the follower to print the tail", () => out.includes("[tend] up"));
        await root.shutdown(daemon);
        let timer: NodeJS.Timeout | undefined;
        const code = await Promise.race([ended, new Promise((resolve) => (timer = setTimeout(() => resolve("still following"), 10_000)))]);
        clearTimeout(timer);
        assert.equal(code, 0, `the follower did not end cleanly:\n${out}`);
        assert.match(out, /\[tend\] stopping/, "it saw the service stop");
      } finally {
        follower.kill();
      }
    }),
  );

  test("a service spewing 30 MB of output does not grow the server's memory with it", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      // 30 MB in 81-byte lines, as fast as it can, then a marker.
      root.service(
        "s",
        `type = longrun\ncommand = sh -c 'echo >&3; while [ ! -e ${root.path("go")} ]; do sleep 0.02; done; yes 01234567890123456789012345678901234567890123456789012345678901234567890123456789 | head -c 30000000; echo; echo SPEW-DONE; exec sleep 1000'\nready = fd\nlog-size = 1M\nlog-keep = 1\n`,
      );
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "s")).status, 0);
      const before = rssKiB(daemon.pid);
      writeFileSync(root.path("go"), "");
      const dir = join(root.places.log, "s");
      let peak = before;
      await waitFor("the whole output to be logged", () => {
        peak = Math.max(peak, rssKiB(daemon.pid));
        return readdirSync(dir).some((f) => readFileSync(join(dir, f), "utf8").includes("SPEW-DONE"));
      }, 45_000, 50);
      const after = rssKiB(daemon.pid);
      const grewMiB = (Math.max(peak, after) - before) / 1024;
      assert.ok(grewMiB < 20, `the server grew by ${grewMiB.toFixed(1)} MiB (${before} KiB before, peak ${peak}, after ${after}) for 30 MB of output`);
      const total = readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
      assert.ok(total <= 2 * (1024 * 1024 + 200), `the logs on disk are ${total} bytes with log-size 1M and log-keep 1`);
      await root.shutdown(daemon);
    }),
  );
});
