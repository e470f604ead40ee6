// `tend analyze` against real servers: a boot of a small set where one service is slow
// (ready once the test lets it), with a hook, a restart and a failure; what analyze,
// its critical chain and the boot report say of it; and the record surviving the
// server's death (the keeper kept) and a damaged file. Order and links are asserted,
// never durations.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import type { Summary } from "../../src/analyze/blame.js";
import type { Chain } from "../../src/analyze/critical-chain.js";
import type { Run, Span } from "../../src/analyze/timeline.js";
import type { StatusResult, TimingsResult } from "../../src/server/protocol.js";
import { TIMINGS_FILE } from "../../src/server/timings.js";
import { waitFor, withRoot, type TestRoot } from "./harness.js";

/** A longrun ready (fd) once `file` exists in the root. */
const gated = (root: TestRoot, file: string): string =>
  `type = longrun\nready = fd\ncommand = sh -c 'until [ -e ${root.path(file)} ]; do sleep 0.02; done; echo >&3; exec sleep 1000'\n`;
const quick = "type = longrun\nready = fd\ncommand = sh -c 'echo >&3; exec sleep 1000'\n";

function writeSet(root: TestRoot): void {
  root.services({
    net: gated(root, "net.ready"),
    db: `${quick}requires = net\n`,
    cache: "type = oneshot\nup = true\n",
    app: `${quick}requires = db\nafter = cache\n`,
    // A hook of app's start, that waits for the test too.
    warm: `type = task\ncommand = sh -c 'until [ -e ${root.path("warm.done")} ]; do sleep 0.02; done'\nstart-on = starting app\n`,
    // Fails its first run, then comes up after its restart delay.
    flaky: `type = longrun\nready = fd\nrestart = on-failure\nrestart-delay = 50ms\ncommand = sh -c 'if [ ! -e ${root.path("flaky.ran")} ]; then touch ${root.path("flaky.ran")}; exit 1; fi; echo >&3; exec sleep 1000'\n`,
    bad: "type = oneshot\nup = sh -c 'exit 3'\n",
    needsbad: `${quick}requires = bad\n`,
    default: "type = bundle\ncontents = app cache flaky needsbad\n",
  });
}

describe("tend analyze", () => {
  test("a boot with a slow service, a hook, a restart and a failure: summary, chains, the boot report; kept across the server's death", { timeout: 120_000 }, () =>
    withRoot(async (root) => {
      writeSet(root);
      await root.compile();
      const first = await root.startDaemon({ boot: true });
      await root.waitPhase("cache", "up");
      await root.waitPhase("needsbad", "failed");
      await root.waitPhase("flaky", "up");
      // net is slow: it is ready only now, after everything that does not need it.
      await root.waitPhase("net", (s) => s.phase === "starting" && s.pid !== null);
      writeFileSync(root.path("net.ready"), "");
      await root.waitPhase("app", (s) => s.phase === "starting" && /waiting for warm/.test(s.reason ?? ""));
      writeFileSync(root.path("warm.done"), "");
      await root.waitPhase("app", "up");

      // The boot report: what failed during the boot, and why, under the table.
      const status = await root.tend("status");
      assert.match(status.stdout, /^boot: 2 services failed: bad \(up exited with code 3\), needsbad \(dependency bad failed\)$/m, status.stdout);
      const { data: statusJson } = await root.json<StatusResult>("status");
      assert.deepEqual(statusJson.bootFailures.map((f) => f.service), ["bad", "needsbad"]);

      // The one screen.
      const summary = await root.tend("analyze");
      assert.equal(summary.status, 0, summary.stderr);
      assert.match(summary.stdout, /^boot of default at .*: 7 services, not complete: 2 failed$/m, summary.stdout);
      assert.match(summary.stdout, /slowest \(spawn → ready\):/);
      for (const name of ["net", "db", "app", "flaky"]) assert.match(summary.stdout, new RegExp(`^ +\\S+ +${name} +\\(ready @`, "m"), `${name} in the blame:\n${summary.stdout}`);
      assert.match(summary.stdout, /^failed \(2\):\n +bad +@\S+ +up exited with code 3\n +needsbad +@\S+ +dependency bad failed$/m, summary.stdout);
      const { data: timeline } = await root.json<TimingsResult>("analyze");
      assert.equal(timeline.boot?.kind, "boot");
      assert.deepEqual([...timeline.boot!.services].sort(), ["app", "bad", "cache", "db", "flaky", "needsbad", "net"], "the boot's set: not the hook, which its event starts");
      assert.deepEqual(timeline.graph.services.app?.requires, ["db"]);
      const short = await root.tend("analyze", "-n", "1");
      assert.equal(short.stdout.split("\n").filter((l) => /\(ready @/.test(l)).length, 1, short.stdout);

      // The chain of app: the hook it waited for, then its requirement, back to the slow net.
      const { data: chain } = await root.json<Chain>("analyze", "critical-chain", "app");
      assert.deepEqual(chain.links.map((l) => [l.service, l.why.replace(/ \(.*/, "")]), [
        ["app", "app"],
        ["warm", "hook warm running"],
        ["db", "required db not ready"],
        ["net", "required net not ready"],
      ]);
      assert.equal(chain.asked, 0, "net started as the boot asked");
      const text = await root.tend("analyze", "critical-chain", "app");
      assert.match(text.stdout, /^app @\S+ \+\S+ +\(app\)\n└─warm .*\(hook warm running \(waiting for warm \(run on starting app\)\), until @\S+\)\n  └─db @\S+ \+\S+ +\(required db not ready, until @\S+\)\n    └─net @\S+ \+\S+ +\(required net not ready, until @\S+\)\n +\(asked for @0ms\)$/m, text.stdout);
      // flaky waited on its own first run: the restart delay.
      const { data: flaky } = await root.json<Chain>("analyze", "critical-chain", "flaky");
      assert.deepEqual(flaky.links.map((l) => [l.service, l.why.replace(/: .*/, "")]), [["flaky", "flaky"], ["flaky", "restart delay"]]);
      // The boot's own chain ends at what was ready last: app.
      const { data: whole } = await root.json<Chain>("analyze", "critical-chain");
      assert.equal(whole.links[0]?.service, "app");
      const unknown = await root.tend("analyze", "critical-chain", "nope");
      assert.equal(unknown.status, 2);
      assert.match(unknown.stderr, /'nope' is no service or bundle/);

      // The boot's record, a run a line.
      const { data: record } = await root.json<Span & { runs: Run[] }>("analyze", "boot");
      const flakyRuns = record.runs.filter((r) => r.service === "flaky");
      assert.equal(flakyRuns.length, 2, "flaky ran twice");
      assert.equal(record.runs.find((r) => r.service === "bad")?.failed, "up exited with code 3");
      const bootText = await root.tend("analyze", "boot");
      assert.match(bootText.stdout, /^NAME +ASKED +STARTING +SPAWNED +READY +STOPPING +ENDED +HOW$/m);
      assert.match(bootText.stdout, /^needsbad +@\S+ .*failed: dependency bad failed$/m, bootText.stdout);

      // The boot settled: the record is on disk. The server dies, the keeper stays; the next one has it.
      await waitFor("timings.json", () => existsSync(`${root.places.state}/${TIMINGS_FILE}`));
      first.child.kill("SIGKILL");
      await first.exited;
      const second = await root.startDaemon();
      const { data: after } = await root.json<Span & { runs: Run[] }>("analyze", "boot");
      assert.deepEqual(after.transitions, record.transitions, "the same record");
      const again = await root.tend("status");
      assert.match(again.stdout, /^boot: 2 services failed: bad/m);
      await root.shutdown(second);
    }),
  );

  test("no boot: the last start is analyzed; a damaged record is kept aside and said so", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({ net: quick, db: `${quick}requires = net\n` });
      await root.compile();
      writeFileSync(`${root.places.state}/${TIMINGS_FILE}`, "{ not json");
      const daemon = await root.startDaemon();
      const { data: empty } = await root.json<{ warnings: string[] }>("status");
      assert.ok(empty.warnings.some((w) => w.includes(TIMINGS_FILE) && w.includes("kept as")), empty.warnings.join("\n"));
      assert.ok(readdirSync(root.places.state).some((f) => f.startsWith(`${TIMINGS_FILE}.damaged-`)));
      const nothing = await root.tend("analyze");
      assert.match(nothing.stdout, /^nothing recorded yet/m);
      const noBoot = await root.tend("analyze", "boot");
      assert.match(noBoot.stdout, /^no boot recorded/m);

      assert.equal((await root.tend("start", "db")).status, 0);
      const summary = await root.tend("analyze");
      assert.match(summary.stdout, /^start of db at .*: 2 services, ready in \S+$/m, summary.stdout);
      const { data: chain } = await root.json<Chain>("analyze", "critical-chain");
      assert.deepEqual(chain.links.map((l) => [l.service, l.why]), [["db", "the last of db to be ready"], ["net", "required net not ready"]]);
      const { data: s } = await root.json<Summary & TimingsResult>("analyze");
      assert.equal(s.boot, null);
      assert.equal(s.start?.kind, "start");
      await root.shutdown(daemon);
    }),
  );
});
