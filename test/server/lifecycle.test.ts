// The server's own life: one per root, SIGTERM stops everything in order and exits 0,
// a server that dies leaves its services with the keeper and the next one takes them
// over, a keeper that cannot start or dies is reported, `enable`/`disable` survive a restart
// of the server, `status NAME` answers with the LSB exit codes, `why` explains a
// dependency failure.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findKeeper } from "../../src/keeper/keeper.js";
import { childEnv } from "../helpers.js";
import { BIN, NODE, alive, events, once, waitFor, withRoot, writePrograms, type ChangeResult, type Daemon } from "./harness.js";

/**
 * Waits for a line in a server's output. Its stderr is a pipe read apart from its exit
 * and its sockets: a line may come in after the exit, or after a reply, that followed it.
 */
const says = (daemon: Daemon, line: RegExp): Promise<RegExpExecArray> => waitFor(`${line} in the server's output`, () => line.exec(daemon.output()));

describe("server lifecycle", { concurrency: true }, () => {
  test("a second server on the same root exits 1 and says why; the first keeps serving", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.service("a", "type = longrun\ncommand = sleep 1000\n");
      await root.compile();
      const first = await root.startDaemon();
      const second = await root.startDaemon({ noWait: true });
      const exit = await second.exited;
      assert.deepEqual(exit, { code: 1, signal: null });
      await says(second, new RegExp(`another tend server \\(pid ${first.pid}\\) is already running for ${root.places.run}`));
      const ping = await root.request({ cmd: "ping" });
      assert.ok(ping.ok && ping.result.pid === first.pid);
      await root.shutdown(first);
    }),
  );

  test("SIGTERM to the server stops every service in dependency order and exits 0", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const { longrun, log } = writePrograms(root);
      root.services({
        a: longrun("a"),
        b: longrun("b", 0, "requires = a\n"),
        c: longrun("c", 0, "requires = b\n"),
        o: `type = oneshot\nup = true\ndown = sh -c 'echo "stop o $(date +%s%N)" >> ${log}'\nrequires = a\n`,
        default: "type = bundle\ncontents = c o\n",
      });
      await root.compile();
      const daemon = await root.startDaemon({ boot: true });
      for (const n of ["a", "b", "c", "o"]) await root.waitPhase(n, "up");
      await root.status(); // remember the pids: all must be gone afterwards
      daemon.child.kill("SIGTERM");
      const exit = await root.awaitExit(daemon);
      assert.deepEqual(exit, { code: 0, signal: null }, daemon.output());
      await says(daemon, /SIGTERM: stopping everything/);
      const list = events(log);
      const stop = (n: string): bigint => once(list, "stop", n);
      assert.ok(stop("c") < stop("b") && stop("b") < stop("a"), "c, b, a should stop in that order");
      assert.ok(stop("o") < stop("a"), "o requires a: it stops first");
    }),
  );

  for (const tracking of ["auto", "fallback"] as const) {
    test(`a server that dies leaves its services with the keeper; the next server takes them over (tracking ${tracking})`, { timeout: 60_000 }, () =>
      withRoot(async (root) => {
        const env = { TEND_TRACKING: tracking };
        root.services({
          // Its child ignores SIGTERM: it goes only because the rest of the tree is killed with its main.
          a: `type = longrun\ncommand = sh -c '(trap "" TERM; exec sleep 1000) & echo $! > ${root.path("a.child")}; echo >&3; exec sleep 1000'\nready = fd\n`,
          // Ends while no server is connected: its exit waits in the keeper's table.
          t: `type = task\ncommand = sh -c 'while [ ! -e ${root.path("gate")} ]; do sleep 0.02; done; exit 3'\n`,
        });
        await root.compile();
        const first = await root.startDaemon({ env });
        if (tracking === "fallback") await says(first, /keeper \d+ \(started\): no cgroups/);
        assert.equal((await root.tend("start", "a")).status, 0);
        assert.equal((await root.tend("start", "t", "--no-wait")).status, 0);
        const a = await root.state("a");
        const t = await root.waitPhase("t", (s) => s.phase === "running" && s.pid !== null);
        const child = Number(await waitFor("a's child", () => readFileSync(root.path("a.child"), "utf8").trim()));
        root.seenPids.add(child);

        first.child.kill("SIGKILL");
        await first.exited;
        writeFileSync(root.path("gate"), "");
        await waitFor("t to end with no server", () => !alive(t.pid!));
        assert.ok(alive(a.pid!) && alive(child), "the keeper keeps a service running when its server dies");

        const second = await root.startDaemon({ env });
        await says(second, /keeper \d+ \(already running\)/);
        await says(second, /took over 1 running process and the previous server's state/);
        const kept = await root.state("a");
        assert.deepEqual([kept.phase, kept.pid], ["up", a.pid], "the same process, still up: nothing started twice");
        const ended = await root.waitPhase("t", "failed");
        assert.match(ended.reason ?? "", /run exited with code 3/, "the exit that came while no server ran is not lost");
        assert.equal((await root.tend("stop", "a")).status, 0);
        await waitFor("a and its child to be gone", () => !alive(a.pid!) && !alive(child));
        assert.doesNotMatch(second.output(), /keeper refused|cannot read/);
        await root.shutdown(second);
      }),
    );
  }

  for (const tracking of ["auto", "fallback"] as const) {
    test(`a oneshot's background child goes when the oneshot stops, with no 'down' (tracking ${tracking})`, { timeout: 60_000 }, () =>
      withRoot(async (root) => {
        const pidFile = root.path("child.pid");
        root.service("o", `type = oneshot\nup = sh -c 'setsid sleep 1000 & echo $! > ${pidFile}'\n`);
        await root.compile();
        const daemon = await root.startDaemon({ env: { TEND_TRACKING: tracking } });
        assert.equal((await root.tend("start", "o")).status, 0);
        const child = Number(await waitFor("the child's pid", () => existsSync(pidFile) && readFileSync(pidFile, "utf8").trim()));
        root.seenPids.add(child);
        assert.ok(alive(child), "it lives while the oneshot is up");
        assert.equal((await root.tend("stop", "o")).status, 0);
        await waitFor("the child to be gone", () => !alive(child));
        await root.shutdown(daemon);
      }),
    );
  }

  test("with --server the keeper runs the server itself, and starts it again when it dies: the services carry on", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.service("a", "type = longrun\ncommand = sleep 1000\n");
      await root.compile();
      mkdirSync(root.places.run, { recursive: true });
      const args = ["--socket", join(root.places.run, "keeper.sock"), "--server", NODE, BIN, "daemon", "--root", root.dir];
      const keeper = spawn(findKeeper(), args, { env: childEnv(), stdio: ["ignore", "pipe", "pipe"], detached: true });
      let output = "";
      keeper.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
      keeper.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
      const exited = new Promise<number | null>((resolve) => keeper.once("exit", resolve));
      const serving = async (): Promise<number | null> => {
        const reply = await root.request({ cmd: "ping" });
        return reply.ok ? reply.result.pid : null;
      };
      try {
        const first = await waitFor("the server the keeper started", serving);
        assert.equal((await root.tend("start", "a")).status, 0);
        const a = await root.state("a");
        process.kill(first, "SIGKILL");
        await waitFor("a new server", async () => ((await serving()) ?? first) !== first);
        assert.match(output, /the server \(pid \d+\) was killed by signal 9: starting it again in 500 ms/);
        const after = await root.waitPhase("a", "up");
        assert.equal(after.pid, a.pid, "the same process: nothing was started twice");
        assert.equal((await root.tend("shutdown")).status, 0);
        assert.equal(await exited, 0, output);
        assert.equal(alive(a.pid!), false);
      } finally {
        if (keeper.exitCode === null) keeper.kill("SIGKILL");
      }
    }),
  );

  test("a keeper that cannot be started, or exits before it is ready, makes the server exit 1 saying why", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.service("a", "type = longrun\ncommand = sleep 1000\n");
      await root.compile();
      const cases: [string, RegExp][] = [
        [root.path("no-such-keeper"), /cannot start: the keeper \(.*no-such-keeper\) could not be started: .*ENOENT/],
        [root.file("failing-keeper", "#!/bin/sh\necho 'tend-keeper: cannot listen' >&2\nexit 1\n"), /tend-keeper: cannot listen\n.*cannot start: the keeper \(.*failing-keeper\) exited with status 1 before it was ready/s],
      ];
      for (const [keeper, reason] of cases) {
        const daemon = await root.startDaemon({ env: { TEND_KEEPER: keeper }, noWait: true });
        assert.deepEqual(await daemon.exited, { code: 1, signal: null });
        await says(daemon, reason);
      }
    }),
  );

  test("a keeper that dies under the server: what it ran is killed, and the server exits 1 saying so", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.service("a", "type = longrun\ncommand = sleep 1000\n");
      await root.compile();
      const daemon = await root.startDaemon();
      const keeper = Number((await says(daemon, /keeper (\d+) \(started\)/))[1]);
      assert.equal((await root.tend("start", "a")).status, 0);
      const a = await root.state("a");
      process.kill(keeper, "SIGKILL");
      assert.deepEqual(await daemon.exited, { code: 1, signal: null });
      await says(daemon, /LOST THE KEEPER: the connection to the keeper \(pid \d+\) closed unexpectedly\. Every service it ran was killed/);
      await waitFor("the service to be gone", () => !alive(a.pid!));
      // The keeper that comes next removes what a killed one left of its cgroups.
      const next = await root.startDaemon();
      const cgroup = /one cgroup per service under (\S+)/.exec(daemon.output())?.[1];
      if (cgroup !== undefined) await waitFor(`${cgroup} to be removed`, () => !existsSync(cgroup));
      await root.shutdown(next);
    }),
  );

  test("enable and disable persist across a restart of the server", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({
        a: "type = longrun\ncommand = sleep 1000\n",
        b: "type = longrun\ncommand = sleep 1000\n",
        c: "type = longrun\ncommand = sleep 1000\n",
        default: "type = bundle\ncontents = a c\n",
      });
      await root.compile();
      let daemon = await root.startDaemon({ boot: true });
      await root.waitPhase("a", "up");
      assert.equal((await root.state("b")).phase, "down");
      const enabled = await root.json<{ enabled: string[]; disabled: string[] }>("enable", "b");
      assert.equal(enabled.run.status, 0, enabled.run.stderr);
      assert.deepEqual(enabled.data, { enabled: ["b"], disabled: [], booted: true });
      await root.waitPhase("b", "up");
      const disabled = await root.tend("disable", "a");
      assert.equal(disabled.status, 0, disabled.stderr);
      await root.waitPhase("a", "down");
      assert.equal((await root.state("c")).phase, "up");
      await root.shutdown(daemon);
      assert.deepEqual(JSON.parse(readFileSync(join(root.places.state, "enabled.json"), "utf8")), { enabled: ["b"], disabled: ["a"] });

      daemon = await root.startDaemon({ boot: true });
      await root.waitPhase("b", "up");
      await root.waitPhase("c", "up");
      const a = await root.state("a");
      assert.equal(a.phase, "down");
      assert.equal(a.wanted, false);
      // Enabling again brings it back into the boot set.
      assert.equal((await root.tend("enable", "a")).status, 0);
      await root.waitPhase("a", "up");
      await root.shutdown(daemon);
      assert.deepEqual(JSON.parse(readFileSync(join(root.places.state, "enabled.json"), "utf8")), { enabled: ["b", "a"], disabled: [] });
    }),
  );

  test("'status NAME' exits 0 up, 3 down, 1 failed, 4 unknown; 'why' explains a dependency failure", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({
        up: "type = longrun\ncommand = sleep 1000\n",
        down: "type = longrun\ncommand = sleep 1000\n",
        f: "type = oneshot\nup = sh -c 'exit 2'\n",
        c: "type = longrun\ncommand = sleep 1000\nrequires = f\n",
      });
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "up")).status, 0);
      const { run, data } = await root.json<ChangeResult>("start", "c");
      assert.equal(run.status, 1);
      assert.deepEqual(data.failed, ["c"]);
      assert.equal(data.services[0]!.reason, "dependency f failed");

      const code = async (...names: string[]): Promise<number | null> => (await root.tend("status", ...names)).status;
      assert.equal(await code("up"), 0);
      assert.equal(await code("down"), 3);
      assert.equal(await code("f"), 1);
      assert.equal(await code("c"), 1);
      assert.equal(await code("nosuch"), 4);
      assert.equal(await code("up", "down"), 3, "one of them is down");
      assert.equal(await code(), 0, "without names, status always exits 0");
      const unknown = await root.tend("status", "nosuch");
      assert.match(unknown.stderr, /unknown service: nosuch/);

      const why = await root.tend("why", "c");
      assert.equal(why.status, 0, why.stderr);
      assert.match(why.stdout, /^c is failed: dependency f failed$/m);
      assert.match(why.stdout, /waits for requirement f, which is failed: up exited with code 2/);
      const whyF = await root.json<string[]>("why", "f");
      assert.equal(whyF.data[0], "f is failed: up exited with code 2");
      const whyUnknown = await root.tend("why", "nosuch");
      assert.equal(whyUnknown.status, 1);
      assert.match(whyUnknown.stderr, /unknown service: nosuch/);
      await root.shutdown(daemon);
    }),
  );

  test("a command for a server that is not running says so and exits 1", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const r = await root.tend("status");
      assert.equal(r.status, 1);
      assert.match(r.stderr, /no tend server is running for this root/);
    }),
  );
});
