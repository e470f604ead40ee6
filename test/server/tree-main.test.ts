// The roots of a service's tree (src/supervisor/tree-main.ts), on real processes: a
// daemon and its worker have one root, the daemon; two unrelated processes two; a tree
// of ended processes none. And the watch: it waits past two roots until one is left.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { treeRoots, watchTreeMain } from "../../src/supervisor/tree-main.js";
import { waitFor } from "./harness.js";

/** A shell with a child sleep: the shell's pid and its child's. */
async function daemonAndWorker(): Promise<{ shell: ChildProcess; worker: number }> {
  const shell = spawn("sh", ["-c", "sleep 1000 & echo $!; wait"], { stdio: ["ignore", "pipe", "ignore"] });
  const worker = Number(await new Promise<string>((resolve) => shell.stdout!.once("data", (d) => resolve(String(d).trim()))));
  await waitFor("the worker to be sleep", () => readFileSync(`/proc/${worker}/cmdline`, "utf8").startsWith("sleep"));
  return { shell, worker };
}

const end = async (p: ChildProcess): Promise<void> => {
  const gone = new Promise((resolve) => p.once("exit", resolve));
  p.kill("SIGKILL");
  await gone;
};

describe("a forking daemon's tree, without a pid file", () => {
  test("a daemon and its worker: one root, the daemon; another process beside it: two; none running: null", async () => {
    const { shell, worker } = await daemonAndWorker();
    const other = spawn("sleep", ["1000"], { stdio: "ignore" });
    try {
      assert.deepEqual(treeRoots([worker, shell.pid!]), [shell.pid]);
      assert.deepEqual(treeRoots([shell.pid!, worker, other.pid!])!.sort(), [shell.pid, other.pid].sort());
      assert.equal(treeRoots([]), null);
    } finally {
      process.kill(worker, "SIGKILL");
      await end(shell);
      await end(other);
    }
    assert.equal(treeRoots([other.pid!]), null, "ended and reaped");
  });

  test("the watch waits past two roots, says so once, and finds the one left", async () => {
    const { shell, worker } = await daemonAndWorker();
    const helper = spawn("sleep", ["1000"], { stdio: "ignore" });
    const notes: string[] = [];
    let asked = 0;
    const found = new Promise<number>((resolve) => {
      watchTreeMain(
        async () => {
          asked++;
          return [shell.pid!, worker, ...(helper.exitCode === null && helper.signalCode === null ? [helper.pid!] : [])];
        },
        resolve,
        () => assert.fail("not empty"),
        (t) => notes.push(t),
      );
    });
    try {
      await waitFor("asked twice", () => asked >= 2);
      await end(helper);
      assert.equal(await found, shell.pid);
      assert.equal(notes.length, 1);
      assert.match(notes[0]!, /left 2 processes of their own in its tree/);
    } finally {
      process.kill(worker, "SIGKILL");
      await end(shell);
    }
  });
});
