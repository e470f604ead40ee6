// `tend logs` of several services: every service's merged in time order, `-u NAME`
// repeated (and a positional name), `--since`/`--until`, `-f` following all of them;
// the built CLI against a real server whose services write in an order the test sets.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { childEnv } from "../helpers.js";
import { BIN, NODE, waitFor, withRoot, type TestRoot } from "../server/harness.js";

const STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;
const ours = (text: string): string[] => text.split("\n").filter((l) => / (a|b|c)-\d$/.test(l));
const unstamped = (lines: string[]): string[] => lines.map((l) => l.replace(STAMP, ""));

/** A service that writes `NAME-1` once gate `first` is there, then `NAME-2` once gate `second` is. */
const writer = (root: TestRoot, name: string, first: string, second: string): string => {
  const wait = (gate: string): string => `while [ ! -e ${root.path(gate)} ]; do sleep 0.02; done`;
  return `type = longrun\ncommand = sh -c '${wait(first)}; echo ${name}-1; ${wait(second)}; echo ${name}-2; exec sleep 1000'\n`;
};

async function inLog(root: TestRoot, service: string, text: string): Promise<string> {
  const current = join(root.places.log, service, "current");
  return waitFor(`'${text}' in ${service}'s log`, () => (existsSync(current) ? readFileSync(current, "utf8").split("\n").find((l) => l.endsWith(` ${text}`)) : undefined));
}

describe("tend logs, merged", { concurrency: true }, () => {
  test("every service in time order, -u repeated, a name alone without prefixes, --since and --until, --json", { timeout: 90_000 }, () =>
    withRoot(async (root) => {
      root.services({
        a: writer(root, "a", "go-a1", "go-a2"),
        b: writer(root, "b", "go-b1", "go-b2"),
        c: writer(root, "c", "go-c1", "go-c2"),
        quiet: "type = longrun\ncommand = sleep 1000\nlog = none\n",
        default: "type = bundle\ncontents = a b c quiet\n",
      });
      await root.compile();
      const daemon = await root.startDaemon({ boot: true });
      // a-1, b-1, c-1, a-2, b-2, c-2: each written once the one before is in its file.
      const order: [string, string][] = [["a", "1"], ["b", "1"], ["c", "1"], ["a", "2"], ["b", "2"], ["c", "2"]];
      const written: Record<string, string> = {};
      for (const [name, n] of order) {
        writeFileSync(root.path(`go-${name}${n}`), "");
        written[`${name}-${n}`] = await inLog(root, name, `${name}-${n}`);
      }
      const time = (line: string): string => line.slice(0, line.indexOf(" "));

      const all = await root.tend("logs", "-n", "100");
      assert.equal(all.status, 0, all.stderr);
      const merged = ours(all.stdout);
      assert.deepEqual(
        merged,
        order.map(([name, n]) => `${time(written[`${name}-${n}`]!)} ${name}: ${name}-${n}`),
        "every line once, in time order, named",
      );
      const stamps = all.stdout.trimEnd().split("\n").map(time);
      assert.deepEqual(stamps, [...stamps].sort(), "the whole output is in time order");
      assert.match(all.stdout, / a: \[tend\] up\n/, "tend's own notes are merged too");

      const two = await root.tend("logs", "-u", "a", "-u", "c", "-n", "100");
      assert.deepEqual(unstamped(ours(two.stdout)), ["a: a-1", "c: c-1", "a: a-2", "c: c-2"]);
      const positional = await root.tend("logs", "a", "-u", "b", "-n", "100");
      assert.deepEqual(unstamped(ours(positional.stdout)), ["a: a-1", "b: b-1", "a: a-2", "b: b-2"]);
      const alone = await root.tend("logs", "-u", "b");
      assert.deepEqual(unstamped(ours(alone.stdout)), ["b-1", "b-2"], "one service: its lines as they are");
      const last = await root.tend("logs", "-n", "2");
      assert.deepEqual(unstamped(last.stdout.trimEnd().split("\n")), ["b: b-2", "c: c-2"], "-n: the last lines of the merge");

      // From b-1 to a-2: the lines stamped within, the ends included; absolute and relative times.
      const range = await root.tend("logs", "--since", time(written["b-1"]!), "--until", time(written["a-2"]!));
      assert.equal(range.status, 0, range.stderr);
      assert.deepEqual(unstamped(ours(range.stdout)), ["b: b-1", "c: c-1", "a: a-2"]);
      const since = await root.tend("logs", "-u", "c", "--since", time(written["c-1"]!));
      assert.deepEqual(unstamped(ours(since.stdout)), ["c-1", "c-2"]);
      const recent = await root.tend("logs", "--since", "10 min ago");
      assert.equal(ours(recent.stdout).length, 6, "a range has no default count");
      const future = await root.tend("logs", "--until", "1 h ago");
      assert.deepEqual([future.status, future.stdout], [0, ""]);

      const json = await root.tend("--json", "logs", "-n", "1");
      assert.deepEqual(JSON.parse(json.stdout), { service: "c", line: written["c-2"] });

      for (const [args, message] of [
        [["--since", "yesterday-ish"], /^tend: --since: 'yesterday-ish' is not a time/],
        [["-f", "--until", "now"], /^tend: --until ends the lines and -f never does/],
      ] as const) {
        const r = await root.tend("logs", ...args);
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, message);
      }
      const none = await root.tend("logs", "quiet");
      assert.equal(none.status, 1);
      assert.match(none.stderr, /quiet logs to nowhere \('log = none'\)/);
      await root.shutdown(daemon);
    }),
  );

  test("-f with no name follows every service, each line named, until interrupted", { timeout: 90_000 }, () =>
    withRoot(async (root) => {
      root.services({
        a: writer(root, "a", "go-1", "go-a"),
        b: writer(root, "b", "go-1", "go-b"),
        tick: "type = longrun\ncommand = sh -c 'while :; do echo tick; sleep 0.1; done'\n",
        default: "type = bundle\ncontents = a b tick\n",
      });
      await root.compile();
      const daemon = await root.startDaemon({ boot: true });
      writeFileSync(root.path("go-1"), "");
      await inLog(root, "a", "a-1");
      await inLog(root, "b", "b-1");
      const follower = spawn(NODE, [BIN, "--root", root.dir, "logs", "-f", "-n", "0"], { env: childEnv(), stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      follower.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
      try {
        // The follower is in place once it shows a tick written after it started.
        await waitFor("the follower to show a tick", () => / tick: tick\n/.test(out));
        writeFileSync(root.path("go-b"), "");
        await waitFor("the follower to show b-2", () => / b: b-2\n/.test(out));
        writeFileSync(root.path("go-a"), "");
        await waitFor("the follower to show a-2", () => / a: a-2\n/.test(out));
        assert.deepEqual(unstamped(ours(out)), ["b: b-2", "a: a-2"], "only what came after, named");
      } finally {
        follower.kill("SIGINT");
      }
      await root.shutdown(daemon);
    }),
  );
});
