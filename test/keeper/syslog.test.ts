// The keeper's syslog socket with real senders (util-linux `logger -u`): a message
// lands in the log of the service whose process sent it, tagged and with its priority;
// one from a process no service ran lands in the syslog log; a flood does not hold up
// supervision; an oversize datagram is cut, not lost; a socket another program listens
// on is never taken, one its listener left behind is; cgroup and fallback tracking.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import type { KeeperMessage } from "../../src/keeper/protocol.js";
import { CGROUPS_WRITABLE } from "../helpers.js";
import { waitFor } from "../server/harness.js";
import { withKeeper, type Connection, type Keeper } from "./harness.js";

const HAS_LOGGER = spawnSync("logger", ["--version"]).status === 0;
const SKIP_LOGGER = HAS_LOGGER ? false : "util-linux logger is not installed";
const TRACKINGS = [
  { name: "auto" as const, skip: SKIP_LOGGER || (CGROUPS_WRITABLE ? false : "cgroup tracking needs root and a cgroup2 hierarchy") },
  { name: "fallback" as const, skip: SKIP_LOGGER },
];

const STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;
type SyslogAnswer = Extract<KeeperMessage, { type: "syslog" }>;

/** Asks the keeper to listen at `path`, the syslog log in the test directory; its answer. */
async function listen(k: Keeper, c: Connection, path: string | undefined): Promise<SyslogAnswer> {
  const from = c.messages.length;
  c.send(path === undefined ? { type: "syslog" } : { type: "syslog", path, log: "file", logDir: join(k.dir, "log-syslog"), logSize: 1 << 20, logKeep: 2 });
  return c.next("syslog", () => true, from);
}

const syslogLog = (k: Keeper): string => {
  const path = join(k.dir, "log-syslog", "current");
  return existsSync(path) ? readFileSync(path, "utf8") : "";
};
const withoutStamps = (text: string): string[] => text.split("\n").filter((l) => l !== "").map((l) => l.replace(STAMP, ""));

describe("keeper: syslog", { concurrency: true }, () => {
  for (const tracking of TRACKINGS) {
    test(`a service's syslog messages land in its log, tagged; the test's own in the syslog log (${tracking.name})`, { skip: tracking.skip, timeout: 30_000 }, () =>
      withKeeper({ tracking: tracking.name }, async (k) => {
        const c = await k.connect();
        const socket = join(k.dir, "dev-log");
        assert.deepEqual(await listen(k, c, socket), { type: "syslog", path: socket, error: null });
        // The logger is the main process (placed by its pid: read before it is reaped),
        // then a child of the main process (placed by its cgroup or its ancestry: it lives
        // on, reading its stdin, as a daemon does; one that has ended and been reaped by
        // the time its message is read cannot be placed, see docs/logs.md).
        c.send(k.spawnMessage("once", ["logger", "-u", socket, "-t", "mytag", "-p", "daemon.err", "hello from once"]));
        c.send(k.spawnMessage("daemon", ["sh", "-c", `(echo "hello from daemon"; exec sleep 1000) | logger -u ${socket} -t child --id=$$`]));
        await c.next("exited", (m) => m.service === "once");
        await waitFor("the daemon's line", () => k.logOf("daemon").includes("hello from daemon"));
        assert.deepEqual(withoutStamps(k.logOf("once")), ["[syslog err] mytag: hello from once"]);
        const daemonPid = (await c.next("spawned", (m) => m.service === "daemon")).pid;
        assert.deepEqual(withoutStamps(k.logOf("daemon")), [`[syslog notice] child[${daemonPid}]: hello from daemon`]);
        execFileSync("logger", ["-u", socket, "-t", "outsider", "-p", "user.info", "not a service"]);
        await waitFor("the outsider's line", () => syslogLog(k).includes("not a service"));
        assert.deepEqual(withoutStamps(syslogLog(k)), ["[syslog info] outsider: not a service"]);
        assert.equal(k.logOf("once").includes("outsider") || k.logOf("daemon").includes("outsider"), false);
      }),
    );
  }

  test("RFC 5424, several lines, a trailing newline: each becomes lines of TAG[PID]: TEXT", { skip: SKIP_LOGGER, timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      const socket = join(k.dir, "dev-log");
      await listen(k, c, socket);
      execFileSync("logger", ["-u", socket, "--rfc5424", "-t", "five", "--id=42", "structured"]);
      execFileSync("logger", ["-u", socket, "-t", "multi", "first\nsecond"]);
      execFileSync("logger", ["-u", socket, "-t", "eol", "ends with a newline\n"]);
      await waitFor("three messages", () => syslogLog(k).includes("ends with a newline"));
      assert.deepEqual(withoutStamps(syslogLog(k)), [
        "[syslog notice] five[42]: structured",
        "[syslog notice] multi: first",
        "[syslog notice] second",
        "[syslog notice] eol: ends with a newline",
      ]);
    }),
  );

  test("a flood of 10^4 messages: every one logged, and another service still stops at once", { skip: SKIP_LOGGER, timeout: 120_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      const socket = join(k.dir, "dev-log");
      await listen(k, c, socket);
      const COUNT = 10_000;
      writeFileSync(join(k.dir, "flood"), Array.from({ length: COUNT }, (_, i) => `message ${i}`).join("\n") + "\n");
      c.send(k.spawnMessage("calm", ["sleep", "1000"]));
      await c.next("spawned", (m) => m.service === "calm");
      // Four senders at once, each blocking whenever the socket's queue is full: the keeper is never idle.
      for (let i = 0; i < 4; i++) c.send(k.spawnMessage(`flood${i}`, ["logger", "-u", socket, "-t", `flood${i}`, "-f", join(k.dir, "flood")]));
      await waitFor("the flood under way", () => k.logOf("flood0").length > 0);
      const asked = Date.now();
      c.send({ type: "signal", service: "calm", signal: 15 });
      await c.next("exited", (m) => m.service === "calm");
      const took = Date.now() - asked;
      const stillFlooding = [0, 1, 2, 3].some((i) => !c.messages.some((m) => m.type === "exited" && m.service === `flood${i}`));
      assert.ok(took < 2000, `the stop took ${took} ms during the flood`);
      for (let i = 0; i < 4; i++) await c.next("exited", (m) => m.service === `flood${i}` && m.code === 0);
      for (let i = 0; i < 4; i++) {
        const lines = withoutStamps(k.logOf(`flood${i}`));
        assert.equal(lines.length, COUNT, `flood${i}: ${lines.length} lines`);
        assert.equal(lines[COUNT - 1], `[syslog notice] flood${i}: message ${COUNT - 1}`);
      }
      assert.ok(stillFlooding, "the stop was asked while the flood went on");
    }),
  );

  test("a datagram longer than the buffer is cut and says so; the next one is whole", { skip: SKIP_LOGGER, timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      const socket = join(k.dir, "dev-log");
      await listen(k, c, socket);
      const big = "x".repeat(70_000);
      execFileSync("logger", ["-u", socket, "--size", "100000", "-t", "big", big]);
      execFileSync("logger", ["-u", socket, "-t", "small", "after"]);
      await waitFor("the second message", () => syslogLog(k).includes("after"));
      const [cut, after] = withoutStamps(syslogLog(k));
      assert.match(cut!, /^\[syslog notice\] big: x+ \[truncated: 7\d{4} bytes\]$/);
      assert.ok(cut!.length > 8000 && cut!.length < 8300, `cut at ${cut!.length}`);
      assert.equal(after, "[syslog notice] small: after");
    }),
  );

  test("a socket another program listens on is refused and kept; a stale one is replaced; a file is left alone", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      // A stream listener (rsyslog may listen so too).
      const streamPath = join(k.dir, "stream-log");
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(streamPath, resolve));
      try {
        const answer = await listen(k, c, streamPath);
        assert.equal(answer.path, null);
        assert.match(answer.error!, /stream-log is in use: another program \(a syslog daemon\?\) listens on it/);
        assert.ok(existsSync(streamPath));
      } finally {
        server.close();
      }
      // A datagram listener: another keeper's syslog socket.
      const datagramPath = join(k.dir, "dgram-log");
      await withKeeper({}, async (other) => {
        const oc = await other.connect();
        assert.equal((await listen(other, oc, datagramPath)).error, null);
        const answer = await listen(k, c, datagramPath);
        assert.equal(answer.path, null);
        assert.match(answer.error!, /dgram-log is in use/);
        // Killed, it leaves its socket behind: no one listens on it, so it is taken.
        process.kill(other.pid, "SIGKILL");
        await other.exited;
      });
      assert.ok(existsSync(datagramPath), "the dead keeper's socket is left behind");
      assert.deepEqual(await listen(k, c, datagramPath), { type: "syslog", path: datagramPath, error: null });
      const plain = join(k.dir, "plain-file");
      writeFileSync(plain, "data\n");
      const refused = await listen(k, c, plain);
      assert.match(refused.error!, /plain-file exists and is not a socket: it is left alone/);
      assert.equal(refused.path, null, "what it listened on before is closed");
      assert.equal(readFileSync(plain, "utf8"), "data\n");
      assert.equal(existsSync(datagramPath), false, "its own socket is removed when it stops listening");
      // Asked again for the same path, the keeper keeps listening; asked for none, it stops.
      const socket = join(k.dir, "dev-log");
      await listen(k, c, socket);
      assert.deepEqual(await listen(k, c, socket), { type: "syslog", path: socket, error: null });
      assert.deepEqual(await listen(k, c, undefined), { type: "syslog", path: null, error: null });
      assert.equal(existsSync(socket), false);
      assert.equal(k.child.exitCode, null);
    }),
  );
});
