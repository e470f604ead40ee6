// The analysis of a timeline, by hand-written cases: the runs a service's transitions
// tell, blame and failures, and the critical chain's links and why each waited.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { failuresOf, summarize } from "../../src/analyze/blame.js";
import { criticalChain } from "../../src/analyze/critical-chain.js";
import { runsOf, type Span, type Transition } from "../../src/analyze/timeline.js";
import { topology } from "../../src/engine/topology.js";
import type { Phase } from "../../src/engine/types.js";

const asked = (at: number, service: string): Transition => ({ at, service, kind: "asked", command: "boot" });
const spawn = (at: number, service: string): Transition => ({ at, service, kind: "spawn", role: "main" });
const phase = (at: number, service: string, p: Phase, reason: string | null = null): Transition => ({ at, service, kind: "phase", phase: p, reason });

/** A span of the boot at 1000 with these services and transitions. */
function span(services: string[], transitions: Transition[], completeAt: number | null = null): Span {
  return { kind: "boot", names: ["default"], at: 1000, services, completeAt, transitions, dropped: 0 };
}

/** A topology from `name: requires / after-only` edges. */
function topo(edges: Record<string, { requires?: string[]; after?: string[]; wants?: string[] }>, bundles: Record<string, string[]> = {}) {
  const services = Object.fromEntries(
    Object.entries(edges).map(([n, e]) => [n, { requires: e.requires ?? [], wants: e.wants ?? [], after: [...new Set([...(e.requires ?? []), ...(e.wants ?? []), ...(e.after ?? [])])] }]),
  );
  return topology({ graph: { services, bundles } });
}

/** A started service: asked at `a`, starting at `s`, spawned at `p`, up at `u`. */
const started = (name: string, a: number, s: number, p: number, u: number): Transition[] => [asked(a, name), phase(s, name, "starting"), spawn(p, name), phase(u, name, "up")];

const byTime = (list: Transition[]): Transition[] => [...list].sort((x, y) => x.at - y.at);

describe("runs", () => {
  test("a start, a stop, a task's run, a failure without a run", () => {
    const runs = runsOf(byTime([
      ...started("db", 1000, 1001, 1002, 1050),
      phase(1100, "db", "stopping"),
      phase(1120, "db", "down"),
      asked(1000, "job"),
      phase(1010, "job", "running"),
      spawn(1011, "job"),
      phase(1030, "job", "down", "completed"),
      asked(1000, "app"),
      phase(1060, "app", "failed", "dependency db failed"),
    ]));
    const db = runs.find((r) => r.service === "db")!;
    assert.deepEqual([db.asked, db.starting, db.spawned, db.ready, db.stopping, db.ended, db.failed], [1000, 1001, 1002, 1050, 1100, 1120, null]);
    const job = runs.find((r) => r.service === "job")!;
    assert.deepEqual([job.task, job.ready, job.ended], [true, 1030, 1030], "a task is ready when its run ended well");
    const app = runs.find((r) => r.service === "app")!;
    assert.deepEqual([app.starting, app.ended, app.failed, app.ready], [1060, 1060, "dependency db failed", null]);
  });

  test("a restart ends a run and begins the next, whose first wait is its delay", () => {
    const runs = runsOf([
      ...started("web", 1000, 1000, 1001, 1010),
      phase(1200, "web", "starting", "restarting in 2s (1 recent restarts)"),
      spawn(3200, "web"),
      phase(3210, "web", "up"),
    ]);
    assert.equal(runs.length, 2);
    assert.equal(runs[0]!.ended, 1200);
    assert.deepEqual([runs[1]!.starting, runs[1]!.spawned, runs[1]!.ready, runs[1]!.asked], [1200, 3200, 3210, null]);
    assert.deepEqual(runs[1]!.waits, [{ at: 1200, why: "restarting in 2s (1 recent restarts)" }]);
  });
});

describe("blame and failures", () => {
  test("the slowest first, spawn to ready; failures with the engine's reasons, in order", () => {
    const s = span(["net", "db", "bad", "app"], byTime([
      ...started("net", 1000, 1000, 1001, 1401),
      ...started("db", 1000, 1401, 1402, 1452),
      asked(1000, "bad"),
      phase(1000, "bad", "starting"),
      spawn(1001, "bad"),
      phase(1005, "bad", "failed", "up exited with code 3"),
      asked(1000, "app"),
      phase(1005, "app", "failed", "dependency bad failed"),
    ]));
    const summary = summarize(s, 10);
    assert.deepEqual(summary.blame.map((b) => [b.service, b.ms]), [["net", 400], ["db", 50]]);
    assert.deepEqual(summary.failures.map((f) => `${f.service}: ${f.reason}`), ["bad: up exited with code 3", "app: dependency bad failed"]);
    assert.equal(summary.totalMs, null);
    assert.deepEqual(summary.waiting, []);
    assert.equal(summarize(s, 1).blame.length, 1, "-n bounds the list");
  });

  test("a service that failed and came back is a failure of the span all the same, once", () => {
    const s = span(["x"], [phase(1001, "x", "failed", "exited with code 1"), phase(1002, "x", "starting"), phase(1010, "x", "failed", "exited with code 2")]);
    assert.deepEqual(failuresOf(s).map((f) => f.reason), ["exited with code 2"]);
  });
});

describe("critical chain", () => {
  // net (slow) ← db requires net; cache (quick); app requires db, after cache.
  const graph = topo({ net: {}, db: { requires: ["net"] }, cache: {}, app: { requires: ["db"], after: ["cache"] } }, { default: ["app", "cache"] });
  const boot = span(["net", "db", "cache", "app"], byTime([
    ...started("net", 1000, 1000, 1001, 1500),
    ...started("cache", 1000, 1000, 1001, 1020),
    ...started("db", 1000, 1500, 1501, 1600),
    ...started("app", 1000, 1600, 1601, 1700),
  ]), 1700);

  test("the boot's chain: from the last ready back through the requirement ready last", () => {
    const chain = criticalChain(boot, graph, null)!;
    assert.deepEqual(chain.links.map((l) => [l.service, l.why]), [
      ["app", "the last of default to be ready"],
      ["db", "required db not ready"],
      ["net", "required net not ready"],
    ]);
    assert.deepEqual(chain.links.map((l) => [l.readyAfter, l.tookMs]), [[700, 99], [600, 99], [500, 499]]);
    assert.equal(chain.asked, 0, "net started when the boot asked");
  });

  test("an ordering that settled last is the link, named as one", () => {
    const late = span(["net", "db", "cache", "app"], byTime([
      ...started("net", 1000, 1000, 1001, 1100),
      ...started("db", 1000, 1100, 1101, 1200),
      ...started("cache", 1000, 1000, 1001, 1300),
      ...started("app", 1000, 1300, 1301, 1400),
    ]));
    assert.deepEqual(criticalChain(late, graph, "app")!.links.map((l) => [l.service, l.why]), [["app", "app"], ["cache", "ordered after cache"]]);
  });

  test("an ordering on a service that failed: settled when it ended", () => {
    const failed = span(["cache", "app", "net", "db"], byTime([
      ...started("net", 1000, 1000, 1001, 1010),
      ...started("db", 1000, 1010, 1011, 1020),
      asked(1000, "cache"),
      phase(1000, "cache", "starting"),
      spawn(1001, "cache"),
      phase(1300, "cache", "failed", "up exited with code 1"),
      ...started("app", 1000, 1300, 1301, 1400),
    ]));
    const chain = criticalChain(failed, graph, "app")!;
    assert.deepEqual(chain.links.map((l) => [l.service, l.why, l.readyAfter, l.until]), [["app", "app", 400, 400], ["cache", "ordered after cache", null, 300]]);
  });

  test("a hook task the spawn waited for, then what the start waited for", () => {
    const g = topo({ net: {}, app: { requires: ["net"] }, warm: {} });
    const hooked = span(["net", "app"], byTime([
      ...started("net", 1000, 1000, 1001, 1100),
      asked(1000, "app"),
      phase(1100, "app", "starting"),
      phase(1100, "app", "starting", "waiting for warm (run on starting app)"),
      phase(1100, "warm", "running"),
      spawn(1101, "warm"),
      phase(1400, "warm", "down", "completed"),
      phase(1400, "app", "starting"),
      spawn(1400, "app"),
      phase(1410, "app", "up"),
    ]));
    assert.deepEqual(criticalChain(hooked, g, "app")!.links.map((l) => [l.service, l.why]), [
      ["app", "app"],
      ["warm", "hook warm running (waiting for warm (run on starting app))"],
      ["net", "required net not ready"],
    ]);
  });

  test("a restart delay: the run before it, then what that one waited for", () => {
    const g = topo({ web: {} });
    const flaky = span(["web"], [
      asked(1000, "web"),
      phase(1000, "web", "starting"),
      spawn(1001, "web"),
      phase(1006, "web", "starting", "restarting in 100ms (1 recent restarts)"),
      spawn(1106, "web"),
      phase(1110, "web", "up"),
    ]);
    const chain = criticalChain(flaky, g, "web")!;
    assert.deepEqual(chain.links.map((l) => [l.service, l.why, l.readyAfter, l.until]), [
      ["web", "web", 110, 110],
      ["web", "restart delay: restarting in 100ms (1 recent restarts)", null, 106],
    ]);
    assert.equal(chain.asked, 0, "its first run started when the boot asked");
  });

  test("a dependency ready before the service was asked for did not decide its start", () => {
    const later: Span = { ...boot, at: 5000, transitions: [asked(5000, "app"), phase(5000, "app", "starting"), spawn(5001, "app"), phase(5010, "app", "up")] };
    const withOld = { ...later, transitions: [...started("db", 1000, 1000, 1001, 1002), ...later.transitions] };
    const chain = criticalChain(withOld, graph, "app")!;
    assert.deepEqual(chain.links.map((l) => l.service), ["app"]);
    assert.equal(chain.asked, 0);
  });

  test("a bundle stands for its members and what they require", () => {
    assert.deepEqual(criticalChain(boot, graph, "default")!.links.map((l) => l.service), ["app", "db", "net"]);
    assert.equal(criticalChain(span([], []), graph, "app"), null);
  });
});
