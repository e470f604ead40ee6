// Readiness, with real processes: a longrun is up when it says so, not when it was
// spawned. Each provider waits for a gate file before it signals readiness, so the
// test can see it held in `starting`, with the service that requires it not yet
// started; then the gate opens and the dependent starts, after the provider's own
// "ready" stamp. Also: the start timeout.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
