// The `monitor` subscription on the socket: a subscriber that stops reading while many
// changes happen is not queued without bound; the server serves others meanwhile, and
// the subscriber, reading again, is told how many lines it missed (every change is
// either sent or counted); a subscriber that goes away is removed.

import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import type { Database } from "../../src/compile/database.js";
import { createEngine } from "../../src/engine/engine.js";
import { MAX_STREAM_BACKLOG, type Connection } from "../../src/server/control-socket.js";
import { createMonitors } from "../../src/server/monitors.js";
import { CONTROL_SOCKET, type MonitorEntry, type Reply } from "../../src/server/protocol.js";
import { compileFiles, show } from "../helpers.js";
import { waitFor, withRoot, type TestRoot } from "./harness.js";

/** A connection whose backlog the test sets, which counts what is attached to it. */
function fakeConnection(): { connection: Connection; replies: Reply[]; setBacklog(bytes: number): void; close(): void; drain(): void; attached(): number } {
  const closes = new Set<() => void>();
  const drains = new Set<() => void>();
  const replies: Reply[] = [];
  let backlog = 0;
  const connection: Connection = {
    send: (reply) => (replies.push(reply), true),
    backlog: () => backlog,
    onDrain: (listener) => (drains.add(listener), () => void drains.delete(listener)),
    onClose: (listener) => (closes.add(listener), () => void closes.delete(listener)),
    end: () => {},
    peer: null,
    socket: "status",
  };
  return {
    connection,
    replies,
    setBacklog: (bytes) => void (backlog = bytes),
    close: () => [...closes].forEach((l) => l()),
    drain: () => [...drains].forEach((l) => l()),
    attached: () => closes.size + drains.size,
  };
}

function engineOf(files: Record<string, string>) {
  const r = compileFiles(files);
  assert.ok(r.compiled, show(r.diagnostics));
  return createEngine(JSON.parse(JSON.stringify({ ...r.compiled, format: "tend-db", version: 1, generation: 1, compiledAt: "" })) as Database, 0);
}

const entriesOf = (replies: Reply[]): MonitorEntry[] => replies.flatMap((r) => ("monitor" in r ? [r.monitor] : []));

test("subscribers that go away are removed and let go of their connection; names and bundles filter what each is sent", () => {
  const engine = engineOf({ a: "type = longrun\ncommand = /bin/true\n", b: "type = longrun\ncommand = /bin/true\n", both: "type = bundle\ncontents = a b\n" });
  const monitors = createMonitors(() => engine);
  const c = fakeConnection();
  for (let id = 1; id <= 1000; id++) monitors.add(id, c.connection, ["a"]);
  c.close();
  assert.equal(c.attached(), 0, "a closed connection keeps no subscriber's listeners");
  const before = c.replies.length;
  monitors.changed("a", "starting", null);
  assert.equal(c.replies.length, before, "nothing is sent to subscribers gone");

  const one = fakeConnection();
  monitors.add(1, one.connection, ["a"]);
  const bundle = fakeConnection();
  monitors.add(2, bundle.connection, ["both"]);
  assert.deepEqual(entriesOf(bundle.replies).map((e) => e.kind === "service" && `${e.service} ${e.phase} ${e.current}`), ["a down true", "b down true"]);
  monitors.changed("b", "starting", null);
  monitors.occurred({ time: 1, kind: "event", name: "go", values: {}, started: ["b"], stopped: [], skipped: [] }, ["b"]);
  assert.equal(entriesOf(one.replies).length, 1, "a's subscriber gets only a's current state");
  assert.deepEqual(entriesOf(bundle.replies).slice(2).map((e) => e.kind), ["service", "event"]);
});

test("past the stream bound lines are dropped and counted; the count is sent once the client has taken what was queued, then lines again", () => {
  const engine = engineOf({ a: "type = longrun\ncommand = /bin/true\n" });
  const monitors = createMonitors(() => engine);
  const c = fakeConnection();
  monitors.add(1, c.connection, null);
  c.setBacklog(MAX_STREAM_BACKLOG + 1);
  for (let i = 0; i < 5; i++) monitors.changed("a", i % 2 === 0 ? "starting" : "down", null);
  assert.equal(entriesOf(c.replies).length, 1, "only the current state went out");
  c.setBacklog(0);
  c.drain();
  monitors.changed("a", "starting", null);
  assert.deepEqual(entriesOf(c.replies).map((e) => (e.kind === "missed" ? `missed ${e.count}` : e.kind)), ["service", "missed 5", "service"]);
});

/** A connection to the control socket with every line it received, parsed. */
async function client(root: TestRoot): Promise<{ socket: Socket; lines: Record<string, unknown>[] }> {
  const socket = connect(join(root.places.run, CONTROL_SOCKET));
  await new Promise((resolve) => socket.once("connect", resolve));
  const lines: Record<string, unknown>[] = [];
  let buffered = "";
  socket.setEncoding("utf8").on("data", (d: string) => {
    buffered += d;
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      lines.push(JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>);
      buffered = buffered.slice(nl + 1);
    }
  });
  return { socket, lines };
}

const monitorEntries = (lines: Record<string, unknown>[]): MonitorEntry[] => lines.flatMap((l) => ("monitor" in l ? [l.monitor as MonitorEntry] : []));

test("a subscriber that does not read misses lines and is told how many, rather than growing the server; others are served meanwhile", { timeout: 90_000 }, (t) =>
  withRoot(async (root) => {
    root.services({ web: "type = longrun\ncommand = sleep 1000\n" });
    await root.compile();
    const daemon = await root.startDaemon();
    const slow = await client(root);
    slow.socket.write('{"id": 7, "cmd": "monitor"}\n');
    await waitFor("the current state", () => monitorEntries(slow.lines).some((e) => e.kind === "service" && e.current === true));
    slow.socket.pause(); // as a `tend monitor` stopped with ^Z

    // 800 events of 4 KiB each: 3.2 MB of lines, more than the bound and what the socket's buffers hold together.
    const count = 800;
    const value = "x".repeat(4000);
    const emitter = await client(root);
    for (let i = 0; i < count; i++) emitter.socket.write(`${JSON.stringify({ id: i + 1, cmd: "emit", name: "tick", values: { N: String(i), PAD: value } })}\n`);
    await waitFor(`the answers to ${count} emits`, () => emitter.lines.filter((l) => l.ok === true).length === count);
    // Meanwhile the server serves others.
    const status = await root.request({ cmd: "status" });
    assert.ok(status.ok, JSON.stringify(status));
    emitter.socket.destroy();

    slow.socket.resume();
    await waitFor("the count of what was missed", () => monitorEntries(slow.lines).some((e) => e.kind === "missed"));
    const seen = monitorEntries(slow.lines);
    const ticks = seen.filter((e) => e.kind === "event" && e.name === "tick").length;
    const missed = seen.reduce((n, e) => n + (e.kind === "missed" ? e.count : 0), 0);
    assert.ok(missed > 0 && ticks > 0, `${ticks} sent, ${missed} missed`);
    assert.equal(ticks + missed, count, "every event either sent or counted as missed");
    t.diagnostic(`of ${count} events of 4 KiB, ${ticks} were sent to the reader that did not read, ${missed} counted as missed`);
    // What was sent is at most the bound, what the socket's buffers took, and the last line past it.
    assert.ok(ticks * 4100 < MAX_STREAM_BACKLOG + 1024 * 1024, `${ticks} events of 4 KiB were queued for a reader that did not read`);

    // Then it goes on: the next change comes as it happens.
    assert.equal((await root.tend("start", "web")).status, 0);
    await waitFor("web up on the subscription", () => monitorEntries(slow.lines).some((e) => e.kind === "service" && e.service === "web" && e.phase === "up"));
    slow.socket.destroy();
    await root.shutdown(daemon);
  }),
);
