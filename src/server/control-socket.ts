// The server side of the control protocol. Each connection is read line by line;
// a malformed, oversized or half-sent request gets an error or a closed connection,
// and never reaches the handler — nor can it stall other clients or crash the server.

import { chmodSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { MAX_REQUEST_BYTES, PARTIAL_REQUEST_TIMEOUT_MS, READ_ONLY_COMMANDS, checkRequest, type Reply, type Request } from "./protocol.js";

export interface Connection {
  /** Returns false when the client is not reading fast enough (a follower may then drop lines). */
  send(reply: Reply): boolean;
  /** Bytes sent but not yet taken by the client: what a client that does not read costs us. */
  backlog(): number;
  /** Called once when the client goes away. */
  onClose(listener: () => void): void;
  end(): void;
}

export interface ControlSocketOptions {
  path: string;
  mode: number;
  readOnly: boolean;
  handle(request: Request, connection: Connection): void;
}

/** The longest path a unix socket may have (sun_path, less its terminating NUL). */
export const MAX_SOCKET_PATH = 107;
/** Connections beyond this many at once are refused: a client cannot exhaust the server's fds. */
export const MAX_CONNECTIONS = 256;

export function listenControl(options: ControlSocketOptions): Promise<Server> {
  if (Buffer.byteLength(options.path) > MAX_SOCKET_PATH) {
    return Promise.reject(new Error(`the socket path ${options.path} is ${Buffer.byteLength(options.path)} bytes; unix sockets allow ${MAX_SOCKET_PATH}: use a shorter --root`));
  }
  rmSync(options.path, { force: true }); // a stale socket of a server that is gone (the lock says so)
  const server = createServer((socket) => serve(socket, options));
  server.maxConnections = MAX_CONNECTIONS;
  server.on("error", () => {}); // per-connection errors are handled where they happen
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.path, () => {
      try {
        chmodSync(options.path, options.mode);
        resolve(server);
      } catch (e) {
        server.close();
        reject(e);
      }
    });
  });
}

function serve(socket: Socket, options: ControlSocketOptions): void {
  let buffered = "";
  let partialTimer: NodeJS.Timeout | undefined;
  const closeListeners: (() => void)[] = [];
  const connection: Connection = {
    send: (reply) => (socket.writable ? socket.write(`${JSON.stringify(reply)}\n`) : false),
    backlog: () => socket.writableLength,
    onClose: (listener) => void closeListeners.push(listener),
    end: () => socket.end(),
  };
  const refuse = (error: string, id = 0): void => {
    connection.send({ id, ok: false, error });
  };
  socket.setEncoding("utf8");
  socket.on("error", () => {}); // a client vanishing mid-reply is its own business
  socket.on("close", () => {
    clearTimeout(partialTimer);
    for (const listener of closeListeners.splice(0)) listener();
  });
  socket.on("data", (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim() !== "") dispatch(line);
    }
    if (Buffer.byteLength(buffered) > MAX_REQUEST_BYTES) {
      refuse(`request longer than ${MAX_REQUEST_BYTES} bytes`);
      socket.end();
      buffered = "";
      return;
    }
    clearTimeout(partialTimer);
    if (buffered !== "") {
      partialTimer = setTimeout(() => {
        refuse(`incomplete request: no newline within ${PARTIAL_REQUEST_TIMEOUT_MS / 1000}s`);
        socket.end();
      }, PARTIAL_REQUEST_TIMEOUT_MS);
    }
  });

  function dispatch(line: string): void {
    if (Buffer.byteLength(line) > MAX_REQUEST_BYTES) return refuse(`request longer than ${MAX_REQUEST_BYTES} bytes`);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return refuse("not valid JSON: send one JSON object per line");
    }
    const request = checkRequest(value);
    const id = typeof (value as { id?: unknown })?.id === "number" ? (value as { id: number }).id : 0;
    if (typeof request === "string") return refuse(request, id);
    if (options.readOnly && !READ_ONLY_COMMANDS.has(request.cmd)) {
      return refuse(`'${request.cmd}' is not allowed on the read-only socket; use the control socket (as root)`, id);
    }
    try {
      options.handle(request, connection);
    } catch (e) {
      refuse(`internal error: ${(e as Error).message}`, id);
    }
  }
}
