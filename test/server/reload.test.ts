// `tend reload` and `tend signal --main` with real processes: a reload command beside
// the service (MAINPID, its output in the service's log), a reload signal to the main
// process alone, a command that fails or takes too long (the service runs on), a
// notify service whose reload is over only at its READY=1 after RELOADING=1, and the
// refusals. Each service counts the signals it gets in a file: its main process and a
// child in its process group apart.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { findTool } from "../helpers.js";
import type { ReloadResult } from "../../src/server/protocol.js";
import { alive, readLines, runCli, waitFor, withRoot, type TestRoot } from "./harness.js";

/** A shell daemon: its main process writes `main SIG` and a child in its group `child SIG` to COUNT for each HUP and USR1. */
const COUNTER = `count=$1
trap 'echo main HUP >> "$count"' HUP
trap 'echo main USR1 >> "$count"' USR1
( trap 'echo child HUP >> "$count"' HUP; trap 'echo child USR1 >> "$count"' USR1; while :; do sleep 0.05; done ) &
echo >&3
while :; do sleep 0.05; done
`;

/** A notify daemon (Type=notify-reload): on SIGHUP it says RELOADING=1, waits for GATE (and removes it), then says READY=1. */
const NOTIFY_RELOAD = `import os, signal, socket, sys, time
gate = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(os.environ["NOTIFY_SOCKET"])
def reload(*_):
    s.send(b"RELOADING=1")
    while not os.path.exists(gate):
        time.sleep(0.02)
    os.remove(gate)
    s.send(b"READY=1")
signal.signal(signal.SIGHUP, reload)
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
s.send(b"READY=1")
while True:
    time.sleep(3600)
`;

const python = findTool("python3");

function counter(root: TestRoot, name: string, lines: string): string {
  const script = root.file("counter.sh", COUNTER);
  return `type = longrun\ncommand = sh ${script} ${root.path(`${name}.count`)}\nready = fd\n${lines}`;
}

const counts = (root: TestRoot, name: string): string[] => readLines(root.path(`${name}.count`));

describe("tend reload", { concurrency: true }, () => {
  test("a reload command runs beside the service with MAINPID, into its log; a reload signal reaches the main process alone; neither restarts it", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({
        // $MAINPID in the shell's quotes is the shell's, as an argument tend's own.
        web: counter(root, "web", `reload = sh -c 'echo reloading $MAINPID; kill -HUP $1' reload $MAINPID\n`),
        sig: counter(root, "sig", "reload-signal = USR1\n"),
      });
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "web", "sig")).status, 0);
      const web = await root.state("web");
      const first = await root.tend("reload", "web");
      assert.deepEqual([first.status, first.stdout], [0, "web: reloaded\n"], first.stderr);
      await waitFor("web's HUP", () => counts(root, "web").includes("main HUP"));
      assert.equal((await root.tend("reload", "web")).status, 0);
      await waitFor("the second HUP", () => counts(root, "web").filter((l) => l === "main HUP").length === 2);
      assert.match((await root.tend("logs", "web")).stdout, new RegExp(`reloading ${web.pid}\\n[^]*reloading ${web.pid}\\n`), "the command's output is in the service's log");
      const after = await root.state("web");
      assert.deepEqual([after.phase, after.pid, after.restarts, after.reloading], ["up", web.pid, 0, false], "reloaded, not restarted");

      const { run, data } = await root.json<ReloadResult>("reload", "sig");
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(data, { services: [{ name: "sig", error: null }], failed: [] });
      await waitFor("sig's USR1", () => counts(root, "sig").includes("main USR1"));
      assert.ok(!counts(root, "sig").includes("child USR1"), "the child in the main's group got nothing");

      const noWait = await root.tend("reload", "--no-wait", "sig");
      assert.deepEqual([noWait.status, noWait.stdout], [0, "reload: asked of sig\n"]);
      await waitFor("the second USR1", () => counts(root, "sig").filter((l) => l === "main USR1").length === 2);
      await root.shutdown(daemon);
    }),
  );

  test("a reload that fails, or takes too long, says so and exits 1; the service keeps running; what cannot be reloaded is refused", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({
        bad: `type = longrun\ncommand = sleep 1000\nreload = sh -c 'echo cannot; exit 3'\n`,
        slow: `type = longrun\ncommand = sleep 1000\nreload = sh -c 'echo $$ > ${root.path("slow.pid")}; exec sleep 1000'\nreload-timeout = 300ms\n`,
        plain: "type = longrun\ncommand = sleep 1000\n",
      });
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "bad", "slow", "plain")).status, 0);
      const bad = await root.state("bad");
      const failed = await root.tend("reload", "bad");
      assert.deepEqual([failed.status, failed.stdout], [1, "bad: reload failed: exited with code 3\n"]);
      assert.deepEqual(await root.state("bad").then((s) => [s.phase, s.pid]), ["up", bad.pid]);

      const slow = await root.tend("reload", "slow");
      assert.deepEqual([slow.status, slow.stdout], [1, "slow: reload failed: reload timeout: not done within 300ms\n"]);
      const command = Number(readLines(root.path("slow.pid"))[0]);
      await waitFor("the slow reload command to be killed", () => !alive(command));
      assert.equal((await root.state("slow")).phase, "up");

      const none = await root.tend("reload", "plain");
      assert.deepEqual([none.status, none.stderr], [1, "tend: plain has no 'reload' or 'reload-signal'; 'tend restart plain' restarts it\n"]);
      assert.equal((await root.tend("stop", "bad")).status, 0);
      const down = await root.tend("reload", "bad");
      assert.deepEqual([down.status, down.stderr], [1, "tend: bad is not up (it is down): only an up service is reloaded\n"]);
      assert.equal((await root.tend("reload")).status, 2, "a name is needed");
      await root.shutdown(daemon);
    }),
  );

  test("a notify service's reload is over at the READY=1 after its RELOADING=1: tend reload waits for it, status shows it reloading", { timeout: 60_000, skip: python === null && "python3 is not installed" }, () =>
    withRoot(async (root) => {
      const program = root.file("notify-reload.py", NOTIFY_RELOAD);
      const gate = root.path("gate");
      root.service("note", `type = longrun\ncommand = ${python} ${program} ${gate}\nready = notify\nreload-signal = HUP\n`);
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "note")).status, 0);
      const before = await root.state("note");
      let answered = false;
      const reload = root.tend("reload", "note").finally(() => (answered = true));
      await root.waitPhase("note", (s) => s.reloading);
      assert.match((await root.tend("status", "note")).stdout, /\bup \(reloading\)/);
      assert.equal(answered, false, "tend reload waits for READY=1");
      writeFileSync(gate, "");
      const run = await reload;
      assert.deepEqual([run.status, run.stdout], [0, "note: reloaded\n"], run.stderr);
      const after = await root.state("note");
      assert.deepEqual([after.phase, after.pid, after.reloading], ["up", before.pid, false]);
      await root.shutdown(daemon);
    }),
  );

  for (const tracking of ["auto", "fallback"] as const) {
    test(`a stop during a reload fails it, and takes its command with the service's tree (tracking ${tracking})`, { timeout: 60_000 }, () =>
      withRoot(async (root) => {
        root.service("web", `type = longrun\ncommand = sleep 1000\nreload = sh -c 'echo $$ > ${root.path("reload.pid")}; exec sleep 1000'\nreload-timeout = infinity\n`);
        await root.compile();
        const daemon = await root.startDaemon({ env: { TEND_TRACKING: tracking } });
        assert.equal((await root.tend("start", "web")).status, 0);
        const reload = root.tend("reload", "web");
        const command = Number(await waitFor("the reload command", () => readLines(root.path("reload.pid"))[0]));
        assert.equal((await root.tend("stop", "web")).status, 0);
        const run = await reload;
        assert.deepEqual([run.status, run.stdout], [1, "web: reload failed: web went stopping during the reload\n"]);
        await waitFor("the reload command to be gone", () => !alive(command));
        await root.shutdown(daemon);
      }),
    );
  }

  test("a server that dies during a reload: the next one takes the reload command over, and sees it end", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const gate = root.path("gate");
      root.service("web", `type = longrun\ncommand = sleep 1000\nreload = sh -c 'echo $$ > ${root.path("reload.pid")}; while [ ! -e ${gate} ]; do sleep 0.02; done'\n`);
      await root.compile();
      const first = await root.startDaemon();
      assert.equal((await root.tend("start", "web")).status, 0);
      assert.equal((await root.tend("reload", "--no-wait", "web")).status, 0);
      const command = Number(await waitFor("the reload command", () => readLines(root.path("reload.pid"))[0]));
      first.child.kill("SIGKILL");
      await first.exited;
      const second = await root.startDaemon();
      assert.equal((await root.state("web")).reloading, true, "the reload goes on");
      writeFileSync(gate, "");
      await root.waitPhase("web", (s) => !s.reloading);
      assert.ok(!alive(command));
      assert.equal((await root.state("web")).phase, "up");
      await root.shutdown(second);
    }),
  );

  test("tend signal --main reaches the main process alone; without it, the process group", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.service("web", counter(root, "web", ""));
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "web")).status, 0);
      const { pid } = await root.state("web");
      const main = await root.tend("signal", "web", "HUP", "--main");
      assert.deepEqual([main.status, main.stdout], [0, `sent SIGHUP to web (main process ${pid})\n`], main.stderr);
      await waitFor("the main's HUP", () => counts(root, "web").includes("main HUP"));
      const group = await runCli(["--root", root.dir, "signal", "web", "USR1"]);
      assert.equal(group.status, 0, group.stderr);
      await waitFor("the group's USR1, the child's too", () => counts(root, "web").includes("child USR1") && counts(root, "web").includes("main USR1"));
      assert.ok(!counts(root, "web").includes("child HUP"), "the child got no HUP");
      await root.shutdown(daemon);
    }),
  );
});
