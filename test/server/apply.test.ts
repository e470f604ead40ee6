// `tend apply`: a changed source set installed into the running server. Removed
// services stop, changed ones restart (and what requires them with them), added ones
// start if wanted; `--dry-run` only prints the plan.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { alive, readLines, withRoot, writePrograms, type ChangeResult, type Daemon, type TestRoot } from "./harness.js";

interface ApplyResult extends Partial<ChangeResult> {
  generation: { from: number; to: number };
  added: string[];
  removed: string[];
  changed: string[];
  bounced: string[];
  applied?: boolean;
}

interface Scenario {
  daemon: Daemon;
  /** The pids before the apply. */
  pids: Map<string, number>;
  log: string;
}

/**
 * Boots a, b, x (requires b) and c, all in default; then edits the sources: b's command
 * changes (v1 → v2), d is added to default and, with `removeC`, c is removed.
 */
async function scenario(root: TestRoot, removeC: boolean): Promise<Scenario> {
  const { longrun, log } = writePrograms(root);
  const v = (version: string): string => `type = longrun\ncommand = sh -c 'echo "${version} $(date +%s%N)" >> ${root.path("b.versions")}; echo >&3; exec sleep 1000'\nready = fd\n`;
  root.services({
    a: longrun("a"),
    b: v("v1"),
    x: longrun("x", 0, "requires = b\n"),
    c: longrun("c"),
    default: "type = bundle\ncontents = a b c x\n",
  });
  await root.compile();
  const daemon = await root.startDaemon({ boot: true });
  for (const n of ["a", "b", "c", "x"]) await root.waitPhase(n, "up");
  const pids = new Map((await root.status()).map((s) => [s.name, s.pid!]));

  root.service("b", v("v2"));
  root.service("d", longrun("d"));
  if (removeC) {
    root.removeService("c");
    root.service("default", "type = bundle\ncontents = a b d x\n");
  } else {
    root.service("default", "type = bundle\ncontents = a b c d x\n");
  }
  return { daemon, pids, log };
}

/**
 * Engine bugs reported to its owner (2 lines in completeApply): an apply whose diff holds a
 * bundle throws "no service 'default'" (defOf on a bundle), and one that removes a wanted
 * service throws "no service 'c'" (rewant marks the removed service dirty); either way the
 * rest of the apply never happens. Remove the `todo` once they are fixed.
 */

const versions = (root: TestRoot): string[] => readLines(root.path("b.versions")).map((l) => l.split(" ")[0]!);

describe("apply", { concurrency: true }, () => {
  test("--dry-run prints the plan and changes nothing", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const { daemon, pids } = await scenario(root, true);
      const dry = await root.tend("apply", "--dry-run");
      assert.equal(dry.status, 0, dry.stdout + dry.stderr);
      assert.match(dry.stdout, /^add \(start if wanted\): d$/m);
      assert.match(dry.stdout, /^remove \(stop\): c$/m);
      assert.match(dry.stdout, /^change \(restart\): b, default$/m);
      assert.match(dry.stdout, /^restart with them \(they require a changed service\): x$/m);
      assert.match(dry.stdout, /^dry run: nothing was changed$/m);
      const json = await root.json<ApplyResult>("apply", "--dry-run");
      assert.equal(json.run.status, 0);
      const { added, removed, changed, bounced, applied } = json.data;
      assert.deepEqual({ added, removed, changed, bounced, applied }, { added: ["d"], removed: ["c"], changed: ["b", "default"], bounced: ["x"], applied: false });
      // Nothing moved: same generation, same processes, d unknown, b never ran v2.
      assert.deepEqual(new Map((await root.status()).map((s) => [s.name, s.pid])), pids);
      assert.equal((await root.json<{ generation: number }>("status")).data.generation, 1);
      assert.equal((await root.tend("status", "d")).status, 4, "d is not known");
      assert.deepEqual(versions(root), ["v1"]);
      await root.shutdown(daemon);
    }),
  );

  test("changed restarts with a new pid, what requires it restarts with it, added starts if wanted", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const { daemon, pids, log } = await scenario(root, false);
      const { run, data } = await root.json<ApplyResult>("apply");
      assert.equal(run.status, 0, run.stdout + run.stderr);
      assert.deepEqual(data.generation, { from: 1, to: 2 });
      assert.deepEqual([data.added, data.removed, data.changed, data.bounced], [["d"], [], ["b", "default"], ["x"]]);
      assert.deepEqual(data.failed, []);
      const after = new Map((await root.status()).map((s) => [s.name, s]));
      assert.deepEqual([...after.keys()].sort(), ["a", "b", "c", "d", "x"]);
      for (const [n, s] of after) assert.equal(s.phase, "up", `${n} is ${s.phase}`);
      assert.equal(after.get("a")!.pid, pids.get("a"), "a did not change: it keeps running");
      assert.equal(after.get("c")!.pid, pids.get("c"), "c did not change: it keeps running");
      assert.notEqual(after.get("b")!.pid, pids.get("b"), "b changed: it restarts");
      assert.notEqual(after.get("x")!.pid, pids.get("x"), "x requires b: it restarts with it");
      assert.equal(alive(pids.get("b")!), false);
      assert.deepEqual(versions(root), ["v1", "v2"]);
      assert.equal((await root.json<{ generation: number }>("status")).data.generation, 2);
      const lines = readLines(log).map((l) => l.split(" "));
      assert.ok(lines.some(([w, n]) => w === "ready" && n === "d"), "d started");
      assert.equal(lines.filter(([w, n]) => w === "start" && n === "x").length, 2);

      const again = await root.tend("apply");
      assert.equal(again.status, 0);
      assert.match(again.stdout, /no difference: nothing to do/);
      await root.shutdown(daemon);
    }),
  );

  test("removed stops (and the rest of the apply goes on)", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const { daemon, pids } = await scenario(root, true);
      const { run, data } = await root.json<ApplyResult>("apply");
      assert.equal(run.status, 0, run.stdout + run.stderr);
      assert.deepEqual(data.failed, []);
      const after = new Map((await root.status()).map((s) => [s.name, s]));
      assert.deepEqual([...after.keys()].sort(), ["a", "b", "d", "x"]);
      for (const [n, s] of after) assert.equal(s.phase, "up", `${n} is ${s.phase}`);
      assert.equal(after.get("a")!.pid, pids.get("a"));
      assert.notEqual(after.get("b")!.pid, pids.get("b"));
      assert.equal(alive(pids.get("c")!), false, "c was removed: its process stops");
      assert.equal((await root.tend("status", "c")).status, 4, "c is unknown now");
      await root.shutdown(daemon);
    }),
  );

  test("a rejected source set changes nothing in the running server", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const { longrun } = writePrograms(root);
      root.services({ a: longrun("a"), default: "type = bundle\ncontents = a\n" });
      await root.compile();
      const daemon = await root.startDaemon({ boot: true });
      const a = await root.waitPhase("a", "up");
      root.service("a", "type = longrun\ncommand = sleep 1000\nrequires = nosuch\n");
      const r = await root.tend("apply");
      assert.equal(r.status, 1);
      assert.match(r.stdout, /'requires' names 'nosuch'/);
      assert.match(r.stdout, /nothing was applied/);
      assert.equal((await root.state("a")).pid, a.pid);
      assert.equal((await root.json<{ generation: number }>("status")).data.generation, 1);
      await root.shutdown(daemon);
    }),
  );
});
