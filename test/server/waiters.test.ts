// Clients waiting for a command's outcome, against an engine of their own and a
// connection that counts what is attached to it.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { Database } from "../../src/compile/database.js";
import { createEngine } from "../../src/engine/engine.js";
import type { Connection } from "../../src/server/control-socket.js";
import type { Reply } from "../../src/server/protocol.js";
import { createWaiters } from "../../src/server/waiters.js";
import { compileFiles, show } from "../helpers.js";

test("a waiter answered lets go of its connection: one connection waiting for command after command keeps none of them", () => {
  const r = compileFiles({ a: "type = longrun\ncommand = /bin/true\n" });
  assert.ok(r.compiled, show(r.diagnostics));
  const engine = createEngine(JSON.parse(JSON.stringify({ ...r.compiled, format: "tend-db", version: 1, generation: 1, compiledAt: "" })) as Database, 0);
  const listeners = new Set<() => void>();
  const replies: Reply[] = [];
  const connection: Connection = {
    send: (reply) => (replies.push(reply), true),
    backlog: () => 0,
    onDrain: () => () => {},
    onClose: (listener) => {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    end: () => {},
    peer: null,
    socket: "control",
  };
  const waiters = createWaiters(() => engine);
  const count = 1000;
  for (let id = 1; id <= count; id++) {
    // `a` is down: a stop of it has settled as soon as it is checked.
    waiters.add({ id, connection, kind: "stop", services: [], since: 0 })(["a"]);
    waiters.check();
  }
  assert.equal(replies.filter((reply) => "ok" in reply && reply.ok).length, count);
  assert.equal(listeners.size, 0, `${listeners.size} answered waiters still attached to the connection`);
});
