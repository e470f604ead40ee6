// docs/DESIGN.md, "The rules the engine keeps":
//
//   A longrun's *stop command* (`stop`: systemd's ExecStop, an init script's `stop`)
//   runs when it is stopped while up, beside its main process (with `MAINPID`), within
//   its stop timeout; then what is left of the service is sent its stop signal, and
//   SIGKILL after the timeout. A main that ends meanwhile ends the stop once the
//   command has ended too. A stop that begins while a reload command runs sends the
//   stop signal alone.
//
// Home: src/engine/stop-command.ts `runsStopCommand`, `beginStopCommand`,
// `stopCommandFact`, `stopCommandTimedOut`, `mainEndedDuringStopCommand`; from
// processes.ts `stopProcess` and `processEnded`.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { longrun, rig } from "./driver.js";

const FILES = {
  web: longrun("stop = /etc/init.d/web stop", "stop-timeout = 5s", "reload = /bin/true"),
  db: longrun("stop = /bin/db-stop", "post-stop = /bin/clean-up"),
};
const up = (...names: string[]) => {
  const r = rig(FILES);
  r.settle(r.start(...names));
  return r;
};

describe("rule: stop command", () => {
  test("the stop command runs first, with MAINPID; once it exits, what is left gets the stop signal, then SIGKILL", () => {
    const r = up("web");
    assert.deepEqual(r.stop("web"), ["affected stop web", "job stopping web", "web → stopping", "spawn web stop {MAINPID=100}", "arm web stop-timeout 5s"]);
    assert.deepEqual(r.reloadSpawned("web"), []);
    assert.deepEqual(r.reloadExits("web", 0), ["signal web SIGTERM", "arm web stop-timeout 5s"]);
    assert.deepEqual(r.fire("web"), ["signal web SIGKILL"]);
    assert.deepEqual(r.exits("web", "SIGKILL"), ["web → down: killed after the stop timeout (5s)", "job stopped web RESULT=ok EXIT_SIGNAL=SIGKILL"]);
  });

  test("the main ends while the command runs (it stopped the daemon): the stop is over when the command is", () => {
    const r = up("web");
    r.stop("web");
    r.reloadSpawned("web");
    assert.deepEqual(r.exits("web", 0), [], "waits for the stop command");
    assert.deepEqual(r.phases("web"), ["web stopping"]);
    assert.deepEqual(r.reloadExits("web", 0), ["web → down", "job stopped web RESULT=ok EXIT_STATUS=0"]);
  });

  test("the main ends before the command's spawn is told: the stop waits for the command's news all the same", () => {
    // The keeper always tells a command beside spawned, then exited (or that it failed to
    // start), even when it died with its service before its spawn was told.
    const r = up("web");
    r.stop("web");
    assert.deepEqual(r.exits("web", 2), [], "waits for the stop command");
    assert.deepEqual(r.reloadSpawned("web"), []);
    assert.deepEqual(r.reloadExits("web", "SIGKILL"), ["web → stopping: the stop command was killed by SIGKILL", "web → down", "job stopped web RESULT=ok EXIT_STATUS=2"]);
  });

  test("then its post-stop runs, as after any stop", () => {
    const r = up("db");
    r.stop("db");
    r.reloadSpawned("db");
    r.exits("db", 0);
    assert.deepEqual(r.reloadExits("db", 0), ["spawn db post-stop"]);
  });

  test("a stop command that fails or cannot start: the stop goes on with the stop signal, and says so", () => {
    const r = up("web");
    r.stop("web");
    r.reloadSpawned("web");
    assert.deepEqual(r.reloadExits("web", 1), ["web → stopping: the stop command exited with code 1", "signal web SIGTERM", "arm web stop-timeout 5s"]);
    const s = up("web");
    s.stop("web");
    assert.deepEqual(s.reloadSpawnFailed("web", "/etc/init.d/web: no such program"), [
      "web → stopping: cannot start the stop command: /etc/init.d/web: no such program",
      "signal web SIGTERM",
      "arm web stop-timeout 5s",
    ]);
  });

  test("one that does not finish within the stop timeout is killed, and the stop goes on", () => {
    const r = up("web");
    r.stop("web");
    r.reloadSpawned("web");
    assert.deepEqual(r.fire("web"), [
      "signal web reload SIGKILL",
      "web → stopping: the stop command did not finish within the stop timeout",
      "signal web SIGTERM",
      "arm web stop-timeout 5s",
    ]);
    assert.deepEqual(r.reloadExits("web", "SIGKILL"), [], "its exit after the timeout changes nothing");
  });

  test("a service that was not up yet (starting) is stopped by its signal alone", () => {
    const r = rig({ web: longrun("stop = /bin/web-stop", "ready = exec:/bin/probe") });
    r.start("web");
    r.spawned("web");
    assert.deepEqual(r.stop("web"), ["affected stop web", "job stopping web", "web → stopping", "signal web SIGTERM", "arm web stop-timeout 10s"]);
  });

  test("a stop while a reload command runs: the reload fails and the stop signal alone is sent", () => {
    const r = up("web");
    r.reload("web");
    r.reloadSpawned("web");
    const lines = r.stop("web");
    assert.ok(!lines.some((l) => l.startsWith("spawn web stop")), lines.join("\n"));
    assert.ok(lines.includes("signal web SIGTERM"), lines.join("\n"));
  });
});
