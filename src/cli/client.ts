// The client side of the control protocol: one request, any number of progress or
// log lines, one final reply. Every CLI command that talks to the server uses this.

import { connect } from "node:net";
import { join } from "node:path";
import type { Places } from "../places.js";
import { UserError } from "./errors.js";
import { CONTROL_SOCKET, READ_ONLY_COMMANDS, STATUS_SOCKET, type Reply, type Request } from "../server/protocol.js";

export type RequestBody = Request extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;
export type Final = Extract<Reply, { ok: boolean }>;
export type Streamed = Exclude<Reply, { ok: boolean }>;

/** The server cannot be reached, or answered something unexpected. */
export class ClientError extends UserError {}

/** Sends `body` and resolves with the final reply; `onStream` sees every line before it. */
export async function call(places: Places, body: RequestBody, onStream: (reply: Streamed) => void = () => {}): Promise<Final> {
  const control = join(places.run, CONTROL_SOCKET);
  try {
    return await exchange(control, body, onStream);
  } catch (e) {
    // An unprivileged user may still ask read-only questions on the status socket.
    if ((e as NodeJS.ErrnoException).code === "EACCES" && READ_ONLY_COMMANDS.has(body.cmd)) {
      return exchange(join(places.run, STATUS_SOCKET), body, onStream);
    }
    throw explain(e as NodeJS.ErrnoException, control);
  }
}

function explain(e: NodeJS.ErrnoException, path: string): Error {
  if (e.code === "ENOENT" || e.code === "ECONNREFUSED") {
    return new ClientError(`no tend server is running for this root (no socket at ${path}); start one with 'tend daemon' or 'tend boot'`);
  }
  if (e.code === "EACCES") return new ClientError(`permission denied on ${path}: this command needs the server's user (root)`);
  return e instanceof ClientError ? e : new ClientError(`${path}: ${e.message}`);
}

function exchange(path: string, body: RequestBody, onStream: (reply: Streamed) => void): Promise<Final> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let buffered = "";
    let settled = false;
    socket.setEncoding("utf8");
    socket.once("connect", () => socket.write(`${JSON.stringify({ id: 1, ...body })}\n`));
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const reply = JSON.parse(buffered.slice(0, nl)) as Reply;
        buffered = buffered.slice(nl + 1);
        if ("ok" in reply) {
          settled = true;
          socket.end();
          return resolve(reply);
        }
        onStream(reply);
      }
    });
    socket.once("error", (e) => {
      if (!settled) reject(e);
    });
    socket.once("close", () => {
      if (!settled) reject(new ClientError("the server closed the connection before answering"));
    });
  });
}
