// The server side of the control protocol. Each connection is read line by line;
// a malformed, oversized or half-sent request gets an error or a closed connection,
// and never reaches the handler — nor can it stall other clients or crash the server.
//
// What a client may cost is bounded (docs/protocol.md, "Limits"): the replies queued for
// it, how long it may take to send a request and how long it may sit idle, and how many
// connections it may hold, counted per uid from the kernel's peer credentials. Root keeps
// a reserve on each socket that no other user's connections can take.

import { chmodSync, chownSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { peerOf, type PeerCredentials } from "./peer.js";
import { MAX_REQUEST_BYTES, PARTIAL_REQUEST_TIMEOUT_MS, checkRequest, type Reply, type Request } from "./protocol.js";

export interface Connection {
  /** Returns false when the client is not reading fast enough (a follower may then drop lines). */
  send(reply: Reply): boolean;
  /** Bytes sent but not yet taken by the client: what a client that does not read costs us. */
  backlog(): number;
  /** Called each time what was queued for the client has all been taken (a stream that dropped lines says so then), until the returned function is called. */
  onDrain(listener: () => void): () => void;
  /** Called once when the client goes away, unless the returned function was called first (what is done with a connection must not stay attached to it). */
  onClose(listener: () => void): () => void;
  end(): void;
  /** Who connected (SO_PEERCRED), or null when the kernel's answer could not be read. */
  peer: PeerCredentials | null;
  /** The socket it came in on: access control trusts the control socket's mode when the peer is unknown. */
  socket: SocketName;
}

export type SocketName = "control" | "status";

export interface ControlSocketOptions {
  path: string;
  mode: number;
  /** The socket's group (the control group of tend.conf), or null to leave it root's. */
  gid: number | null;
  name: SocketName;
  handle(request: Request, connection: Connection): void;
  /** The server's log: a peer whose credentials cannot be read is worth a line. */
  log(line: string): void;
}

/** The longest path a unix socket may have (sun_path, less its terminating NUL). */
export const MAX_SOCKET_PATH = 107;
/** Connections one socket holds at once: a client cannot exhaust the server's fds. */
export const MAX_CONNECTIONS = 2048;
/** Of MAX_CONNECTIONS, the last this many are for root (and the server's own user) only: no other user's connections can take them. */
export const ROOT_RESERVE = 64;
/** Connections one uid other than root may hold on one socket at once (slowloris by one user). */
export const MAX_CONNECTIONS_PER_UID = 32;
/** Replies queued for a client past this: it is read no more (nor its buffered requests run) until it takes them. */
export const MAX_QUEUED_BYTES = 1024 * 1024;
/**
 * A stream (`logs -f`, `monitor`) with more than this much unsent to its client sends it
 * nothing more until it catches up, and then says how much it missed: well below
 * MAX_QUEUED_BYTES, so a stream never blocks its connection, and never grows our memory.
 */
export const MAX_STREAM_BACKLOG = 256 * 1024;
/** A client whose queued replies have not gone below MAX_QUEUED_BYTES within this long is disconnected. */
export const DRAIN_DEADLINE_MS = 10_000;
/** A connection with no request in flight and nothing half sent is closed after this long. */
export const IDLE_TIMEOUT_MS = 60_000;
/** How long a connection told why it is closed may take to close its end. */
const CLOSE_LINGER_MS = 1000;
/** The server's own user: in user mode it has root's place (no per-uid cap, the reserve). */
const OWNER_UID = process.getuid?.() ?? 0;
/** The uid connections are counted under when their peer credentials cannot be read. */
const UNKNOWN_UID = -1;

export function listenControl(options: ControlSocketOptions): Promise<Server> {
  if (Buffer.byteLength(options.path) > MAX_SOCKET_PATH) {
    return Promise.reject(new Error(`the socket path ${options.path} is ${Buffer.byteLength(options.path)} bytes; unix sockets allow ${MAX_SOCKET_PATH}: use a shorter --root`));
  }
  rmSync(options.path, { force: true }); // a stale socket of a server that is gone (the lock says so)
  const admit = admission(options);
  const server = createServer((socket) => admit(socket));
  server.on("error", () => {}); // per-connection errors are handled where they happen
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    // A backlog as deep as the connections taken: a burst of clients waits to be accepted rather than failing with EAGAIN.
    server.listen({ path: options.path, backlog: MAX_CONNECTIONS }, () => {
      try {
        if (options.gid !== null) chownSync(options.path, OWNER_UID, options.gid);
        chmodSync(options.path, options.mode);
        resolve(server);
      } catch (e) {
        server.close();
        reject(e);
      }
    });
  });
}

/** One open connection, as the per-socket counts see it. */
interface Open {
  uid: number;
  /** Requests dispatched and not yet given their final (`ok`) reply. */
  inFlight(): number;
  /** Says why on the connection, then closes it. */
  close(why: string): void;
}

/** Counts the connections of one socket, per uid; returns what to do with each new one. */
function admission(options: ControlSocketOptions): (socket: Socket) => void {
  const open = new Set<Open>();
  /** Per uid, its connections in the order they came. */
  const byUid = new Map<number, Open[]>();
  let warned = false;

  const forget = (entry: Open): void => {
    if (!open.delete(entry)) return; // an evicted connection was counted out already
    const list = byUid.get(entry.uid) ?? [];
    list.splice(list.indexOf(entry), 1);
    if (list.length === 0) byUid.delete(entry.uid);
  };

  /** Why a connection from `uid` cannot be taken now, or null once there is room for it. */
  const room = (uid: number): string | null => {
    if (uid === 0 || uid === OWNER_UID) return open.size >= MAX_CONNECTIONS ? `too many connections (${MAX_CONNECTIONS} at once)` : null;
    const mine = byUid.get(uid) ?? [];
    if (mine.length >= MAX_CONNECTIONS_PER_UID) {
      // A user's own idle connections make room for its new ones: an idle slowloris evicts only itself.
      const idle = mine.find((c) => c.inFlight() === 0);
      if (idle === undefined) return `too many connections from uid ${uid} (${MAX_CONNECTIONS_PER_UID} at once)`;
      idle.close(`closed to make room: uid ${uid} opened more than ${MAX_CONNECTIONS_PER_UID} connections, and this one had no request in flight`);
    }
    if (open.size >= MAX_CONNECTIONS - ROOT_RESERVE) return `too many connections (${open.size} at once); the last ${ROOT_RESERVE} are kept for root`;
    return null;
  };

  return (socket) => {
    socket.on("error", () => {}); // a client vanishing mid-reply is its own business
    const credentials = peerOf(socket);
    if (typeof credentials === "string" && !warned) {
      warned = true;
      options.log(`${options.path}: cannot read a client's credentials (${credentials}); connections are counted as one user, and only read-only requests are served to them on the status socket`);
    }
    const peer = typeof credentials === "string" ? null : credentials;
    const uid = peer?.uid ?? UNKNOWN_UID;
    const refusal = room(uid);
    if (refusal !== null) return closeWith(socket, { id: 0, ok: false, error: refusal });
    const entry = serve(socket, peer, options, () => forget(entry));
    open.add(entry);
    const list = byUid.get(uid);
    if (list === undefined) byUid.set(uid, [entry]);
    else list.push(entry);
  };
}

/**
 * Writes a last reply and half-closes. What the client still sends is read and dropped
 * (closing with unread data would reset the connection, and the client might never see
 * why); a client that does not close its end in CLOSE_LINGER_MS is cut off.
 */
function closeWith(socket: Socket, reply: Reply): void {
  if (!socket.writable) return void socket.destroy();
  socket.end(`${JSON.stringify(reply)}\n`);
  socket.on("data", () => {});
  socket.resume();
  const linger = setTimeout(() => socket.destroy(), CLOSE_LINGER_MS);
  socket.once("close", () => clearTimeout(linger));
}

function serve(socket: Socket, peer: PeerCredentials | null, options: ControlSocketOptions, forget: () => void): Open {
  let buffered = "";
  /** Replies queued past MAX_QUEUED_BYTES: nothing more is read or dispatched until they drain. */
  let blocked = false;
  let closed = false;
  let inFlight = 0;
  let requestTimer: NodeJS.Timeout | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let drainTimer: NodeJS.Timeout | undefined;
  const closeListeners = new Set<() => void>();
  const drainListeners = new Set<() => void>();

  /**
   * Every reply goes out here, and past MAX_QUEUED_BYTES the connection is blocked: a
   * refusal costs more bytes than the line it answers. Queued as a Buffer, what a client
   * that does not read holds waits outside the JS heap, where it would survive scavenge
   * after scavenge while more replies are built and make V8 grow its young generation.
   */
  const write = (reply: Reply): boolean => {
    if (!socket.writable) return false;
    const taken = socket.write(Buffer.from(`${JSON.stringify(reply)}\n`));
    if (socket.writableLength > MAX_QUEUED_BYTES) block();
    return taken;
  };
  /** Refusals of lines that never became requests: they end nothing in flight. */
  const refuse = (error: string, id = 0): void => void write({ id, ok: false, error });
  const finish = (reply: Reply): void => {
    closed = true; // nothing more is dispatched: what it sends now is dropped
    clearTimers();
    closeWith(socket, reply);
  };
  const connection: Connection = {
    send: (reply) => {
      const taken = write(reply);
      if ("ok" in reply && inFlight > 0 && --inFlight === 0) armIdle();
      return taken;
    },
    backlog: () => socket.writableLength,
    onClose: (listener) => {
      closeListeners.add(listener);
      return () => void closeListeners.delete(listener);
    },
    onDrain: (listener) => {
      drainListeners.add(listener);
      return () => void drainListeners.delete(listener);
    },
    end: () => socket.end(),
    peer,
    socket: options.name,
  };

  function clearTimers(): void {
    clearTimeout(requestTimer);
    clearTimeout(idleTimer);
    clearTimeout(drainTimer);
  }
  function armIdle(): void {
    clearTimeout(idleTimer);
    if (inFlight > 0 || buffered !== "" || closed) return;
    idleTimer = setTimeout(() => finish({ id: 0, ok: false, error: `no request for ${IDLE_TIMEOUT_MS / 1000}s: closing the idle connection` }), IDLE_TIMEOUT_MS);
  }
  function block(): void {
    if (blocked) return;
    blocked = true;
    socket.pause();
    // Not re-armed while it stays blocked: taking a few bytes now and then does not keep it.
    drainTimer = setTimeout(() => socket.destroy(), DRAIN_DEADLINE_MS);
  }
  socket.on("drain", () => {
    for (const listener of [...drainListeners]) listener();
    if (!blocked || socket.writableLength > MAX_QUEUED_BYTES) return;
    blocked = false;
    clearTimeout(drainTimer);
    socket.resume();
    dispatchLines();
    armIdle();
  });

  socket.setEncoding("utf8");
  socket.on("close", () => {
    closed = true;
    clearTimers();
    forget();
    const listeners = [...closeListeners];
    closeListeners.clear();
    drainListeners.clear();
    for (const listener of listeners) listener();
  });
  socket.on("data", (chunk: string) => {
    if (closed) return;
    clearTimeout(idleTimer);
    // The deadline runs from a request's first byte to its newline: more bytes do not extend it.
    if (chunk.includes("\n")) {
      clearTimeout(requestTimer);
      requestTimer = undefined;
    }
    buffered += chunk;
    dispatchLines();
    const partial = Buffer.byteLength(buffered.slice(buffered.lastIndexOf("\n") + 1));
    if (partial > MAX_REQUEST_BYTES) {
      buffered = "";
      return finish({ id: 0, ok: false, error: `request longer than ${MAX_REQUEST_BYTES} bytes` });
    }
    if (partial > 0) {
      requestTimer ??= setTimeout(
        () => finish({ id: 0, ok: false, error: `incomplete request: no newline within ${PARTIAL_REQUEST_TIMEOUT_MS / 1000}s` }),
        PARTIAL_REQUEST_TIMEOUT_MS,
      );
    } else armIdle();
  });
  armIdle();

  function dispatchLines(): void {
    while (!blocked && !closed) {
      const nl = buffered.indexOf("\n");
      if (nl < 0) return;
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim() !== "") dispatch(line);
    }
  }

  function dispatch(line: string): void {
    if (Buffer.byteLength(line) > MAX_REQUEST_BYTES) return refuse(`request longer than ${MAX_REQUEST_BYTES} bytes`);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return refuse("not valid JSON: send one JSON object per line");
    }
    const id = typeof (value as { id?: unknown })?.id === "number" ? (value as { id: number }).id : 0;
    // In flight from here until its final reply, a refusal included: whatever throws
    // between the parsed line and that reply is answered, and ends neither the
    // connection nor the server.
    inFlight++;
    clearTimeout(idleTimer);
    try {
      const request = checkRequest(value);
      if (typeof request === "string") return void connection.send({ id, ok: false, error: request });
      options.handle(request, connection);
    } catch (e) {
      connection.send({ id, ok: false, error: `internal error: ${(e as Error).message}` });
    }
  }

  return {
    uid: peer?.uid ?? UNKNOWN_UID,
    inFlight: () => inFlight,
    close: (why) => {
      forget(); // counted out at once: the connection that made room takes its place now
      finish({ id: 0, ok: false, error: why });
    },
  };
}
