// Reading service logs as the keeper writes them, without a keeper: the tail across
// generations, and a follower that picks up where the tail ended, finishes a rotated
// file before going on with the new one, and waits for a line to be finished.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { followLog, readLog } from "../../src/server/logs.js";
import { tempDir } from "../helpers.js";
import { waitFor } from "./harness.js";

const numbered = (from: number, to: number): string => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}\n`).join("");

/** A log directory (not made yet) in a temporary directory, removed afterwards. */
async function withLog(body: (dir: string) => Promise<void>): Promise<void> {
  const { dir, remove } = tempDir();
  try {
    await body(join(dir, "svc"));
  } finally {
    remove();
  }
}

describe("readLog", () => {
  test("the last lines come from current, then the rotated files, oldest first", () =>
    withLog(async (dir) => {
      mkdirSync(dir);
      writeFileSync(join(dir, "current.2"), numbered(1, 3));
      writeFileSync(join(dir, "current.1"), numbered(4, 6));
      writeFileSync(join(dir, "current"), numbered(7, 8));
      writeFileSync(join(dir, "current.x"), "not a generation\n");
      assert.deepEqual(readLog(dir, { count: 2 }).lines, ["line 7", "line 8"]);
      assert.deepEqual(readLog(dir, { count: 4 }).lines, ["line 5", "line 6", "line 7", "line 8"]);
      assert.deepEqual(readLog(dir, { count: 100 }).lines, numbered(1, 8).trimEnd().split("\n"));
      assert.deepEqual(readLog(dir, { count: 0 }).lines, []);
    }));

  test("a line not finished yet is left for the follower; the end is after the last newline", () =>
    withLog(async (dir) => {
      mkdirSync(dir);
      writeFileSync(join(dir, "current"), "one\ntwo\nthr");
      const { lines, end } = readLog(dir, { count: 10 });
      assert.deepEqual(lines, ["one", "two"]);
      assert.equal(end?.offset, "one\ntwo\n".length);
    }));

  test("no directory, or no current: no lines and no end", () =>
    withLog(async (dir) => {
      assert.deepEqual(readLog(dir, { count: 5 }), { lines: [], end: null });
      mkdirSync(dir);
      writeFileSync(join(dir, "current.1"), "old\n");
      assert.deepEqual(readLog(dir, { count: 5 }), { lines: ["old"], end: null });
    }));
});

describe("followLog", () => {
  test("from where the tail ended: new lines only, a partial line once it is finished", () =>
    withLog(async (dir) => {
      mkdirSync(dir);
      const current = join(dir, "current");
      writeFileSync(current, "before\nhalf");
      const got: string[] = [];
      const stop = followLog(dir, readLog(dir, { count: 10 }).end, (line) => got.push(line));
      try {
        appendFileSync(current, "-done\nafter\n");
        await waitFor("the finished line and the next", () => got.length >= 2);
        assert.deepEqual(got, ["half-done", "after"]);
      } finally {
        stop();
      }
    }));

  test("across rotations: the old file to its end, then the new current from its start", () =>
    withLog(async (dir) => {
      mkdirSync(dir);
      const current = join(dir, "current");
      writeFileSync(current, numbered(1, 2));
      const got: string[] = [];
      const stop = followLog(dir, readLog(dir, { count: 0 }).end, (line) => got.push(line));
      try {
        appendFileSync(current, numbered(3, 4));
        await waitFor("lines 3 and 4", () => got.length === 2);
        // As the keeper rotates: the line that crosses the size, then the rename, then a new file.
        appendFileSync(current, numbered(5, 6));
        renameSync(current, join(dir, "current.1"));
        writeFileSync(current, numbered(7, 8));
        await waitFor("lines 5 to 8", () => got.length === 6);
        // With log-keep = 0 the full file is deleted instead.
        rmSync(join(dir, "current.1"));
        rmSync(current);
        writeFileSync(current, numbered(9, 9));
        await waitFor("line 9", () => got.length === 7);
        assert.deepEqual(got, numbered(3, 9).trimEnd().split("\n"));
      } finally {
        stop();
      }
    }));

  test("a service that has not logged yet: following starts with its first line", () =>
    withLog(async (dir) => {
      const got: string[] = [];
      const stop = followLog(dir, readLog(dir, { count: 20 }).end, (line) => got.push(line));
      try {
        mkdirSync(dir);
        writeFileSync(join(dir, "current"), numbered(1, 2));
        await waitFor("the first lines", () => got.length === 2);
        assert.deepEqual(got, ["line 1", "line 2"]);
      } finally {
        stop();
      }
    }));

  test("stopping reads what was written up to then, and nothing after", () =>
    withLog(async (dir) => {
      mkdirSync(dir);
      const current = join(dir, "current");
      writeFileSync(current, "");
      const got: string[] = [];
      const stop = followLog(dir, readLog(dir, { count: 0 }).end, (line) => got.push(line));
      appendFileSync(current, numbered(1, 3));
      stop();
      assert.deepEqual(got, ["line 1", "line 2", "line 3"]);
      appendFileSync(current, numbered(4, 4));
      stop();
      assert.equal(got.length, 3);
    }));
});
