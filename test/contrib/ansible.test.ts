// contrib/ansible against a real server with Debian's ansible-core, on localhost
// (`connection: local`): the example playbook (contrib/ansible/examples/services.yml)
// installs its service set, validated with `tend check`, applies it, and keeps
// `hello` up and enabled with the tend_service module. Run twice: changed, then ok;
// in check mode (asking for hello stopped) it reports the change and makes none; a
// set tend check rejects is not installed.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO, childEnv, findTool } from "../helpers.js";
import { BIN, NODE, withRoot, type TestRoot } from "../server/harness.js";

const PLAYBOOK = join(REPO, "contrib/ansible/examples/services.yml");
const ANSIBLE = findTool("ansible-playbook");

/** localhost's counts in the play recap. */
interface Stats {
  ok: number;
  changed: number;
  failed: number;
  unreachable: number;
}

interface PlayRun {
  status: number | null;
  stats: Stats;
  /** Each task's name, whether it changed, and its (last) result as -v prints it. */
  tasks: { name: string; changed: boolean; result: Record<string, unknown> }[];
  stdout: string;
  stderr: string;
}

/**
 * The default callback's output at -v, results on one line each (Debian's ansible-core
 * has no json callback: that is in the ansible.posix collection): `TASK [NAME]`, then a
 * line per host (per item in a loop) `changed: [localhost] => {…}`, then the recap.
 */
function parsePlay(stdout: string): Pick<PlayRun, "stats" | "tasks"> {
  const tasks: PlayRun["tasks"] = [];
  let stats: Stats | undefined;
  for (const line of stdout.split("\n")) {
    const header = /^TASK \[(.*)\] \*+$/.exec(line);
    if (header) tasks.push({ name: header[1]!, changed: false, result: {} });
    const outcome = /^(ok|changed|skipping|fatal|failed): \[localhost\](?: => \(item=.*?\))?(?: => (\{.*\}))?$/.exec(line);
    const current = tasks.at(-1);
    if (outcome && current) {
      current.changed ||= outcome[1] === "changed";
      if (outcome[2] !== undefined) current.result = JSON.parse(outcome[2]) as Record<string, unknown>;
    }
    const recap = /^localhost\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/.exec(line);
    if (recap) stats = { ok: Number(recap[1]), changed: Number(recap[2]), unreachable: Number(recap[3]), failed: Number(recap[4]) };
  }
  if (stats === undefined) throw new Error(`no play recap for localhost in:\n${stdout}`);
  return { stats, tasks };
}

/** ansible-playbook on the example, its temporary files and home inside the test's root. */
function playbook(root: TestRoot, tend: string, args: readonly string[]): Promise<PlayRun> {
  const home = root.path("ansible");
  mkdirSync(join(home, "tmp"), { recursive: true });
  const inventory = join(home, "hosts");
  writeFileSync(inventory, "localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n");
  const env = childEnv({
    HOME: home,
    TMPDIR: join(home, "tmp"),
    ANSIBLE_LOCAL_TEMP: join(home, "tmp"),
    ANSIBLE_REMOTE_TEMP: join(home, "tmp"),
    ANSIBLE_LIBRARY: join(REPO, "contrib/ansible/library"),
    ANSIBLE_STDOUT_CALLBACK: "default",
    ANSIBLE_CALLBACK_RESULT_FORMAT: "json",
    ANSIBLE_CALLBACK_FORMAT_PRETTY: "false",
    ANSIBLE_NOCOLOR: "1",
    ANSIBLE_FORCE_COLOR: "0",
    ANSIBLE_RETRY_FILES_ENABLED: "0",
    ANSIBLE_CONFIG: join(home, "none.cfg"), // no ansible.cfg of the checkout or the machine
  });
  const child = spawn(ANSIBLE!, ["-v", "-i", inventory, PLAYBOOK, "-e", JSON.stringify({ tend_command: tend, tend_root: root.dir }), ...args], {
    cwd: home,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (status) => {
      clearTimeout(timer);
      try {
        resolve({ status, ...parsePlay(stdout), stdout, stderr });
      } catch (e) {
        reject(new Error(`${(e as Error).message}\n${stderr}`));
      }
    });
  });
}

/** A task's result, by the start of its name. */
const task = (run: PlayRun, name: string): Record<string, unknown> => {
  const t = run.tasks.find((t) => t.name.startsWith(name));
  assert.ok(t, `no task '${name}' in ${run.tasks.map((t) => t.name).join(", ")}`);
  return { ...t.result, changed: t.changed };
};

const explain = (run: PlayRun): string => run.stdout + run.stderr;

describe("contrib/ansible: the tend_service module and the task pattern", { skip: ANSIBLE === null ? "ansible-playbook is not installed (Debian: ansible-core)" : false }, () => {
  test("a playbook run twice reports changed, then ok; check mode changes nothing", { timeout: 600_000 }, () =>
    withRoot(async (root) => {
      // The CLI as a command of its own, as a host has it on its PATH.
      const tend = root.file("tend", `#!/bin/sh\nexec ${NODE} ${BIN} "$@"\n`);
      chmodSync(tend, 0o755);
      root.services({ default: "type = bundle\ncontents = base\n", base: "type = longrun\ncommand = /bin/sleep infinity\n" });
      await root.compile();
      const daemon = await root.startDaemon({ boot: true });
      await root.waitPhase("base", "up");

      const first = await playbook(root, tend, []);
      assert.equal(first.status, 0, explain(first));
      assert.equal(first.stats.failed, 0);
      assert.ok(first.stats.changed >= 4, `changed ${first.stats.changed}: ${JSON.stringify(first.tasks.map((t) => [t.name, t.changed]))}`);
      assert.equal(task(first, "the running server switches").changed, true);
      const hello = task(first, "hello is up");
      assert.equal(hello.changed, true);
      assert.deepEqual(hello.commands, [["enable", "hello"]]); // on a booted server, enabling started it: no start left to do
      assert.equal((hello.status as { enablement: string }).enablement, "enabled");
      await root.waitPhase("hello", "up");
      assert.equal((await root.state("hello-check")).phase, "up");
      assert.deepEqual(JSON.parse(readFileSync(join(root.places.state, "enabled.json"), "utf8")).enabled, ["hello"]);

      const second = await playbook(root, tend, []);
      assert.equal(second.status, 0, explain(second));
      assert.equal(second.stats.changed, 0, JSON.stringify(second.tasks.map((t) => [t.name, t.changed])));
      assert.equal(task(second, "hello is up").changed, false);
      assert.equal((task(second, "hello is up").status as { phase: string }).phase, "up");

      // restarted is always a change: a new process.
      const before = (await root.state("hello")).pid;
      const restart = await playbook(root, tend, ["-e", JSON.stringify({ hello_state: "restarted" })]);
      assert.equal(restart.status, 0, explain(restart));
      assert.deepEqual(task(restart, "hello is up").commands, [["restart", "hello"]]);
      const restarted = await root.waitPhase("hello", (s) => s.phase === "up" && s.pid !== before);
      assert.notEqual(restarted.pid, null);

      // reloaded, of a service that is up: its reload runs, the same process carries on.
      const reload = await playbook(root, tend, ["-e", JSON.stringify({ hello_state: "reloaded" })]);
      assert.equal(reload.status, 0, explain(reload));
      assert.deepEqual(task(reload, "hello is up").commands, [["reload", "hello"]]);
      assert.equal((await root.state("hello")).pid, restarted.pid);

      // Check mode, asking for hello stopped and disabled: the change is reported, none is made.
      const pid = (await root.state("hello")).pid;
      const check = await playbook(root, tend, ["--check", "-e", JSON.stringify({ hello_state: "stopped", hello_enabled: false })]);
      assert.equal(check.status, 0, explain(check));
      const preview = task(check, "hello is up");
      assert.equal(preview.changed, true);
      assert.deepEqual(preview.commands, [["disable", "hello"], ["stop", "hello"]]);
      const hello2 = await root.state("hello");
      assert.equal(hello2.phase, "up");
      assert.equal(hello2.pid, pid);
      assert.deepEqual(JSON.parse(readFileSync(join(root.places.state, "enabled.json"), "utf8")).enabled, ["hello"]);

      // For real: stopped and disabled, then ok again.
      const stop = await playbook(root, tend, ["-e", JSON.stringify({ hello_state: "stopped", hello_enabled: false })]);
      assert.equal(stop.status, 0, explain(stop));
      assert.equal(task(stop, "hello is up").changed, true);
      await root.waitPhase("hello", "down");
      const again = await playbook(root, tend, ["-e", JSON.stringify({ hello_state: "stopped", hello_enabled: false })]);
      assert.equal(again.stats.changed, 0, JSON.stringify(again.tasks.map((t) => [t.name, t.changed])));
      assert.equal((await root.state("base")).phase, "up");

      // A set tend check rejects: the playbook fails at its file, and nothing of it is installed or applied.
      const broken = root.path("broken");
      mkdirSync(broken);
      writeFileSync(join(broken, "hello"), readFileSync(join(REPO, "contrib/ansible/examples/services/hello"), "utf8").replace("requires = hello-check", "requires = hello-check nosuch"));
      writeFileSync(join(broken, "hello-check"), readFileSync(join(REPO, "contrib/ansible/examples/services/hello-check"), "utf8"));
      const installed = readFileSync(join(root.sources, "hello"), "utf8");
      const generation = (await root.request({ cmd: "ping" })) as { ok: true; result: { generation: number } };
      const rejected = await playbook(root, tend, ["-e", JSON.stringify({ tend_services: broken })]);
      assert.notEqual(rejected.status, 0);
      assert.equal(rejected.stats.failed, 1);
      assert.match(rejected.stdout, /unknown service 'nosuch'|nosuch/);
      assert.equal(readFileSync(join(root.sources, "hello"), "utf8"), installed);
      assert.equal(((await root.request({ cmd: "ping" })) as { ok: true; result: { generation: number } }).result.generation, generation.result.generation);
      await root.shutdown(daemon);
      // Its documentation is what ansible-doc reads.
      const doc = spawnSync(join(ANSIBLE!, "../ansible-doc"), ["tend_service"], { env: childEnv({ HOME: root.path("ansible"), ANSIBLE_LIBRARY: join(REPO, "contrib/ansible/library") }), encoding: "utf8" });
      assert.equal(doc.status, 0, doc.stderr);
      assert.match(doc.stdout, /TEND_SERVICE/);
      // Ansible's own files stayed in the test's root.
      assert.ok(existsSync(root.path("ansible/tmp")));
    }),
  );
});
