// Socket activation through the server: `listen` sockets are open from boot, before the
// service runs; a connection made while it is down (not started yet, or stopped between
// two runs, or through an apply that changes its other sockets) waits in the backlog and
// is served once it is up; a port in use fails that service's start with the reason, and
// the others keep running.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { findTool } from "../helpers.js";
import { connectLine, fetchLine, freePort, waitFor, withRoot } from "./harness.js";

const python = findTool("python3");

/** Answers each connection on fd 3 with its pid and LISTEN_FDNAMES. */
const SERVE = `import os, socket
assert int(os.environ["LISTEN_PID"]) == os.getpid() and os.environ["LISTEN_FDS"] == "1"
s = socket.socket(fileno=3)
while True:
    c, _ = s.accept()
    c.sendall(("%d %s\\n" % (os.getpid(), os.environ["LISTEN_FDNAMES"])).encode())
    c.close()
`;

/** Answers each connection on any of its sockets with its pid, the socket's fd and LISTEN_FDNAMES. */
const SERVE_ALL = `import os, select, socket
sockets = [socket.socket(fileno=fd) for fd in range(3, 3 + int(os.environ["LISTEN_FDS"]))]
while True:
    for s in select.select(sockets, [], [])[0]:
        c, _ = s.accept()
        c.sendall(("%d %d %s\\n" % (os.getpid(), s.fileno(), os.environ["LISTEN_FDNAMES"])).encode())
        c.close()
`;

describe("listen: sockets held for a service", { skip: python === null ? "python3 is not installed" : false }, () => {
  test("open from boot; connections made before it starts and between two runs are served once it is up; a port in use fails only its service", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const port = await freePort();
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
      const busyPort = (taken.address() as { port: number }).port;
      try {
        const script = root.file("serve.py", SERVE);
        root.services({
          echo: `type = longrun\nlisten = web=tcp:127.0.0.1:${port}\ncommand = ${python} ${script}\n`,
          busy: `type = longrun\nlisten = tcp:127.0.0.1:${busyPort}\ncommand = ${python} ${script}\nrestart = never\n`,
        });
        const compiled = await root.compile();
        assert.equal(compiled.status, 0, compiled.stderr);
        const daemon = await root.startDaemon();
        const early = fetchLine(port); // nothing runs yet: it waits
        assert.equal((await root.tend("start", "echo")).status, 0);
        const first = (await root.state("echo")).pid;
        assert.equal(await early, `${first} web\n`);
        assert.equal((await root.tend("stop", "echo")).status, 0);
        const between = fetchLine(port);
        assert.equal((await root.tend("start", "echo")).status, 0);
        const second = (await root.state("echo")).pid;
        assert.notEqual(second, first);
        assert.equal(await between, `${second} web\n`);
        await root.tend("start", "busy");
        const busy = await root.waitPhase("busy", (s) => s.phase === "failed");
        assert.match(busy.reason ?? "", new RegExp(`cannot listen: cannot listen on 127\\.0\\.0\\.1:${busyPort}: Address already in use`));
        assert.match(daemon.output(), /busy: .*cannot listen/);
        assert.equal(await fetchLine(port), `${second} web\n`, "the other service runs on");
        // Removed by an apply: stopped, and its socket closed.
        root.removeService("echo");
        const applied = await root.tend("apply");
        assert.equal(applied.status, 0, applied.stderr);
        await waitFor("the socket closed", () => fetchLine(port).then(() => false, (e: NodeJS.ErrnoException) => e.code === "ECONNREFUSED"));
        await root.shutdown(daemon);
      } finally {
        taken.close();
      }
    }),
  );

  test("an apply that changes its set keeps the sockets both sets have: a connection waiting on one is served by the new definition", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const [a, b, c] = [await freePort(), await freePort(), await freePort()];
      const script = root.file("serve.py", SERVE_ALL);
      const echo = (sockets: string) => `type = longrun\n${sockets}command = ${python} ${script}\n`;
      root.services({ echo: echo(`listen = a=tcp:127.0.0.1:${a}\nlisten = b=tcp:127.0.0.1:${b}\n`) });
      const compiled = await root.compile();
      assert.equal(compiled.status, 0, compiled.stderr);
      const daemon = await root.startDaemon();
      const waiting = await connectLine(a); // nothing runs: it waits in a's backlog
      root.services({ echo: echo(`listen = a=tcp:127.0.0.1:${a}\nlisten = c=tcp:127.0.0.1:${c}\n`) });
      const applied = await root.tend("apply");
      assert.equal(applied.status, 0, applied.stderr);
      assert.equal((await root.tend("start", "echo")).status, 0);
      const pid = (await root.state("echo")).pid;
      assert.equal(await waiting.line, `${pid} 3 a:c\n`, "served on a, which the apply kept");
      assert.equal(await fetchLine(c), `${pid} 4 a:c\n`);
      await assert.rejects(fetchLine(b), { code: "ECONNREFUSED" }, "b is closed");
      await root.shutdown(daemon);
    }),
  );

  test("start-on = connection: not started by the boot; the first connection starts it and is served", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const port = await freePort();
      const script = root.file("serve.py", SERVE);
      root.services({
        lazy: `type = longrun\nlisten = tcp:127.0.0.1:${port}\nstart-on = connection SERVICE=lazy\ncommand = ${python} ${script}\n`,
        default: "type = bundle\ncontents = lazy\n",
      });
      const compiled = await root.compile();
      assert.equal(compiled.status, 0, compiled.stderr);
      const daemon = await root.startDaemon({ boot: true });
      assert.equal((await root.state("lazy")).phase, "down");
      const line = await fetchLine(port);
      const up = await root.waitPhase("lazy", "up");
      assert.equal(line, `${up.pid} lazy\n`);
      await root.shutdown(daemon);
    }),
  );
});
