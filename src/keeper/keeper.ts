// The server's end of the keeper (docs/keeper-protocol.md): find the binary, connect
// to the keeper of this run directory or start one, say hello and read its table;
// then carry messages both ways. The keeper outlives a server that dies, so the
// connection may find one already running. The supervisor is this module's only user.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { connect, Socket } from "node:net";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { hasEnded } from "../system/processes.js";
import { Decoder, FramingError, PROTOCOL_VERSION, encodeMessage, parseKeeperMessage, type KeeperMessage, type ServerMessage } from "./protocol.js";

/** The keeper's socket, in the run directory. */
export const KEEPER_SOCKET = "keeper.sock";
/** Where `npm run build` puts the binary, from the package's directory. */
const BINARY = join("dist", "keeper", "tend-keeper");
/** How long a keeper may take to listen once started, and to answer hello with its table. */
const START_DEADLINE_MS = 10_000;

export type Proc = Extract<KeeperMessage, { type: "proc" }>;
export type Exited = Extract<KeeperMessage, { type: "exited" }>;

export interface KeeperOptions {
  /** The socket path (RUN/keeper.sock). */
  socket: string;
  /** `fallback`: tell a keeper this server starts not to use cgroups. */
  tracking: "auto" | "fallback";
  /** Sent right after hello: before the keeper reads the server's own output, it knows the console's format. */
  settings: Extract<ServerMessage, { type: "settings" }>;
  log(line: string): void;
  /** The connection closed when no shutdown was asked for: the keeper died. */
  lost(why: string): void;
}

export interface Keeper {
  pid: number;
  tracking: "cgroup" | "fallback";
  /** The keeper's own cgroup, when it tracks with cgroups. */
  cgroup: string | null;
  /** How this server reached it: it started it, found it running (it outlived a previous server), or was started by it (`--server`, handed the connection). */
  reached: "started" | "found" | "parent";
  /** The table: live processes, and exits no server acknowledged. */
  procs: Proc[];
  exits: Exited[];
  /** False once the connection is lost (the message is dropped). Throws EncodeError for a message no frame can carry. */
  send(message: ServerMessage): boolean;
  /** Where every message after the table goes, in order (those that came before this is called are passed on at once). */
  onMessage(listener: (message: KeeperMessage) => void): void;
  /** Sends `shutdown`; resolves true once the keeper is gone, false at the deadline. */
  shutdown(timeoutMs: number): Promise<boolean>;
}

/** The keeper binary: TEND_KEEPER, else `dist/keeper/tend-keeper` in the first directory above this module that has one. */
export function findKeeper(env: NodeJS.ProcessEnv = process.env, from: string = import.meta.url): string {
  if (env.TEND_KEEPER) return env.TEND_KEEPER;
  // This module runs from the CLI bundle (dist/bin/chunks/) and from tsc's output (dist/src/keeper/).
  const start = dirname(fileURLToPath(from));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, BINARY))) return join(dir, BINARY);
    if (dir === dirname(dir)) throw new Error(`cannot find ${BINARY} in any directory above ${start}: build it with 'npm run build', or set TEND_KEEPER`);
  }
}

/**
 * The connection a keeper that runs this server handed it (fd 3 of a socket pair, named
 * by TEND_KEEPER_FD: docs/keeper-protocol.md), or null. Taken once, and out of the
 * environment, so that nothing this server runs inherits the name of a closed fd.
 */
function inheritedConnection(): Socket | null {
  const fd = process.env.TEND_KEEPER_FD;
  delete process.env.TEND_KEEPER_FD;
  if (fd === undefined || !/^\d+$/.test(fd)) return null;
  return new Socket({ fd: Number(fd), readable: true, writable: true });
}

/** Connects to the keeper that runs this server, or to the run directory's, starting one when none listens. Throws with a message for the log. */
export async function openKeeper(options: KeeperOptions): Promise<Keeper> {
  const parent = inheritedConnection();
  if (parent !== null) return greet(parent, null, options, true);
  const running = await tryConnect(options.socket);
  if (running !== null) return greet(running, null, options);
  const child = await startKeeper(findKeeper(), options);
  try {
    const socket = await tryConnect(options.socket);
    if (socket === null) throw new Error(`the keeper said it was ready, but nothing listens on ${options.socket}`);
    return await greet(socket, child, options);
  } catch (e) {
    child.kill("SIGTERM"); // with no server connected, it stops what it runs (nothing yet) and exits
    throw e;
  }
}

/** A connection to `path`, or null when no keeper listens there. */
function tryConnect(path: string): Promise<Socket | null> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", (e: NodeJS.ErrnoException) => {
      socket.destroy();
      if (e.code === "ENOENT" || e.code === "ECONNREFUSED") resolve(null);
      else reject(new Error(`cannot connect to the keeper at ${path}: ${e.message}`));
    });
  });
}

/** Starts a keeper in a session of its own (so that a ^C meant for the server does not reach it) and waits for `ready`. */
function startKeeper(binary: string, options: KeeperOptions): Promise<ChildProcess> {
  const args = ["--socket", options.socket, "--ready-fd", "3"];
  if (options.tracking === "fallback") args.push("--tracking", "fallback");
  const child = spawn(binary, args, { detached: true, stdio: ["ignore", "inherit", "inherit", "pipe"] });
  const readyFd = child.stdio[3] as Readable;
  return new Promise((resolve, reject) => {
    let said = "";
    const timer = setTimeout(() => fail(`did not say it was ready within ${START_DEADLINE_MS / 1000}s`), START_DEADLINE_MS);
    const settle = (): void => {
      clearTimeout(timer);
      readyFd.destroy();
      child.removeListener("exit", onExit);
      child.removeListener("error", onError);
    };
    const fail = (why: string): void => {
      settle();
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      reject(new Error(`the keeper (${binary}) ${why}`));
    };
    const onExit = (code: number | null, signal: string | null): void => fail(`exited ${code === null ? `on ${signal}` : `with status ${code}`} before it was ready`);
    const onError = (e: Error): void => fail(`could not be started: ${e.message}`);
    child.once("exit", onExit);
    child.once("error", onError);
    readyFd.setEncoding("utf8");
    readyFd.on("data", (text: string) => {
      said += text;
      if (!said.includes("ready\n")) return;
      settle();
      // It lives on if the server dies: the server's event loop must not wait for it.
      child.unref();
      resolve(child);
    });
    readyFd.on("error", () => {}); // its end closing is expected; the exit says more
  });
}

/** Sends hello and reads the keeper's hello and table; then hands every message on. */
function greet(socket: Socket, child: ChildProcess | null, options: KeeperOptions, inherited = false): Promise<Keeper> {
  const decoder = new Decoder(parseKeeperMessage);
  const procs: Proc[] = [];
  const exits: Exited[] = [];
  let hello: Extract<KeeperMessage, { type: "hello" }> | null = null;
  let keeper: Keeper | null = null;
  let listener: ((message: KeeperMessage) => void) | null = null;
  const early: KeeperMessage[] = [];
  let shuttingDown = false;
  let closed = false;
  const outgoing: Buffer[] = [];
  const flushOutgoing = (): void => {
    if (!closed && !socket.destroyed) socket.write(outgoing.length === 1 ? outgoing[0]! : Buffer.concat(outgoing));
    outgoing.length = 0;
  };
  const whenClosed = new Promise<void>((resolve) =>
    socket.once("close", () => {
      closed = true;
      resolve();
    }),
  );
  const whenExited =
    child === null ? null : new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())));

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(`the keeper did not answer hello with its table within ${START_DEADLINE_MS / 1000}s`), START_DEADLINE_MS);
    const fail = (why: string): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(why));
    };

    const receive = (message: KeeperMessage): void => {
      if (keeper !== null) {
        if (listener === null) return void early.push(message);
        try {
          listener(message);
        } catch (e) {
          options.log(`internal error handling the keeper's '${message.type}': ${(e as Error).stack ?? e}`);
        }
        return;
      }
      if (hello === null) {
        if (message.type === "hello" && message.version === PROTOCOL_VERSION) hello = message;
        else if (message.type === "hello") fail(`the keeper speaks protocol version ${message.version}; this server speaks ${PROTOCOL_VERSION}`);
        else fail(`the keeper answered hello with '${message.type}'${message.type === "error" ? `: ${message.message}` : ""}`);
        return;
      }
      if (message.type === "proc") procs.push(message);
      else if (message.type === "exited") exits.push(message);
      else if (message.type === "table-end") {
        clearTimeout(timer);
        keeper = connected(hello);
        resolve(keeper);
      } else options.log(`the keeper sent '${message.type}' in its table; ignored`);
    };

    const connected = (h: NonNullable<typeof hello>): Keeper => ({
      pid: h.pid,
      tracking: h.tracking,
      cgroup: h.cgroup,
      reached: child !== null ? "started" : inherited ? "parent" : "found",
      procs,
      exits,
      send(message) {
        const frame = encodeMessage(message);
        if (closed || socket.destroyed) return false;
        // What one turn of the server sends (500 spawns, their notes) goes in one write.
        if (outgoing.length === 0) queueMicrotask(flushOutgoing);
        outgoing.push(frame);
        return true;
      },
      onMessage(l) {
        listener = l;
        for (const m of early.splice(0)) l(m);
      },
      async shutdown(timeoutMs) {
        shuttingDown = true;
        flushOutgoing();
        if (!closed) socket.write(encodeMessage({ type: "shutdown" }));
        const deadline = Date.now() + timeoutMs;
        let timeout: NodeJS.Timeout | undefined;
        const late = new Promise<false>((r) => (timeout = setTimeout(() => r(false), timeoutMs)));
        // Gone means its connection closed and its process ended (reaped by us when we started
        // it). A keeper that runs this server (--server) waits for the server to exit: its
        // connection closing is its last word.
        const gone = (async (): Promise<true> => {
          await whenClosed;
          if (whenExited !== null) await whenExited;
          else if (h.pid !== process.ppid) while (!hasEnded(h.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
          return true;
        })();
        try {
          return await Promise.race([gone, late]);
        } finally {
          clearTimeout(timeout);
          socket.destroy();
        }
      },
    });

    socket.on("data", (chunk: Buffer) => {
      let decoded;
      try {
        decoded = decoder.push(chunk);
      } catch (e) {
        if (!(e instanceof FramingError)) throw e;
        options.log(`the keeper's stream cannot be read any more (${e.message}): closing the connection`);
        socket.destroy();
        return;
      }
      for (const d of decoded) {
        if (d.ok) receive(d.message);
        else options.log(`the keeper sent a message this server cannot read: ${d.error}`);
      }
    });
    socket.on("error", () => {}); // the close that follows says what matters
    socket.once("close", () => {
      if (keeper === null) return fail("the keeper closed the connection before sending its table");
      if (shuttingDown) return;
      const cut = decoder.pending() > 0 ? " in the middle of a message" : "";
      options.lost(`the connection to the keeper (pid ${keeper.pid}) closed unexpectedly${cut}`);
    });
    socket.write(Buffer.concat([encodeMessage({ type: "hello", version: PROTOCOL_VERSION }), encodeMessage(options.settings)]));
  });
}
