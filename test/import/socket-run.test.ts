// A hand-written systemd service and its .socket, imported by tend import and run by a
// real server: the socket is open from the boot while the service is down (it has
// `start-on = connection`), the first connection starts it, and the python3 service
// serves it on the fd the socket unit described, named as systemd would name it.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { runImport } from "../../src/import/import.js";
import { findTool } from "../helpers.js";
import { fetchLine, freePort, withRoot } from "../server/harness.js";

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

describe("an imported .socket unit run by tend", { skip: python === null ? "python3 is not installed" : false }, () => {
  test("echo.socket (WantedBy=sockets.target) and echo.service: not started by the boot, started and served at the first connection", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const port = await freePort();
      const script = root.file("serve.py", SERVE);
      const units = root.path("units");
      mkdirSync(units);
      root.file("units/echo.service", `[Unit]\nDescription=echo\nRequires=echo.socket\n[Service]\nExecStart=${python} ${script}\nRestart=on-failure\n`);
      root.file("units/echo.socket", `[Socket]\nListenStream=127.0.0.1:${port}\nFileDescriptorName=echo\n[Install]\nWantedBy=sockets.target\n`);
      const imported = runImport({ operands: [join(units, "echo.socket")], to: root.sources, force: false, root: "/" });
      assert.deepEqual(imported.units.flatMap((u) => u.errors), []);
      assert.equal(imported.status, 0, JSON.stringify(imported.units.flatMap((u) => u.notes).filter((n) => n.outcome !== "translated" && n.outcome !== "ignored")));
      const compiled = await root.compile();
      assert.equal(compiled.status, 0, compiled.stderr);
      const daemon = await root.startDaemon({ boot: true });
      assert.equal((await root.state("echo")).phase, "down", "on demand: the boot does not start it");
      const line = await fetchLine(port);
      const up = await root.waitPhase("echo", "up");
      assert.equal(line, `${up.pid} echo\n`);
      await root.shutdown(daemon);
    }),
  );
});
