// docs/DESIGN.md, "The rules the engine keeps":
//
//   A forking daemon (`pid-file`) runs its command as a launcher: the launcher's exit 0
//   is not the service's end, which stays starting until the keeper has taken the
//   process its pid file names (running, of the service's tree) as its main; a launcher
//   that fails, a pid the keeper refuses, or no pid within the start timeout is a
//   failed start. From then on that process is the main; sd_notify MAINPID= names a
//   new main the same way.
//
// Home: src/engine/forking.ts `launcherEnded`, `mainTaken`, `mainRefused`,
// `mainNotFound`, `stopFinding`, `findAgain`; called from processes.ts and adopt.ts.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { longrun, rig } from "./driver.js";

const PID_FILE = "pid-file = /run/web.pid";

/** web, a forking daemon, started: its launcher runs. */
const launching = (...lines: string[]) => {
  const r = rig({ web: longrun(PID_FILE, "start-timeout = 2s", "restart-delay = 1s", ...lines) });
  assert.deepEqual(r.start("web"), ["affected start web", "web → starting", "job starting web", "arm web start-timeout 2s", "spawn web launcher"]);
  assert.deepEqual(r.spawned("web"), [], "a launcher that runs is not the service up");
  return r;
};

describe("rule: forking daemons", () => {
  test("the launcher's exit 0 is not the end: starting until the keeper takes the pid its file names, then up with it", () => {
    const r = launching();
    assert.deepEqual(r.exits("web", 0), ["web → starting: its launcher exited: waiting for /run/web.pid to name its daemon", "find-main web"]);
    assert.deepEqual(r.phases("web"), ["web starting"]);
    assert.deepEqual(r.mainPid("web"), ["web → up", "job started web"]);
    assert.equal(r.e.services.get("web")!.pid, 101, "the daemon's pid (the launcher's was 100) is the main's");
    assert.equal(r.e.services.get("web")!.role, "main");
  });

  test("the daemon's exit is the service's: restarted per policy, by its launcher again", () => {
    const r = launching();
    r.settle(r.exits("web", 0));
    assert.deepEqual(r.exits("web", 1), ["web → starting: restarting in 1s (1 recent restarts)", "arm web restart-delay 1s"]);
    assert.deepEqual(r.fire("web"), ["arm web start-timeout 2s", "spawn web launcher"]);
  });

  test("its stop signal and an admin's signal go to the daemon; its stop ends with the daemon's exit", () => {
    const r = launching("stop-signal = QUIT");
    r.settle(r.exits("web", 0));
    assert.deepEqual(r.step({ kind: "signal", service: "web", signal: "SIGHUP", to: "group" }), ["signal web SIGHUP"]);
    assert.deepEqual(r.stop("web"), ["affected stop web", "job stopping web", "web → stopping", "signal web SIGQUIT", "arm web stop-timeout 10s"]);
    assert.deepEqual(r.exits("web", "SIGQUIT"), ["web → down", "job stopped web RESULT=ok EXIT_SIGNAL=SIGQUIT"]);
  });

  test("nginx's reload: its reload signal goes to the daemon alone", () => {
    const r = launching("reload-signal = HUP");
    r.settle(r.exits("web", 0));
    assert.deepEqual(r.step({ kind: "reload", names: ["web"] }), ["signal web main SIGHUP"]);
  });

  test("a launcher that fails is a failed start: what it forked goes with it, and the restart policy applies", () => {
    const r = launching();
    assert.deepEqual(r.exits("web", 1), ["kill web", "web → starting: restarting in 1s (1 recent restarts)", "arm web restart-delay 1s"]);
    const never = launching("restart = never", "success-exit = 1");
    assert.deepEqual(never.exits("web", 1), ["kill web", "web → failed: launcher exited with code 1", "job stopped web RESULT=failed EXIT_STATUS=1"], "success-exit is about the daemon, not its launcher");
  });

  test("a pid the keeper refuses fails the start, held, with the reason; what the launcher left goes", () => {
    const r = launching();
    r.exits("web", 0);
    const reason = "pid file /run/web.pid names 1, which is not a process of web";
    assert.deepEqual(r.mainRefused("web", 1, reason), ["kill web", `web → failed: ${reason}`, "job stopped web RESULT=failed EXIT_STATUS=0"]);
    assert.deepEqual(r.later(5000).phases("web"), ["web failed"]);
  });

  test("a refused pid with a post-stop: the post-stop runs under no timeout of the start", () => {
    const r = launching("post-stop = /bin/cleanup", "stop-timeout = infinity");
    r.exits("web", 0);
    const reason = "pid file /run/web.pid names 1, which is not a process of web";
    assert.deepEqual(r.mainRefused("web", 1, reason), ["kill web", `web → stopping: ${reason}`, "spawn web post-stop"]);
    assert.deepEqual(r.spawned("web"), []);
    assert.deepEqual(r.fire("web"), [], "the start timeout (2s) no longer applies: the post-stop is not killed by it");
    assert.deepEqual(r.exits("web", 0), [`web → failed: ${reason}`, "job stopped web RESULT=failed EXIT_STATUS=0"]);
  });

  test("no pid within the start timeout: failed, what the launcher left killed; a main the keeper took too late changes nothing", () => {
    const r = launching();
    r.exits("web", 0);
    assert.deepEqual(r.fire("web"), ["kill web", "web → failed: start timeout: /run/web.pid named no running process of the service within 2s", "job stopped web RESULT=failed EXIT_STATUS=0"]);
    // The keeper was asked before the engine gave up: the kill that followed took it.
    assert.deepEqual(r.mainPid("web"), []);
    assert.deepEqual(r.phases("web"), ["web failed"]);
  });

  test("stopped while its pid file is awaited: what the launcher left goes, then post-stop runs", () => {
    const r = launching("post-stop = /bin/cleanup");
    r.exits("web", 0);
    assert.deepEqual(r.stop("web"), ["affected stop web", "kill web", "web → stopping", "spawn web post-stop"]);
    r.spawned("web");
    assert.deepEqual(r.exits("web", 0), ["web → down", "job stopped web RESULT=ok EXIT_STATUS=0"]);
  });

  test("stopped while the launcher runs: it gets the stop signal, and what it forked goes with it", () => {
    const r = launching();
    assert.deepEqual(r.stop("web"), ["affected stop web", "job stopping web", "web → stopping", "signal web SIGTERM", "arm web stop-timeout 10s"]);
    assert.deepEqual(r.exits("web", "SIGTERM"), ["kill web", "web → down", "job stopped web RESULT=ok EXIT_SIGNAL=SIGTERM"]);
  });

  test("with ready = tcp: taking the main is not enough, the probe on it says when it is up", () => {
    const r = launching("ready = tcp:127.0.0.1:8080");
    r.exits("web", 0);
    assert.deepEqual(r.mainPid("web"), ["web → starting"], "no longer waiting for the pid file: for its probe");
    assert.deepEqual(r.ready("web"), ["web → up", "job started web"]);
  });

  test("a pre-start runs before the launcher", () => {
    const r = rig({ web: longrun(PID_FILE, "pre-start = /bin/prepare") });
    assert.deepEqual(r.start("web").at(-1), "spawn web pre-start");
    r.spawned("web");
    assert.deepEqual(r.exits("web", 0), ["spawn web launcher"]);
  });

  test("the exit-with service's run ends with its daemon, not with its launcher", () => {
    const r = rig({ web: longrun(PID_FILE) });
    r.boot([], { exitWith: "web" });
    r.spawned("web");
    r.exits("web", 0);
    assert.equal(r.e.end, null, "the launcher's exit 0 ends nothing");
    r.mainPid("web");
    r.exits("web", 3);
    assert.deepEqual(r.e.end, { code: 3, reason: "web exited with code 3" });
  });
});

describe("rule: a forking daemon without a pid file (forking = yes)", () => {
  // Its main is the one process left in its tree once the launcher has exited 0: the
  // supervisor finds it (src/supervisor/tree-main.ts); the engine's rule is the same.
  const guessing = (...lines: string[]) => {
    const r = rig({ web: longrun("forking = yes", "start-timeout = 2s", "restart-delay = 1s", ...lines) });
    assert.deepEqual(r.start("web").at(-1), "spawn web launcher");
    r.spawned("web");
    return r;
  };

  test("the launcher's exit 0: starting until the one process left in its tree is taken, then up; its exit is a crash, restarted by policy", () => {
    const r = guessing();
    assert.deepEqual(r.exits("web", 0), ["web → starting: its launcher exited: waiting for one process to be left in its tree, its daemon", "find-main web"]);
    assert.deepEqual(r.mainPid("web"), ["web → up", "job started web"]);
    assert.equal(r.e.services.get("web")!.role, "main");
    assert.deepEqual(r.exits("web", "SIGKILL"), ["web → starting: restarting in 1s (1 recent restarts)", "arm web restart-delay 1s"]);
    assert.deepEqual(r.fire("web"), ["arm web start-timeout 2s", "spawn web launcher"], "started again by its launcher (an init script's start)");
  });

  test("a tree left empty (the supervisor's refusal) fails the start, held; none found within the start timeout, said so", () => {
    const r = guessing();
    r.exits("web", 0);
    const reason = "its launcher left no process running: its daemon ended, or was never started";
    assert.deepEqual(r.mainRefused("web", 0, reason), ["kill web", `web → failed: ${reason}`, "job stopped web RESULT=failed EXIT_STATUS=0"]);
    const slow = guessing();
    slow.exits("web", 0);
    assert.deepEqual(slow.fire("web"), ["kill web", "web → failed: start timeout: its launcher's tree did not come down to one process, its daemon, within 2s", "job stopped web RESULT=failed EXIT_STATUS=0"]);
  });

  test("its stop command (an init script's stop) runs beside the daemon, as any longrun's", () => {
    const r = guessing("stop = /etc/init.d/web stop");
    r.exits("web", 0);
    r.mainPid("web");
    assert.deepEqual(r.stop("web").slice(-2), ["spawn web stop {MAINPID=101}", "arm web stop-timeout 10s"]);
  });
});

describe("rule: MAINPID= names the main", () => {
  /** n, a notify service, up. */
  const up = () => {
    const r = rig({ n: longrun("ready = notify") });
    r.settle(r.start("n"));
    return r;
  };

  test("the process it names is the main: an admin's signal (--main too) and the stop signal go to it, its exit is the service's", () => {
    const r = up();
    const before = r.e.services.get("n")!.pid!;
    assert.deepEqual(r.mainPid("n"), []);
    assert.deepEqual(r.step({ kind: "exited", service: "n", pid: before, status: { code: 0, signal: null } }), [], "the process before it is just one more of the service's");
    assert.deepEqual(r.step({ kind: "signal", service: "n", signal: "SIGUSR1", to: "main" }), ["signal n main SIGUSR1"], "tend signal --main: the new main alone");
    assert.deepEqual(r.exits("n", 1), ["n → starting: restarting in 200ms (1 recent restarts)", "arm n restart-delay 200ms"]);
  });

  test("named while the service stops: the stop signal is sent to the new main too", () => {
    const r = up();
    r.stop("n");
    assert.deepEqual(r.mainPid("n"), ["signal n SIGTERM"]);
    assert.deepEqual(r.exits("n", "SIGTERM"), ["n → down", "job stopped n RESULT=ok EXIT_SIGNAL=SIGTERM"]);
  });

  test("a MAINPID= the keeper refused changes nothing: its main carries on", () => {
    const r = up();
    assert.deepEqual(r.mainRefused("n", 1, "sd_notify MAINPID= names 1, which is not a process of n"), []);
    assert.deepEqual(r.phases("n"), ["n up"]);
  });

  test("a main whose exit status went to its parent ends the run as a failure", () => {
    const r = up();
    r.mainPid("n");
    assert.deepEqual(r.exits("n", 1).slice(0, 1), ["n → starting: restarting in 200ms (1 recent restarts)"]);
    const s = r.e.services.get("n")!;
    r.fire("n");
    r.spawned("n");
    r.ready("n");
    r.mainPid("n");
    const unknown = r.step({ kind: "exited", service: "n", pid: s.pid!, status: { code: null, signal: null } });
    assert.deepEqual(unknown.slice(0, 1), ["n → starting: restarting in 400ms (2 recent restarts)"]);
  });
});

describe("rule: forking daemons across a server restart", () => {
  test("its pid file awaited when the server died: the next one watches it again", () => {
    const r = launching();
    r.exits("web", 0);
    assert.deepEqual(r.step({ kind: "adopted", service: "web", process: null, exit: null }), ["find-main web"]);
  });

  test("the keeper took the daemon after the state was saved: its table's main is the service's, up", () => {
    const r = launching();
    r.exits("web", 0);
    assert.deepEqual(r.step({ kind: "adopted", service: "web", process: { pid: 555, role: "main", ready: false }, exit: null }), ["web → starting", "arm web start-timeout 2s", "web → up", "job started web"]);
    assert.deepEqual([r.e.services.get("web")!.pid, r.e.services.get("web")!.findingMain], [555, false]);
  });

  test("the launcher ended while no server ran: its exit 0 sends the next server to the pid file", () => {
    const r = launching();
    const pid = r.e.services.get("web")!.pid!;
    assert.deepEqual(r.step({ kind: "adopted", service: "web", process: null, exit: { pid, status: { code: 0, signal: null } } }), ["web → starting: its launcher exited: waiting for /run/web.pid to name its daemon", "find-main web"]);
  });

  test("a launcher's spawn the old server never heard about, reported by the table: starting, not up", () => {
    const r = rig({ web: longrun(PID_FILE) });
    r.start("web");
    assert.deepEqual(r.step({ kind: "adopted", service: "web", process: { pid: 77, role: "launcher", ready: false }, exit: null }), []);
    assert.deepEqual([r.e.services.get("web")!.pid, ...r.phases("web")], [77, "web starting"]);
  });
});
