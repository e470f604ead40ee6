// The keeper on its own, driven over its protocol with real processes: exact
// environment and fds, exec failures, whole trees killed (cgroup and fallback),
// /dev/stdout, stderr on a pipe of its own, sd_notify, logs that survive a full disk
// and a deleted file, orphans reaped, surviving its server, the pids of a tree, 1000
// services, and 10^5 malformed messages.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeFrame, encodeMessage, type KeeperMessage, type ServerMessage } from "../../src/keeper/protocol.js";
import { CGROUPS_WRITABLE, findTool, random, TRACKINGS, type Random } from "../helpers.js";
import { alive, processTable, readPid, waitFor } from "../server/harness.js";
import { IS_ROOT, withKeeper, type Connection, type Keeper } from "./harness.js";


/** A `procs` asked now, and its answer (the keeper answers in the order asked). */
async function ask(c: Connection, service: string): Promise<Extract<KeeperMessage, { type: "procs" }>> {
  const from = c.messages.length;
  c.send({ type: "procs", service });
  return c.next("procs", (m) => m.service === service, from);
}


describe("keeper", { concurrency: true }, () => {
  test("a process gets exactly the environment and fds it was given", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      const script = `tr '\\0' '\\n' < /proc/$$/environ; echo FDS; ls /proc/$$/fd; echo >&3; exec sleep 1000`;
      c.send(k.spawnMessage("env", ["sh", "-c", script], { env: ["PATH=/usr/bin:/bin", "TEND_SERVICE=env", "ODD=a b\tc"], readyFd: 3 }));
      await c.next("ready", (m) => m.service === "env");
      await waitFor("the fd list in the log", () => /FDS\n(.*\n)*.* 3\n/.test(k.logOf("env")));
      const lines = k.logOf("env").split("\n").map((l) => l.replace(/^\S+ /, ""));
      const fds = lines.slice(lines.indexOf("FDS") + 1).filter((l) => /^\d+$/.test(l));
      assert.deepEqual(lines.slice(0, lines.indexOf("FDS")), ["PATH=/usr/bin:/bin", "TEND_SERVICE=env", "ODD=a b\tc"]);
      assert.deepEqual(fds, ["0", "1", "2", "3"], "stdin, stdout, stderr and the readiness fd: nothing else");
    }),
  );

  test("an exec failure is a spawn-failed that says what failed, never an exit", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      c.send(k.spawnMessage("missing", ["no-such-program-anywhere"]));
      const plain = join(k.dir, "not-a-program");
      writeFileSync(plain, "data\n", { mode: 0o644 });
      c.send(k.spawnMessage("noexec", [plain]));
      c.send(k.spawnMessage("nodir", ["true"], { cwd: "/no/such/dir" }));
      assert.equal((await c.next("spawn-failed", (m) => m.service === "missing")).error, "no-such-program-anywhere: no such program");
      assert.equal((await c.next("spawn-failed", (m) => m.service === "noexec")).error, `${plain}: Permission denied`);
      assert.equal((await c.next("spawn-failed", (m) => m.service === "nodir")).error, "chdir: No such file or directory");
      c.send(k.spawnMessage("fine", ["true"]));
      await c.next("exited", (m) => m.service === "fine" && m.code === 0);
      assert.equal(c.messages.some((m) => m.type === "exited" && m.service !== "fine"), false);
    }),
  );

  for (const tracking of TRACKINGS) {
    test(`stopping a service kills a setsid grandchild and a double-forked orphan (${tracking.name})`, { timeout: 30_000, skip: tracking.skip }, () =>
      withKeeper({ tracking: tracking.name }, async (k) => {
        const c = await k.connect();
        const hello = c.messages.find((m) => m.type === "hello");
        assert.equal(hello?.type === "hello" && hello.tracking, tracking.name === "auto" ? "cgroup" : "fallback");
        const grandchild = join(k.dir, "grandchild");
        const orphan = join(k.dir, "orphan");
        const script = `setsid sleep 1000 & echo $! > ${grandchild}; (setsid sh -c 'sleep 1000 & echo $! > ${orphan}' &); trap 'exit 0' TERM; echo >&3; while :; do sleep 1; done`;
        c.send(k.spawnMessage("tree", ["sh", "-c", script], { readyFd: 3 }));
        const spawned = await c.next("spawned", (m) => m.service === "tree");
        await c.next("ready", (m) => m.service === "tree");
        const pids = [await readPid(grandchild), await readPid(orphan)];
        assert.ok(pids.every(alive));
        c.send({ type: "signal", service: "tree", signal: 15 });
        const exited = await c.next("exited", (m) => m.service === "tree");
        assert.equal(exited.pid, spawned.pid);
        if (tracking.name === "auto") assert.deepEqual(pids.filter(alive), [], "nothing of the tree is left once its exit is told");
        else await waitFor("the grandchild and the orphan to be gone", () => pids.every((p) => !alive(p)));
      }),
    );
  }

  const PROCS_AS: { title: string; options: { tracking: "auto" | "fallback"; user?: number }; skip: string | false }[] = [
    ...TRACKINGS.map((t) => ({ title: t.name === "auto" ? "root, cgroup" : "fallback", options: { tracking: t.name }, skip: t.skip })),
    { title: "a normal user, fallback", options: { tracking: "auto", user: 65534 }, skip: IS_ROOT && findTool("setpriv") !== null ? false : "running the keeper as nobody needs root and setpriv" },
  ];
  for (const as of PROCS_AS) {
    test(`procs: the pids of a service's tree, its process first, a setsid grandchild and an orphan included (${as.title})`, { timeout: 30_000, skip: as.skip }, () =>
      withKeeper(as.options, async (k) => {
        const c = await k.connect();
        const hello = c.messages.find((m) => m.type === "hello");
        assert.equal(hello?.type === "hello" && hello.tracking, as.title === "root, cgroup" ? "cgroup" : "fallback");
        const grandchild = join(k.dir, "grandchild");
        const orphan = join(k.dir, "orphan");
        const script = `setsid sleep 1000 & echo $! > ${grandchild}; (setsid sh -c 'sleep 1000 & echo $! > ${orphan}' &); echo >&3; exec sleep 1000`;
        c.send(k.spawnMessage("tree", ["sh", "-c", script], { readyFd: 3 }));
        c.send(k.spawnMessage("other", ["sleep", "1000"]));
        const main = (await c.next("spawned", (m) => m.service === "tree")).pid;
        const other = (await c.next("spawned", (m) => m.service === "other")).pid;
        await c.next("ready", (m) => m.service === "tree");
        const expected = [main, await readPid(grandchild), await readPid(orphan)];
        // The subshells that started them may still be on their way out: asked until only the three are left.
        const answer = await waitFor("the tree's three processes alone", async () => {
          const m = await ask(c, "tree");
          return m.pids.length === 3 ? m : null;
        });
        assert.equal(answer.pids[0], main, "its process first");
        assert.deepEqual([...answer.pids].sort(), [...expected].sort());
        assert.equal(answer.total, 3);
        const others = await ask(c, "other");
        assert.deepEqual(others, { type: "procs", service: "other", pids: [other], total: 1 });
        assert.deepEqual(await ask(c, "nobody-knows-me"), { type: "procs", service: "nobody-knows-me", pids: [], total: 0 });
      }),
    );
  }

  test("procs of a tree of 400 processes: 256 listed, its process first, all counted", { timeout: 60_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      const script = "i=0; while [ $i -lt 400 ]; do sleep 1000 & i=$((i+1)); done; echo >&3; wait";
      c.send(k.spawnMessage("crowd", ["sh", "-c", script], { readyFd: 3 }));
      const main = (await c.next("spawned", (m) => m.service === "crowd")).pid;
      await c.next("ready", (m) => m.service === "crowd");
      const answer = await ask(c, "crowd");
      assert.equal(answer.total, 401, "sh and its 400 sleeps");
      assert.equal(answer.pids.length, 256);
      assert.equal(answer.pids[0], main);
      assert.equal(new Set(answer.pids).size, 256, "each pid once");
      c.send({ type: "signal", service: "crowd", signal: 9 });
      await c.next("exited", (m) => m.service === "crowd");
      await waitFor("the crowd to be gone", async () => (await ask(c, "crowd")).total === 0);
    }),
  );

  test("a service can open /dev/stdout and /dev/stderr (a pipe, not a socket)", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      c.send(k.spawnMessage("devout", ["sh", "-c", "echo to-dev-stdout > /dev/stdout && echo to-dev-stderr > /dev/stderr"]));
      const exited = await c.next("exited", (m) => m.service === "devout");
      assert.equal(exited.code, 0, k.logOf("devout"));
      assert.match(k.logOf("devout"), /Z to-dev-stdout\n.*Z to-dev-stderr\n/);
    }),
  );

  test("log = stdout writes NAME: LINE to the keeper's stdout", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      c.send(k.spawnMessage("loud", ["sh", "-c", "echo one; echo two >&2"], { log: "stdout" }));
      await c.next("exited", (m) => m.service === "loud");
      await waitFor("both lines on stdout", () => k.stdout().includes("loud: one\n") && k.stdout().includes("loud: two\n"));
    }),
  );

  test("settings console=json: every console line is a JSON object, the keeper's own complaints too", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      c.send({ type: "settings", stopGraceMs: 5000, console: "json" });
      c.send(k.spawnMessage("loud", ["sh", "-c", `printf 'a "quoted" \\377 line\\n'; echo two >&2`], { log: "stdout" }));
      await c.next("exited", (m) => m.service === "loud");
      await waitFor("two JSON lines on stdout", () => k.stdout().split("\n").filter((l) => l.includes('"loud"')).length === 2);
      const lines = k.stdout().trim().split("\n").map((l) => JSON.parse(l) as Record<string, string>);
      assert.deepEqual(lines.map((o) => [o.service, o.stream, o.line]), [["loud", "stdout", 'a "quoted" \ufffd line'], ["loud", "stdout", "two"]]);
      // A bad request's complaint goes the same way.
      c.send({ type: "settings", stopGraceMs: 0, console: "json" });
      assert.match((await c.next("error")).message, /stop-grace is a number of ms/);
    }),
  );

  test("a JSON console stays valid JSON whatever the bytes: 2,000 seeded lines of random bytes and of UTF-8", { timeout: 60_000 }, () =>
    withKeeper({}, async (k) => {
      const rng = random(0x4a534f4e);
      const lines: Buffer[] = [];
      const texts = ["plain", 'quote " and back \\', "tab\tcr\rbell\u0007", "é ü 日本 🎉", "\u007f del", "nul\u0000inside"];
      for (let i = 0; i < 2000; i++) {
        if (rng.chance(0.5)) lines.push(Buffer.from(`${rng.pick(texts)} ${i}`));
        else lines.push(Buffer.from(Array.from({ length: rng.int(0, 120) }, () => rng.pick([rng.int(0, 255), rng.int(0x80, 0xff)])).filter((b) => b !== 10)));
      }
      const file = join(k.dir, "bytes");
      writeFileSync(file, Buffer.concat(lines.flatMap((l) => [l, Buffer.from("\n")])));
      const c = await k.connect();
      c.send({ type: "settings", stopGraceMs: 5000, console: "json" });
      c.send(k.spawnMessage("bytes", ["cat", file], { log: "stdout" }));
      await c.next("exited", (m) => m.service === "bytes");
      await waitFor("every line on the console", () => k.stdout().split("\n").length > lines.length);
      const objects = k.stdout().trim().split("\n").map((l, i) => {
        try {
          return JSON.parse(l) as { line: string };
        } catch (e) {
          return assert.fail(`line ${i + 1} is not JSON: ${l} (${(e as Error).message})`);
        }
      });
      assert.equal(objects.length, lines.length);
      // What was valid UTF-8 comes out as it went in; anything else still decodes to a string.
      const utf8 = new TextDecoder("utf-8", { fatal: true });
      for (const [i, bytes] of lines.entries()) {
        let text: string | null = null;
        try {
          text = utf8.decode(bytes);
        } catch {
          // not UTF-8: U+FFFD stands in for what is not
        }
        if (text !== null) assert.equal(objects[i]!.line, text, `line ${i + 1}`);
      }
    }),
  );

  test("log-console=1: a file log's lines go to the console too; tend's notes stay in the file", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      c.send({ ...k.spawnMessage("both", ["sh", "-c", "echo to both"]), logConsole: true });
      await c.next("exited", (m) => m.service === "both");
      c.send({ type: "note", service: "both", text: "down" });
      await waitFor("the note in the file", () => k.logOf("both").includes("[tend] down"));
      assert.match(k.logOf("both"), /Z to both\n/);
      assert.equal(k.stdout(), "both: to both\n");
    }),
  );

  test("settings are checked: a console format it does not know is refused", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      c.sendFrame({ type: "settings", fields: [["console", "xml"]] });
      assert.match((await c.next("error")).message, /console is text or json/);
    }),
  );

  test("stderr=apart with log=file: stderr lines marked [stderr], a partial line on each stream kept apart", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      // Each write is read on its own: a partial line per stream waits for the rest of its own line.
      const script = "printf out-a; sleep 0.2; printf err-a >&2; sleep 0.2; echo out-b; sleep 0.2; echo err-b >&2; echo out-c; echo err-c >&2";
      c.send(k.spawnMessage("apart", ["sh", "-c", script], { stderr: "apart" }));
      assert.equal((await c.next("exited", (m) => m.service === "apart")).code, 0);
      const lines = k.logOf("apart").split("\n").filter((l) => l !== "").map((l) => l.replace(/^\S+Z /, ""));
      assert.deepEqual(lines.filter((l) => !l.startsWith("[stderr] ")), ["out-aout-b", "out-c"], k.logOf("apart"));
      assert.deepEqual(lines.filter((l) => l.startsWith("[stderr] ")), ["[stderr] err-aerr-b", "[stderr] err-c"], k.logOf("apart"));
      // Without stderr=apart, the same service's stderr is on the output pipe again, unmarked.
      c.send(k.spawnMessage("apart", ["sh", "-c", "echo together >&2"]));
      await c.next("exited", (m) => m.service === "apart", c.messages.findIndex((m) => m.type === "exited" && m.service === "apart") + 1);
      assert.match(k.logOf("apart"), /Z together\n$/);
    }),
  );

  test("stderr=apart with log=stdout: stderr lines on the keeper's stderr, stdout lines on its stdout", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      c.send(k.spawnMessage("split", ["sh", "-c", "echo to-out; echo to-err >&2; printf half-; printf half+ >&2; sleep 0.2; echo out; echo err >&2"], { log: "stdout", stderr: "apart" }));
      await c.next("exited", (m) => m.service === "split");
      await waitFor("the lines on stdout and stderr", () => k.stdout().includes("split: half-out\n") && k.stderr().includes("split: half+err\n"));
      assert.ok(k.stdout().includes("split: to-out\n") && !k.stdout().includes("to-err"), k.stdout());
      assert.ok(k.stderr().includes("split: to-err\n") && !k.stderr().includes("to-out"), k.stderr());
      c.send(k.spawnMessage("split", ["sh", "-c", "echo x"], { stderr: "sideways" as "apart" }));
      assert.match((await c.next("spawn-failed", (m) => m.service === "split")).error, /bad request: stderr/);
    }),
  );

  test("sd_notify: READY=1 and STATUS= from python3 and from systemd-notify", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      const python = `import os, socket, time\ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\ns.connect(os.environ['NOTIFY_SOCKET'])\ns.send(b'STATUS=warming up')\ns.send(b'READY=1\\nSTATUS=serving\\nMAINPID=%d' % os.getpid())\ntime.sleep(1000)\n`;
      const notifyAt = (name: string): Partial<ReturnType<Keeper["spawnMessage"]>> => {
        const path = join(k.dir, `${name}.notify`);
        return { notify: path, env: ["PATH=/usr/bin:/bin", `NOTIFY_SOCKET=${path}`] };
      };
      c.send(k.spawnMessage("py", ["python3", "-c", python], notifyAt("py")));
      const ready = await c.next("ready", (m) => m.service === "py");
      await waitFor("STATUS=serving", () => c.messages.some((m) => m.type === "notify" && m.service === "py" && m.status === "serving"));
      // MAINPID= naming the main itself changes nothing: no news.
      assert.ok(ready.pid > 0);
      assert.deepEqual(c.messages.filter((m) => (m.type === "main" || m.type === "main-refused") && m.service === "py"), []);
      let systemdNotify = "";
      try {
        systemdNotify = execFileSync("sh", ["-c", "command -v systemd-notify"], { encoding: "utf8" }).trim();
      } catch {
        return; // systemd-notify is not installed: the python3 client covered the protocol
      }
      c.send(k.spawnMessage("sn", ["sh", "-c", `${systemdNotify} --ready --status=all-good; exec sleep 1000`], notifyAt("sn")));
      await c.next("ready", (m) => m.service === "sn");
      await waitFor("STATUS=all-good", () => c.messages.some((m) => m.type === "notify" && m.service === "sn" && m.status === "all-good"));
    }),
  );

  test("a reload command runs beside the service's process, into its log; one at a time; listed in the table; its exit told with role=reload", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      c.send(k.spawnMessage("web", ["sh", "-c", "echo started; exec sleep 1000"]));
      const main = await c.next("spawned", (m) => m.service === "web" && !m.reload);
      const reload = (args: string[]) => k.spawnMessage("web", args, { role: "reload", killRest: false, env: ["PATH=/usr/bin:/bin", `MAINPID=${main.pid}`] });
      c.send(reload(["sh", "-c", "echo reloading $MAINPID; exec sleep 1000"]));
      const command = await c.next("spawned", (m) => m.service === "web" && m.reload);
      c.send(reload(["true"]));
      assert.match((await c.next("spawn-failed", (m) => m.service === "web")).error, /a reload command of this service is still running/);
      await waitFor("its line in the service's log", () => k.logOf("web").includes(`reloading ${main.pid}`));
      // A new server finds both processes in the table.
      c.socket.destroy();
      await c.closed;
      const d = await k.connect();
      const procs = d.messages.filter((m) => m.type === "proc" && m.service === "web");
      assert.deepEqual(procs.map((m) => m.type === "proc" && [m.role, m.pid]), [["main", main.pid], ["reload", command.pid]]);
      d.send({ type: "signal", service: "web", signal: 15, to: "reload" });
      const exit = await d.next("exited", (m) => m.service === "web");
      assert.deepEqual([exit.pid, exit.reload, exit.signal], [command.pid, true, "SIGTERM"]);
      assert.ok(alive(main.pid), "the service's process runs on");
      d.send(reload(["/nonexistent/reload"]));
      assert.equal((await d.next("spawn-failed", (m) => m.service === "web" && m.reload)).error, "/nonexistent/reload: no such program");
      d.send(reload(["sh", "-c", "exit 0"]));
      assert.equal((await d.next("exited", (m) => m.service === "web" && m.reload && m.pid !== command.pid)).code, 0);
    }),
  );

  test("signal to=main reaches the main process alone, not the rest of its group", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      const child = join(k.dir, "child-hups");
      const script = `trap 'echo main-hup' HUP; (trap 'echo hup > ${child}' HUP; while :; do sleep 0.05; done) & echo ready >&3; while :; do sleep 0.05; done`;
      c.send(k.spawnMessage("m", ["sh", "-c", script], { readyFd: 3 }));
      await c.next("ready", (m) => m.service === "m");
      c.send({ type: "signal", service: "m", signal: 1, to: "main" });
      await waitFor("the main's HUP", () => k.logOf("m").includes("main-hup"));
      assert.equal(existsSync(child), false, "the child in the main's group got no HUP");
      c.send({ type: "signal", service: "m", signal: 1 });
      await waitFor("the group's HUP reaching the child", () => existsSync(child));
      c.send({ type: "signal", service: "m", signal: 1, to: "elsewhere" as "main" });
      assert.match((await c.next("error")).message, /to is main or reload/);
    }),
  );

  test("sd_notify: RELOADING=1 then READY=1 is told as reloading=1, then reloaded=1", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      const path = join(k.dir, "n.notify");
      const python = `import os, signal, socket, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(os.environ['NOTIFY_SOCKET'])
def reload(*_):
    s.send(b'RELOADING=1')
    time.sleep(0.3)
    s.send(b'READY=1')
signal.signal(signal.SIGHUP, reload)
s.send(b'READY=1')
while True: time.sleep(1000)
`;
      c.send(k.spawnMessage("n", ["python3", "-c", python], { notify: path, env: ["PATH=/usr/bin:/bin", `NOTIFY_SOCKET=${path}`] }));
      await c.next("ready", (m) => m.service === "n");
      c.send({ type: "signal", service: "n", signal: 1, to: "main" });
      const from = c.messages.length;
      await c.next("notify", (m) => m.service === "n" && m.reloading === true, from);
      const done = await c.next("notify", (m) => m.service === "n" && m.reloaded === true, from);
      assert.equal(done.reloading, undefined, "READY=1 came in a datagram of its own, after RELOADING=1");
      assert.equal(c.messages.filter((m) => m.type === "ready" && m.service === "n").length, 1, "readiness is told once");
    }),
  );

  test("the keeper outlives its server: the table after a reconnect, an exit kept until acknowledged, no log gap", { timeout: 60_000 }, () =>
    withKeeper({}, async (k) => {
      const first = await k.connect();
      first.send(k.spawnMessage("counter", ["sh", "-c", "i=0; echo >&3; while :; do i=$((i+1)); echo $i; sleep 0.01; done"], { readyFd: 3 }));
      first.send(k.spawnMessage("brief", ["sh", "-c", "sleep 0.3; exit 3"]));
      const counter = await first.next("ready", (m) => m.service === "counter");
      const brief = await first.next("spawned", (m) => m.service === "brief");
      first.socket.destroy(); // the server dies
      await first.closed;
      const linesBefore = k.logOf("counter").split("\n").length;
      await waitFor("brief to end and the counter to go on while nobody listens", () => !alive(brief.pid) && k.logOf("counter").split("\n").length > linesBefore + 30);
      const second = await k.connect();
      const proc = await second.next("proc", (m) => m.service === "counter");
      assert.deepEqual({ pid: proc.pid, ready: proc.ready }, { pid: counter.pid, ready: true });
      const away = await second.next("exited", (m) => m.service === "brief");
      assert.equal(away.code, 3);
      second.send({ type: "ack", seq: away.seq });
      second.socket.destroy();
      await second.closed;
      const third = await k.connect();
      assert.equal(third.messages.some((m) => m.type === "exited"), false, "an acknowledged exit is not told again");
      const numbers = k.logOf("counter").split("\n").map((l) => Number(l.split(" ")[1])).filter((n) => n > 0);
      numbers.forEach((n, i) => i > 0 && assert.equal(n, numbers[i - 1]! + 1, "a line was lost while no server was connected"));
      assert.ok(numbers.length > 50);
    }),
  );

  test("a second server is turned away while one is connected", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      await k.connect();
      const second = await k.connect(false);
      const refused = await second.next("error");
      assert.match(refused.message, /another server is connected/);
      await second.closed;
    }),
  );

  test("orphans reparented to the keeper are reaped: no zombies", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      c.send(k.spawnMessage("forker", ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do (sh -c 'exit 0' &); done; echo >&3; exec sleep 1000"], { readyFd: 3 }));
      await c.next("ready", (m) => m.service === "forker");
      await waitFor("no zombie children of the keeper", () => zombiesOf(k.pid).length === 0);
    }),
  );

  test("a deleted 'current' is made again; a note may set up a log before any spawn", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      const dir = join(k.dir, "log-noted");
      c.sendFrame({ type: "note", fields: [["service", "noted"], ["text", "starting"], ["log", "file"], ["log-dir", dir], ["log-size", "100000"], ["log-keep", "1"]] });
      await waitFor("the note in the log", () => existsSync(join(dir, "current")) && readFileSync(join(dir, "current"), "utf8").includes("[tend] starting"));
      rmSync(join(dir, "current"));
      c.sendFrame({ type: "note", fields: [["service", "noted"], ["text", "again"]] });
      await waitFor("a new current", () => existsSync(join(dir, "current")) && readFileSync(join(dir, "current"), "utf8").endsWith("[tend] again\n"));
      assert.equal(readFileSync(join(dir, "current"), "utf8").includes("starting"), false);
    }),
  );

  test("a full disk drops lines, says so once, and marks the gap when writing works again", { timeout: 60_000, skip: IS_ROOT ? false : "mounting a small tmpfs needs root" }, () =>
    withKeeper({}, async (k) => {
      const mount = join(k.dir, "small");
      mkdirSync(mount);
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k,mode=0755", "tend-test-log", mount]);
      try {
        const c = await k.connect();
        const flag = join(k.dir, "flag");
        const script = `yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 300000; echo; echo >&3; while :; do if [ -e ${flag} ]; then rm ${flag}; echo after-the-gap; fi; sleep 0.02; done`;
        c.send(k.spawnMessage("spew", ["sh", "-c", script], { readyFd: 3, logDir: join(mount, "spew"), logSize: 1 << 30 }));
        const trouble = await c.next("log-trouble", (m) => m.service === "spew");
        assert.match(trouble.error, /No space left on device/);
        await c.next("ready", (m) => m.service === "spew");
        assert.equal(c.messages.filter((m) => m.type === "log-trouble").length, 1, "told once, not per line");
        truncateSync(join(mount, "spew", "current"), 0);
        writeFileSync(flag, "");
        await waitFor("the marker and the next line", () => /\[tend\] \d+ lines dropped \(No space left on device\)\n.* after-the-gap\n/.test(readFileSync(join(mount, "spew", "current"), "utf8")));
        c.send({ type: "signal", service: "spew", signal: 9 });
        await c.next("exited", (m) => m.service === "spew");
      } finally {
        execFileSync("umount", ["-l", mount]);
      }
    }),
  );

  test("1000 services started and stopped", { timeout: 120_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      const names = Array.from({ length: 1000 }, (_, i) => `s${i}`);
      for (const name of names) c.send(k.spawnMessage(name, ["sleep", "1000"], { log: "none", logDir: undefined }));
      await waitFor("1000 spawned", () => c.messages.filter((m) => m.type === "spawned").length === 1000, 60_000);
      for (const name of names) c.send({ type: "signal", service: name, signal: 15 });
      await waitFor("1000 exited", () => c.messages.filter((m) => m.type === "exited").length === 1000, 60_000);
      assert.equal(c.messages.filter((m) => m.type === "exited" && m.signal !== "SIGTERM").length, 0);
    }),
  );

  test("a note of 400 kB is one line cut at 16 KiB, and the keeper goes on", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      const dir = join(k.dir, "log-long");
      c.sendFrame({ type: "note", fields: [["service", "long"], ["text", "x".repeat(400_000)], ["log", "file"], ["log-dir", dir]] });
      c.sendFrame({ type: "note", fields: [["service", "long"], ["text", "after"]] });
      await waitFor("both notes", () => existsSync(join(dir, "current")) && readFileSync(join(dir, "current"), "utf8").endsWith("[tend] after\n"));
      const first = readFileSync(join(dir, "current"), "utf8").split("\n")[0]!;
      assert.equal(first.replace(/^\S+ \[tend\] /, "").length, 16 * 1024);
    }),
  );

  test("a server that reads its answers late still gets every one, and is answered after", { timeout: 60_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      // A busy service keeps the keeper's loop turning while its answers cannot be sent.
      c.send(k.spawnMessage("busy", ["sh", "-c", "yes busy-busy-busy"], { logSize: 1 << 20, logKeep: 1 }));
      await c.next("spawned", (m) => m.service === "busy");
      c.socket.pause();
      const COUNT = 20_000;
      const frames: Buffer[] = [];
      for (let i = 0; i < COUNT; i++) frames.push(encodeFrame({ type: "nosuch", fields: [] }));
      c.sendRaw(Buffer.concat(frames));
      await waitFor("the requests to be taken", () => c.socket.writableLength === 0);
      c.socket.resume();
      await waitFor(`${COUNT} errors`, () => c.messages.filter((m) => m.type === "error").length === COUNT, 30_000);
      c.send({ type: "signal", service: "busy", signal: 9 });
      await c.next("exited", (m) => m.service === "busy");
    }),
  );

  test("an exec that fails is told once its child is gone: a spawn right after it runs", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      for (let round = 0; round < 20; round++) {
        const from = c.messages.length;
        c.send(k.spawnMessage("retry", ["true"], { cwd: "/no/such/dir" }));
        await c.next("spawn-failed", (m) => m.service === "retry", from);
        c.send(k.spawnMessage("retry", ["true"]));
        const answer = await waitFor("the second spawn's answer", () => c.messages.slice(from).find((m) => (m.type === "spawned" || m.type === "spawn-failed") && m.service === "retry" && m !== c.messages[from]));
        assert.equal(answer.type, "spawned", JSON.stringify(answer));
        await c.next("exited", (m) => m.service === "retry", from);
      }
    }),
  );

  test("a service that changes its cgroup leaves none behind; two services cannot share one", { timeout: 30_000, skip: CGROUPS_WRITABLE ? false : "cgroup tracking needs root and a cgroup2 hierarchy" }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      const hello = c.messages.find((m) => m.type === "hello");
      const base = hello?.type === "hello" ? hello.cgroup! : "";
      c.send(k.spawnMessage("moving", ["true"], { cgroup: "one.service" }));
      await c.next("exited", (m) => m.service === "moving");
      assert.ok(existsSync(join(base, "one.service")));
      const from = c.messages.length;
      c.send(k.spawnMessage("moving", ["true"], { cgroup: "two.service" }));
      await c.next("exited", (m) => m.service === "moving", from);
      assert.deepEqual([existsSync(join(base, "one.service")), existsSync(join(base, "two.service"))], [false, true]);
      c.send(k.spawnMessage("other", ["true"], { cgroup: "two.service" }));
      assert.match((await c.next("spawn-failed", (m) => m.service === "other")).error, /another service has this cgroup/);
      c.send({ type: "forget", service: "moving" });
      await waitFor("two.service to be removed", () => !existsSync(join(base, "two.service")));
    }),
  );

  test("a supplementary group out of range is refused, not truncated", { timeout: 30_000, skip: IS_ROOT ? false : "switching users needs root" }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      c.sendFrame({ type: "spawn", fields: [["service", "ids"], ["role", "main"], ["file", "id"], ["arg", "id"], ["env", "PATH=/usr/bin:/bin"], ["log", "none"], ["uid", "65534"], ["gid", "65534"], ["group", "4294967296"]] });
      assert.match((await c.next("spawn-failed", (m) => m.service === "ids")).error, /a group is not a number/);
    }),
  );

  test("10^5 malformed messages: each refused, the keeper unharmed", { timeout: 120_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      const rng = random(0x6b656570);
      const valid: ServerMessage[] = [
        k.spawnMessage("fuzz", ["/nonexistent/fuzz-program"], { readyFd: 3 }),
        { type: "signal", service: "fuzz", signal: 15 },
        { type: "signal", service: "fuzz", signal: 9, to: "main" },
        { ...k.spawnMessage("fuzz", ["/nonexistent/fuzz-program"]), role: "reload" },
        { type: "main", service: "fuzz", pid: process.pid },
        k.spawnMessage("fuzz", ["/nonexistent/fuzz-launcher"], { role: "launcher", killRest: false }),
        { type: "ack", seq: 3 },
        { type: "forget", service: "fuzz" },
        { type: "procs", service: "fuzz" },
        { type: "settings", stopGraceMs: 8000, console: "text" },
        // No path: a mangled one could name any place on the machine (the socket is bound there); the log fields are fuzzed.
        { type: "syslog", log: "file", logDir: join(k.dir, "log-syslog"), logSize: 4096, logKeep: 1 },
        // Loopback with a port the kernel picks, never a unix path: a mangled one could name any place.
        { type: "listen", service: "fuzz", sockets: ["a=tcp:127.0.0.1:0", "b=udp:127.0.0.1:0"], watch: true },
      ];
      const bodies = valid.map((m) => encodeMessage(m).subarray(4));
      const COUNT = 100_000;
      let sent = 0;
      while (sent < COUNT) {
        const batch: Buffer[] = [];
        for (let i = 0; i < 1000; i++, sent++) batch.push(frameOf(mutate(rng.pick(bodies), rng)));
        c.sendRaw(Buffer.concat(batch));
        await waitFor("the keeper to keep up", () => c.socket.writableLength === 0);
      }
      // Still whole: a proper request gets its answer.
      c.send(k.spawnMessage("after", ["true"]));
      await c.next("exited", (m) => m.service === "after" && m.code === 0, 0);
      assert.deepEqual(c.bad, [], "every message the keeper sent is well formed");
      const answers = new Map<string, number>();
      for (const m of c.messages) answers.set(m.type, (answers.get(m.type) ?? 0) + 1);
      const refused = (answers.get("error") ?? 0) + (answers.get("spawn-failed") ?? 0);
      assert.ok(refused > COUNT / 2, `most were refused: ${JSON.stringify([...answers])}`);
      // Frames that lose the stream end that connection, and only that one.
      for (const raw of [Buffer.from([0, 0, 0, 0]), Buffer.from([0xff, 0xff, 0xff, 0x7f, 1, 2])]) {
        const broken = await k.connect(false);
        broken.sendRaw(raw);
        await broken.closed;
      }
      assert.equal(k.child.exitCode, null, `the keeper is alive:\n${k.stderr()}`);
    }),
  );
});

/** A frame around a body (the keeper's framing). */
function frameOf(body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32LE(body.length);
  return Buffer.concat([header, body]);
}

/** A mangled copy of a valid body: flipped, dropped, inserted bytes; never a shutdown, never a real program. */
function mutate(body: Buffer, rng: Random): Buffer {
  const bytes = [...body];
  const edits = rng.int(1, 4);
  for (let e = 0; e < edits; e++) {
    const at = rng.int(0, bytes.length - 1);
    switch (rng.int(0, 3)) {
      case 0:
        bytes[at] = rng.int(0, 255);
        break;
      case 1:
        bytes.splice(at, rng.int(1, 8));
        break;
      case 2:
        bytes.splice(at, 0, ...[0, 61, rng.int(0, 255)].slice(rng.int(0, 2)));
        break;
      case 3:
        bytes.length = Math.max(1, at);
        break;
    }
  }
  let out = Buffer.from(bytes.length > 0 ? bytes : [0]);
  if (out.subarray(0, 9).toString("latin1") === "shutdown\0") out = Buffer.from("shutdowm\0");
  return out;
}

const zombiesOf = (parent: number): number[] => processTable().filter((p) => p.zombie && p.ppid === parent).map((p) => p.pid);
