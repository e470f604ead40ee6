// One server per root: a pid file created exclusively. A pid file is stale, and taken
// over, when its process is gone — or when that pid now belongs to something else,
// which shows as nobody answering on the control socket.

import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { hasEnded } from "../system/processes.js";
import { CONTROL_SOCKET } from "./protocol.js";

/** How long a server may take from taking the lock to answering on its socket. */
const STARTUP_GRACE_MS = 30_000;

export type LockResult = { ok: true; release(): void } | { ok: false; pid: number };

export async function lockRoot(runDir: string): Promise<LockResult> {
  mkdirSync(runDir, { recursive: true, mode: 0o755 });
  const path = join(runDir, "tend.pid");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return { ok: true, release: () => rmSync(path, { force: true }) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const pid = Number(readFileSync(path, "utf8").trim());
      // A zombie (a server killed whose parent has not reaped it yet) is not a server.
      const live = Number.isInteger(pid) && pid > 0 && pid !== process.pid && !hasEnded(pid);
      // A server that is still starting has not opened its socket yet: give it time.
      const starting = Date.now() - statSync(path).mtimeMs < STARTUP_GRACE_MS;
      if (live && (starting || (await answers(join(runDir, CONTROL_SOCKET))))) return { ok: false, pid };
      rmSync(path, { force: true });
    }
  }
  return { ok: false, pid: 0 };
}

/** Does a server accept connections on this socket? (A refusal or no socket says no at once.) */
function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "EACCES" || e.code === "EAGAIN"));
  });
}
