// A longrun's `post-start` with real processes: it runs beside the main once the main
// has started (with MAINPID), the service is up only once it has exited 0 (`tend start`
// returns then), and one that fails fails the start: the main is stopped.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { alive, readPid, waitFor, withRoot } from "./harness.js";

describe("post-start", { concurrency: true }, () => {
  test("runs with MAINPID once the main has started; up, and tend start returns, only once it has exited 0", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const marker = root.path("post-start-ran");
      // It takes a while: a start that did not wait for it would find no file.
      root.services({ web: `type = longrun\ncommand = sleep 1000\npost-start = sh -c 'sleep 0.3; echo $1 > ${marker}' post $MAINPID\nrestart = never\n` });
      await root.compile();
      const daemon = await root.startDaemon();
      const started = await root.tend("start", "web");
      assert.equal(started.status, 0, started.stderr);
      assert.ok(existsSync(marker), "the post-start had run when up was reported");
      const state = await root.state("web");
      assert.equal(state.phase, "up");
      assert.equal(readFileSync(marker, "utf8").trim(), String(state.pid), "MAINPID is the main's pid");
      await root.shutdown(daemon);
    }));

  test("one that fails fails the start: the main is stopped, the service failed with the reason", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const pidFile = root.path("main-pid");
      root.services({ web: `type = longrun\ncommand = sleep 1000\npost-start = sh -c 'echo $1 > ${pidFile}; exit 4' post $MAINPID\nrestart = never\n` });
      await root.compile();
      const daemon = await root.startDaemon();
      const started = await root.tend("start", "web");
      assert.notEqual(started.status, 0, "the start failed");
      const pid = await readPid(pidFile);
      const state = await waitFor("web failed", async () => {
        const s = await root.state("web");
        return s.phase === "failed" ? s : null;
      });
      assert.match(state.reason ?? "", /post-start exited with code 4/);
      await waitFor(`the main ${pid} gone`, () => !alive(pid));
      await root.shutdown(daemon);
    }));
});
