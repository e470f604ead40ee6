// docs/DESIGN.md, "The rules the engine keeps":
//
//   A command's step begins with what it concerns (`affected`): a start, what it names;
//   a stop, what goes down with it; a restart, its bounce groups. A waiter has settled
//   when `isSettled` says so.
//
// Home: src/engine/step.ts `affectedBy`; rules.ts `isSettled`. And an admin's signal
// (`tend signal NAME SIG`) is a fact like any other, answered by a `signal` action when
// the service has a process.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { isSettled } from "../../../src/engine/rules.js";
import { bundle, longrun, rig } from "./driver.js";

const FILES = { db: longrun(), web: longrun("requires = db"), api: longrun("requires = db"), log: longrun(), default: bundle("web", "log") };

describe("rule: what a command concerns, and an admin's signal", () => {
  test("a start concerns the services it names, bundles expanded (not what they pull in)", () => {
    const r = rig(FILES);
    assert.deepEqual(r.start("default"), [
      "affected start web log",
      "db → starting",
      "job starting db",
      "arm db start-timeout 60s",
      "spawn db main",
      "log → starting",
      "job starting log",
      "arm log start-timeout 60s",
      "spawn log main",
    ]);
  });

  test("a stop concerns what goes down with it: what requires it, and what only it needed", () => {
    const r = rig(FILES);
    r.settle(r.start("web", "api", "log"));
    assert.deepEqual(r.stop("web"), ["affected stop web", "job stopping web", "web → stopping", "signal web SIGTERM", "arm web stop-timeout 10s"]);
    r.settle(r.exits("web", "SIGTERM"));
    assert.deepEqual(r.stop("api"), ["affected stop api db", "job stopping api", "api → stopping", "signal api SIGTERM", "arm api stop-timeout 10s"]);
  });

  test("a stop concerns what it makes unwanted, not what a bounce under way takes down meanwhile", () => {
    const r = rig(FILES);
    r.settle(r.start("web", "log"));
    r.restart("db");
    assert.deepEqual(r.stop("log"), ["affected stop log", "job stopping log", "log → stopping", "signal log SIGTERM", "arm log stop-timeout 10s"]);
  });

  test("a start of a bundle does not concern a member 'tend disable' took out of it", () => {
    const r = rig(FILES);
    r.unwant("log");
    assert.deepEqual(r.start("default")[0], "affected start web");
  });

  test("a stop of what is down concerns nothing; nor does a name the database does not hold", () => {
    const r = rig(FILES);
    assert.deepEqual(r.stop("web"), ["affected stop"]);
    assert.deepEqual(r.stop("nosuch"), ["affected stop"]);
    assert.deepEqual(r.start("nosuch"), ["affected start"]);
  });

  test("a restart concerns what it bounces", () => {
    const r = rig(FILES);
    r.settle(r.start("web", "api"));
    assert.deepEqual(r.restart("db", "web"), [
      "affected restart db api web",
      "job stopping api",
      "api → stopping",
      "signal api SIGTERM",
      "arm api stop-timeout 10s",
      "job stopping web",
      "web → stopping",
      "signal web SIGTERM",
      "arm web stop-timeout 10s",
    ]);
  });

  test("where a command waits: a stop until down; a start until up, failed or held; a restart until it has begun", () => {
    const r = rig({ ...FILES, db: longrun("restart = never") });
    r.start("web");
    assert.deepEqual([isSettled(r.e, "db", "start", 0), isSettled(r.e, "api", "start", 0)], [false, true], "api, not wanted and down, has nothing to wait for");
    r.spawned("db");
    r.settle(["spawn web main"]);
    assert.equal(isSettled(r.e, "web", "start", 0), true);
    r.later(10).restart("web");
    assert.equal(isSettled(r.e, "web", "restart", 10), false);
    r.settle(r.exits("web", "SIGTERM"));
    assert.equal(isSettled(r.e, "web", "restart", 10), true);
    r.stop("web");
    assert.deepEqual([isSettled(r.e, "web", "stop", 10), isSettled(r.e, "db", "shutdown", 10)], [false, false]);
    r.settle(r.exits("web", "SIGTERM"));
    assert.deepEqual([isSettled(r.e, "web", "stop", 10), isSettled(r.e, "db", "stop", 10)], [true, true]);
    r.settle(r.start("db"));
    r.exits("db", 0);
    assert.equal(isSettled(r.e, "db", "start", 10), true, "down and held: it will not come up by itself");
    assert.equal(isSettled(r.e, "nosuch", "apply", 10), true, "what an apply removed has settled");
  });

  test("an admin's signal goes to the service's process; a service without one, or none at all, gets nothing", () => {
    const r = rig(FILES);
    r.settle(r.start("log"));
    assert.deepEqual(r.step({ kind: "signal", service: "log", signal: "SIGHUP", to: "group" }), ["signal log SIGHUP"]);
    assert.deepEqual(r.step({ kind: "signal", service: "web", signal: "SIGHUP", to: "group" }), []);
    assert.deepEqual(r.step({ kind: "signal", service: "nosuch", signal: "SIGHUP", to: "group" }), []);
    assert.deepEqual(r.phases("log"), ["log up"], "a signal changes nothing by itself: what the process does about it comes as facts");
  });
});
