// The client side of the control protocol: one request, any number of progress or
// log lines, one final reply. Every CLI command that talks to the server uses this,
// and gets the result its command's entry in the protocol's table says.

import { connect } from "node:net";
import { join } from "node:path";
import type { Places } from "../places.js";
import { UserError } from "./errors.js";
import { CONTROL_SOCKET, STATUS_SOCKET, type Command, type Final, type Reply, type RequestOf, type ResultOf, type Streamed } from "../server/protocol.js";

/** What a request of `C` holds besides its id and command. */
export type Fields<C extends Command> = C extends Command ? Omit<RequestOf<C>, "id" | "cmd"> : never;
/** A request as the CLI writes it (the id is the client's to give); for several commands, one of theirs. */
export type RequestBody<C extends Command = Command> = C extends Command ? { cmd: C } & Fields<C> : never;

/** The server cannot be reached, or answered something unexpected. */
export class ClientError extends UserError {}
/** Nothing listens on the socket: no server runs for this root (yet, or any more). */
export class NoServerError extends ClientError {}
/** The server refused a request, with its reason. */
export class CommandError extends UserError {}

/** Sends `body` and resolves with its result; a refusal is a CommandError with the server's reason. */
export async function request<C extends Command>(places: Places, body: { cmd: C } & Fields<C>, onStream?: (reply: Streamed) => void): Promise<ResultOf<C>> {
  const reply = await call(places, body, onStream);
  if (!reply.ok) throw new CommandError(reply.error);
  return reply.result;
}

/**
 * As `request`, waiting until `deadline` (ms since the epoch) for a server to listen at
 * all: a container's startup probe or a script may run before it does. `body` is given
 * the ms left.
 */
export async function requestOnceListening<C extends Command>(places: Places, deadline: number, body: (left: number) => { cmd: C } & Fields<C>): Promise<ResultOf<C>> {
  for (;;) {
    const left = Math.max(0, deadline - Date.now());
    try {
      return await request(places, body(left));
    } catch (e) {
      if (!(e instanceof NoServerError) || left === 0) throw e;
      await new Promise((r) => setTimeout(r, Math.min(100, left)));
    }
  }
}

/**
 * Sends `body` and resolves with the final reply; `onStream` sees every line before it.
 * Every failure is a ClientError of one line: no server, refused, reset, a garbled reply.
 */
export async function call<C extends Command>(places: Places, body: { cmd: C } & Fields<C>, onStream: (reply: Streamed) => void = () => {}): Promise<Final<C>> {
  // Nothing ends this exchange but its final reply (no AbortController: making one costs a command a module load).
  return (await subscribe(places, body, (reply) => void onStream(reply), null))!;
}

/**
 * As `call`, for a stream the client may end: when `onStream` returns true, or `stop` is
 * aborted (Ctrl-C), the connection is closed and this resolves with null. A null `stop`: only `onStream` ends it.
 */
export async function subscribe<C extends Command>(
  places: Places,
  body: { cmd: C } & Fields<C>,
  onStream: (reply: Streamed) => boolean | void,
  stop: AbortSignal | null,
): Promise<Final<C> | null> {
  const control = join(places.run, CONTROL_SOCKET);
  try {
    return await exchange(control, body, onStream, stop);
  } catch (e) {
    // Who may not use control.sock asks on the status socket, where the server checks each request by its peer.
    if ((e as NodeJS.ErrnoException).code !== "EACCES") throw explain(e as NodeJS.ErrnoException, control);
  }
  const status = join(places.run, STATUS_SOCKET);
  try {
    return await exchange(status, body, onStream, stop);
  } catch (e) {
    throw explain(e as NodeJS.ErrnoException, status);
  }
}

function explain(e: NodeJS.ErrnoException, path: string): Error {
  if (e instanceof ClientError) return e;
  switch (e.code) {
    case "ENOENT":
    case "ECONNREFUSED":
      return new NoServerError(`no tend server is running for this root (no socket at ${path}); start one with 'tend daemon' or 'tend boot'`);
    case "EACCES":
      return new ClientError(`permission denied on ${path}: ask root for access ('control-group' in tend.conf, or 'allow' in a service file)`);
    case "EAGAIN":
      return new ClientError(`the server at ${path} is not accepting connections now (too many waiting); try again`);
    case "ECONNRESET":
    case "EPIPE":
      return new ClientError(`the server at ${path} closed the connection before answering`);
    default:
      return new ClientError(`${path}: ${e.message}`);
  }
}

function exchange<C extends Command>(path: string, body: { cmd: C } & Fields<C>, onStream: (reply: Streamed) => boolean | void, stop: AbortSignal | null): Promise<Final<C> | null> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let buffered = "";
    let settled = false;
    const end = (): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(null);
    };
    if (stop?.aborted === true) return end();
    stop?.addEventListener("abort", end, { once: true });
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(error);
    };
    socket.setEncoding("utf8");
    socket.once("connect", () => socket.write(`${JSON.stringify({ id: 1, ...body })}\n`));
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf("\n"); nl >= 0 && !settled; nl = buffered.indexOf("\n")) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const reply = parseReply(line);
        if (reply === null) return fail(new ClientError(`the server at ${path} sent a line that is not a reply: ${JSON.stringify(line.slice(0, 80))}`));
        if ("ok" in reply) {
          settled = true;
          // Closed at once: the final reply is the server's last word, and a half-close
          // would keep the process waiting for the server's end to come back (a turn of
          // its loop) before it may exit.
          socket.destroy();
          // The server answers a request of C with C's result (the protocol's table): this is where the client takes its word.
          return resolve(reply as Final<C>);
        }
        if (onStream(reply) === true) return end();
      }
    });
    socket.once("error", fail);
    socket.once("close", () => fail(new ClientError(`the server at ${path} closed the connection before answering`)));
  });
}

/** A reply line, or null for anything that is not a JSON object. */
function parseReply(line: string): Reply | null {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Reply) : null;
  } catch {
    return null;
  }
}
