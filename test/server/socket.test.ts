// The control socket against clients that misbehave: malformed JSON, an oversized
// line, binary junk, an unknown command, a request half sent and held open. Each gets
// an error reply or a closed connection, other clients are served meanwhile, and the
// server stays up.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { CONTROL_SOCKET, MAX_REQUEST_BYTES, PARTIAL_REQUEST_TIMEOUT_MS, STATUS_SOCKET } from "../../src/server/protocol.js";
import { waitFor, withRoot, type TestRoot } from "./harness.js";

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

async function withServer(body: (root: TestRoot) => Promise<void>): Promise<void> {
  await withRoot(async (root) => {
    root.service("a", "type = longrun\ncommand = sleep 1000\n");
    await root.compile();
    const daemon = await root.startDaemon();
    assert.equal((await root.tend("start", "a")).status, 0);
    await body(root);
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

  test("the read-only status socket answers questions and refuses changes", { timeout: 60_000 }, () =>
    withServer(async (root) => {
      const c = await raw(root, STATUS_SOCKET);
      c.send('{"id": 1, "cmd": "status"}\n');
      assert.equal((await c.waitReply(1)).ok, true);
      c.send('{"id": 2, "cmd": "stop", "names": ["a"]}\n');
      assert.deepEqual(await c.waitReply(2), { id: 2, ok: false, error: "'stop' is not allowed on the read-only socket; use the control socket (as root)" });
      c.send('{"id": 3, "cmd": "shutdown"}\n');
      assert.equal((await c.waitReply(3)).ok, false);
      c.socket.end();
    }),
  );
});
