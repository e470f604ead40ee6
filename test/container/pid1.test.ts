// `tend boot` as a container's PID 1 (docs/containers.md): the keeper is PID 1, reaps
// every orphan, stops everything in order on SIGTERM within the grace, exits with the
// code the boot decided, and is the one writer of the container's log.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, test } from "node:test";
import { BIN, installForOtherUsers, withRoot, type TestRoot } from "../server/harness.js";
import { KEEPER } from "../keeper/harness.js";
import { CONTAINER_SKIP, withContainer, type Container } from "./harness.js";

const skip = CONTAINER_SKIP ?? false;
const LONG = { timeout: 60_000, skip };

/** Compiles `files` into the root, then boots it as PID 1. */
async function boot(root: TestRoot, files: Record<string, string>, args: string[], body: (c: Container) => Promise<void>, env?: Record<string, string>): Promise<void> {
  root.services(files);
  await root.compile();
  await withContainer(root, { args, ...(env === undefined ? {} : { env }) }, body);
}

const up = (c: Container, name: string): Promise<string> => c.line(new RegExp(`^tend: ${name}: up$`));

/** `docker stop`: SIGTERM to PID 1, which exits 0 once everything stopped. */
async function stopsCleanly(c: Container): Promise<void> {
  process.kill(c.init, "SIGTERM");
  assert.equal((await c.exited).code, 0);
}

describe("tend boot as PID 1", () => {
  test("PID 1 is the keeper, and the server its child: Node is never PID 1; tend ready says when the boot is up", LONG, () =>
    withRoot((root) =>
      boot(root, { default: "type = bundle\ncontents = app\n", app: "type = longrun\ncommand = sleep 1000\n" }, [], async (c) => {
        const ready = await root.tend("ready", "--wait", "20s"); // what a HEALTHCHECK or a startup probe runs
        assert.equal(ready.status, 0, ready.stdout + ready.stderr);
        await up(c, "app");
        assert.match(readFileSync(`/proc/${c.init}/comm`, "utf8"), /^tend-keeper/);
        assert.match(await c.line(/^tend: keeper 1 \(running this server\)/), /keeper 1/);
        await stopsCleanly(c);
      }),
    ),
  );

  test("the keeper binary is an entrypoint too: tend-keeper boot ARGS…", LONG, () =>
    withRoot(async (root) => {
      root.services({ default: "type = bundle\ncontents = app\n", app: "type = longrun\ncommand = sleep 1000\n" });
      await root.compile();
      await withContainer(root, { command: [KEEPER, "boot", "--root", root.dir] }, async (c) => {
        await up(c, "app");
        await stopsCleanly(c);
      });
    }),
  );

  test("orphans are reaped: no zombie is left after 100 double forks", LONG, () =>
    withRoot((root) =>
      boot(
        root,
        {
          default: "type = bundle\ncontents = forker\n",
          // Each `sh -c 'true &'` exits at once and leaves its `true` to PID 1 (the subreaper above it).
          forker: `type = longrun\ncommand = sh -c 'i=0; while [ $i -lt 100 ]; do sh -c "true &"; i=$((i + 1)); done; echo forked; exec sleep 1000'\nlog = stdout\n`,
        },
        [],
        async (c) => {
          await c.line(/^forker: forked$/);
          const zombies = (): number => c.members().filter((m) => m.zombie).length;
          const left = await waitForZero(zombies);
          assert.equal(left, 0);
          await stopsCleanly(c);
        },
      ),
    ),
  );

  test("SIGTERM stops every service in order, dependents first, and PID 1 exits 0 within the grace", LONG, () =>
    withRoot((root) =>
      boot(
        root,
        {
          default: "type = bundle\ncontents = app\n",
          db: "type = longrun\ncommand = sleep 1000\n",
          app: "type = longrun\ncommand = sleep 1000\nrequires = db\n",
        },
        [],
        async (c) => {
          await up(c, "app");
          const signalled = Date.now();
          process.kill(c.init, "SIGTERM");
          const end = await c.exited;
          assert.equal(end.code, 0, "a clean stop exits 0");
          assert.ok(Date.now() - signalled < 8000, "well within the default grace of 8 s");
          const lines = c.stdout().split("\n");
          const at = (line: string): number => lines.indexOf(line);
          assert.ok(at("tend: app: down") >= 0 && at("tend: db: stopping") > at("tend: app: down"), `app is down before db stops:\n${c.stdout()}`);
          assert.equal(c.members().length, 0);
        },
      ),
    ),
  );

  test("SIGHUP to PID 1 loads the database compiled meanwhile (tend compile, then kill -HUP: tend apply)", LONG, () =>
    withRoot((root) =>
      boot(root, { default: "type = bundle\ncontents = app\n", app: "type = longrun\ncommand = sleep 1000\n" }, [], async (c) => {
        await up(c, "app");
        root.service("default", "type = bundle\ncontents = app extra\n");
        root.service("extra", "type = longrun\ncommand = sleep 1000\n");
        await root.compile();
        process.kill(c.init, "SIGHUP");
        await c.line(/^tend: the keeper got SIGHUP: applying the installed database$/);
        await up(c, "extra");
        await stopsCleanly(c);
      }),
    ),
  );

  test("past the stop grace, what still runs is killed and named, and PID 1 exits", LONG, () =>
    withRoot((root) =>
      boot(
        root,
        {
          default: "type = bundle\ncontents = stubborn polite\n",
          // Ignores SIGTERM, and its own stop timeout is far longer than the container's grace.
          stubborn: "type = longrun\ncommand = sh -c 'trap \"\" TERM; echo ignoring; while :; do sleep 1; done'\nstop-timeout = 5m\nlog = stdout\n",
          polite: "type = longrun\ncommand = sleep 1000\n",
        },
        ["--stop-grace", "1s"],
        async (c) => {
          await c.line(/^stubborn: ignoring$/);
          await up(c, "polite");
          const signalled = Date.now();
          process.kill(c.init, "SIGTERM");
          const end = await c.exited;
          const took = Date.now() - signalled;
          assert.equal(end.code, 0);
          assert.ok(took >= 1000 && took < 6000, `ended ${took} ms after SIGTERM, with a grace of 1 s`);
          assert.match(c.stdout(), /^tend-keeper: the stop grace of 1000 ms ran out: killing 1 service still running: stubborn \(pid \d+\)$/m, "on stdout, with the rest of tend's lines");
          assert.doesNotMatch(c.stderr() + c.stdout(), /polite \(pid/, "what stopped in time is not named");
        },
      ),
    ),
  );

  test("a server that hangs during the stop does not hold the container: the keeper kills it and ends", LONG, () =>
    withRoot((root) =>
      boot(
        root,
        {
          default: "type = bundle\ncontents = stubborn\n",
          stubborn: "type = longrun\ncommand = sh -c 'trap \"\" TERM; echo ignoring; while :; do sleep 1; done'\nstop-timeout = 5m\nlog = stdout\n",
        },
        ["--stop-grace", "500ms"],
        async (c) => {
          await c.line(/^stubborn: ignoring$/);
          const server = readFileSync(`/proc/${c.init}/task/${c.init}/children`, "utf8")
            .trim()
            .split(" ")
            .map(Number)
            .find((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("dist/bin/main.js"))!;
          process.kill(c.init, "SIGTERM");
          process.kill(server, "SIGSTOP"); // it hears of the stop, and can do nothing about it
          const end = await c.exited;
          assert.equal(end.code, 128 + 9, "the server's status: killed");
          assert.match(c.stderr() + c.stdout(), /the stop grace of 500 ms ran out: killing 1 service still running: stubborn/);
          assert.match(c.stderr() + c.stdout(), /the server has not finished the stop 2000 ms after the grace: ending without it/);
        },
      ),
    ),
  );

  test("--exit-with: when the main service exits on its own, everything stops and PID 1 exits with its code", LONG, () =>
    withRoot((root) =>
      boot(
        root,
        {
          default: "type = bundle\ncontents = main helper\n",
          helper: "type = longrun\ncommand = sleep 1000\n",
          main: "type = longrun\ncommand = sh -c 'echo working; sleep 0.2; exit 7'\nrequires = helper\nlog = stdout\n",
        },
        ["--exit-with", "main"],
        async (c) => {
          const end = await c.exited;
          assert.equal(end.code, 7, "the container's exit status is main's");
          assert.match(c.stdout(), /^tend: helper: down$/m, "the rest was stopped first");
        },
      ),
    ),
  );

  test("--on-boot-failure stop: a service the boot requires ends failed, and PID 1 exits 1 naming it", LONG, () =>
    withRoot((root) =>
      boot(
        root,
        {
          default: "type = bundle\ncontents = app\n",
          migrate: "type = oneshot\nup = sh -c 'echo cannot migrate; exit 4'\nlog = stdout\n",
          app: "type = longrun\ncommand = sleep 1000\nrequires = migrate\n",
        },
        ["--on-boot-failure", "stop"],
        async (c) => {
          const end = await c.exited;
          assert.equal(end.code, 1);
          assert.match(c.stdout(), /migrate/);
          assert.match(c.stdout(), /boot failed/);
        },
      ),
    ),
  );

  test("a boot that cannot begin (no database) ends PID 1 with the server's status, instead of starting it again", LONG, () =>
    withRoot(async (root) => {
      await withContainer(root, {}, async (c) => {
        const end = await c.exited;
        assert.equal(end.code, 1);
        assert.match(c.stdout(), /^tend: .*tend compile/m, "the server says what to do");
        assert.match(c.stderr() + c.stdout(), /ended with status 1 before it connected/);
      });
    }),
  );

  test("the log: every service's lines and tend's own, on stdout, in order, each prefixed with its name", LONG, () =>
    withRoot((root) =>
      boot(
        root,
        {
          default: "type = bundle\ncontents = counter quiet\n",
          counter: "type = longrun\ncommand = sh -c 'i=1; while [ $i -le 200 ]; do echo line $i; i=$((i + 1)); done; exec sleep 1000'\nlog = stdout\n",
          // A file log (the default) goes to the console too when the keeper is PID 1, and to its file.
          quiet: "type = longrun\ncommand = sh -c 'echo from a file log; exec sleep 1000'\n",
        },
        [],
        async (c) => {
          await c.line(/^counter: line 200$/);
          await c.line(/^quiet: from a file log$/);
          const counted = c.stdout().split("\n").filter((l) => l.startsWith("counter: line "));
          assert.deepEqual(counted, Array.from({ length: 200 }, (_, i) => `counter: line ${i + 1}`));
          const logs = await root.tend("logs", "quiet");
          assert.match(logs.stdout, /from a file log/, "and `tend logs` still has it");
          await stopsCleanly(c);
        },
      ),
    ),
  );

  test("--service-logs console: file logs go to the console only, and tend logs says where they went", LONG, () =>
    withRoot((root) =>
      boot(root, { default: "type = bundle\ncontents = quiet\n", quiet: "type = longrun\ncommand = sh -c 'echo on the console only; exec sleep 1000'\n" }, ["--service-logs", "console"], async (c) => {
        await c.line(/^quiet: on the console only$/);
        const logs = await root.tend("logs", "quiet");
        assert.equal(logs.status, 1);
        assert.match(logs.stderr, /logs to the console/);
        await stopsCleanly(c);
      }),
    ),
  );

  test("a console nobody reads stalls nothing: services start and stop, their lines are dropped and counted", LONG, () =>
    withRoot((root) =>
      boot(
        root,
        {
          default: "type = bundle\ncontents = calm\n",
          calm: "type = longrun\ncommand = sleep 1000\n",
          spew: "type = longrun\ncommand = yes a line of output nobody reads\nlog = stdout\n",
          other: "type = longrun\ncommand = sleep 1000\n",
        },
        [],
        async (c) => {
          await up(c, "calm");
          c.pauseStdout(); // its pipe fills: a terminal paused with ^S, a stuck log driver
          assert.equal((await root.tend("start", "spew")).status, 0);
          // The keeper, PID 1, still spawns, hears of readiness and reaps: it never waits on its stdout.
          const started = await root.tend("start", "other");
          assert.equal(started.status, 0, started.stdout + started.stderr);
          assert.equal((await root.tend("stop", "spew", "other")).status, 0);
          c.resumeStdout();
          await c.line(/^tend-keeper: \d+ lines dropped: the console was not read$/);
          await stopsCleanly(c);
        },
      ),
    ),
  );

  test("--log-format json: one JSON object a line, with time, service, stream and line, whatever the bytes", LONG, () =>
    withRoot((root) => {
      root.file("weird.sh", `#!/bin/sh\nprintf 'quote " back \\\\ tab \\t bad \\377\\376 end\\n'\necho to stderr >&2\nexec sleep 1000\n`);
      return boot(
        root,
        { default: "type = bundle\ncontents = weird\n", weird: `type = longrun\ncommand = ${root.path("weird.sh")}\nlog = stdout\n` },
        ["--log-format", "json"],
        async (c) => {
          await c.line(/to stderr/);
          // The service may write before the server has said it is up: wait for that line too.
          await c.line(/"service":"tend".*"line":"weird: up"/);
          const objects = c.stdout().trim().split("\n").map((l) => JSON.parse(l) as { time: string; service: string; stream: string; line: string });
          for (const o of objects) assert.deepEqual(Object.keys(o), ["time", "service", "stream", "line"]);
          assert.ok(objects.some((o) => o.service === "tend" && o.line === "weird: up"), "tend's own lines are objects too");
          const weird = objects.filter((o) => o.service === "weird");
          assert.deepEqual(weird.map((o) => [o.stream, o.line]), [["stdout", 'quote " back \\ tab \t bad \ufffd\ufffd end'], ["stdout", "to stderr"]]);
          assert.ok(!Number.isNaN(Date.parse(objects[0]!.time)));
          await stopsCleanly(c);
        },
      );
    }),
  );

  test("a service that runs as another user may open /dev/stdout and /dev/stderr", LONG, () =>
    withRoot((root) =>
      boot(
        root,
        {
          default: "type = bundle\ncontents = writer\n",
          writer: "type = longrun\ncommand = sh -c 'echo via dev stdout > /dev/stdout && echo via dev stderr > /dev/stderr; exec sleep 1000'\nuser = nobody\nlog = stdout\n",
        },
        [],
        async (c) => {
          await c.line(/^writer: via dev stdout$/);
          await c.line(/^writer: via dev stderr$/);
          await stopsCleanly(c);
        },
      ),
    ),
  );

  test("a read-only /var (docker run --read-only --tmpfs /run): tend boots, with its state and logs under /run", LONG, () =>
    withRoot(async (root) => {
      root.services({ default: "type = bundle\ncontents = app\n", app: "type = longrun\ncommand = sh -c 'echo up on a read-only var; exec sleep 1000'\n" });
      await root.compile();
      const mountReadOnly = `mount --bind "$0/var" "$0/var" && mount -o remount,bind,ro "$0/var" && exec "$1" --root "$0" boot`;
      await withContainer(root, { command: ["sh", "-c", mountReadOnly, root.dir, BIN] }, async (c) => {
        await c.line(/^app: up on a read-only var$/);
        assert.match(c.stdout(), /read-only/, "the server says which places moved");
        await stopsCleanly(c);
      });
    }),
  );

  test("the container's environment reaches a service only as pass-env names it", LONG, () =>
    withRoot((root) =>
      boot(
        root,
        {
          default: "type = bundle\ncontents = show\n",
          show: "type = longrun\ncommand = sh -c 'echo \"passed=${DATABASE_URL-unset} other=${SECRET_TOKEN-unset}\"; exec sleep 1000'\npass-env = DATABASE_URL\nlog = stdout\n",
        },
        [],
        async (c) => {
          await c.line(/^show: passed=postgres:\/\/db other=unset$/);
          await stopsCleanly(c);
        },
        { DATABASE_URL: "postgres://db", SECRET_TOKEN: "hunter2" },
      ),
    ),
  );

  test("a container run as a non-root user boots in user mode, with no root-only step", LONG, () =>
    withRoot(async (root) => {
      const home = root.path("home");
      mkdirSync(`${home}/.config/tend`, { recursive: true });
      writeFileSync(`${home}/.config/tend/default`, "type = bundle\ncontents = app\n");
      writeFileSync(`${home}/.config/tend/app`, "type = longrun\ncommand = sh -c 'echo running as $(id -u); exec sleep 1000'\nlog = stdout\n");
      mkdirSync(root.path("xdg"), { mode: 0o700 });
      for (const dir of [root.dir, home, `${home}/.config`, `${home}/.config/tend`, root.path("xdg")]) chownSync(dir, 65534, 65534);
      chmodSync(root.dir, 0o755);
      for (const f of ["default", "app"]) chownSync(`${home}/.config/tend/${f}`, 65534, 65534);
      const env = { HOME: home, XDG_RUNTIME_DIR: root.path("xdg"), XDG_STATE_HOME: "", XDG_CONFIG_HOME: "" };
      const asNobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"];
      // A copy nobody may run (the checkout may be below a directory only root may enter).
      const installed = installForOtherUsers();
      const asUser = { ...env, TEND_KEEPER: installed.keeper };
      const compiled = spawnSync(asNobody[0]!, [...asNobody.slice(1), installed.bin, "compile"], { env: { ...process.env, ...asUser }, encoding: "utf8" });
      assert.equal(compiled.status, 0, compiled.stdout + compiled.stderr);
      await withContainer(root, { command: [...asNobody, installed.bin, "boot"], env: asUser }, async (c) => {
        await c.line(/^app: running as 65534$/);
        await stopsCleanly(c);
      });
    }),
  );
});

/** Polls until `count()` is 0 (transient zombies are reaped within moments); returns the last count. */
async function waitForZero(count: () => number): Promise<number> {
  const deadline = Date.now() + 10_000;
  let n = count();
  while (n > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    n = count();
  }
  return n;
}
