// The lock of a root (RUN/tend.pid): held by one live process, named by its pid and
// start time; taken over from a process that ended, a zombie, a pid given out again;
// and one winner among servers that start at the same moment.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LOCK_FILE, lockRoot } from "../../src/server/lock.js";
import { startTimeOf } from "../../src/system/processes.js";
import { childEnv, tempDir, withTemp } from "../helpers.js";

const LOCK_MODULE = new URL("../../src/server/lock.js", import.meta.url).href;

/** A pid that has ended: a child that ran and was reaped. */
const endedPid = (): number => spawnSync("true").pid!;

describe("lockRoot", () => {
  test("a lock of a process that ended, or of a pid that now names a later process, is taken over", () => {
    withTemp((dir) => {
      writeFileSync(join(dir, LOCK_FILE), `${endedPid()} 12345\n`);
      let r = lockRoot(dir);
      assert.ok(r.ok);
      assert.equal(readFileSync(join(dir, LOCK_FILE), "utf8"), `${process.pid} ${startTimeOf(process.pid)}\n`);
      r.release();
      const other = spawn("sleep", ["1000"], { stdio: "ignore" });
      try {
        writeFileSync(join(dir, LOCK_FILE), `${other.pid} 1\n`); // started at tick 1: not this sleep
        r = lockRoot(dir);
        assert.ok(r.ok, "a reused pid holds nothing");
        r.release();
        writeFileSync(join(dir, LOCK_FILE), `${other.pid} ${startTimeOf(other.pid!)}\n`);
        r = lockRoot(dir);
        assert.deepEqual(r, { ok: false, pid: other.pid }, "the very process holds it");
      } finally {
        other.kill("SIGKILL");
      }
    });
  });

  test("releasing a lock another server took over leaves that server's lock", () => {
    withTemp((dir) => {
      const r = lockRoot(dir);
      assert.ok(r.ok);
      writeFileSync(join(dir, LOCK_FILE), "999999 1\n");
      r.release();
      assert.equal(readFileSync(join(dir, LOCK_FILE), "utf8"), "999999 1\n");
    });
  });

  test("servers that start at the same moment over a stale lock: exactly one holds it", { timeout: 60_000 }, async () => {
    await withTempAsync(async (dir) => {
      writeFileSync(join(dir, LOCK_FILE), `${endedPid()} 1\n`);
      const script = `import { lockRoot } from ${JSON.stringify(LOCK_MODULE)};
        const r = await lockRoot(process.argv[1]);
        process.stdout.write(r.ok ? "held\\n" : "refused\\n");
        setTimeout(() => {}, 3000);`;
      const children = Array.from({ length: 6 }, () => spawn(process.execPath, ["--input-type=module", "-e", script, dir], { env: childEnv(), stdio: ["ignore", "pipe", "inherit"] }));
      const outcomes = await Promise.all(
        children.map(
          (c) =>
            new Promise<string>((resolve) => {
              let out = "";
              c.stdout!.setEncoding("utf8").on("data", (d: string) => {
                out += d;
                if (out.endsWith("\n")) resolve(out.trim());
              });
            }),
        ),
      );
      for (const c of children) c.kill("SIGKILL");
      assert.equal(outcomes.filter((o) => o === "held").length, 1, outcomes.join(" "));
    });
  });
});

async function withTempAsync(body: (dir: string) => Promise<void>): Promise<void> {
  const { dir, remove } = tempDir();
  try {
    await body(dir);
  } finally {
    remove();
  }
}
