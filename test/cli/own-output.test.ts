// tend's own stdout (src/cli/own-output.ts), written with write(2): one that whoever
// opened it left non-blocking takes what fits, and the rest goes through the stream,
// which waits for the reader: all of it arrives, in order.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, rmSync } from "node:fs";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "../server/harness.js";

const OWN_OUTPUT = new URL("../../src/cli/own-output.js", import.meta.url).href;
/** Sets O_NONBLOCK on fd 1, then execs its arguments. */
const NONBLOCKING_STDOUT = "import fcntl, os, sys; fcntl.fcntl(1, fcntl.F_SETFL, fcntl.fcntl(1, fcntl.F_GETFL) | os.O_NONBLOCK); os.execv(sys.argv[1], sys.argv[1:])";
const python = spawnSync("python3", ["-c", "pass"]).status === 0;

test("a non-blocking stdout that fills up: the rest is written by the stream, in order, once the reader reads", { timeout: 30_000, skip: python ? false : "needs python3 (to set O_NONBLOCK on a child's stdout)" }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "tend-own-output-"));
  try {
    const fifo = join(dir, "out");
    execFileSync("mkfifo", [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    // Far more than a pipe holds (64 KiB), written while nobody reads.
    const LINES = "Array.from({ length: 100000 }, (_, i) => `${i}\\n`).join(\"\")";
    const lines = Array.from({ length: 100_000 }, (_, i) => `${i}\n`).join("");
    const script = `import(${JSON.stringify(OWN_OUTPUT)}).then(({ writeOut, writeErr }) => { writeOut(${LINES}); writeErr("handed over\\n"); })`;
    // A spawned child's stdout is made blocking by libuv: python sets O_NONBLOCK on it again, then runs node.
    const child = spawn("python3", ["-c", NONBLOCKING_STDOUT, process.execPath, "-e", script], { stdio: ["ignore", writer, "pipe"] });
    closeSync(writer);
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    await waitFor("the writer to have handed the rest over", () => stderr.includes("handed over"));
    let received = "";
    const pipe = new Socket({ fd: reader, readable: true, writable: false });
    pipe.setEncoding("utf8").on("data", (d: string) => (received += d));
    const [code] = await Promise.all([new Promise((resolve) => child.once("exit", resolve)), new Promise((resolve) => pipe.once("end", resolve))]);
    assert.equal(code, 0, stderr);
    assert.equal(received.length, lines.length);
    assert.ok(received === lines, "every line, in order");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
