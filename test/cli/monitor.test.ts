// `tend monitor` with the built CLI against a real server: the current state, then a
// start and a stop in order (--json); events and levels as lines; `--until` decided at
// once when it holds already, and when a change makes it hold; `--timeout`; names
// refused as other commands refuse them; Ctrl-C and a reader that goes away end it.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import type { MonitorEntry } from "../../src/server/protocol.js";
import { childEnv } from "../helpers.js";
import { BIN, NODE, waitFor, withRoot, type TestRoot } from "../server/harness.js";

interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `tend --root ROOT ARGS…` left running, its output collected. */
function start(root: TestRoot, ...args: string[]): Running {
  const child = spawn(NODE, [BIN, "--root", root.dir, ...args], { env: childEnv(), stdio: ["ignore", "pipe", "pipe"] });
  let [stdout, stderr] = ["", ""];
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("close", (code, signal) => resolve({ code, signal })));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

const entries = (text: string): MonitorEntry[] => text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as MonitorEntry);
const phases = (text: string, service: string): string[] =>
  entries(text).flatMap((e) => (e.kind === "service" && e.service === service ? [`${e.current === true ? "now " : ""}${e.phase}`] : []));

const SERVICES = {
  pair: "type = bundle\ncontents = web db\n",
  web: "type = longrun\ncommand = sleep 1000\n",
  db: "type = longrun\ncommand = sleep 1000\n",
  job: "type = task\ncommand = true\n",
};

describe("tend monitor", { concurrency: true }, () => {
  test("--json: the current state, then a start and a stop in order; only the names asked for", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services(SERVICES);
      await root.compile();
      const daemon = await root.startDaemon();
      const monitor = start(root, "--json", "monitor", "web");
      try {
        await waitFor("web's current state", () => phases(monitor.stdout(), "web").includes("now down"));
        assert.equal((await root.tend("start", "web", "db")).status, 0);
        assert.equal((await root.tend("stop", "web")).status, 0);
        await waitFor("web down again", () => phases(monitor.stdout(), "web").at(-1) === "down");
        assert.deepEqual(phases(monitor.stdout(), "web"), ["now down", "starting", "up", "stopping", "down"]);
        assert.deepEqual(phases(monitor.stdout(), "db"), [], "db was not asked for");
        const up = entries(monitor.stdout()).find((e) => e.kind === "service" && e.phase === "up");
        assert.ok(up?.kind === "service" && up.ready && typeof up.time === "number", JSON.stringify(up));
      } finally {
        monitor.child.kill("SIGINT");
      }
      assert.deepEqual(await monitor.exited, { code: 0, signal: null }, monitor.stderr());
      assert.equal(monitor.stderr(), "", "Ctrl-C ends it quietly");
      await root.shutdown(daemon);
    }),
  );

  test("lines on a terminal's format: a change, a failure's reason, an event, a level", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({ ...SERVICES, bad: "type = oneshot\nup = sh -c 'exit 3'\n" });
      await root.compile();
      const daemon = await root.startDaemon();
      const monitor = start(root, "monitor");
      try {
        await waitFor("the current states", () => / bad down\n/.test(monitor.stdout()));
        await root.tend("start", "bad");
        assert.equal((await root.tend("emit", "net-up", "IFACE=eth0")).status, 0);
        assert.equal((await root.tend("set", "net.eth0", "up")).status, 0);
        await waitFor("the level", () => /level net\.eth0=up\n/.test(monitor.stdout()));
        const text = monitor.stdout();
        assert.match(text, /^\d\d:\d\d:\d\d\.\d{3} web down$/m);
        assert.match(text, /^\d\d:\d\d:\d\d\.\d{3} bad failed: .*3/m);
        assert.match(text, /^\d\d:\d\d:\d\d\.\d{3} event net-up IFACE=eth0$/m);
        assert.match(text, /^\d\d:\d\d:\d\d\.\d{3} level net\.eth0=up$/m);
      } finally {
        monitor.child.kill("SIGTERM");
      }
      assert.equal((await monitor.exited).code, 0, monitor.stderr());
      await root.shutdown(daemon);
    }),
  );

  test("--until: at once when it holds already; when a later start makes it hold; all conditions; a task's up is its run; a bundle's, its members'", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services(SERVICES);
      await root.compile();
      const daemon = await root.startDaemon();
      const already = await root.tend("monitor", "--until", "web=down");
      assert.equal(already.status, 0, already.stderr);
      assert.match(already.stdout, / web down\n$/);

      const waiting = start(root, "--json", "monitor", "--until", "web=up", "--until", "db=up,job=up");
      await waitFor("the monitor's current states", () => phases(waiting.stdout(), "job").includes("now down"));
      assert.equal((await root.tend("start", "web")).status, 0);
      assert.equal((await root.tend("start", "db")).status, 0);
      assert.equal(waiting.child.exitCode, null, "job has not run: the monitor still waits");
      assert.equal((await root.tend("start", "job")).status, 0);
      assert.deepEqual(await waiting.exited, { code: 0, signal: null }, waiting.stderr());
      assert.equal(entries(waiting.stdout()).at(-1)?.kind, "service");

      const up = await root.tend("monitor", "--until", "web=up,job=up", "--timeout", "20s");
      assert.equal(up.status, 0, up.stderr);
      const bundle = await root.tend("monitor", "--until", "pair=up", "--timeout", "20s");
      assert.equal(bundle.status, 0, `a bundle's condition is its members': ${bundle.stderr}`);
      await root.shutdown(daemon);
    }),
  );

  test("--timeout expires with exit 1, saying what did not hold; with one, it waits for the server too; usage errors and unknown names", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services(SERVICES);
      await root.compile();
      const early = start(root, "monitor", "--until", "web=up", "--timeout", "20s");
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "web")).status, 0);
      assert.deepEqual(await early.exited, { code: 0, signal: null }, `started before the server: ${early.stderr()}`);
      assert.equal((await root.tend("stop", "web")).status, 0);
      const late = await root.tend("monitor", "--until", "web=up", "--timeout", "2s");
      assert.equal(late.status, 1, late.stderr);
      assert.match(late.stderr, /timed out after 2s: web is down, not up/);

      const bad = await root.tend("monitor", "--until", "web=upp");
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /'upp' in 'web=upp' is not a state: use up, down/);
      assert.equal((await root.tend("monitor", "--until", "=up")).status, 2);
      assert.equal((await root.tend("monitor", "--timeout", "1s")).status, 2, "--timeout needs --until");
      const unknown = await root.tend("monitor", "--until", "wbe=up");
      assert.equal(unknown.status, 1);
      assert.match(unknown.stderr, /unknown service: wbe \(did you mean 'web'\?\)/);
      await root.shutdown(daemon);
    }),
  );

  test("'tend monitor | head -1' ends once the reader is gone; a monitor ends when the server exits", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services(SERVICES);
      await root.compile();
      const daemon = await root.startDaemon();
      const pipeline = spawn("bash", ["-c", `'${NODE}' '${BIN}' --root '${root.dir}' monitor | head -1; echo "monitor: \${PIPESTATUS[0]}"`], { env: childEnv(), stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      pipeline.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
      const pipelineExited = new Promise((resolve) => pipeline.once("close", resolve));
      const monitor = start(root, "monitor");
      try {
        await waitFor("head's line", () => out.split("\n").length > 1);
        // The monitor learns that its reader went away when it next writes: a change.
        assert.equal((await root.tend("start", "web")).status, 0);
        await pipelineExited;
        assert.match(out, /^\d\d:\d\d:\d\d\.\d{3} \w+ down\nmonitor: 0\n$/, "one line, then the monitor ended with 0");
        await waitFor("the other monitor's states", () => / web up\n/.test(monitor.stdout()));
      } finally {
        pipeline.kill();
      }
      await root.shutdown(daemon);
      assert.deepEqual(await monitor.exited, { code: 0, signal: null }, monitor.stderr());
    }),
  );
});
