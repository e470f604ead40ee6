// `tend status NAME` in detail, `status --failed/--state/-q`, `is-active`, `is-enabled`
// and the order `stop`/`start` name what they changed in: the built CLI against a real
// server in a temporary root.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { literalTemplate } from "../../src/config/argv.js";
import type { ServiceDetail } from "../../src/server/protocol.js";
import { waitFor, withRoot, type TestRoot } from "../server/harness.js";

const lines = (text: string): string[] => text.trimEnd().split("\n");
const LOOP = "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do echo line $i; done";

/** The value of a `Label: value` line of `tend status NAME`, and the lines under it. */
function field(text: string, label: string): string[] {
  const all = lines(text);
  const at = all.findIndex((l) => l.startsWith(`${label.padStart(10)}: `));
  assert.ok(at >= 0, `no '${label}:' line in:\n${text}`);
  const under = [];
  for (let i = at + 1; i < all.length && /^ {12}/.test(all[i]!); i++) under.push(all[i]!.slice(12));
  return [all[at]!.slice(12), ...under];
}

async function logHas(root: TestRoot, service: string, text: string): Promise<void> {
  const current = join(root.places.log, service, "current");
  await waitFor(`'${text}' in ${service}'s log`, () => existsSync(current) && readFileSync(current, "utf8").includes(`${text}\n`));
}

describe("tend status NAME", { concurrency: true }, () => {
  test("each named service in detail: kind, state and why, since, the main process and its tree, memory, command, how it last ended, restarts, the last 10 log lines; --json carries all of it", { timeout: 90_000 }, () =>
    withRoot(async (root) => {
      root.services({
        web: `type = longrun\ndescription = the web server\ncommand = sh -c '${LOOP}; sleep 1000 & echo $! > ${root.path("child")}; exec sleep 1001'\nrequires = prep\nrestart-limit = 4 in 2m\n`,
        prep: "type = oneshot\nup = true\n",
        crash: "type = longrun\ncommand = sh -c 'echo bye; exit 3'\nrestart = never\n",
        default: "type = bundle\ncontents = web\n",
      });
      await root.compile();
      const daemon = await root.startDaemon({ boot: true });
      const { pid } = await root.waitPhase("web", "up");
      await logHas(root, "web", "line 15");
      const child = Number(await waitFor("the child's pid", () => existsSync(root.path("child")) && readFileSync(root.path("child"), "utf8").trim()));

      const r = await root.tend("status", "web");
      assert.equal(r.status, 0, r.stdout + r.stderr);
      const text = r.stdout;
      assert.equal(lines(text)[0], "web - the web server");
      assert.deepEqual(field(text, "Loaded"), [`${root.sources}/web; enabled (in what 'tend boot' starts)`]);
      assert.deepEqual(field(text, "Kind"), ["longrun"]);
      assert.match(field(text, "State")[0]!, /^up since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d \(\d+ s ago\)$/);
      // The engine's own words, as `tend why` gives them.
      const why = await root.json<string[]>("why", "web");
      assert.deepEqual(field(text, "Why"), why.data.slice(1));
      assert.deepEqual(field(text, "Command"), [`sh -c '${LOOP}; sleep 1000 & echo $! > ${root.path("child")}; exec sleep 1001'`]);
      assert.deepEqual(field(text, "Main PID"), [String(pid)]);
      assert.deepEqual(field(text, "Processes"), [`${pid} sleep 1001`, `└─${child} sleep 1000`], "the tree: the main process, its child under it");
      assert.match(field(text, "Memory")[0]!, /^\d+(\.\d)?[KMG] \((its cgroup's memory.current|the resident sets of its processes)\)$/);
      assert.deepEqual(field(text, "Restarts"), ["0 within 2min (the restart limit is 4)"]);
      const tail = (await root.tend("logs", "web", "-n", "10")).stdout;
      assert.ok(text.endsWith(`\n\n${tail}`), `the last 10 log lines end it:\n${text}`);
      assert.equal(lines(tail).length, 10);
      assert.ok(lines(tail).some((l) => l.endsWith(" line 15")), tail);

      const { data } = await root.json<{ services: (ServiceDetail & { log: { lines: string[] } })[]; warnings: string[] }>("status", "web");
      assert.deepEqual(Object.keys(data), ["services", "warnings"]);
      const web = data.services[0]!;
      assert.equal(web.phase, "up");
      assert.equal(web.enablement, "enabled");
      assert.deepEqual(web.why, why.data);
      // As the database stores it: words that are templates, `$$` a literal `$` (config/argv.ts).
      assert.deepEqual(web.command, ["sh", "-c", literalTemplate(`${LOOP}; sleep 1000 & echo $! > ${root.path("child")}; exec sleep 1001`)]);
      assert.deepEqual(web.processes, [
        { pid, ppid: web.processes[0]!.ppid, command: "sleep 1001" },
        { pid: child, ppid: pid, command: "sleep 1000" },
      ]);
      assert.equal(web.processCount, 2);
      assert.ok(web.memory !== null && web.memory.bytes > 0);
      assert.deepEqual(web.restartLimit, { count: 4, windowMs: 120_000 });
      assert.deepEqual(web.log.lines, lines(tail));
      assert.deepEqual(data.warnings, []);

      // How it last ended, in words: a signal, then an exit status.
      assert.equal((await root.tend("signal", "web", "KILL")).status, 0);
      await root.waitPhase("web", (s) => s.phase === "up" && s.restarts === 1);
      const killed = (await root.tend("status", "web")).stdout;
      assert.deepEqual(field(killed, "Last end"), ["killed by SIGKILL"]);
      assert.deepEqual(field(killed, "Restarts"), ["1 within 2min (the restart limit is 4)"]);
      // Up at once (ready = none), then failed: what `start` reports depends on which it sees first.
      await root.tend("start", "crash");
      await root.waitPhase("crash", "failed");
      const crashed = await root.tend("status", "crash");
      assert.equal(crashed.status, 1, "LSB: failed is 1");
      assert.deepEqual(field(crashed.stdout, "Last end"), ["exited with 3"]);
      assert.deepEqual(field(crashed.stdout, "Loaded"), [`${root.sources}/crash; manual (not in what 'tend boot' starts by name)`]);
      assert.match(crashed.stdout, /\n\n(.*\n)*\S+ bye\n/, "its log ends it");

      // Several names: a block each, in the order given; a oneshot shows its runs.
      const both = await root.tend("status", "prep", "web");
      assert.equal(both.status, 0);
      assert.match(both.stdout, /^prep\n(.+\n)+\n(.+\n)*\nweb - the web server\n/);
      assert.deepEqual(field(both.stdout, "Runs"), ["1"]);
      await root.shutdown(daemon);
    }),
  );

  test("exit codes and filters: status -q, --failed, --state; is-active and is-enabled with a word each; the table marks what is disabled", { timeout: 90_000 }, () =>
    withRoot(async (root) => {
      root.services({
        web: "type = longrun\ncommand = sleep 1000\nrequires = prep\n",
        worker: "type = longrun\ncommand = sleep 1000\nrequires = web\n",
        prep: "type = oneshot\nup = true\n",
        crash: "type = longrun\ncommand = false\nrestart = never\n",
        idle: "type = longrun\ncommand = sleep 1000\n",
        "getty@": "type = longrun\ncommand = sleep 1000 ${INSTANCE}\n",
        app: "type = bundle\ncontents = worker\n",
        default: "type = bundle\ncontents = web app\n",
      });
      await root.compile();
      const gone = await root.tend("is-active", "web");
      assert.equal(gone.status, 3, "no server: not active");
      assert.match(gone.stderr, /no tend server is running/);
      const daemon = await root.startDaemon({ boot: true });
      await root.waitPhase("worker", "up");
      await root.tend("start", "crash");
      await root.waitPhase("crash", "failed");

      // An instance no start has made is down, as systemd's never-started unit is inactive (3); a name that is nothing, unknown (4).
      for (const [names, code] of [[["web"], 0], [["prep", "worker"], 0], [["idle"], 3], [["crash"], 1], [["web", "idle"], 3], [["getty@tty9"], 3], [["nosuch"], 4]] as const) {
        const q = await root.tend("status", "-q", ...names);
        assert.equal(q.status, code, `status -q ${names.join(" ")}`);
        assert.equal(q.stdout, "", "-q prints nothing");
      }

      const active = await root.tend("is-active", "web", "prep", "idle", "crash", "getty@tty9");
      assert.equal(active.status, 3);
      assert.deepEqual(lines(active.stdout), ["active", "active", "inactive", "failed", "inactive"]);
      const notMade = await root.tend("status", "getty@tty9");
      assert.equal(notMade.status, 3, notMade.stderr);
      assert.deepEqual(field(notMade.stdout, "State").slice(1), ["not made: no start has named it since the server started"]);
      assert.deepEqual(field(notMade.stdout, "Command"), [`sleep 1000 "${"${INSTANCE}"}"`], "what it would run");
      const allUp = await root.tend("is-active", "web", "worker");
      assert.deepEqual([allUp.status, allUp.stdout], [0, "active\nactive\n"]);
      const quiet = await root.tend("is-active", "-q", "idle");
      assert.deepEqual([quiet.status, quiet.stdout], [3, ""]);
      const unknown = await root.tend("is-active", "web", "nosuch");
      assert.deepEqual([unknown.status, unknown.stderr], [4, "tend: unknown service: nosuch\n"]);
      const activeJson = await root.json<{ name: string; state: string; phase: string }[]>("is-active", "crash");
      assert.deepEqual(activeJson.data, [{ name: "crash", state: "failed", phase: "failed" }]);

      const enabled = await root.tend("is-enabled", "web", "worker", "app", "prep", "idle");
      assert.equal(enabled.status, 1);
      assert.deepEqual(lines(enabled.stdout), ["enabled", "enabled", "enabled", "manual", "manual"]);
      assert.equal((await root.tend("disable", "app")).status, 0);
      assert.equal((await root.tend("enable", "idle")).status, 0);
      const after = await root.tend("is-enabled", "web", "worker", "app", "idle");
      assert.deepEqual(lines(after.stdout), ["enabled", "disabled", "disabled", "enabled"]);
      assert.equal((await root.tend("is-enabled", "-q", "web", "idle")).status, 0);
      const enabledJson = await root.json<{ name: string; enablement: string }[]>("is-enabled", "app");
      assert.deepEqual(enabledJson.data, [{ name: "app", enablement: "disabled" }]);

      await root.waitPhase("worker", "down");
      const table = lines((await root.tend("status")).stdout);
      const row = (name: string): string => table.find((l) => l.startsWith(`${name} `)) ?? assert.fail(`no row for ${name}:\n${table.join("\n")}`);
      assert.match(row("worker"), /\bdown\b.*\s{2}disabled$/);
      assert.doesNotMatch(row("web"), /disabled/);
      const { data } = await root.json<{ disabled: string[] }>("status");
      assert.deepEqual(data.disabled, ["worker"]);

      const failed = lines((await root.tend("status", "--failed")).stdout).filter((l) => !l.startsWith("process trees"));
      assert.deepEqual(failed.slice(1).map((l) => l.split(/\s+/)[0]), ["crash"]);
      const some = lines((await root.tend("status", "--state=up,down")).stdout).filter((l) => !l.startsWith("process trees"));
      assert.deepEqual(some.slice(1).map((l) => l.split(/\s+/)[0]), ["idle", "prep", "web", "worker"]);
      const bad = await root.tend("status", "--state", "sleeping");
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /--state: 'sleeping' is not a state: use down, starting, up, running, stopping, failed/);
      const named = await root.tend("status", "--failed", "crash", "web");
      assert.equal(named.status, 1, "the exit code is the names', whatever is shown");
      assert.match(named.stdout, /^crash\n/);
      assert.doesNotMatch(named.stdout, /^web\b/m);
      await root.shutdown(daemon);
    }),
  );

  test("stop names what it stopped in the order it stopped it, dependents first; start names what it started with the named, in order", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({
        web: "type = longrun\ncommand = sleep 1000\n",
        worker: "type = longrun\ncommand = sleep 1000\nrequires = web\n",
        default: "type = bundle\ncontents = worker\n",
      });
      await root.compile();
      const daemon = await root.startDaemon({ boot: true });
      await root.waitPhase("worker", "up");
      const stop = await root.tend("stop", "web");
      assert.equal(stop.status, 0, stop.stderr);
      assert.equal(stop.stdout, "worker: down\nweb: down\n");
      const start = await root.tend("start", "worker");
      assert.equal(start.status, 0, start.stderr);
      assert.equal(start.stdout, "web: up\nworker: up\n");
      const again = await root.tend("start", "worker");
      assert.equal(again.stdout, "worker: up\n", "nothing changed: only the named one");
      const restart = await root.tend("restart", "web");
      assert.equal(restart.stdout, "web: up\nworker: up\n");
      await root.shutdown(daemon);
    }),
  );
});
