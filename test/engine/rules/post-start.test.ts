// docs/DESIGN.md, "The rules the engine keeps":
//
//   A longrun's *post-start* (`post-start`: systemd's ExecStartPost) runs once its main
//   has started — at its spawn for `ready = none`, at its readiness otherwise — beside
//   it (with `MAINPID`); the service is up only once it exits 0. A failure (or no start
//   of it) fails the start: the main is stopped, and the restart policy applies, as for
//   a main that ended while starting. The start timeout covers it; a start cut short
//   (a stop, the main's end, the timeout) kills it — one whose spawn is not yet told,
//   once it is: until it has ended, the place beside is its, and the service does not
//   start again nor an apply switch over it.
//
// Home: src/engine/post-start.ts `mainStarted`, `postStartFact`, `postStartInterrupted`, `leftPostStartFact`;
// from processes.ts `spawned`, step.ts `ready`, forking.ts `mainTaken`, phase.ts `setPhase`.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { longrun, rig } from "./driver.js";

const FILES = {
  web: longrun("post-start = /bin/web-ready", "start-timeout = 10s", "restart = never"),
  api: longrun("ready = fd:3", "post-start = /bin/api-ready", "restart = on-failure", "restart-delay = 1s"),
  app: longrun("requires = web"),
};

describe("rule: post-start", () => {
  test("ready = none: it runs at the main's spawn, with MAINPID; up at its exit 0, and what requires it starts then", () => {
    const r = rig(FILES);
    assert.deepEqual(r.start("app"), ["affected start app", "web → starting", "job starting web", "arm web start-timeout 10s", "spawn web main"]);
    assert.deepEqual(r.spawned("web"), ["spawn web post-start {MAINPID=100}"]);
    assert.deepEqual(r.phases("web", "app"), ["web starting", "app down"]);
    assert.deepEqual(r.reloadSpawned("web"), []);
    assert.deepEqual(r.reloadExits("web", 0), ["web → up", "job started web", "app → starting", "job starting app", "arm app start-timeout 60s", "spawn app main"]);
  });

  test("with a readiness protocol: it runs at the main's readiness, once however often it is said", () => {
    const r = rig(FILES);
    r.start("api");
    assert.deepEqual(r.spawned("api"), []);
    assert.deepEqual(r.ready("api"), ["spawn api post-start {MAINPID=100}"]);
    assert.deepEqual(r.ready("api"), [], "READY=1 said twice");
    r.reloadSpawned("api");
    assert.deepEqual(r.reloadExits("api", 0), ["api → up", "job started api"]);
  });

  test("it fails: the main is stopped as a failed start; the restart policy says what follows (never: failed)", () => {
    const r = rig(FILES);
    r.start("web");
    r.spawned("web");
    r.reloadSpawned("web");
    assert.deepEqual(r.reloadExits("web", 3), ["web → stopping: post-start exited with code 3", "signal web SIGTERM", "arm web stop-timeout 10s"]);
    assert.deepEqual(r.exits("web", "SIGTERM"), ["web → failed: post-start exited with code 3", "job stopped web RESULT=failed EXIT_SIGNAL=SIGTERM"]);
  });

  test("the main ends while it runs and is restarted (still starting): the command goes with it, its end no news", () => {
    const r = rig(FILES);
    r.start("api");
    r.spawned("api");
    r.ready("api");
    r.reloadSpawned("api");
    assert.deepEqual(r.exits("api", 1), ["signal api reload SIGKILL", "api → starting: restarting in 1s (1 recent restarts)", "arm api restart-delay 1s"]);
    assert.deepEqual(r.reloadExits("api", "SIGKILL"), []);
  });

  test("it cannot start: the same; on-failure restarts it after its delay", () => {
    const r = rig(FILES);
    r.start("api");
    r.spawned("api");
    r.ready("api");
    assert.deepEqual(r.step({ kind: "reload-spawn-failed", service: "api", error: "no such file" }), [
      "api → stopping: cannot start the post-start command: no such file",
      "signal api SIGTERM",
      "arm api stop-timeout 10s",
    ]);
    const after = r.exits("api", "SIGTERM");
    assert.ok(after.includes("arm api restart-delay 1s"), after.join("\n"));
  });

  test("the start timeout covers it: the command is killed, the main stopped, failed and held", () => {
    const r = rig(FILES);
    r.start("web");
    r.spawned("web");
    r.reloadSpawned("web");
    assert.deepEqual(r.fire("web"), ["web → stopping", "signal web reload SIGKILL", "signal web SIGTERM", "arm web stop-timeout 10s"]);
    assert.deepEqual(r.reloadExits("web", "SIGKILL"), [], "its end is no news once killed");
    assert.deepEqual(r.exits("web", "SIGTERM"), ["web → failed: start timeout: its post-start did not finish within 10s", "job stopped web RESULT=failed EXIT_SIGNAL=SIGTERM"]);
  });

  test("a stop while it runs: the command is killed with the start; the main ends meanwhile: the same", () => {
    const r = rig(FILES);
    r.start("web");
    r.spawned("web");
    r.reloadSpawned("web");
    assert.deepEqual(r.stop("web"), ["affected stop web", "job stopping web", "web → stopping", "signal web reload SIGKILL", "signal web SIGTERM", "arm web stop-timeout 10s"]);
    const q = rig(FILES);
    q.start("web");
    q.spawned("web");
    q.reloadSpawned("web");
    assert.deepEqual(q.exits("web", 1), ["signal web reload SIGKILL", "web → failed: exited with code 1", "job stopped web RESULT=failed EXIT_STATUS=1"]);
  });

  test("cut short before its spawn was told: the service starts again only once that command has ended (its news is not the new start's)", () => {
    const r = rig({ db: longrun("post-start = /bin/db-ready", "restart = always", "restart-delay = 0") });
    r.start("db");
    assert.deepEqual(r.spawned("db"), ["spawn db post-start {MAINPID=100}"]);
    // Restarted at once (restart-delay 0), but its post-start's spawn is still to be told: the keeper's place beside is taken.
    assert.deepEqual(r.exits("db", 1), ["db → down", "job stopped db RESULT=ok EXIT_STATUS=1"]);
    assert.deepEqual(r.reloadSpawned("db"), ["signal db reload SIGKILL"]);
    assert.deepEqual(r.reloadExits("db", "SIGKILL"), ["db → starting", "job starting db", "arm db start-timeout 60s", "spawn db main"]);
    assert.deepEqual(r.spawned("db"), ["spawn db post-start {MAINPID=102}"]);
  });

  test("an apply that changes it while such a command is still to be told switches only once that command has ended", () => {
    const files = (timeout: string) => ({ db: longrun("post-start = /bin/db-ready", `stop-timeout = ${timeout}`) });
    const r = rig(files("10s"));
    r.start("db");
    r.spawned("db");
    assert.deepEqual(r.apply(files("20s")), ["job stopping db", "db → stopping", "signal db SIGTERM", "arm db stop-timeout 10s"]);
    assert.deepEqual(r.exits("db", "SIGTERM"), ["db → down", "job stopped db RESULT=ok EXIT_SIGNAL=SIGTERM"]);
    assert.deepEqual(r.reloadSpawned("db"), ["signal db reload SIGKILL"]);
    assert.deepEqual(r.reloadExits("db", "SIGKILL"), ["switched to generation 2, changed db", "db → starting", "job starting db", "arm db start-timeout 60s", "spawn db main"]);
  });
});
