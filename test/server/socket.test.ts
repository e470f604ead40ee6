// The control socket against clients that misbehave: malformed JSON, an oversized
// line, binary junk, an unknown command, a request half sent and held open, a client
// that pipelines and never reads, a request trickled a byte at a time, idle
// connections, crowds of connections from one uid or many. Each gets an error reply or
// a closed connection, other clients (root's above all) are served meanwhile, and the
// server stays up.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { DRAIN_DEADLINE_MS, IDLE_TIMEOUT_MS, MAX_CONNECTIONS, MAX_CONNECTIONS_PER_UID, ROOT_RESERVE } from "../../src/server/control-socket.js";
import { CONTROL_SOCKET, MAX_REQUEST_BYTES, PARTIAL_REQUEST_TIMEOUT_MS, STATUS_SOCKET } from "../../src/server/protocol.js";
import { startCrowd, type CrowdSpec } from "./crowd.js";
import { IS_ROOT, rssKiB, runCli, waitFor, withRoot, type Daemon, type TestRoot } from "./harness.js";

interface Raw {
  socket: Socket;
  /** Reply lines received so far, parsed. */
  replies: Record<string, unknown>[];
  closed: boolean;
  send(data: string | Buffer): void;
  waitReply(count?: number, timeoutMs?: number): Promise<Record<string, unknown>>;
  waitClosed(timeoutMs?: number): Promise<void>;
}

function raw(root: TestRoot, socketName = CONTROL_SOCKET): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = connect(join(root.places.run, socketName));
    let buffered = "";
    const client: Raw = {
      socket,
      replies: [],
      closed: false,
      send: (data) => void socket.write(data),
      waitReply: (count = client.replies.length + 1, timeoutMs = 5000) =>
        waitFor(`reply ${count}`, () => {
          if (client.replies.length >= count) return client.replies[count - 1];
          if (client.closed) throw new Error("the connection closed without a reply");
          return null;
        }, timeoutMs, 5),
      waitClosed: (timeoutMs = 5000) => waitFor("the server to close the connection", () => client.closed, timeoutMs, 5).then(() => {}),
    };
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        client.replies.push(JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>);
        buffered = buffered.slice(nl + 1);
      }
    });
    socket.on("error", () => {}); // an abrupt close by the server is a possible outcome
    socket.on("close", () => (client.closed = true));
    socket.once("connect", () => resolve(client));
    socket.once("error", reject);
  });
}

async function withServer(body: (root: TestRoot, daemon: Daemon) => Promise<void>, service = ""): Promise<void> {
  await withRoot(async (root) => {
    // Other users reach the sockets (tests that connect as them): the temporary root is 0700.
    chmodSync(root.dir, 0o755);
    root.service("a", `type = longrun\ncommand = sleep 1000\n${service}`);
    await root.compile();
    const daemon = await root.startDaemon();
    assert.equal((await root.tend("start", "a")).status, 0);
    await body(root, daemon);
    // Still up, and still serving.
    const status = await root.json<{ services: { name: string; phase: string }[] }>("status");
    assert.equal(status.run.status, 0);
    assert.deepEqual(status.data.services.map((s) => [s.name, s.phase]), [["a", "up"]]);
    assert.equal(daemon.exitStatus(), null);
    await root.shutdown(daemon);
  });
}

describe("control socket robustness", { concurrency: true }, () => {
  test("malformed JSON, a non-object, a missing id and an unknown command each get an error reply on the same connection", { timeout: 60_000 }, () =>
    withServer(async (root) => {
      const c = await raw(root);
      c.send("{this is not json\n");
      assert.deepEqual(await c.waitReply(1), { id: 0, ok: false, error: "not valid JSON: send one JSON object per line" });
      c.send("[1, 2, 3]\n");
      assert.deepEqual(await c.waitReply(2), { id: 0, ok: false, error: "a request is a JSON object" });
      c.send('{"cmd": "status"}\n');
      assert.deepEqual(await c.waitReply(3), { id: 0, ok: false, error: "'id' must be an integer" });
      c.send('{"id": 7, "cmd": "frobnicate"}\n');
      assert.deepEqual(await c.waitReply(4), { id: 7, ok: false, error: 'unknown command "frobnicate"' });
      c.send('{"id": 8, "cmd": "start", "names": "a"}\n');
      assert.deepEqual(await c.waitReply(5), { id: 8, ok: false, error: "'names' must be a non-empty list of names" });
      c.send('{"id": 9, "cmd": "start", "names": ["nosuch"]}\n');
      assert.deepEqual(await c.waitReply(6), { id: 9, ok: false, error: "unknown service: nosuch" });
      // Two requests in one write are both answered, in order, and the connection still works.
      c.send('{"id": 10, "cmd": "ping"}\n{"id": 11, "cmd": "ping"}\n');
      assert.equal((await c.waitReply(7)).id, 10);
      assert.equal((await c.waitReply(8)).id, 11);
      assert.equal(c.closed, false);
      c.socket.end();
    }),
  );

  test("a 100 KB line without a newline is refused and the connection closed", { timeout: 60_000 }, () =>
    withServer(async (root) => {
      const c = await raw(root);
      c.send(`{"id": 1, "cmd": "status", "pad": "${"x".repeat(100 * 1024)}`);
      await c.waitClosed();
      assert.deepEqual(c.replies, [{ id: 0, ok: false, error: `request longer than ${MAX_REQUEST_BYTES} bytes` }]);
    }),
  );

  test("binary junk gets error replies or a closed connection", { timeout: 60_000 }, () =>
    withServer(async (root) => {
      for (let round = 0; round < 5; round++) {
        const c = await raw(root);
        const junk = randomBytes(8192);
        junk[4000] = 10; // some of it in lines
        c.send(junk);
        c.send("\n");
        await waitFor("an error reply or a close", () => c.closed || c.replies.length > 0);
        for (const reply of c.replies) assert.equal(reply.ok, false, JSON.stringify(reply));
        c.socket.destroy();
      }
    }),
  );

  test("a client that goes away while its restart waits does not disturb the server", { timeout: 60_000 }, () =>
    withServer(async (root) => {
      const before = await root.state("a");
      const c = await raw(root);
      c.send('{"id": 1, "cmd": "restart", "names": ["a"]}\n');
      await root.waitPhase("a", (s) => s.phase !== "up" || s.pid !== before.pid);
      c.socket.destroy();
      await root.waitPhase("a", (s) => s.phase === "up" && s.pid !== before.pid);
    }),
  );

  test("a half-sent request held open does not stall other clients, and is dropped after the partial-request timeout", { timeout: 60_000 }, () =>
    withServer(async (root) => {
      const c = await raw(root);
      c.send('{"id": 1, "cmd": "sta');
      const opened = Date.now();
      const status = await root.tend("status");
      assert.equal(status.status, 0, status.stderr);
      assert.ok(status.ms < 5000, `tend status took ${status.ms} ms while a request was half sent`);
      assert.equal(c.closed, false);
      await c.waitClosed(PARTIAL_REQUEST_TIMEOUT_MS + 10_000);
      assert.ok(Date.now() - opened >= PARTIAL_REQUEST_TIMEOUT_MS - 100, "dropped before the timeout");
      assert.deepEqual(c.replies, [{ id: 0, ok: false, error: `incomplete request: no newline within ${PARTIAL_REQUEST_TIMEOUT_MS / 1000}s` }]);
    }),
  );

  test("the status socket serves root every command: it authorises by peer, not by socket", { timeout: 60_000 }, () =>
    withServer(async (root) => {
      const c = await raw(root, STATUS_SOCKET);
      c.send('{"id": 1, "cmd": "status"}\n');
      assert.equal((await c.waitReply(1)).ok, true);
      c.send('{"id": 2, "cmd": "stop", "names": ["a"], "wait": false}\n');
      assert.equal((await c.waitReply(2)).ok, true);
      c.socket.end();
      assert.equal((await root.tend("start", "a")).status, 0);
    }),
  );

  test("a client that pipelines requests and never reads is read no more once 1 MiB is queued for it, and is disconnected when it does not drain", { timeout: 120_000 }, () =>
    withServer(async (root, daemon) => {
      const before = rssKiB(daemon.pid);
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(daemon.pid))), 50);
      const c = await raw(root, STATUS_SOCKET);
      c.socket.pause();
      const requests = '{"id": 1, "cmd": "status"}\n'.repeat(1000);
      for (let i = 0; i < 300; i++) c.send(requests);
      const sent = Date.now();
      try {
        await c.waitClosed(DRAIN_DEADLINE_MS + 30_000);
      } finally {
        clearInterval(sampler);
      }
      assert.ok(Date.now() - sent >= DRAIN_DEADLINE_MS - 500, "disconnected before the drain deadline");
      // Main grew by hundreds of MB here (every reply queued); the cap leaves GC noise.
      assert.ok(peak - before < 24 * 1024, `the server grew by ${peak - before} KiB for a client that does not read`);
    }),
  );

  test("a client that reads late gets every pipelined reply, in order", { timeout: 60_000 }, () =>
    withServer(async (root) => {
      const c = await raw(root, STATUS_SOCKET);
      c.socket.pause();
      const count = 10_000;
      c.send(Array.from({ length: count }, (_, i) => `{"id": ${i + 1}, "cmd": "status"}\n`).join(""));
      c.socket.resume();
      await c.waitReply(count, 30_000);
      assert.deepEqual(c.replies.map((r) => r.id), Array.from({ length: count }, (_, i) => i + 1));
      assert.ok(c.replies.every((r) => r.ok === true));
      assert.equal(c.closed, false);
      c.socket.end();
    }),
  );

  test("a request trickled a byte at a time is dropped at the deadline counted from its first byte", { timeout: 60_000 }, () =>
    withServer(async (root) => {
      const c = await raw(root, STATUS_SOCKET);
      const text = '{"id": 1, "cmd": "status", "pad": "' + "x".repeat(100);
      const opened = Date.now();
      let at = 0;
      const trickle = setInterval(() => !c.closed && c.send(text[at++]!), 500);
      try {
        await c.waitClosed(PARTIAL_REQUEST_TIMEOUT_MS + 10_000);
      } finally {
        clearInterval(trickle);
      }
      assert.ok(Date.now() - opened >= PARTIAL_REQUEST_TIMEOUT_MS - 100, "dropped before the deadline");
      assert.deepEqual(c.replies, [{ id: 0, ok: false, error: `incomplete request: no newline within ${PARTIAL_REQUEST_TIMEOUT_MS / 1000}s` }]);
    }),
  );

  test("an idle connection is closed after the idle timeout; one following a log is in flight and kept", { timeout: IDLE_TIMEOUT_MS + 60_000 }, () =>
    withServer(async (root) => {
      const idle = await raw(root, STATUS_SOCKET);
      const follower = await raw(root);
      follower.send('{"id": 1, "cmd": "logs", "name": "a", "follow": true, "lines": 0}\n');
      const opened = Date.now();
      await idle.waitClosed(IDLE_TIMEOUT_MS + 20_000);
      assert.ok(Date.now() - opened >= IDLE_TIMEOUT_MS - 1000, "closed before the idle timeout");
      assert.deepEqual(idle.replies, [{ id: 0, ok: false, error: `no request for ${IDLE_TIMEOUT_MS / 1000}s: closing the idle connection` }]);
      assert.equal(follower.closed, false, "a follower was closed as idle");
      follower.socket.destroy();
    }),
  );

  test("a garbled, reset or refused connection: the CLI says so in one line and exits 1", { timeout: 60_000 }, async () => {
    await withRoot(async (root) => {
      mkdirSync(root.places.run, { recursive: true });
      for (const [what, act, expected] of [
        ["garbled", (s: Socket) => s.end("this is not json\n"), /sent a line that is not a reply/],
        ["reset", (s: Socket) => s.destroy(), /closed the connection before answering/],
        ["refused", (s: Socket) => s.end('{"id": 0, "ok": false, "error": "too many connections from uid 65534 (32 at once)"}\n'), /too many connections from uid 65534/],
      ] as const) {
        const fake = createServer((s) => s.once("data", () => act(s)));
        await new Promise<void>((resolve) => fake.listen(join(root.places.run, CONTROL_SOCKET), resolve));
        try {
          for (const args of [["list"], ["stop", "a"]]) {
            const r = await root.tend(...args);
            assert.equal(r.status, 1, `${what}, tend ${args.join(" ")}: exit ${r.status}\n${r.stderr}`);
            assert.match(r.stderr, expected, what);
            assert.equal(r.stderr.trim().split("\n").length, 1, `${what}: more than one line:\n${r.stderr}`);
            assert.match(r.stderr, /^tend: /);
          }
        } finally {
          await new Promise((resolve) => fake.close(resolve));
        }
      }
    });
  });
});

/** A crowd of connections (test/server/crowd.ts) on one of the root's sockets, until `release`. */
const crowd = (root: TestRoot, spec: CrowdSpec, socket = STATUS_SOCKET) => startCrowd(join(root.places.run, socket), spec);

const NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];

describe("a command's lines in the order docs/protocol.md gives", () => {
  test("stop and restart: `affected` first, then a progress line for each change among those services, then the outcome", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({ a: "type = longrun\ncommand = sleep 1000\n", b: "type = longrun\ncommand = sleep 1000\nrequires = a\n" });
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "b")).status, 0);
      const c = await raw(root);
      const linesOf = async (id: number, body: object): Promise<Record<string, unknown>[]> => {
        const from = c.replies.length;
        c.send(`${JSON.stringify({ id, ...body })}\n`);
        await waitFor(`the outcome of request ${id}`, () => c.replies.slice(from).some((r) => r.id === id && "ok" in r));
        return c.replies.slice(from).filter((r) => r.id === id);
      };
      const changes = (lines: Record<string, unknown>[]): string[] =>
        lines.flatMap((r) => (r.progress === undefined ? [] : [`${(r.progress as { service: string }).service} ${(r.progress as { phase: string }).phase}`]));
      const restart = await linesOf(1, { cmd: "restart", names: ["a"] });
      assert.deepEqual(restart[0], { id: 1, affected: ["a", "b"] });
      assert.deepEqual(changes(restart), ["b stopping", "b down", "a stopping", "a down", "a starting", "a up", "b starting", "b up"]);
      const stop = await linesOf(2, { cmd: "stop", names: ["a"] });
      assert.deepEqual(stop[0], { id: 2, affected: ["a", "b"] });
      // Its first changes come in the step of the command itself: they are not lost.
      assert.deepEqual(changes(stop), ["b stopping", "b down", "a stopping", "a down"]);
      assert.equal(stop.at(-1)?.ok, true);
      c.socket.end();
      await root.shutdown(daemon);
    }));
});

describe("connection limits per uid, with a reserve for root", { concurrency: true, skip: IS_ROOT ? false : "needs root: connections are made as other uids" }, () => {
  test(`a uid's idle connections past ${MAX_CONNECTIONS_PER_UID} make room for its new ones; root's and nobody's status answer meanwhile`, { timeout: 120_000 }, () =>
    withServer(async (root) => {
      const held = await crowd(root, { uids: [65534], perUid: 256, behaviour: "idle" });
      try {
        assert.equal(held.report.failed, 0);
        assert.equal(held.report.accepted, MAX_CONNECTIONS_PER_UID, JSON.stringify(held.report).slice(0, 500));
        for (const run of [await root.tend("status"), await nobodyTend(root, "status")]) {
          assert.equal(run.status, 0, run.stderr);
          assert.ok(run.ms < 5000, `tend status took ${run.ms} ms`);
        }
      } finally {
        await held.release();
      }
    }),
  );

  test(`a uid with ${MAX_CONNECTIONS_PER_UID} requests in flight is refused another connection, saying why`, { timeout: 120_000 }, () =>
    withServer(async (root) => {
      const held = await crowd(root, { uids: [65534], perUid: MAX_CONNECTIONS_PER_UID, behaviour: "follow", service: "a" });
      try {
        assert.deepEqual(held.report, { accepted: MAX_CONNECTIONS_PER_UID, refused: [], failed: 0 });
        const more = await crowd(root, { uids: [65534], perUid: 1, behaviour: "follow", service: "a" });
        await more.release();
        assert.deepEqual(more.report.refused, [`too many connections from uid 65534 (${MAX_CONNECTIONS_PER_UID} at once)`]);
        // `tend list` asks over the socket (the table of `tend status` is read from the status file).
        const run = await nobodyTend(root, "list");
        assert.notEqual(run.status, 0);
        assert.equal(run.stderr, `tend: too many connections from uid 65534 (${MAX_CONNECTIONS_PER_UID} at once)\n`);
        assert.equal((await root.tend("list")).status, 0);
        assert.equal((await nobodyTend(root, "status")).status, 0, "the table needs no connection");
      } finally {
        await held.release();
      }
    }, "allow = nobody\n"),
  );

  test(`connections of other users leave the last ${ROOT_RESERVE} of ${MAX_CONNECTIONS} to root`, { timeout: 120_000 }, () =>
    withServer(async (root) => {
      const users = Math.ceil((MAX_CONNECTIONS - ROOT_RESERVE) / MAX_CONNECTIONS_PER_UID);
      const uids = Array.from({ length: users }, (_, i) => 61000 + i);
      const held = await crowd(root, { uids, perUid: MAX_CONNECTIONS_PER_UID, behaviour: "idle" });
      try {
        assert.equal(held.report.accepted, MAX_CONNECTIONS - ROOT_RESERVE, JSON.stringify({ ...held.report, refused: held.report.refused.slice(0, 3) }));
        assert.ok(held.report.refused.every((e) => e === `too many connections (${MAX_CONNECTIONS - ROOT_RESERVE} at once); the last ${ROOT_RESERVE} are kept for root`), held.report.refused[0]);
        const more = await crowd(root, { uids: [62000], perUid: 1, behaviour: "idle" });
        await more.release();
        assert.equal(more.report.accepted, 0);
        // Root is served on the status socket too, from the reserve.
        const c = await raw(root, STATUS_SOCKET);
        c.send('{"id": 1, "cmd": "status"}\n');
        assert.equal((await c.waitReply(1)).ok, true);
        c.socket.end();
        assert.equal((await root.tend("status")).status, 0);
      } finally {
        await held.release();
      }
    }),
  );
});

/** `tend --root ROOT ARGS…` run as nobody. */
function nobodyTend(root: TestRoot, ...args: string[]) {
  return runCli(["--root", root.dir, ...args], { wrap: NOBODY });
}
