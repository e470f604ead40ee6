// Order with real processes: on a random graph of 30 services, nothing starts before
// what it requires (or wants, or is ordered after) is ready, and at shutdown nothing
// stops before what requires it has stopped. `tend stop X` takes X's dependents down
// first, names them, and they stay down until started again.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { random } from "../helpers.js";
import { events, namesOf, once, waitFor, withRoot, writePrograms, type ChangeResult } from "./harness.js";

/** A oneshot's up (start, DELAY, ready) and down (stop). */
const ONESHOT = `#!/bin/sh
what=$1 name=$2 delay=$3 log=$4
if [ "$what" = up ]; then
  echo "start $name $(date +%s%N)" >> "$log"
  sleep "$delay"
  echo "ready $name $(date +%s%N)" >> "$log"
else
  echo "stop $name $(date +%s%N)" >> "$log"
fi
`;

describe("ordering", { concurrency: true }, () => {
  test("a random graph of 30 services starts in dependency order and shuts down in reverse", { timeout: 90_000 }, () =>
    withRoot(async (root) => {
      const rnd = random(20240611);
      const { log } = writePrograms(root);
      const longrun = root.path("longrun.sh");
      const oneshot = root.file("oneshot.sh", ONESHOT);
      const names = Array.from({ length: 30 }, (_, i) => `s${String(i).padStart(2, "0")}`);
      const edges: { from: string; to: string; kind: "requires" | "wants" | "after" }[] = [];
      const incoming = new Set<string>();
      const oneshots = new Set<string>();
      for (let i = 0; i < names.length; i++) {
        const name = names[i]!;
        const kind = i > 0 && rnd.chance(0.2) ? "oneshot" : "longrun";
        if (kind === "oneshot") oneshots.add(name);
        const delay = (rnd.int(0, 12) * 10) / 1000;
        const lines = [
          `type = ${kind}`,
          kind === "longrun" ? `command = sh ${longrun} ${name} ${delay} ${log}` : `up = sh ${oneshot} up ${name} ${delay} ${log}`,
          kind === "longrun" ? "ready = fd" : `down = sh ${oneshot} down ${name} 0 ${log}`,
        ];
        const earlier = names.slice(0, i);
        const picked = new Set<string>();
        for (const kindOf of ["requires", "requires", "wants", "after"] as const) {
          if (earlier.length === 0 || !rnd.chance(kindOf === "requires" ? 0.6 : 0.3)) continue;
          // Mostly near neighbours, so that the graph is deep as well as wide.
          const to = earlier[Math.max(0, i - 1 - Math.floor(rnd.next() * rnd.next() * i))]!;
          if (picked.has(to)) continue;
          picked.add(to);
          lines.push(`${kindOf} = ${to}`);
          edges.push({ from: name, to, kind: kindOf });
          if (kindOf !== "after") incoming.add(to);
        }
        root.service(name, `${lines.join("\n")}\n`);
      }
      const roots = names.filter((n) => !incoming.has(n));
      root.service("default", `type = bundle\ncontents = ${roots.join(" ")}\n`);
      await root.compile();

      const daemon = await root.startDaemon({ boot: true });
      await root.waitPhase("s00", "up");
      await waitFor("every service to be up", async () => {
        const all = await root.status();
        const failed = all.filter((s) => s.phase === "failed");
        assert.deepEqual(failed, [], "a service failed");
        return all.every((s) => s.phase === "up");
      });
      await root.shutdown(daemon);

      const list = events(log);
      const requires = edges.filter((e) => e.kind === "requires").length;
      assert.ok(requires >= 15, `the graph is too thin to test anything (${requires} requires edges)`);
      for (const name of names) for (const what of ["start", "ready", "stop"]) once(list, what, name);
      for (const { from, to, kind } of edges) {
        const started = once(list, "start", from);
        const ready = once(list, "ready", to);
        assert.ok(started > ready, `${from} (${kind} ${to}) started ${(ready - started) / 1000n} µs before ${to} was ready`);
        const stopped = once(list, "stop", from);
        const otherStopped = once(list, "stop", to);
        assert.ok(otherStopped > stopped, `${to} stopped ${(stopped - otherStopped) / 1000n} µs before ${from} (${kind} ${to}) stopped`);
      }
      assert.ok(oneshots.size > 0);
    }),
  );

  test("'tend stop X' stops what requires X first and names it; they stay down until started again", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const { longrun, log } = writePrograms(root);
      // c requires b requires a; d is unrelated; e only wants a.
      root.services({
        a: longrun("a", 0, "restart = always\n"),
        b: longrun("b", 0, "restart = always\nrequires = a\n"),
        c: longrun("c", 0, "restart = always\nrequires = b\n"),
        d: longrun("d"),
        e: longrun("e", 0, "wants = a\n"),
        default: "type = bundle\ncontents = c d e\n",
      });
      await root.compile();
      const daemon = await root.startDaemon({ boot: true });
      for (const n of ["a", "b", "c", "d", "e"]) await root.waitPhase(n, "up");
      const before = new Map((await root.status()).map((s) => [s.name, s.pid]));

      const { run, data } = await root.json<ChangeResult>("stop", "a");
      assert.equal(run.status, 0, run.stdout + run.stderr);
      assert.deepEqual(namesOf(data), ["a", "b", "c"]);
      assert.ok(data.services.every((s) => s.phase === "down"));
      const text = await root.tend("stop", "a");
      assert.equal(text.status, 0);

      const list = events(log);
      const stop = (n: string): bigint => once(list, "stop", n);
      assert.ok(stop("c") < stop("b") && stop("b") < stop("a"), "stopped in the wrong order");
      assert.equal(list.some((e) => e.what === "stop" && (e.name === "d" || e.name === "e")), false, "an unrelated service stopped");
      const after = new Map((await root.status()).map((s) => [s.name, s]));
      assert.equal(after.get("d")!.pid, before.get("d"));
      assert.equal(after.get("e")!.pid, before.get("e"), "e only wants a: it stays up");
      for (const n of ["a", "b", "c"]) {
        assert.equal(after.get(n)!.phase, "down");
        assert.equal(after.get(n)!.wanted, false, `${n} is still wanted`);
      }
      // Not restarted (restart = always; e wants a; c is in default): the server stays put.
      await assertStays(600, async () => {
        const now = await root.status();
        return now.filter((s) => ["a", "b", "c"].includes(s.name)).every((s) => s.phase === "down");
      });
      assert.equal(events(log).filter((e) => e.what === "start").length, 5, "something started again");

      const started = await root.json<ChangeResult>("start", "c");
      assert.equal(started.run.status, 0, started.run.stdout);
      assert.deepEqual(started.data.services.map((s) => [s.name, s.phase]), [["c", "up"]]);
      for (const n of ["a", "b", "c"]) assert.equal((await root.state(n)).phase, "up");
      const restarted = events(log).filter((e) => e.what === "start").map((e) => e.name);
      assert.deepEqual(restarted.slice(5).sort(), ["a", "b", "c"]);
      await root.shutdown(daemon);
    }),
  );
});

/** Asserts `condition` holds at every check for `ms` (a negative test: nothing may change). */
async function assertStays(ms: number, condition: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    assert.ok(await condition(), "the state changed");
    await new Promise((r) => setTimeout(r, 50));
  }
}
