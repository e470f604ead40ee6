// The systemd sd_notify protocol: the service sends datagrams such as "READY=1" or
// "STATUS=…" to the unix datagram socket named in NOTIFY_SOCKET. Node cannot read
// unix datagrams by itself; unix-dgram (a small libuv-based addon) can, without
// tying up a thread per socket as an FFI recvmsg would. One socket per service, so
// a message's socket says who sent it.

import { chownSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import type { Watch } from "./watch.js";

interface DgramSocket {
  bind(path: string): void;
  close(): void;
  on(event: "message", listener: (message: Buffer) => void): void;
  on(event: "error", listener: (error: Error) => void): void;
}
type UnixDgram = { createSocket(type: "unix_dgram"): DgramSocket };

let unixDgram: UnixDgram | undefined;
const load = (): UnixDgram => (unixDgram ??= createRequire(import.meta.url)("unix-dgram") as UnixDgram);

export interface NotifyHandlers {
  onReady(): void;
  onStatus(text: string): void;
  onError(message: string): void;
}

/**
 * Binds the socket at `path` (call before spawning, so it exists when the service starts).
 * A service that runs as another user needs write access to send to it: `owner` gets it.
 */
export function notifySocket(path: string, handlers: NotifyHandlers, owner: { uid: number; gid: number } | null = null): Watch {
  mkdirSync(dirname(path), { recursive: true });
  rmSync(path, { force: true });
  const socket = load().createSocket("unix_dgram");
  let open = true;
  socket.on("error", (e) => handlers.onError(`notify socket ${path}: ${e.message}`));
  socket.on("message", (message) => {
    for (const line of message.toString("utf8").split("\n")) {
      if (line === "READY=1") handlers.onReady();
      else if (line.startsWith("STATUS=")) handlers.onStatus(line.slice(7));
    }
  });
  socket.bind(path);
  if (owner !== null) {
    try {
      chownSync(path, owner.uid, owner.gid);
    } catch (e) {
      socket.close();
      throw e;
    }
  }
  return {
    cancel() {
      if (!open) return;
      open = false;
      socket.close();
      rmSync(path, { force: true });
    },
  };
}
