// The keeper's listening sockets (socket activation) with real services: a python3 one
// that reads LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES and serves on fds 3 and 4, a Node one
// on `listen({fd: 3})`; a connection made while the service is down, or between two of
// its runs, waits in the backlog and is served once it is up; a new set keeps the sockets
// it shares with the one held, backlog and all; a port in use is an answer with the
// reason, the set held stays, and the keeper goes on; `forget` removes the socket file it made.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { connectLine, fetchLine, freePort } from "../server/harness.js";
import { withKeeper, type Connection } from "./harness.js";

const PYTHON = `
import os, socket
assert int(os.environ["LISTEN_PID"]) == os.getpid()
n = int(os.environ["LISTEN_FDS"]); names = os.environ["LISTEN_FDNAMES"].split(":")
for fd in range(3, 3 + n):
    s = socket.socket(fileno=fd)
    c, _ = s.accept()
    c.sendall(("%s %d %s\\n" % (names[fd - 3], n, os.environ["LISTEN_PID"])).encode())
    c.close()
    s.detach()
`;

async function listenAnswer(c: Connection, service: string, sockets: string[]) {
  const from = c.messages.length;
  c.send({ type: "listen", service, sockets });
  return c.next("listening", (m) => m.service === service, from);
}

describe("keeper: listening sockets", { concurrency: true }, () => {
  test("python3 reads LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES; connections made while it is down are served once it is up", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      const port = await freePort();
      const path = join(k.dir, "web.sock");
      assert.deepEqual(await listenAnswer(c, "web", [`http=tcp:127.0.0.1:${port}`, `admin=unix:0600:-1:-1:${path}`]), { type: "listening", service: "web", count: 2, error: null });
      // Made before the service runs: they wait in the backlogs.
      const first = fetchLine({ port, host: "127.0.0.1" });
      const second = fetchLine({ path });
      c.send(k.spawnMessage("web", ["python3", "-c", PYTHON], { role: "main" }));
      const pid = (await c.next("spawned", (m) => m.service === "web")).pid;
      assert.equal(await first, `http 2 ${pid}\n`);
      assert.equal(await second, `admin 2 ${pid}\n`);
      await c.next("exited", (m) => m.service === "web" && m.pid === pid);
      // Between two runs: the same sockets, kept.
      const third = fetchLine({ port, host: "127.0.0.1" });
      const fourth = fetchLine({ path });
      const from = c.messages.length;
      assert.deepEqual(await listenAnswer(c, "web", [`http=tcp:127.0.0.1:${port}`, `admin=unix:0600:-1:-1:${path}`]), { type: "listening", service: "web", count: 2, error: null });
      c.send(k.spawnMessage("web", ["python3", "-c", PYTHON], { role: "main" }));
      const again = (await c.next("spawned", (m) => m.service === "web", from)).pid;
      assert.equal(await third, `http 2 ${again}\n`);
      assert.equal(await fourth, `admin 2 ${again}\n`);
      await c.next("exited", (m) => m.service === "web" && m.pid === again);
      c.send({ type: "forget", service: "web" });
      c.send({ type: "procs", service: "web" });
      await c.next("procs", (m) => m.service === "web");
      assert.equal(existsSync(path), false, "forget removes the socket file the keeper made");
    }),
  );

  test("a new set keeps the sockets the old one has (a renamed one too), through a forget keep-sockets=1: what waits in them is served; in the new order", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      const [a, b, added] = [await freePort(), await freePort(), await freePort()];
      const path = join(k.dir, "web.sock");
      const old = [`a=tcp:127.0.0.1:${a}`, `b=tcp:127.0.0.1:${b}`, `u=unix:0600:-1:-1:${path}`];
      assert.equal((await listenAnswer(c, "web", old)).count, 3);
      const onA = await connectLine(a); // nothing runs yet: they wait in the backlogs
      const onU = await connectLine({ path });
      // As the server does for a changed service: forgotten but for its sockets, then its new set (b dropped, c added, u renamed v).
      c.send({ type: "forget", service: "web", keepSockets: true });
      const answer = await listenAnswer(c, "web", [`a=tcp:127.0.0.1:${a}`, `c=tcp:127.0.0.1:${added}`, `v=unix:0600:-1:-1:${path}`]);
      assert.deepEqual(answer, { type: "listening", service: "web", count: 3, error: null });
      await assert.rejects(fetchLine(b), { code: "ECONNREFUSED" }, "the socket dropped is closed");
      c.send(k.spawnMessage("web", ["python3", "-c", PYTHON], { role: "main", listen: 3 }));
      const pid = (await c.next("spawned", (m) => m.service === "web")).pid;
      assert.equal(await onA.line, `a 3 ${pid}\n`);
      assert.equal(await fetchLine(added), `c 3 ${pid}\n`);
      assert.equal(await onU.line, `v 3 ${pid}\n`);
      await c.next("exited", (m) => m.service === "web" && m.pid === pid);
    }),
  );

  test("a new set that cannot be opened leaves the set held as it was; a unix socket in another mode is made again", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      const taken: Server = createServer();
      await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
      const busy = (taken.address() as { port: number }).port;
      const a = await freePort();
      const path = join(k.dir, "web.sock");
      try {
        assert.equal((await listenAnswer(c, "web", [`a=tcp:127.0.0.1:${a}`, `u=unix:0600:-1:-1:${path}`])).count, 2);
        const onA = await connectLine(a);
        const failed = await listenAnswer(c, "web", [`a=tcp:127.0.0.1:${a}`, `t=tcp:127.0.0.1:${busy}`]);
        assert.equal(failed.count, 2, "the set held stays");
        assert.match(failed.error ?? "", new RegExp(`cannot listen on 127\\.0\\.0\\.1:${busy}: Address already in use`));
        assert.equal(statSync(path).mode & 0o777, 0o600, "its unix socket too");
        // Its sockets are not the server's set: the service does not run on them.
        c.send(k.spawnMessage("web", ["true"], { role: "main", listen: 2 }));
        assert.match((await c.next("spawn-failed", (m) => m.service === "web")).error, /^cannot listen: cannot listen on .*Address already in use/);
        // The same path in another mode: closed and made again (it could not be bound while the old one listened).
        assert.deepEqual(await listenAnswer(c, "web", [`a=tcp:127.0.0.1:${a}`, `u=unix:0660:-1:-1:${path}`]), { type: "listening", service: "web", count: 2, error: null });
        assert.equal(statSync(path).mode & 0o777, 0o660);
        c.send(k.spawnMessage("web", ["python3", "-c", PYTHON], { role: "main", listen: 2 }));
        const pid = (await c.next("spawned", (m) => m.service === "web")).pid;
        assert.equal(await onA.line, `a 2 ${pid}\n`, "what waited through the failed set is served");
        assert.equal(await fetchLine({ path }), `u 2 ${pid}\n`);
        await c.next("exited", (m) => m.service === "web" && m.pid === pid);
        // A port from one address to the wildcard: the old one goes first, or the new one could not bind; the unix one dropped, its file removed.
        assert.deepEqual(await listenAnswer(c, "web", [`a=tcp:0.0.0.0:${a}`]), { type: "listening", service: "web", count: 1, error: null });
        assert.equal(existsSync(path), false);
      } finally {
        taken.close();
      }
    }),
  );

  test("watch=1: a connection while it has no process is told once, and not while it runs", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      const port = await freePort();
      const sockets = [`web=tcp:127.0.0.1:${port}`];
      c.send({ type: "listen", service: "lazy", sockets, watch: true });
      await c.next("listening", (m) => m.service === "lazy");
      const served = fetchLine({ port, host: "127.0.0.1" });
      await c.next("connection", (m) => m.service === "lazy");
      c.send(k.spawnMessage("lazy", ["python3", "-c", PYTHON], { role: "main", listen: 1 }));
      const pid = (await c.next("spawned", (m) => m.service === "lazy")).pid;
      assert.equal(await served, `web 1 ${pid}\n`);
      await c.next("exited", (m) => m.service === "lazy");
      assert.equal(c.messages.filter((m) => m.type === "connection").length, 1);
      // Watched again by the next listen: the same set, kept.
      c.send({ type: "listen", service: "lazy", sockets, watch: true });
      const from = c.messages.length;
      const again = fetchLine({ port, host: "127.0.0.1" });
      await c.next("connection", (m) => m.service === "lazy", from);
      c.send(k.spawnMessage("lazy", ["python3", "-c", PYTHON], { role: "main", listen: 1 }));
      assert.match(await again, /^web 1 \d+\n$/);
    }),
  );

  test("a Node service on listen({fd: 3}), IPv6; a task does not get the sockets", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      const port = await freePort();
      const answer = await listenAnswer(c, "node", [`web=tcp:[::1]:${port}`]);
      if (answer.error !== null && /Cannot assign|not available/i.test(answer.error)) return; // no IPv6 loopback here
      assert.equal(answer.error, null);
      c.send(k.spawnMessage("node", ["sh", "-c", 'echo "fds=${LISTEN_FDS-none}"'], { role: "pre-start" }));
      await c.next("exited", (m) => m.service === "node");
      assert.match(k.logOf("node"), /fds=none/);
      const served = fetchLine({ port, host: "::1" });
      const script = `require("net").createServer((s) => s.end("hello " + process.env.LISTEN_FDNAMES + "\\n")).listen({ fd: 3 })`;
      c.send(k.spawnMessage("node", [process.execPath, "-e", script], { role: "main", killRest: true }));
      assert.equal(await served, "hello web\n");
      c.send({ type: "signal", service: "node", signal: 9 });
      await c.next("exited", (m) => m.service === "node" && m.signal === "SIGKILL");
    }),
  );

  test("a port in use is refused with the reason; bad specs are refused; the keeper goes on", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      const taken: Server = createServer();
      await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
      const port = (taken.address() as { port: number }).port;
      try {
        const answer = await listenAnswer(c, "busy", [`a=tcp:127.0.0.1:${port}`]);
        assert.equal(answer.count, 0);
        assert.match(answer.error ?? "", new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: Address already in use`));
        // A spawn that counts on the set is refused with the reason: the service does not run without its sockets.
        c.send(k.spawnMessage("busy", ["true"], { role: "main", listen: 1 }));
        assert.match((await c.next("spawn-failed", (m) => m.service === "busy")).error, /^cannot listen: cannot listen on .*Address already in use/);
      } finally {
        taken.close();
      }
      for (const bad of ["a=tcp:localhost:80", "a=tcp:127.0.0.1:70000", "noname", "a:b=tcp:127.0.0.1:1", "a=sctp:1", "a=unix:0600:-1:-1:relative", "a=unix:999:-1:-1:/x"]) {
        const answer = await listenAnswer(c, "bad", [bad]);
        assert.match(answer.error ?? "", /^bad request/, bad);
      }
      const port2 = await freePort();
      assert.equal((await listenAnswer(c, "fine", [`a=tcp:127.0.0.1:${port2}`])).error, null);
      c.send(k.spawnMessage("fine", ["true"], { role: "main", readyFd: 3 }));
      assert.match((await c.next("spawn-failed", (m) => m.service === "fine")).error, /ready-fd 3 is one of the listening sockets/);
    }),
  );
});
