// Instances in the engine, driven by hand: their job events are their template's with
// INSTANCE set, and resting instances are forgotten once a template has too many.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createEngine, step, type Engine } from "../../src/engine/engine.js";
import { MAX_INSTANCES } from "../../src/engine/instances.js";
import type { Action, Fact } from "../../src/engine/types.js";
import { compiledDatabase } from "../helpers.js";


/** A world where every process runs to completion with exit 0 as soon as it is spawned. */
function run(e: Engine, fact: Fact, now: number, spawned: string[]): Action[] {
  const actions = step(e, { ...fact, now });
  let pid = 1000 + now * 10;
  for (const a of actions) {
    if (a.kind !== "spawn") continue;
    spawned.push(a.service);
    const p = pid++;
    run(e, { kind: "spawned", service: a.service, pid: p }, now, spawned);
    run(e, { kind: "exited", service: a.service, pid: p, status: { code: 0, signal: null } }, now, spawned);
  }
  return actions;
}

const task = (...lines: string[]): string => ["type = task", "command = /bin/true", ...lines, ""].join("\n");

describe("instances", () => {
  test("an instance's job events are its template's, with INSTANCE", () => {
    const e = createEngine(
      compiledDatabase({
        mount: task("start-on = block-added DEVNAME=/dev/sd*", "instance = DEVNAME"),
        "after-any": task("start-on = stopped mount"),
        "after-sdb1": task("start-on = stopped mount INSTANCE=/dev/sdb1"),
      }),
      0,
    );
    const spawned: string[] = [];
    run(e, { kind: "event", name: "block-added", values: { DEVNAME: "/dev/sdc1" } }, 1, spawned);
    assert.deepEqual(spawned, ["mount@/dev/sdc1", "after-any"]);
    spawned.length = 0;
    run(e, { kind: "event", name: "block-added", values: { DEVNAME: "/dev/sdb1" } }, 2, spawned);
    assert.deepEqual(spawned.sort(), ["after-any", "after-sdb1", "mount@/dev/sdb1"]);
  });

  test(`a template keeps at most ${MAX_INSTANCES} instances: those longest at rest are forgotten`, () => {
    const e = createEngine(compiledDatabase({ mount: task("start-on = block-added", "instance = DEVNAME") }), 0);
    const spawned: string[] = [];
    for (let i = 0; i < MAX_INSTANCES + 10; i++) run(e, { kind: "event", name: "block-added", values: { DEVNAME: `/dev/d${i}` } }, i + 1, spawned);
    assert.equal(spawned.length, MAX_INSTANCES + 10, "every device got its run");
    const instances = e.topo.names.filter((n) => n.startsWith("mount@"));
    assert.equal(instances.length, MAX_INSTANCES);
    assert.ok(instances.includes(`mount@/dev/d${MAX_INSTANCES + 9}`) && !instances.includes("mount@/dev/d0"), "the oldest went first");
    assert.equal(e.services.size, MAX_INSTANCES + 1);
  });
});
