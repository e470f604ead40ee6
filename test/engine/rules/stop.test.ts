// docs/DESIGN.md, "The rules the engine keeps":
//
//   A service *stops* when it is no longer wanted, or a requirement failed, and only
//   once nothing that requires it is active and everything ordered after it that is
//   also stopping has stopped.
//
// Home: src/engine/rules.ts `evaluate` (active), `mayStop`, `stopsFirst`.
//
// A stop is the stop signal, then SIGKILL after `stop-timeout`; a oneshot's stop is its
// `down` (or, without one, killing what its `up` left running); `down` and `post-stop`
// are part of the stop, never sent the stop signal.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { longrun, oneshot, rig } from "./driver.js";

describe("rule: stop", () => {
  test("what requires a stopped service goes down first, then the service", () => {
    const r = rig({ db: longrun(), web: longrun("requires = db") });
    r.settle(r.start("web"));
    assert.deepEqual(r.stop("db"), ["affected stop db web", "job stopping web", "web → stopping", "signal web SIGTERM", "arm web stop-timeout 10s"]);
    assert.deepEqual(r.exits("web", "SIGTERM"), [
      "web → down",
      "job stopped web RESULT=ok EXIT_SIGNAL=SIGTERM",
      "job stopping db",
      "db → stopping",
      "signal db SIGTERM",
      "arm db stop-timeout 10s",
    ]);
    assert.deepEqual(r.exits("db", "SIGTERM"), ["db → down", "job stopped db RESULT=ok EXIT_SIGNAL=SIGTERM"]);
  });

  test("ordered after it and stopping too: those stop first", () => {
    const r = rig({ db: longrun(), cache: longrun("after = db") });
    r.settle(r.start("db", "cache"));
    assert.deepEqual(r.stop("db", "cache"), ["affected stop cache db", "job stopping cache", "cache → stopping", "signal cache SIGTERM", "arm cache stop-timeout 10s"]);
    assert.deepEqual(r.exits("cache", "SIGTERM"), [
      "cache → down",
      "job stopped cache RESULT=ok EXIT_SIGNAL=SIGTERM",
      "job stopping db",
      "db → stopping",
      "signal db SIGTERM",
      "arm db stop-timeout 10s",
    ]);
  });

  test("ordered after it but staying up: no reason to wait", () => {
    const r = rig({ db: longrun(), cache: longrun("after = db") });
    r.settle(r.start("db", "cache"));
    assert.deepEqual(r.stop("db"), ["affected stop db", "job stopping db", "db → stopping", "signal db SIGTERM", "arm db stop-timeout 10s"]);
    assert.deepEqual(r.phases("cache"), ["cache up"]);
  });

  test("the stop signal is `stop-signal`; SIGKILL after `stop-timeout`; then `post-stop`, under its own timeout", () => {
    const r = rig({ db: longrun("stop-signal = SIGINT", "post-stop = /bin/clean-up") });
    r.settle(r.start("db"));
    assert.deepEqual(r.stop("db"), ["affected stop db", "job stopping db", "db → stopping", "signal db SIGINT", "arm db stop-timeout 10s"]);
    assert.deepEqual(r.fire("db"), ["signal db SIGKILL"]);
    assert.deepEqual(r.exits("db", "SIGKILL"), ["spawn db post-stop"]);
    assert.deepEqual(r.spawned("db"), ["arm db stop-timeout 10s"], "the hook is never sent the stop signal");
    // The stopped event's status is the last process's: the post-stop's.
    assert.deepEqual(r.exits("db", 0), ["db → down: killed after the stop timeout (10s)", "job stopped db RESULT=ok EXIT_STATUS=0"]);
  });

  test("a oneshot's stop is its `down`, killed only after its own stop timeout", () => {
    const r = rig({ mount: oneshot("down = /bin/umount") });
    r.settle(r.start("mount"));
    assert.deepEqual(r.stop("mount"), ["affected stop mount", "job stopping mount", "mount → stopping", "spawn mount down"]);
    assert.deepEqual(r.spawned("mount"), ["arm mount stop-timeout 10s"]);
    assert.deepEqual(r.fire("mount"), ["signal mount SIGKILL"]);
    assert.deepEqual(r.exits("mount", "SIGKILL"), [
      "mount → down: down killed by SIGKILL after the stop timeout",
      "job stopped mount RESULT=ok EXIT_SIGNAL=SIGKILL",
    ]);
  });

  test("a oneshot without `down`: what its `up` left running is killed, and it is down at once", () => {
    const r = rig({ tmpfs: oneshot() });
    r.settle(r.start("tmpfs"));
    assert.deepEqual(r.stop("tmpfs"), ["affected stop tmpfs", "job stopping tmpfs", "kill tmpfs", "tmpfs → down", "job stopped tmpfs RESULT=ok EXIT_STATUS=0"]);
  });

  test("stopped before its spawn was reported: the signal goes once it is", () => {
    const r = rig({ web: longrun() });
    r.start("web");
    assert.deepEqual(r.stop("web"), ["affected stop web", "job stopping web", "web → stopping"]);
    assert.deepEqual(r.spawned("web"), ["signal web SIGTERM", "arm web stop-timeout 10s"]);
    assert.deepEqual(r.exits("web", "SIGTERM"), ["web → down", "job stopped web RESULT=ok EXIT_SIGNAL=SIGTERM"]);
  });

  test("a pre-start is stopped with SIGTERM, whatever the main's stop signal", () => {
    const r = rig({ web: longrun("pre-start = /bin/prepare", "stop-signal = SIGQUIT") });
    r.start("web");
    r.spawned("web");
    assert.deepEqual(r.stop("web"), ["affected stop web", "job stopping web", "web → stopping", "signal web SIGTERM", "arm web stop-timeout 10s"]);
  });
});
