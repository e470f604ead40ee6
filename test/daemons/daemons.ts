// Shared by the tests of real Debian daemons (test/daemons/): whether a daemon can be
// run here (installed by .ci/run's apt-get step, and root where it needs root), a
// conversation with it over loopback TCP, and the check that what a test started is gone.

import { connect } from "node:net";
import assert from "node:assert/strict";
import { findTool } from "../helpers.js";
import { IS_ROOT, alive, waitFor } from "../server/harness.js";

/**
 * The daemon's program, or why its test skips: `package` is what .ci/run installs
 * (a failed install leaves it missing, and the test says so).
 */
export function daemon(program: string, pkg: string, needs: { root?: string } = {}): { path: string; skip: false } | { path: ""; skip: string } {
  const path = findTool(program);
  if (path === null) return { path: "", skip: `${program} is not installed (Debian package ${pkg})` };
  if (needs.root !== undefined && !IS_ROOT) return { path: "", skip: `needs root: ${needs.root}` };
  return { path, skip: false };
}

/**
 * Connects to 127.0.0.1:PORT, writes `send` (if any) and resolves with what the daemon
 * wrote once `until` matches it; the socket ends at the match or after `timeoutMs`.
 */
export function converse(port: number, send: string | null, until: RegExp, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    let got = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`127.0.0.1:${port} did not answer ${JSON.stringify(until.source)} within ${timeoutMs} ms (got ${JSON.stringify(got)})`));
    }, timeoutMs);
    socket.setEncoding("latin1");
    socket.once("connect", () => {
      if (send !== null) socket.write(send);
    });
    socket.on("data", (d: string) => {
      got += d;
      if (until.test(got)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(got);
      }
    });
    socket.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.once("close", () => {
      clearTimeout(timer);
      if (!until.test(got)) reject(new Error(`127.0.0.1:${port} closed the connection after ${JSON.stringify(got)}`));
    });
  });
}

/** One HTTP/1.0 GET of `path` on 127.0.0.1:PORT: the whole reply, head and body. */
export const httpGet = (port: number, path: string): Promise<string> => converse(port, `GET ${path} HTTP/1.0\r\nHost: localhost\r\n\r\n`, /\r\n\r\n[^]*\n$/);

/** Waits for every pid to be gone (dead or a zombie), naming those left at the deadline. */
export async function allGone(what: string, pids: Iterable<number>): Promise<void> {
  const list = [...new Set(pids)];
  assert.ok(list.length > 0, `no pid of ${what} was seen`);
  await waitFor(`${what} (${list.join(" ")}) to be gone`, () => list.every((p) => !alive(p)));
}
