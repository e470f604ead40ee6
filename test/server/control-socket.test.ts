// The control socket in this process, with handlers of the test's own: what the socket
// guarantees whatever the handler does (it throws; its replies pile up for a client
// that does not read), measured where the socket runs, the heap included.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { listenControl, MAX_QUEUED_BYTES, type Connection } from "../../src/server/control-socket.js";
import type { Request } from "../../src/server/protocol.js";
import { tempDir } from "../helpers.js";
import { waitFor } from "./harness.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** A socket in a temporary directory served by `handle`; closed and removed after `body`. */
async function withSocket(handle: (request: Request, connection: Connection) => void, body: (path: string, server: Server) => Promise<void>): Promise<void> {
  const { dir, remove } = tempDir();
  const path = join(dir, "test.sock");
  let server: Server | undefined;
  try {
    server = await listenControl({ path, mode: 0o600, gid: null, name: "control", handle, log: () => {} });
    await body(path, server);
  } finally {
    await new Promise((r) => (server === undefined ? r(null) : server.close(r)));
    remove();
  }
}

/** A client that collects the reply lines it is sent. */
function client(path: string): Promise<{ socket: Socket; replies: Record<string, unknown>[] }> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const replies: Record<string, unknown>[] = [];
    let buffered = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        replies.push(JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>);
        buffered = buffered.slice(nl + 1);
      }
    });
    socket.once("connect", () => resolve({ socket, replies }));
    socket.once("error", reject);
  });
}

describe("control socket", () => {
  test("whatever throws once a line is parsed is answered as an internal error, and the connection serves the next request", () =>
    withSocket(
      (request, connection) => {
        if (request.cmd === "ping") throw new Error("boom");
        connection.send({ id: request.id, ok: true, result: request.cmd });
      },
      async (path) => {
        const c = await client(path);
        c.socket.write('{"id": 1, "cmd": "ping"}\n{"id": 2, "cmd": "nosuch"}\n{"id": 3, "cmd": "list"}\n');
        await waitFor("three replies", () => c.replies.length >= 3, 5000, 5);
        assert.deepEqual(c.replies, [
          { id: 1, ok: false, error: "internal error: boom" },
          { id: 2, ok: false, error: 'unknown command "nosuch"' },
          { id: 3, ok: true, result: "list" },
        ]);
        c.socket.destroy();
      },
    ));

  test("replies queued for a client that does not read stop at the cap and are held outside the JS heap", { timeout: 60_000 }, async () => {
    // A reply of 4 KiB, as a `status` of 20 services is: queued as strings, 1 MiB of them
    // stayed on the heap and made V8 grow its young generation while more were built.
    const result = "x".repeat(4096);
    let handled = 0;
    let blocked: Connection | undefined;
    await withSocket(
      (request, connection) => {
        handled++;
        connection.send({ id: request.id, ok: true, result });
        if (connection.backlog() > MAX_QUEUED_BYTES) blocked = connection;
      },
      async (path) => {
        gc();
        const before = process.memoryUsage();
        const c = await client(path);
        c.socket.pause();
        c.socket.write('{"id": 1, "cmd": "status"}\n'.repeat(2000));
        try {
          await waitFor("the queue to reach the cap", () => blocked, 10_000, 5);
          gc();
          const held = process.memoryUsage();
          const heapMiB = (held.heapUsed - before.heapUsed) / 2 ** 20;
          const outsideMiB = (held.arrayBuffers - before.arrayBuffers) / 2 ** 20;
          assert.ok(heapMiB < 0.5, `the JS heap holds ${heapMiB.toFixed(2)} MiB more with 1 MiB queued for a client that does not read`);
          assert.ok(outsideMiB >= 0.9, `only ${outsideMiB.toFixed(2)} MiB of queued replies outside the heap`);
          // Nothing more is dispatched while it is blocked: what it sent waits unread.
          const atCap = handled;
          await new Promise((r) => setImmediate(r));
          assert.equal(handled, atCap);
          assert.ok(handled < 2000, "every request was dispatched");
        } finally {
          c.socket.destroy(); // the server closes once its connections have
        }
      },
    );
  });

  test("refusals count against the cap too: a client that sends junk and never reads is read no more once 1 MiB of them is queued", { timeout: 60_000 }, () =>
    withSocket(
      () => assert.fail("no junk line is a request"),
      async (path, server) => {
        let served: Socket | undefined;
        server.once("connection", (socket: Socket) => (served = socket));
        const c = await client(path);
        c.socket.pause();
        // 2 bytes a line, 75 bytes a refusal: 1M lines would queue 75 MB.
        c.socket.write("x\n".repeat(1_000_000));
        try {
          await waitFor("1 MiB of refusals queued", () => (served?.writableLength ?? 0) > MAX_QUEUED_BYTES, 20_000, 5);
          assert.equal(served!.isPaused(), true, "the server still reads a client with 1 MiB of refusals queued");
          await new Promise((r) => setImmediate(r));
          assert.ok(served!.writableLength < MAX_QUEUED_BYTES + 1024, `${served!.writableLength} bytes queued`);
        } finally {
          c.socket.destroy();
        }
      },
    ));
});
