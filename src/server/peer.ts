// Who is at the other end of a control connection: the kernel's SO_PEERCRED and
// SO_PEERGROUPS, read by the native addon `native/peercred` (Node has no API for them).
// The control sockets count connections per uid and authorise requests by these.

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Socket } from "node:net";

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
  /** Supplementary groups, as the peer process had them when it connected. */
  groups: number[];
}

const ADDON = join("dist", "native", "peercred.node");

type Addon = { peerCredentials(fd: number): PeerCredentials };
let addon: Addon | string | undefined;

/** The addon, or why it cannot be loaded (a message for the server's log). */
function load(): Addon | string {
  if (addon !== undefined) return addon;
  // This module runs from the CLI bundle (dist/bin/chunks/) and from tsc's output (dist/src/server/).
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, ADDON))) {
      try {
        addon = createRequire(import.meta.url)(join(dir, ADDON)) as Addon;
      } catch (e) {
        addon = `cannot load ${join(dir, ADDON)}: ${(e as Error).message}`;
      }
      return addon;
    }
    if (dir === dirname(dir)) return (addon = `cannot find ${ADDON} in any directory above ${start}: build it with 'npm run build'`);
  }
}

/**
 * The fd of an accepted unix socket. Node keeps it in the socket's libuv handle, which
 * has no public accessor; an fd of -1 (or no handle) means the socket is already closed.
 */
function socketFd(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === "number" ? fd : -1;
}

/** The peer of an accepted connection, or a message saying why it is unknown. */
export function peerOf(socket: Socket): PeerCredentials | string {
  const native = load();
  if (typeof native === "string") return native;
  const fd = socketFd(socket);
  if (fd < 0) return "the connection is closed";
  try {
    return native.peerCredentials(fd);
  } catch (e) {
    return (e as Error).message;
  }
}
