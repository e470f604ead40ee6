// What a newcomer meets first: a checkout that was never built, `npm start` piped into
// a reader that goes away, and two demos at once. Each runs in a copy of the package
// in a temporary directory, so its demo root (.demo) is the test's own.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { childEnv, REPO, tempDir, withTemp } from "../helpers.js";

const LONG = { timeout: 120_000 };

/** A copy of the built package in `dir`: what `npm install` leaves, without node_modules (the bundle needs none). */
function copyPackage(dir: string): string {
  for (const part of ["bin", "dist/bin", "dist/keeper/tend-keeper", "dist/native", "examples", "package.json"]) {
    cpSync(join(REPO, part), join(dir, part), { recursive: true });
  }
  return dir;
}

/** The processes that name `dir` in their command line, working directory or environment (ours excepted). */
function processesOf(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      const environ = readFileSync(`/proc/${pid}/environ`, "utf8");
      if (cmdline.includes(dir) || cwd.startsWith(dir) || environ.includes(dir)) found.push(`${pid}: ${cmdline}`);
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/** Kills what still runs of `dir` (the test started it), so that a failure leaves nothing behind. */
function killAll(dir: string): void {
  for (const entry of processesOf(dir)) {
    try {
      process.kill(Number(entry.slice(0, entry.indexOf(":"))), "SIGKILL");
    } catch {
      // gone already
    }
  }
}

/** Waits until nothing of `dir` runs, for at most `ms`; returns what still does. */
async function settle(dir: string, ms = 15_000): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = processesOf(dir);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function run(command: string, cwd: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", command], { cwd, env: childEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.once("error", reject);
    // On exit, not on close: what the command leaves running may hold its pipes open.
    child.once("exit", (status) => {
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({ status, stdout, stderr });
    });
  });
}

const hasNpm = spawnSync("npm", ["--version"], { encoding: "utf8" }).status === 0;

describe("a checkout that was never built", () => {
  test("bin/tend says so, run as a program and by node, exit 70, no module stack", () => {
    withTemp((dir) => {
      mkdirSync(join(dir, "bin"));
      cpSync(join(REPO, "bin/tend"), join(dir, "bin/tend"));
      writeFileSync(join(dir, "package.json"), readFileSync(join(REPO, "package.json")));
      for (const argv of [[join(dir, "bin/tend"), "status"], [process.execPath, join(dir, "bin/tend"), "status"]]) {
        const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", env: childEnv() });
        assert.equal(r.status, 70, r.stderr);
        assert.equal(r.stderr, `tend: not built: run npm install in ${dir}\n`);
        assert.equal(r.stdout, "");
      }
    });
  });
});

describe("npm start", () => {
  for (const [reader, what] of [
    ["head -n 3", "before the demo wrote anything (npm's own lines)"],
    ["head -n 12", "while its services come up"],
  ] as const) {
    test(`piped into '${reader}', a reader that goes away ${what}, leaves nothing running`, { ...LONG, skip: hasNpm ? false : "npm is not installed" }, async () => {
      const { dir, remove } = tempDir();
      try {
        copyPackage(dir);
        const r = await run(`{ npm start --silent; echo "npm start: exit $?" >&2; } | ${reader}`, dir);
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(await settle(dir), [], "processes of the demo's root are still running");
        assert.match(r.stderr, /npm start: exit 0\n$/);
        assert.doesNotMatch(r.stderr, /^tend: |Error|EPIPE/m, r.stderr);
        assert.ok(existsSync(join(dir, ".demo/run/tend")), "the demo started its server");
      } finally {
        killAll(dir);
        remove();
      }
    });
  }
});

describe("two demos side by side", () => {
  test("each in its own package runs every example on its own port and directory", LONG, async () => {
    const a = tempDir();
    const b = tempDir();
    try {
      const [one, two] = await Promise.all([a, b].map((t) => run(`${process.execPath} bin/tend demo < /dev/null`, copyPackage(t.dir))));
      for (const [r, t] of [
        [one!, a],
        [two!, b],
      ] as const) {
        assert.equal(r.status, 0, r.stdout + r.stderr);
        for (const service of ["web", "worker", "logger", "metrics", "prepare", "tune"]) assert.match(r.stdout, new RegExp(`^${service} +\\w+ +(up) `, "m"), `${service}:\n${r.stdout}`);
        const port = /web on 127\.0\.0\.1:(\d+)/.exec(r.stdout)?.[1];
        assert.ok(port, r.stdout);
        assert.equal(readFileSync(join(t.dir, ".demo/etc/tend/settings/demo.env"), "utf8"), `DEMO_PORT=${port}\nDEMO_DIR=${join(t.dir, ".demo/tmp")}\n`);
        assert.match(readFileSync(join(t.dir, ".demo/var/log/tend/worker/current"), "utf8"), new RegExp(`http://127\\.0\\.0\\.1:${port}/ answered 200`));
      }
      assert.notEqual(/web on \S+/.exec(one!.stdout)![0], /web on \S+/.exec(two!.stdout)![0]);
      assert.deepEqual(await settle(a.dir), []);
      assert.deepEqual(await settle(b.dir), []);
    } finally {
      for (const t of [a, b]) {
        killAll(t.dir);
        t.remove();
      }
    }
  });
});
