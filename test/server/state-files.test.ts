// The files tend keeps, against an unlucky admin and a local user: modes whatever the
// umask, a database that always boots (the previous one when the installed one is
// damaged), state files that are never lost without a word, a server that outlives
// its own stdout, and a lock that neither a zombie nor a pid given out again holds.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { childEnv, findTool, REPO } from "../helpers.js";
import { alive, BIN, IS_ROOT, NODE, waitFor, withRoot, type Run, type TestRoot } from "./harness.js";

/** `tend --root ROOT ARGS…` run under `umask 000`. */
function tendUnderUmask000(root: TestRoot, ...args: string[]): Promise<Run> {
  const started = Date.now();
  const child = spawn("/bin/sh", ["-c", 'umask 000; exec "$0" "$@"', NODE, BIN, "--root", root.dir, ...args], { cwd: REPO, env: childEnv(), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  return new Promise((resolve) => child.once("close", (status, signal) => resolve({ status, signal, stdout, stderr, ms: Date.now() - started })));
}

/** Every path under `dir`, with `dir` itself. */
function walk(dir: string): string[] {
  const out = [dir];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path));
    else out.push(path);
  }
  return out;
}

const modeOf = (path: string): number => lstatSync(path).mode & 0o7777;
const octal = (mode: number): string => `0${mode.toString(8)}`;

describe("modes whatever the umask", () => {
  test("under umask 000, nothing tend makes is writable by group or other, and nothing of its state is readable by them", { timeout: 90_000 }, () =>
    withRoot(async (root) => {
      root.services({
        web: "type = longrun\ncommand = sleep 1000\nenv = PASSWORD=hunter2\n",
        tick: "type = task\ncommand = /bin/true\nschedule = every 1s\n",
        default: "type = bundle\ncontents = web\n",
      });
      const compiled = await tendUnderUmask000(root, "compile");
      assert.equal(compiled.status, 0, compiled.stdout + compiled.stderr);
      const daemon = await root.startDaemon({ shellPrefix: "umask 000" });
      assert.equal((await root.tend("start", "web")).status, 0);
      assert.equal((await root.tend("enable", "web")).status, 0);
      assert.equal((await root.tend("set", "mode", "on", "--persist")).status, 0);
      await waitFor("the task's last run to be saved", () => readdirSync(root.places.state).includes("timers.json"));
      await waitFor("a snapshot of the engine", () => readdirSync(root.places.run).includes("engine.json"));

      const problems: string[] = [];
      for (const top of [root.path("var"), root.path("run")]) {
        for (const path of walk(top)) {
          const st = lstatSync(path);
          if (st.isSocket()) continue; // each socket has its own mode: status.sock is for everyone
          if ((st.mode & 0o022) !== 0) problems.push(`${path} is ${octal(modeOf(path))}: writable by group or other`);
          if (path.startsWith(root.places.state) && (st.mode & 0o077) !== 0) problems.push(`${path} is ${octal(modeOf(path))}: state is for its owner alone`);
        }
      }
      assert.deepEqual(problems, []);
      assert.equal(modeOf(root.places.state), 0o700);
      assert.equal(modeOf(join(root.places.state, "db.json")), 0o600);
      for (const file of ["enabled.json", "levels.json", "timers.json"]) assert.equal(modeOf(join(root.places.state, file)), 0o600, file);
      assert.equal(modeOf(join(root.places.run, "engine.json")), 0o600);
      assert.equal(modeOf(root.places.run), 0o755);
      assert.equal(modeOf(root.places.log), 0o755);
      assert.equal(modeOf(join(root.places.log, "web")), 0o750);
      assert.equal(modeOf(join(root.places.log, "web", "current")), 0o640);
      await root.shutdown(daemon);
    }));

  test("a state directory and database left with lax modes are tightened; one owned by another user is refused", { timeout: 60_000 }, (t) =>
    withRoot(async (root) => {
      root.services({ web: "type = longrun\ncommand = sleep 1000\n" });
      mkdirSync(root.places.state, { recursive: true });
      chmodSync(root.places.state, 0o777);
      writeFileSync(join(root.places.state, "db.prev.json"), "{}", { mode: 0o666 });
      chmodSync(join(root.places.state, "db.prev.json"), 0o666);
      await root.compile();
      assert.equal(modeOf(root.places.state), 0o700);
      assert.equal(modeOf(join(root.places.state, "db.json")), 0o600);
      assert.equal(modeOf(join(root.places.state, "db.prev.json")), 0o600);
      if (!IS_ROOT) return t.skip("needs root to give the directory to another user");
      chownSync(root.places.state, 65534, 65534);
      const compile = await root.tend("compile");
      assert.equal(compile.status, 1, compile.stderr);
      assert.match(compile.stderr, /^tend: cannot install the database in .*: .* is owned by uid 65534, not by uid 0 who runs tend/);
      const daemon = await root.startDaemon({ noWait: true });
      assert.deepEqual(await daemon.exited, { code: 1, signal: null });
      assert.match(daemon.output(), /cannot start: .*var\/lib\/tend is owned by uid 65534/);
    }));
});

describe("a service's logs", () => {
  const as = (uid: number, ...command: string[]): number | null =>
    spawnSync("setpriv", [`--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", ...command], { stdio: "ignore" }).status;

  test("are readable by the service's user (through its group) and not by other users", { timeout: 60_000, skip: IS_ROOT && findTool("setpriv") !== null ? false : "needs root and setpriv" }, () =>
    withRoot(async (root) => {
      chmodSync(root.dir, 0o755); // the temporary root is 0700: let other users reach LOG
      root.services({ mine: "type = longrun\ncommand = sh -c 'echo hello from nobody; exec sleep 1000'\nuser = nobody\n" });
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "mine")).status, 0);
      const current = join(root.places.log, "mine", "current");
      await waitFor("the service's line", () => readFileSync(current, "utf8").includes("hello from nobody"));
      const gid = Number(execFileSync("id", ["-g", "nobody"], { encoding: "utf8" }).trim());
      assert.equal(statSync(join(root.places.log, "mine")).gid, gid);
      assert.equal(statSync(current).gid, gid);
      // nobody reads its own log through its group; another user (65533) cannot.
      assert.equal(spawnSync("setpriv", ["--reuid=65534", `--regid=${gid}`, "--init-groups", "cat", current], { stdio: "ignore" }).status, 0);
      assert.notEqual(as(65533, "cat", current), 0);
      assert.notEqual(as(65533, "ls", join(root.places.log, "mine")), 0);
      await root.shutdown(daemon);
    }));
});

describe("the database always boots", () => {
  const sources = {
    web: "type = longrun\ncommand = sleep 1000\n",
    default: "type = bundle\ncontents = web\n",
  };

  /** Installs two generations: db.prev.json runs `web`, db.json also runs `extra`. */
  async function twoGenerations(root: TestRoot): Promise<void> {
    root.services(sources);
    await root.compile();
    root.service("extra", "type = longrun\ncommand = sleep 1000\n");
    await root.compile();
  }

  for (const [what, damage] of [
    ["a truncated db.json", (text: string) => text.slice(0, Math.floor(text.length / 2))],
    ["a db.json whose command is a string", (text: string) => text.replace('"command":["sleep","1000"]', '"command":"sleep 1000"')],
    ["a db.json whose graph names a service it does not hold", (text: string) => text.replace('"boot":[[', '"boot":[["ghost",')],
  ] as const) {
    test(`${what}: the previous generation boots, and the server and 'tend status' say so`, { timeout: 60_000 }, () =>
      withRoot(async (root) => {
        await twoGenerations(root);
        const path = join(root.places.state, "db.json");
        const damaged = damage(readFileSync(path, "utf8"));
        assert.notEqual(damaged, readFileSync(path, "utf8"), "the damage applies");
        writeFileSync(path, damaged);
        const daemon = await root.startDaemon({ boot: true });
        await root.waitPhase("web", "up");
        const list = await root.status();
        assert.deepEqual(list.map((s) => s.name).sort(), ["web"], "generation 1: without 'extra'");
        assert.match(daemon.output(), /WARNING: .*db\.json is damaged \(.*\): running the previous database, .*db\.prev\.json \(generation 1\)/);
        const human = await root.tend("status");
        assert.equal(human.status, 0);
        assert.match(human.stdout, /^warning: .*db\.json is damaged .*running the previous database/m);
        const { data } = await root.json<{ warnings: string[] }>("status");
        // And the sources hold 'extra', which generation 1 was not compiled from.
        assert.deepEqual(data.warnings.slice(1), [`the service files in ${root.sources} differ from database generation 1, compiled from them: extra added; run 'tend compile' (or boot with --compile) to use them`]);
        assert.doesNotMatch(daemon.output(), /internal error|    at /);
        await root.shutdown(daemon);
      }));
  }

  test("both db.json and db.prev.json bad: one clear error naming both, exit 1", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      await twoGenerations(root);
      writeFileSync(join(root.places.state, "db.json"), '{"format":"tend-db","version":1,"services":[]}');
      writeFileSync(join(root.places.state, "db.prev.json"), "{ trunc");
      const daemon = await root.startDaemon({ boot: true, noWait: true });
      assert.deepEqual(await daemon.exited, { code: 1, signal: null });
      const lines = daemon.output().trim().split("\n");
      assert.equal(lines.length, 1, daemon.output());
      assert.match(lines[0]!, /no database can be booted: .*db\.json is damaged \(.*\), and .*db\.prev\.json is damaged \(.*\); run 'tend compile' to install a new database$/);
    }));

  test("'tend apply' of a staged database of the wrong shape is refused with where it is wrong", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services(sources);
      await root.compile();
      const daemon = await root.startDaemon();
      const staged = root.path("staged");
      mkdirSync(staged);
      const text = readFileSync(join(root.places.state, "db.json"), "utf8").replace('"command":["sleep","1000"]', '"command":"sleep 1000"');
      writeFileSync(join(staged, "db.json"), text);
      const reply = await root.request({ cmd: "apply", from: staged });
      assert.ok(!reply.ok);
      assert.match(reply.error, /db\.json is damaged \(services\.web\.command must be a list\)/);
      await root.shutdown(daemon);
    }));
});

describe("state is never lost without a word", () => {
  for (const file of ["enabled.json", "levels.json", "timers.json"]) {
    test(`a garbled ${file} is kept aside, logged, and shown by 'tend status'`, { timeout: 60_000 }, () =>
      withRoot(async (root) => {
        root.services({ web: "type = longrun\ncommand = sleep 1000\n" });
        await root.compile();
        const path = join(root.places.state, file);
        writeFileSync(path, '{"enabled": ["web"');
        const daemon = await root.startDaemon();
        const aside = readdirSync(root.places.state).filter((n) => n.startsWith(`${file}.damaged-`));
        assert.equal(aside.length, 1, readdirSync(root.places.state).join(" "));
        assert.equal(readFileSync(join(root.places.state, aside[0]!), "utf8"), '{"enabled": ["web"', "kept as it was");
        assert.equal(modeOf(join(root.places.state, aside[0]!)), 0o600);
        assert.match(daemon.output(), new RegExp(`WARNING: .*${file.replace(".", "\\.")} cannot be read \\(.*\\): kept as .*${aside[0]!.replace(/[.]/g, "\\.")}`));
        const { data } = await root.json<{ warnings: string[] }>("status");
        assert.equal(data.warnings.length, 1);
        assert.match(data.warnings[0]!, new RegExp(`${file.replace(".", "\\.")} cannot be read`));
        assert.match((await root.tend("status")).stdout, /^warning: .* cannot be read/m);
        await root.shutdown(daemon);
      }));
  }
});

describe("the server and its own output", () => {
  test("a stdout and stderr nobody reads any more (tend boot | head) do not end the server", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({ web: "type = longrun\ncommand = sleep 1000\n", other: "type = longrun\ncommand = sleep 1000\n", default: "type = bundle\ncontents = web\n" });
      await root.compile();
      const daemon = await root.startDaemon({ boot: true });
      await root.waitPhase("web", "up");
      // The reader goes: the server's next lines meet EPIPE.
      daemon.child.stdout!.destroy();
      daemon.child.stderr!.destroy();
      for (let i = 0; i < 3; i++) {
        assert.equal((await root.tend("restart", "web")).status, 0);
        assert.equal((await root.tend("start", "other")).status, 0);
        assert.equal((await root.tend("stop", "other")).status, 0);
      }
      assert.equal(daemon.exitStatus(), null, "the server still runs");
      assert.equal((await root.state("web")).phase, "up");
      const r = await root.tend("shutdown");
      assert.equal(r.status, 0);
      assert.deepEqual(await root.awaitExit(daemon), { code: 0, signal: null });
    }));
});

describe("the lock", () => {
  /** The pid file the server wrote, with its pid replaced. */
  const rewritePid = (root: TestRoot, pid: number): void => {
    const path = join(root.places.run, "tend.pid");
    const [, ...rest] = readFileSync(path, "utf8").trim().split(" ");
    writeFileSync(path, `${[pid, ...rest].join(" ")}\n`);
  };

  test("a server killed with SIGKILL whose parent does not reap it (a zombie) does not hold the lock", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({ web: "type = longrun\ncommand = sleep 1000\n" });
      await root.compile();
      // A parent that never waits: the shell execs sleep once the server is started.
      const parent = spawn("/bin/sh", ["-c", '"$0" "$@" 2>/dev/null & echo $!; exec sleep 1000', NODE, BIN, "daemon", "--root", root.dir], {
        cwd: REPO,
        env: childEnv(),
        stdio: ["ignore", "pipe", "ignore"],
      });
      try {
        let out = "";
        parent.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
        const pid = Number(await waitFor("the server's pid", () => /^\d+\n/.exec(out)?.[0]));
        await waitFor("the first server to answer", async () => {
          const reply = await root.request({ cmd: "ping" });
          return reply.ok && reply.result.pid === pid;
        });
        process.kill(pid, "SIGKILL");
        await waitFor("the server to be a zombie", () => /\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8")));
        const second = await root.startDaemon();
        assert.notEqual(second.pid, pid);
        assert.ok(alive(parent.pid!), "the zombie's parent still runs");
        await root.shutdown(second);
      } finally {
        parent.kill("SIGKILL");
      }
    }));

  test("a restart at once after a SIGKILL, and a pid given out again to another process, do not hold the lock", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({ web: "type = longrun\ncommand = sleep 1000\n" });
      await root.compile();
      const first = await root.startDaemon();
      first.child.kill("SIGKILL");
      await first.exited;
      // Within the 30 s a starting server was once given: the pid now names an unrelated process.
      const unrelated = spawn("sleep", ["1000"], { stdio: "ignore" });
      try {
        rewritePid(root, unrelated.pid!);
        const second = await root.startDaemon();
        assert.match(second.output(), /tend server \d+/);
        // And a live server does hold it.
        const third = await root.startDaemon({ noWait: true });
        assert.deepEqual(await third.exited, { code: 1, signal: null });
        assert.match(third.output(), new RegExp(`another tend server \\(pid ${second.pid}\\) is already running`));
        await root.shutdown(second);
      } finally {
        unrelated.kill("SIGKILL");
      }
    }));
});
