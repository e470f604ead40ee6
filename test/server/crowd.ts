// A crowd of hostile clients for the socket tests and bench/hostile: one process (run
// as root) that holds many connections to a control socket, each made under a uid of
// its choosing (seteuid around connect(2): the kernel records the peer's credentials
// then), that either sit idle, trickle a request one byte at a time, or follow a log.
//
//   node crowd.js SOCKET '{"uids":[60000,60001],"perUid":32,"behaviour":"idle"}'
//
// Once every connection has been admitted or refused it prints one JSON line,
// {"accepted":N,"refused":["…"],"failed":N}, then holds them until its stdin closes.

import { spawn } from "node:child_process";
import { connect, type Socket } from "node:net";
import { fileURLToPath } from "node:url";

export interface CrowdSpec {
  uids: number[];
  perUid: number;
  behaviour: "idle" | "trickle" | "follow";
  /** For `follow`: the service whose log is followed. */
  service?: string;
}

export interface CrowdReport {
  accepted: number;
  /** The error line of each connection the server refused or closed. */
  refused: string[];
  /** Connections that could not be made at all. */
  failed: number;
}

const BATCH = 64;

/** Runs a crowd in a process of its own: resolves once it has reported; `release` ends it and its connections. */
export async function startCrowd(socketPath: string, spec: CrowdSpec): Promise<{ report: CrowdReport; release: () => Promise<void> }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), socketPath, JSON.stringify(spec)], { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (out.includes("\n")) resolve(out.slice(0, out.indexOf("\n")));
    });
    void exited.then(() => reject(new Error(`the crowd exited (${String(child.exitCode ?? child.signalCode)}) before reporting`)));
  });
  return { report: JSON.parse(line) as CrowdReport, release: () => (child.stdin.end(), exited) };
}

function open(path: string, uid: number): Socket {
  process.setegid!(uid);
  process.seteuid!(uid);
  try {
    return connect(path);
  } finally {
    process.seteuid!(0);
    process.setegid!(0);
  }
}

/** A request every connection sends, as its behaviour says. */
function behave(socket: Socket, spec: CrowdSpec): void {
  // The ping's answer says that the follow, in the same write, is in flight too.
  if (spec.behaviour === "follow") socket.write(`{"id": 2, "cmd": "ping"}\n${JSON.stringify({ id: 1, cmd: "logs", name: spec.service, follow: true, lines: 0 })}\n`);
  if (spec.behaviour === "trickle") {
    const text = '{"id": 1, "cmd": "status", "pad": "';
    let at = 0;
    const timer = setInterval(() => (socket.writable ? socket.write(text[at++ % text.length]!) : clearInterval(timer)), 1000);
    socket.once("close", () => clearInterval(timer));
  }
}

async function main(): Promise<void> {
  const [path, json] = process.argv.slice(2) as [string, string];
  const spec = JSON.parse(json) as CrowdSpec;
  const refused: string[] = [];
  const sockets: Socket[] = [];
  let failed = 0;
  const uids = spec.uids.flatMap((uid) => Array<number>(spec.perUid).fill(uid));
  // In batches, each connected before the next: a listen backlog overflowing is not what is tested.
  for (let start = 0; start < uids.length; start += BATCH) {
    const batch = uids.slice(start, start + BATCH).map((uid) => {
      const socket = open(path, uid);
      socket.setEncoding("utf8");
      socket.on("error", () => {});
      socket.on("data", (chunk: string) => {
        for (const line of chunk.split("\n")) {
          if (line.includes('"ok":false')) refused.push((JSON.parse(line) as { error: string }).error);
        }
      });
      socket.once("connect", () => behave(socket, spec));
      return socket;
    });
    await Promise.all(batch.map((s) => new Promise((resolve) => s.once("connect", resolve).once("error", () => resolve(failed++)))));
    sockets.push(...batch);
  }
  // A follower is in flight once its ping is answered (or it was refused: an answer too).
  if (spec.behaviour === "follow") await Promise.all(sockets.map((s) => new Promise((resolve) => s.once("data", resolve).once("close", resolve))));
  // The server admits connections in the order they came: once a later one is answered,
  // every earlier one was admitted or refused, and what was written to those is readable now.
  await new Promise<void>((resolve) => {
    const probe = connect(path, () => probe.write('{"id": 1, "cmd": "ping"}\n'));
    const done = (): void => {
      probe.destroy();
      setImmediate(resolve);
    };
    probe.once("data", done).once("error", done).once("close", done);
  });
  await new Promise((resolve) => setImmediate(resolve));
  const report: CrowdReport = { accepted: sockets.length - failed - refused.length, refused, failed };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.stdin.resume();
  process.stdin.once("end", () => {
    for (const s of sockets) s.destroy();
    process.exit(0);
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) void main();
