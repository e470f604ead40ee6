// The `monitor` subscription on the socket: a subscriber that stops reading while many
// changes happen is not queued without bound; the server serves others meanwhile, and
// the subscriber, reading again, is told how many lines it missed (every change is
// either sent or counted); a subscriber that goes away is removed.

import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { MAX_STREAM_BACKLOG } from "../../src/server/control-socket.js";
import { CONTROL_SOCKET, type MonitorEntry } from "../../src/server/protocol.js";
import { waitFor, withRoot, type TestRoot } from "./harness.js";

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
