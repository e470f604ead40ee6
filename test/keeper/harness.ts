// Drives the keeper binary directly over its protocol, without a server: a keeper per
// test in a temporary directory, a connection, the messages it sent, and a cleanup
// that leaves nothing running (the keeper's processes are killed by pid, the keeper
// by its own pid, the cgroup tree it made removed by the keeper itself on shutdown).

import { spawn, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Decoder, encodeFrame, encodeMessage, parseKeeperMessage, type Frame, type KeeperMessage, type ServerMessage, type SpawnMessage } from "../../src/keeper/protocol.js";
import { REPO } from "../helpers.js";
import { alive, installForOtherUsers, waitFor } from "../server/harness.js";

export const KEEPER = process.env.TEND_KEEPER ?? join(REPO, "dist/keeper/tend-keeper");
export const IS_ROOT = process.getuid?.() === 0;

export interface Connection {
  socket: Socket;
  messages: KeeperMessage[];
  /** Frames the decoder refused (the keeper sent something malformed). */
  bad: string[];
  send(message: ServerMessage): void;
  sendFrame(frame: Frame): void;
  sendRaw(bytes: Buffer): void;
  /** The first message (from `from` on) that `match` accepts, waited for. */
  next<T extends KeeperMessage["type"]>(type: T, match?: (m: Extract<KeeperMessage, { type: T }>) => boolean, from?: number): Promise<Extract<KeeperMessage, { type: T }>>;
  closed: Promise<void>;
}

export interface Keeper {
  dir: string;
  child: ChildProcess;
  pid: number;
  socketPath: string;
  stderr(): string;
  stdout(): string;
  connect(hello?: boolean): Promise<Connection>;
  /** A spawn message with the usual defaults (PATH, a clean env, log to a file in the test dir). */
  spawnMessage(service: string, args: string[], extra?: Partial<SpawnMessage>): SpawnMessage;
  logOf(service: string): string;
  exited: Promise<number | null>;
}

export interface KeeperOptions {
  tracking?: "auto" | "fallback";
  /** Run the keeper as this user (and group) with no supplementary groups, through setpriv: it needs root. */
  user?: number;
}

export async function withKeeper(options: KeeperOptions, body: (k: Keeper) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "tend-keeper-"));
  const socketPath = join(dir, "keeper.sock");
  const args = ["--socket", socketPath, "--ready-fd", "3", "--tracking", options.tracking ?? "auto"];
  if (options.user !== undefined) chownSync(dir, options.user, options.user);
  const [program, ...rest] =
    options.user === undefined ? [KEEPER, ...args] : ["setpriv", `--reuid=${options.user}`, `--regid=${options.user}`, "--clear-groups", installForOtherUsers().keeper, ...args];
  const child = spawn(program!, rest, {
    stdio: ["ignore", "pipe", "pipe", "pipe"],
    detached: true,
  });
  let stderr = "";
  let stdout = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const pids = new Set<number>();
  const connections: Connection[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdio[3]!.once("data", () => resolve());
      child.once("exit", (code) => reject(new Error(`the keeper exited (${code}) before it was ready:\n${stderr}`)));
    });
    const keeper: Keeper = {
      dir,
      child,
      pid: child.pid!,
      socketPath,
      stderr: () => stderr,
      stdout: () => stdout,
      exited,
      async connect(hello = true) {
        const c = await open(socketPath, pids);
        connections.push(c);
        if (hello) {
          c.send({ type: "hello", version: 1 });
          await c.next("table-end");
        }
        return c;
      },
      spawnMessage: (service, args, extra = {}) => ({
        type: "spawn",
        service,
        role: "main",
        file: args[0]!,
        args,
        env: ["PATH=/usr/local/bin:/usr/bin:/bin", `TEND_SERVICE=${service}`],
        cwd: "/",
        umask: 0o022,
        log: "file",
        logDir: join(dir, `log-${service}`),
        logSize: 1 << 20,
        logKeep: 2,
        cgroup: `${service}.service`,
        killRest: true,
        ...extra,
      }),
      logOf: (service) => {
        const path = join(dir, `log-${service}`, "current");
        return existsSync(path) ? readFileSync(path, "utf8") : "";
      },
    };
    await body(keeper);
  } finally {
    for (const pid of pids) if (alive(pid)) killTree(pid);
    for (const c of connections) c.socket.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      // Shut it down properly so that it removes its cgroups; kill it if it will not go.
      const c = await open(socketPath, pids).catch(() => null);
      if (c !== null) {
        c.send({ type: "hello", version: 1 });
        c.send({ type: "shutdown" });
      }
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
      c?.socket.destroy();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function killTree(pid: number): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, "SIGKILL");
    } catch {
      // gone already
    }
  }
}

function open(path: string, pids: Set<number>): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const messages: KeeperMessage[] = [];
    const bad: string[] = [];
    const decoder = new Decoder(parseKeeperMessage);
    const closed = new Promise<void>((r) => socket.once("close", () => r()));
    socket.on("data", (chunk: Buffer) => {
      for (const d of decoder.push(chunk)) {
        if (!d.ok) bad.push(d.error);
        else {
          messages.push(d.message);
          // A refused main's pid is anyone's (the test's own, say): not the keeper's to clean up.
          if ("pid" in d.message && d.message.type !== "hello" && d.message.type !== "main-refused") pids.add(d.message.pid);
        }
      }
    });
    socket.on("error", () => {});
    socket.once("connect", () => {
      const c: Connection = {
        socket,
        messages,
        bad,
        closed,
        send: (m) => void socket.write(encodeMessage(m)),
        sendFrame: (f) => void socket.write(encodeFrame(f)),
        sendRaw: (b) => void socket.write(b),
        next(type, match = () => true, from = 0) {
          return waitFor(`the keeper's '${type}'`, () =>
            messages.slice(from).find((m): m is never => m.type === type && match(m as never)),
          ) as never;
        },
      };
      resolve(c);
    });
    socket.once("error", reject);
  });
}
