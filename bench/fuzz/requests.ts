// Sends malformed control requests (bench/fuzz/request-cases.ts) to a running server,
// in batches over several connections at once, and says what went wrong: the server
// died (a crash), a reply that is an internal error (a crash the server caught), a
// batch whose closing ping was not answered in time (a hang), a reply line that is not
// JSON with an id (wrong). Used by `npm run fuzz` and by the fast slice in the tests.

import { connect, type Socket } from "node:net";
import { caseRandom } from "../../test/prng.js";
import { requestCase } from "./request-cases.js";

export interface RequestFuzzOptions {
  seed: number;
  /** The first case's index, and how many. */
  start: number;
  count: number;
  /** The server's control socket. */
  socket: string;
  /** Whether the server still runs (a crash when not). */
  alive(): boolean;
  /** Connections used at once. */
  lanes?: number;
  /** Cases per connection. */
  batch?: number;
  /** How long the closing ping of a batch may take. */
  hangMs?: number;
  /** Called with the number of cases done, now and then. */
  progress?(done: number): void;
  /** The server died: start another one (resolves when it answers), or throw to end the run. */
  restart?(): Promise<void>;
}

export interface Finding {
  kind: "crash" | "hang" | "wrong";
  /** The cases that may hold the culprit: one index, or the batch that was in flight. */
  from: number;
  to: number;
  what: string;
}

export interface RequestFuzzOutcome {
  inputs: number;
  findings: Finding[];
  /** Connections the server closed after a line over the request limit, as it should. */
  closedByServer: number;
}

/** The id of a batch's closing ping: above every case's index. */
const PING_ID = 2 ** 52;

interface Lane {
  socket: Socket;
  closed: boolean;
  /** Resolves when the reply to PING_ID arrives or the connection closes. */
  pinged: Promise<"answered" | "closed">;
}

export async function fuzzRequests(options: RequestFuzzOptions): Promise<RequestFuzzOutcome> {
  const { seed, start, count } = options;
  const lanes = options.lanes ?? 8;
  const batch = options.batch ?? 500;
  const hangMs = options.hangMs ?? 10_000;
  const findings: Finding[] = [];
  let closedByServer = 0;
  let next = start;
  let done = 0;
  const end = start + count;

  /** A connection that checks every reply line as it comes. */
  function open(from: number, to: number): Promise<Lane> {
    return new Promise((resolve, reject) => {
      const socket = connect(options.socket);
      let buffered = "";
      let answer: (how: "answered" | "closed") => void = () => {};
      const lane: Lane = { socket, closed: false, pinged: new Promise((r) => (answer = r)) };
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => {
        buffered += chunk;
        for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          let reply: { id?: unknown; error?: unknown };
          try {
            reply = JSON.parse(line) as typeof reply;
          } catch {
            findings.push({ kind: "wrong", from, to, what: `a reply that is not JSON: ${line.slice(0, 200)}` });
            continue;
          }
          if (typeof reply.id !== "number") findings.push({ kind: "wrong", from, to, what: `a reply without a numeric id: ${line.slice(0, 200)}` });
          if (typeof reply.error === "string" && reply.error.startsWith("internal error")) {
            const at = typeof reply.id === "number" && reply.id >= from && reply.id < to ? reply.id : null;
            findings.push({ kind: "crash", from: at ?? from, to: at === null ? to : at + 1, what: reply.error.slice(0, 300) });
          }
          if (reply.id === PING_ID) answer("answered");
        }
      });
      socket.on("error", () => {});
      socket.on("close", () => {
        lane.closed = true;
        answer("closed");
      });
      socket.once("connect", () => resolve(lane));
      socket.once("error", reject);
    });
  }

  /** Writes, waiting for the socket to drain (or close: a server that hung up takes nothing more). */
  async function write(lane: Lane, bytes: Buffer): Promise<void> {
    if (lane.closed || lane.socket.write(bytes)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        lane.socket.off("drain", done);
        lane.socket.off("close", done);
        resolve();
      };
      lane.socket.on("drain", done);
      lane.socket.on("close", done);
    });
  }

  /** Ends a connection with a ping: answered, closed by the server, or a hang. */
  async function finish(lane: Lane, from: number, to: number, expectClose: boolean): Promise<void> {
    await write(lane, Buffer.from(`${JSON.stringify({ id: PING_ID, cmd: "ping" })}\n`));
    let timer: NodeJS.Timeout | undefined;
    const how = await Promise.race([lane.pinged, new Promise<"hang">((r) => (timer = setTimeout(() => r("hang"), hangMs)))]);
    clearTimeout(timer);
    lane.socket.destroy();
    if (how === "hang" && options.alive()) findings.push({ kind: "hang", from, to, what: `the ping after cases ${from}–${to - 1} had no answer within ${hangMs} ms` });
    if (how === "closed" && expectClose) closedByServer++;
  }

  async function runBatch(from: number, to: number): Promise<void> {
    let lane = await open(from, to);
    let laneFrom = from;
    for (let i = from; i < to; i++) {
      const c = requestCase(caseRandom(seed, i), i);
      if (!c.closes) {
        await write(lane, c.bytes);
        continue;
      }
      // A line over the limit closes its connection: it gets one of its own.
      await finish(lane, laneFrom, i, false);
      const alone = await open(i, i + 1);
      await write(alone, c.bytes);
      await finish(alone, i, i + 1, true);
      lane = await open(i + 1, to);
      laneFrom = i + 1;
    }
    await finish(lane, laneFrom, to, false);
  }

  async function runLane(): Promise<void> {
    while (next < end) {
      const from = next;
      const to = Math.min(end, from + batch);
      next = to;
      try {
        await runBatch(from, to);
      } catch (e) {
        if (options.alive()) findings.push({ kind: "wrong", from, to, what: `cannot talk to the server: ${(e as Error).message}` });
      }
      if (!options.alive()) {
        findings.push({ kind: "crash", from, to, what: "the server died" });
        try {
          if (options.restart === undefined) throw new Error("no restart asked for");
          await options.restart();
        } catch (e) {
          findings.push({ kind: "crash", from, to, what: `the run ends: no server after the one that died (${(e as Error).message})` });
          next = end;
          return;
        }
      }
      done += to - from;
      options.progress?.(done);
    }
  }

  await Promise.all(Array.from({ length: lanes }, runLane));
  return { inputs: done, findings, closedByServer };
}
