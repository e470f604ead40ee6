// docs/DESIGN.md, "The rules the engine keeps":
//
//   Dependents of a failed service stop and show `dependency X failed`, however far
//   up they are and however they were started (`s3` requires `s2` requires a failed
//   `s1`: s3 goes down, then s2); they start again by themselves when X comes back.
//
// Home: src/engine/rules.ts `blockingRequirement`; phase.ts `setPhase` wakes what a
// change may unblock, however far up (`wakeBlocked`). The chain case is issue 11's defect,
// found by a peer's test suite ported to tend.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { longrun, rig } from "./driver.js";

/** s1 (never restarted) ← s2 requires s1 ← s3 requires s2. */
const chain = () => rig({ s1: longrun("restart = never"), s2: longrun("requires = s1"), s3: longrun("requires = s2") });

const S3_GOES_FIRST = [
  "s1 → failed: killed by SIGKILL",
  "job stopped s1 RESULT=failed EXIT_SIGNAL=SIGKILL",
  "job stopping s3",
  "s3 → stopping",
  "signal s3 SIGTERM",
  "arm s3 stop-timeout 10s",
];

describe("rule: dependency failed", () => {
  test("only s3 started: s1 killed fails, s3 goes down, then s2, each failed by its dependency", () => {
    const r = chain();
    r.settle(r.start("s3"));
    assert.deepEqual(r.exits("s1", "SIGKILL"), S3_GOES_FIRST);
    assert.deepEqual(r.exits("s3", "SIGTERM"), [
      "s3 → failed: dependency s2 failed",
      "job stopped s3 RESULT=failed EXIT_SIGNAL=SIGTERM",
      "job stopping s2",
      "s2 → stopping",
      "signal s2 SIGTERM",
      "arm s2 stop-timeout 10s",
    ]);
    assert.deepEqual(r.exits("s2", "SIGTERM"), ["s2 → failed: dependency s1 failed", "job stopped s2 RESULT=failed EXIT_SIGNAL=SIGTERM"]);
  });

  test("they come back by themselves once s1 does", () => {
    const r = chain();
    r.settle(r.start("s3"));
    r.settle(r.exits("s1", "SIGKILL"));
    assert.deepEqual(r.start("s1"), ["affected start s1", "s1 → down", "s1 → starting", "job starting s1", "arm s1 start-timeout 60s", "spawn s1 main", "s2 → down", "s3 → down"]);
    assert.deepEqual(r.spawned("s1"), ["s1 → up", "job started s1", "s2 → starting", "job starting s2", "arm s2 start-timeout 60s", "spawn s2 main"]);
    assert.deepEqual(r.spawned("s2"), ["s2 → up", "job started s2", "s3 → starting", "job starting s3", "arm s3 start-timeout 60s", "spawn s3 main"]);
  });

  test("and again after `tend start s3` brought all three back and s1 died a second time", () => {
    const r = chain();
    r.settle(r.start("s3"));
    r.settle(r.exits("s1", "SIGKILL"));
    r.settle(r.start("s3"));
    assert.deepEqual(r.phases("s1", "s2", "s3"), ["s1 up", "s2 up", "s3 up"]);
    assert.deepEqual(r.exits("s1", "SIGKILL"), S3_GOES_FIRST);
    r.settle(r.exits("s3", "SIGTERM"));
    assert.deepEqual(r.phases("s1", "s2", "s3"), ["s1 failed", "s2 failed", "s3 failed"]);
  });

  test("s3 failed while s2, still up, waits for another dependent to stop: s3 comes back once s1 does, however s3 was looked at before", () => {
    // s4 is slow to stop, so s2 stays up (blocked) after s3 has gone down: nothing s2
    // does tells s3 that s1 is back, s1's own change must.
    const r = rig({ s1: longrun("restart = never"), s2: longrun("requires = s1"), s3: longrun("requires = s2"), s4: longrun("requires = s2") });
    r.settle(r.start("s3", "s4"));
    r.exits("s1", "SIGKILL");
    assert.deepEqual(r.exits("s3", "SIGTERM"), ["s3 → failed: dependency s2 failed", "job stopped s3 RESULT=failed EXIT_SIGNAL=SIGTERM"]);
    assert.deepEqual(r.phases("s2", "s4"), ["s2 up", "s4 stopping"]);
    // `tend start s3` clears s1's hold; s3 is looked at first, while s1 is still failed.
    assert.deepEqual(r.start("s3"), [
      "affected start s3",
      "s1 → down",
      "s1 → starting",
      "job starting s1",
      "arm s1 start-timeout 60s",
      "spawn s1 main",
      "s3 → down",
      "s3 → starting",
      "job starting s3",
      "arm s3 start-timeout 60s",
      "spawn s3 main",
    ]);
  });

  test("s2 started by name too: the same", () => {
    const r = chain();
    r.settle(r.start("s2", "s3"));
    assert.deepEqual(r.exits("s1", "SIGKILL"), S3_GOES_FIRST);
  });

  test("a requirement that exited by itself and is held blocks as a failed one does, saying so", () => {
    const r = rig({ s1: longrun("restart = never"), s2: longrun("requires = s1") });
    r.settle(r.start("s2"));
    r.exits("s1", 0);
    assert.deepEqual(r.exits("s2", "SIGTERM"), ["s2 → failed: dependency s1 exited by itself", "job stopped s2 RESULT=failed EXIT_SIGNAL=SIGTERM"]);
  });

  test("what only wants a failed service stays up", () => {
    const r = rig({ s1: longrun("restart = never"), s2: longrun("wants = s1") });
    r.settle(r.start("s2"));
    assert.deepEqual(r.exits("s1", 1), ["s1 → failed: exited with code 1", "job stopped s1 RESULT=failed EXIT_STATUS=1"]);
    assert.deepEqual(r.phases("s2"), ["s2 up"]);
  });
});
