// Whose a listener is, with real sockets: one held by this test process is the
// service's when the service's pids include this process, another's when they do not
// (and the message names this process), unknown when the list of pids was cut. The
// watch says so once however often it polls, makes no connection while it knows, and
// is ready as soon as the listener is among the service's processes.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { ownerOf, watchListener } from "../../src/supervisor/readiness/listener.js";
import type { ProcessList } from "../../src/supervisor/supervisor.js";
import { waitFor } from "../server/harness.js";

async function withListener(body: (port: number, accepted: () => number) => Promise<void>): Promise<void> {
  let accepted = 0;
  const server: Server = createServer((s) => {
    accepted++;
    s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  try {
    await body((server.address() as { port: number }).port, () => accepted);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

/** A process that is not this one, for a service's pid list. */
async function withStranger(body: (pid: number) => Promise<void>): Promise<void> {
  const child = spawn("sleep", ["1000"], { stdio: "ignore" });
  await new Promise((resolve) => child.once("spawn", resolve));
  try {
    await body(child.pid!);
  } finally {
    child.kill("SIGKILL");
  }
}

const list = (pids: number[], total = pids.length) => async (): Promise<ProcessList> => ({ pids, total });

describe("ownerOf", () => {
  test("the service's, another's, unknown, none", () =>
    withListener((port) =>
      withStranger(async (stranger) => {
        const endpoint = { kind: "tcp" as const, addresses: ["127.0.0.1"], port };
        assert.deepEqual(await ownerOf(endpoint, list([stranger, process.pid])), { kind: "service" });
        const other = await ownerOf(endpoint, list([stranger]));
        assert.equal(other.kind, "other");
        assert.deepEqual(other.kind === "other" && other.uids, [process.getuid!()]);
        assert.deepEqual(await ownerOf(endpoint, list([stranger], 300)), { kind: "unknown" }, "a cut list cannot say it is another's");
        assert.deepEqual(await ownerOf({ ...endpoint, port: port === 65535 ? 1 : port + 1 }, list([stranger])), { kind: "none" });
      }),
    ));
});

describe("watchListener", () => {
  test("another's listener: said once, however often it polls, no connection made; ready once it is the service's", { timeout: 30_000 }, () =>
    withListener((port, accepted) =>
      withStranger(async (stranger) => {
        let pids = [stranger];
        let asked = 0;
        const said: string[] = [];
        let ready = false;
        const watch = watchListener(
          { kind: "tcp", host: "127.0.0.1", port },
          {
            service: "web",
            processes: async () => {
              asked++;
              return { pids, total: pids.length };
            },
            onReady: () => (ready = true),
            notOurs: (text) => said.push(text),
          },
        );
        try {
          await waitFor("five polls", () => asked >= 5);
          assert.deepEqual(said, [`127.0.0.1:${port} is answered by pid ${process.pid} (${readFileSync("/proc/self/comm", "utf8").trim()}), which is not web's`]);
          assert.equal(ready, false);
          pids = [stranger, process.pid];
          await waitFor("ready", () => ready);
          assert.equal(said.length, 1);
          assert.equal(accepted(), 0, "the kernel's tables answered: no connection was made");
        } finally {
          watch.cancel();
        }
      }),
    ));

  test("where whose it is cannot be known (a cut list), a connection decides", { timeout: 30_000 }, () =>
    withListener(async (port, accepted) => {
      let ready = false;
      const watch = watchListener({ kind: "tcp", host: "localhost", port }, { service: "web", processes: list([], 1000), onReady: () => (ready = true), notOurs: assert.fail });
      try {
        await waitFor("ready", () => ready);
        await waitFor("the connection to be accepted", () => accepted() === 1);
      } finally {
        watch.cancel();
      }
    }));
});
