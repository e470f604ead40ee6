// Readiness, with real processes: a longrun is up when it says so, not when it was
// spawned. Each provider waits for a gate file before it signals readiness, so the
// test can see it held in `starting`, with the service that requires it not yet
// started; then the gate opens and the dependent starts, after the provider's own
// "ready" stamp. Also: a listener that is another process's (an orphan holding the
// port) does not make the service ready, and the start timeout.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findTool } from "../helpers.js";
import { JS_STAMP, NODE, alive, freePort, stamps, waitFor, withRoot, type ChangeResult, type TestRoot } from "./harness.js";

interface Protocol {
  name: string;
  ready: (root: TestRoot) => string;
  /** The provider's command; it must wait for GATE, write a stamp to READY, then signal. */
  command: (root: TestRoot) => string | Promise<string>;
  /** `none` cannot be held back: it is up as soon as it is spawned. */
  gated: boolean;
  statusText?: string;
  skip?: string | false;
}

const GATE = (root: TestRoot): string => `while [ ! -e ${root.path("gate")} ]; do sleep 0.02; done`;
const STAMP_READY = (root: TestRoot): string => `date +%s%N > ${root.path("p.ready")}`;

/** A node program that listens (on a port or a unix path) once the gate file exists. */
const LISTENER = `${JS_STAMP}
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createServer } from "node:net";
const [gate, readyFile, where] = process.argv.slice(2);
process.on("SIGTERM", () => process.exit(0));
const poll = setInterval(() => {
  if (!existsSync(gate)) return;
  clearInterval(poll);
  writeFileSync(readyFile, stamp());
  const server = createServer((s) => s.end());
  if (/^\\d+$/.test(where)) server.listen(Number(where), "127.0.0.1");
  else server.listen(where);
}, 20);
`;

const NOTIFY_PY = `import os, socket, sys, time, signal
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
gate, ready = sys.argv[1], sys.argv[2]
while not os.path.exists(gate):
    time.sleep(0.02)
with open(ready, "w") as f:
    f.write(str(time.time_ns()))
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"STATUS=serving tests\\nREADY=1", os.environ["NOTIFY_SOCKET"])
while True:
    time.sleep(3600)
`;

/** A unix datagram socket bound once the gate file exists (Node has none: python3). */
const DGRAM_PY = `import os, socket, sys, time, signal
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
gate, ready, path = sys.argv[1], sys.argv[2], sys.argv[3]
while not os.path.exists(gate):
    time.sleep(0.02)
with open(ready, "w") as f:
    f.write(str(time.time_ns()))
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
while True:
    time.sleep(3600)
`;

const python = findTool("python3");
const systemdNotify = findTool("systemd-notify");

const PROTOCOLS: Protocol[] = [
  { name: "fd", ready: () => "fd", gated: true, command: (r) => `sh -c '${GATE(r)}; ${STAMP_READY(r)}; echo >&3; exec sleep 1000'` },
  { name: "fd:5", ready: () => "fd:5", gated: true, command: (r) => `sh -c '${GATE(r)}; ${STAMP_READY(r)}; echo >&5; exec sleep 1000'` },
  {
    name: "notify (python3 socket)",
    ready: () => "notify",
    gated: true,
    statusText: "serving tests",
    skip: python === null && "python3 is not installed",
    command: (r) => `${python} ${r.file("notify.py", NOTIFY_PY)} ${r.path("gate")} ${r.path("p.ready")}`,
  },
  {
    name: "notify (systemd-notify)",
    ready: () => "notify",
    gated: true,
    statusText: "via systemd-notify",
    skip: systemdNotify === null && "systemd-notify is not installed",
    command: (r) => `sh -c '${GATE(r)}; ${STAMP_READY(r)}; systemd-notify --ready --status="via systemd-notify"; exec sleep 1000'`,
  },
  {
    name: "tcp",
    ready: (r) => `tcp:127.0.0.1:${(r as TestRoot & { port: number }).port}`,
    gated: true,
    command: async (r) => {
      (r as TestRoot & { port: number }).port = await freePort();
      return `${NODE} ${r.file("listen.mjs", LISTENER)} ${r.path("gate")} ${r.path("p.ready")} ${(r as TestRoot & { port: number }).port}`;
    },
  },
  {
    name: "unix",
    ready: (r) => `unix:${r.path("p.sock")}`,
    gated: true,
    command: (r) => `${NODE} ${r.file("listen.mjs", LISTENER)} ${r.path("gate")} ${r.path("p.ready")} ${r.path("p.sock")}`,
  },
  {
    name: "unix-dgram (python3)",
    ready: (r) => `unix-dgram:${r.path("p.dgram")}`,
    gated: true,
    skip: python === null && "python3 is not installed",
    command: (r) => `${python} ${r.file("dgram.py", DGRAM_PY)} ${r.path("gate")} ${r.path("p.ready")} ${r.path("p.dgram")}`,
  },
  {
    name: "exec",
    ready: (r) => `exec:test -e ${r.path("flag")}`,
    gated: true,
    command: (r) => `sh -c '${GATE(r)}; ${STAMP_READY(r)}; touch ${r.path("flag")}; exec sleep 1000'`,
  },
  { name: "none", ready: () => "none", gated: false, command: (r) => `sh -c '${STAMP_READY(r)}; exec sleep 1000'` },
];

describe("readiness protocols", { concurrency: true }, () => {
  for (const protocol of PROTOCOLS) {
    const title = protocol.gated ? "up only once ready, and what requires it starts after" : "up as soon as spawned, and what requires it starts";
    test(`ready = ${protocol.name}: ${title}`, { skip: protocol.skip, timeout: 60_000 }, () =>
      withRoot(async (root) => {
        const command = await protocol.command(root);
        root.services({
          p: `type = longrun\ncommand = ${command}\nready = ${protocol.ready(root)}\nstart-timeout = 30s\n`,
          d: `type = longrun\ncommand = sh -c 'date +%s%N > ${root.path("d.start")}; exec sleep 1000'\nrequires = p\n`,
        });
        await root.compile();
        const daemon = await root.startDaemon();

        if (protocol.gated) {
          const asked = await root.tend("start", "d", "--no-wait");
          assert.equal(asked.status, 0, asked.stderr);
          const p = await root.waitPhase("p", (s) => s.phase === "starting" && s.pid !== null);
          // Held: the process runs, but it has not said it is ready.
          const status = await root.tend("status", "p");
          assert.equal(status.status, 3, `status p while not ready:\n${status.stdout}`);
          assert.equal((await root.state("d")).phase, "down");
          assert.equal(existsSync(root.path("d.start")), false, "d started before p was ready");
          assert.ok(alive(p.pid!));
          writeFileSync(root.path("gate"), "");
          await root.waitPhase("d", "up");
          const waited = await root.json<ChangeResult>("start", "d");
          assert.equal(waited.run.status, 0, waited.run.stdout + waited.run.stderr);
        } else {
          const { run, data } = await root.json<ChangeResult>("start", "d");
          assert.equal(run.status, 0, run.stdout + run.stderr);
          assert.deepEqual(data.failed, []);
          assert.deepEqual(data.services.map((s) => [s.name, s.phase]), [["d", "up"]]);
        }
        const p = await root.state("p");
        assert.equal(p.phase, "up");
        if (protocol.gated) {
          const [ready] = stamps(root.path("p.ready"));
          const [started] = await waitForStamp(root, "d.start");
          assert.ok(ready !== undefined && started !== undefined && started > ready, `d started at ${started}, before p was ready at ${ready}`);
        }
        if (protocol.statusText !== undefined) {
          assert.equal(p.statusText, protocol.statusText);
          const text = await root.tend("status", "p");
          assert.match(text.stdout, new RegExp(`"${protocol.statusText}"`));
        }
        await root.shutdown(daemon);
      }),
    );
  }
});

/**
 * Another process's socket, started by the test (not by tend): `tcp` (on 127.0.0.1, a
 * free port), `unix` or `unix-dgram` at PATH. It prints where it is, then a line per
 * connection it accepts; SIGTERM removes its path and ends it.
 */
const FOREIGN_PY = `import os, signal, socket, sys
kind, where = sys.argv[1], sys.argv[2]
if kind == "tcp":
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    where = str(s.getsockname()[1])
else:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM if kind == "unix-dgram" else socket.SOCK_STREAM)
    s.bind(where)
def end(*_):
    if kind != "tcp":
        os.unlink(where)
    os._exit(0)
signal.signal(signal.SIGTERM, end)
if kind != "unix-dgram":
    s.listen(16)
print(where, flush=True)
while True:
    if kind == "unix-dgram":
        signal.pause()
    c, _ = s.accept()
    print("connection", flush=True)
    c.close()
`;

/** The service: binds WHERE once it is free (the port, or a path no longer there), then counts the connections it accepts in COUNT. */
const OWN_PY = `import os, socket, sys, time
kind, where, count = sys.argv[1], sys.argv[2], sys.argv[3]
while True:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM) if kind == "tcp" else socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM if kind == "unix-dgram" else socket.SOCK_STREAM)
    try:
        if kind == "tcp":
            s.bind(("127.0.0.1", int(where)))
        elif os.path.exists(where):
            raise OSError("still there")
        else:
            s.bind(where)
        break
    except OSError:
        s.close()
        time.sleep(0.02)
if kind == "unix-dgram":
    while True:
        time.sleep(3600)
s.listen(16)
accepted = 0
while True:
    c, _ = s.accept()
    c.close()
    accepted += 1
    with open(count, "w") as f:
        f.write(str(accepted))
`;

describe("readiness is the service's own listener", { concurrency: true }, () => {
  for (const kind of ["tcp", "unix", "unix-dgram"] as const) {
    test(`ready = ${kind}: another process's socket there does not make the service ready, and tend says whose it is once; its own does, without a connection`, { skip: python === null && "python3 is not installed", timeout: 90_000 }, () =>
      withRoot(async (root) => {
        const foreign = spawn(python!, [root.file("foreign.py", FOREIGN_PY), kind, kind === "tcp" ? "0" : root.path("p.sock")], { stdio: ["ignore", "pipe", "inherit"] });
        const gone = new Promise((resolve) => foreign.once("exit", resolve));
        try {
          let said = "";
          foreign.stdout!.setEncoding("utf8").on("data", (d: string) => (said += d));
          const where = await waitFor("the foreign socket", () => said.split("\n").length > 1 && said.split("\n")[0]);
          const place = kind === "tcp" ? `127.0.0.1:${where}` : where;
          root.service("p", `type = longrun\ncommand = ${python} ${root.file("own.py", OWN_PY)} ${kind} ${where} ${root.path("accepted")}\nready = ${kind}:${place}\nstart-timeout = 60s\n`);
          await root.compile();
          const daemon = await root.startDaemon();
          const asked = await root.tend("start", "p", "--no-wait");
          assert.equal(asked.status, 0, asked.stderr);
          const command = readFileSync(`/proc/${foreign.pid}/comm`, "utf8").trim();
          const text = `${place} is ${kind === "unix-dgram" ? "bound" : "answered"} by pid ${foreign.pid} (${command}), which is not p's`;
          const held = await root.waitPhase("p", (s) => s.reason === `not ready: ${text}`);
          assert.equal(held.phase, "starting");
          const status = await root.tend("status", "p");
          assert.ok(status.stdout.includes(text), status.stdout);
          const log = join(root.places.log, "p", "current");
          await waitFor("the service's log to say so", () => existsSync(log) && readFileSync(log, "utf8").includes(`[tend] ${text}`));
          foreign.kill("SIGTERM");
          await gone;
          const up = await root.waitPhase("p", "up");
          assert.equal(up.reason, null);
          assert.equal(readFileSync(log, "utf8").split(`[tend] ${text}`).length, 2, "said once in its log");
          assert.equal(daemon.output().split(`p: ${text}`).length, 2, `said once in tend's output:\n${daemon.output()}`);
          assert.doesNotMatch(said, /connection/, "no connection was made to the other process");
          assert.equal(existsSync(root.path("accepted")), false, "no connection was made to the service: the kernel's tables told");
          await root.shutdown(daemon);
        } finally {
          foreign.kill("SIGKILL");
        }
      }),
    );
  }
});

/** d writes its stamp right after it is spawned: it may not be on disk yet when d is reported up. */
async function waitForStamp(root: TestRoot, file: string): Promise<bigint[]> {
  return waitFor(`${file} to be written`, () => {
    const s = stamps(root.path(file));
    return s.length > 0 ? s : null;
  });
}

describe("start timeout", { concurrency: true }, () => {
  test("a longrun that never becomes ready fails with the timeout as its reason, and its process is stopped", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.service("x", `type = longrun\ncommand = sh -c 'echo $$ > ${root.path("x.pid")}; exec sleep 1000'\nready = fd\nstart-timeout = 500ms\n`);
      await root.compile();
      const daemon = await root.startDaemon();
      const { run, data } = await root.json<ChangeResult>("start", "x");
      assert.equal(run.status, 1, `a failed start exits 1:\n${run.stdout}${run.stderr}`);
      assert.deepEqual(data.failed, ["x"]);
      const x = data.services.find((s) => s.name === "x")!;
      assert.equal(x.phase, "failed");
      assert.match(x.reason ?? "", /start timeout: did not become ready within 500ms/);
      assert.ok(run.ms >= 500, `the start gave up after ${run.ms} ms, before the timeout`);
      const pid = Number(readFileSync(root.path("x.pid"), "utf8"));
      assert.equal(alive(pid), false, `the service's process ${pid} still runs`);
      const status = await root.json<{ services: { phase: string; pid: number | null; reason: string }[] }>("status", "x");
      assert.equal(status.run.status, 1, "LSB: failed is 1");
      assert.equal(status.data.services[0]!.pid, null);
      assert.match(status.data.services[0]!.reason, /start timeout/);
      await root.shutdown(daemon);
    }),
  );

  test("a oneshot whose up does not finish in time fails and is killed", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.service("o", `type = oneshot\nup = sh -c 'echo $$ > ${root.path("o.pid")}; exec sleep 1000'\nstart-timeout = 300ms\nstop-timeout = 1s\n`);
      await root.compile();
      const daemon = await root.startDaemon();
      const { run, data } = await root.json<ChangeResult>("start", "o");
      assert.equal(run.status, 1);
      assert.match(data.services[0]!.reason ?? "", /start timeout: 'up' did not finish within 300ms/);
      const pid = Number(readFileSync(root.path("o.pid"), "utf8"));
      assert.equal(alive(pid), false);
      await root.shutdown(daemon);
    }),
  );

  test("a program that does not exist fails with the reason (restart = never: at once)", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      // (With a restart policy, a failed spawn counts as a crash and is retried with back-off.)
      root.service("m", `type = longrun\ncommand = ${root.path("missing-program")}\nrestart = never\n`);
      // The host check would reject the missing program: compile the file while it exists.
      root.file("missing-program", "#!/bin/sh\nexec sleep 1000\n");
      await root.compile();
      rmSync(root.path("missing-program"));
      const daemon = await root.startDaemon();
      const { run, data } = await root.json<ChangeResult>("start", "m");
      assert.equal(run.status, 1);
      assert.equal(data.services[0]!.phase, "failed");
      assert.match(data.services[0]!.reason ?? "", /cannot start: .*no such program/);
      await root.shutdown(daemon);
    }),
  );
});
