// A service that fails takes down what requires it, directly or not, however those were
// started: by name, or only as what a started service requires (docs/DESIGN.md, "The
// rules the engine keeps": dependents of a failed service stop and show "dependency X
// failed", and start again by themselves when X comes back).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createEngine, step } from "../../src/engine/engine.js";
import type { Action, Fact } from "../../src/engine/types.js";
import { compiledDatabase } from "../helpers.js";


// s1 (never restarted) ← s2 requires s1 ← s3 requires s2.
const CHAIN = compiledDatabase({
  s1: "type = longrun\ncommand = /bin/s1\nrestart = never\n",
  s2: "type = longrun\ncommand = /bin/s2\nrequires = s1\n",
  s3: "type = longrun\ncommand = /bin/s3\nrequires = s2\n",
});

/** Every spawn answered at once; a signalled process exits with its signal. */
function world() {
  const e = createEngine(CHAIN, 0);
  let now = 0;
  let nextPid = 100;
  const tell = (fact: Fact): Action[] => {
    const actions = step(e, { ...fact, now: ++now });
    for (const a of actions) {
      if (a.kind === "spawn") tell({ kind: "spawned", service: a.service, pid: nextPid++ });
      else if (a.kind === "signal") tell({ kind: "exited", service: a.service, pid: a.pid, status: { code: null, signal: a.signal } });
    }
    return actions;
  };
  const phase = (name: string): string => e.services.get(name)!.phase;
  const reason = (name: string): string | null => e.services.get(name)!.reason;
  const kill = (name: string): Action[] => tell({ kind: "exited", service: name, pid: e.services.get(name)!.pid!, status: { code: null, signal: "SIGKILL" } });
  return { e, tell, phase, reason, kill };
}

describe("a failed requirement", () => {
  test("only s3 started: s1 killed fails, s3 then s2 stop as failed by their dependency, and come back with s1", () => {
    const w = world();
    w.tell({ kind: "start", names: ["s3"] });
    assert.deepEqual(["s1", "s2", "s3"].map(w.phase), ["up", "up", "up"]);
    w.kill("s1");
    assert.equal(w.phase("s1"), "failed");
    assert.deepEqual([w.phase("s2"), w.reason("s2")], ["failed", "dependency s1 failed"]);
    assert.deepEqual([w.phase("s3"), w.reason("s3")], ["failed", "dependency s2 failed"]);
    // They come back by themselves once s1 does.
    w.tell({ kind: "start", names: ["s1"] });
    assert.deepEqual(["s1", "s2", "s3"].map(w.phase), ["up", "up", "up"]);
  });

  test("and again after 'tend start s3' brought all three back and s1 died a second time", () => {
    const w = world();
    w.tell({ kind: "start", names: ["s3"] });
    w.kill("s1");
    w.tell({ kind: "start", names: ["s3"] });
    assert.deepEqual(["s1", "s2", "s3"].map(w.phase), ["up", "up", "up"]);
    w.kill("s1");
    assert.deepEqual(["s1", "s2", "s3"].map(w.phase), ["failed", "failed", "failed"]);
  });
});
