// Reading service logs as the keeper writes them, without a keeper: the tail across
// generations, a time range, several logs merged in time order, and a follower that picks up where the tail ended, finishes a rotated
// file before going on with the new one, and waits for a line to be finished.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { followLog, MAX_MERGED_LINES, mergeLogs, readLog } from "../../src/server/logs.js";
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

/** Lines stamped as the keeper stamps them, `at` seconds after 10:00:00 UTC. */
const stamped = (...lines: [number, string][]): string => lines.map(([at, text]) => `${new Date(Date.UTC(2026, 11, 2, 10, 0, at)).toISOString()} ${text}\n`).join("");
const second = (at: number): number => Date.UTC(2026, 11, 2, 10, 0, at);
const texts = (lines: string[]): string[] => lines.map((l) => l.slice(l.indexOf(" ") + 1));

describe("readLog: a time range", () => {
  test("the lines stamped from since to until, both ends in, across generations; an older generation is read only when the range reaches it", () =>
    withLog(async (dir) => {
      mkdirSync(dir);
      writeFileSync(join(dir, "current.2"), stamped([1, "a"], [2, "b"]));
      writeFileSync(join(dir, "current.1"), stamped([3, "c"], [4, "d"]));
      writeFileSync(join(dir, "current"), stamped([5, "e"], [6, "f"]));
      assert.deepEqual(texts(readLog(dir, { since: second(2), until: second(5) }).lines), ["b", "c", "d", "e"]);
      assert.deepEqual(texts(readLog(dir, { since: second(5) }).lines), ["e", "f"]);
      assert.deepEqual(texts(readLog(dir, { until: second(3) }).lines), ["a", "b", "c"]);
      assert.deepEqual(texts(readLog(dir, { since: second(2), count: 2 }).lines), ["e", "f"], "a count keeps the last of the range");
      assert.deepEqual(readLog(dir, { since: second(7) }).lines, []);
      // current begins at 5 s: for a range from after 5 s, current.1 is not read (one out of order would show).
      writeFileSync(join(dir, "current.1"), stamped([6, "not read"]));
      assert.deepEqual(texts(readLog(dir, { since: second(5) + 500 }).lines), ["f"]);
    }));
});

describe("mergeLogs", () => {
  test("in time order, each service's lines in their order, ties by the order of the logs; the last count of them; each current's end", () =>
    withLog(async (dir) => {
      const a = join(dir, "a");
      const b = join(dir, "b");
      mkdirSync(a, { recursive: true });
      mkdirSync(b);
      writeFileSync(join(a, "current"), stamped([1, "a1"], [3, "a3"], [3, "a3 again"], [5, "a5"]));
      writeFileSync(join(b, "current"), stamped([2, "b2"], [3, "b3"], [4, "b4"]));
      const logs = [{ service: "a", dir: a }, { service: "b", dir: b }, { service: "none", dir: join(dir, "none") }];
      const all = mergeLogs(logs, {});
      assert.deepEqual(
        all.lines.map((l) => `${l.service} ${texts([l.line])[0]}`),
        ["a a1", "b b2", "a a3", "a a3 again", "b b3", "b b4", "a a5"],
      );
      assert.equal(all.bounded, false);
      assert.equal(all.ends.length, 3);
      assert.equal(all.ends[2], null, "no log yet: no end");
      assert.deepEqual(mergeLogs(logs, { count: 2 }).lines.map((l) => texts([l.line])[0]), ["b4", "a5"]);
      assert.deepEqual(mergeLogs(logs, { count: 0 }).lines, []);
      assert.deepEqual(mergeLogs(logs, { since: second(3), until: second(4) }).lines.map((l) => texts([l.line])[0]), ["a3", "a3 again", "b3", "b4"]);
    }));

  test("a range with no count is bounded, and says so", () =>
    withLog(async (dir) => {
      mkdirSync(dir);
      writeFileSync(join(dir, "current"), stamped(...Array.from({ length: MAX_MERGED_LINES + 5 }, (_, i): [number, string] => [0, `l${i}`])));
      const read = mergeLogs([{ service: "s", dir }], { since: 0 });
      assert.equal(read.lines.length, MAX_MERGED_LINES);
      assert.equal(read.bounded, true);
      assert.equal(texts([read.lines.at(-1)!.line])[0], `l${MAX_MERGED_LINES + 4}`, "the newest are kept");
      assert.equal(mergeLogs([{ service: "s", dir }], { count: 10 }).bounded, false, "a count asked for is no bound");
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
