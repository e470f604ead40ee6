// A minimal client of tend's control protocol (docs/protocol.md) that keeps one
// connection open and may have many requests in flight on it: W4 sends events over it
// directly (no CLI process), one at a time for latency and pipelined for throughput.

import { connect, type Socket } from "node:net";

export interface FinalReply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

export class ControlClient {
  private socket: Socket;
  private buffered = "";
  private nextId = 1;
  private readonly pending = new Map<number, (reply: FinalReply) => void>();
  private failure: Error | null = null;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.onData(chunk));
    const fail = (e: Error): void => {
      this.failure = e;
      for (const [id, resolve] of this.pending) resolve({ id, ok: false, error: e.message });
      this.pending.clear();
    };
    socket.on("error", fail);
    socket.on("close", () => fail(new Error("the server closed the connection")));
  }

  static open(path: string): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      socket.once("connect", () => {
        socket.removeListener("error", reject);
        resolve(new ControlClient(socket));
      });
      socket.once("error", reject);
    });
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    let start = 0;
    for (let nl = this.buffered.indexOf("\n"); nl >= 0; nl = this.buffered.indexOf("\n", start)) {
      const line = this.buffered.slice(start, nl);
      start = nl + 1;
      // Only final replies matter here; stream lines (progress, affected) are skipped.
      if (!line.includes('"ok":')) continue;
      const reply = JSON.parse(line) as FinalReply;
      if (!("ok" in reply)) continue;
      const resolve = this.pending.get(reply.id);
      if (resolve !== undefined) {
        this.pending.delete(reply.id);
        resolve(reply);
      }
    }
    this.buffered = this.buffered.slice(start);
  }

  /** Sends one request; resolves with its final reply. */
  request(body: Record<string, unknown>): Promise<FinalReply> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.socket.write(`${JSON.stringify({ id, ...body })}\n`);
    });
  }

  /** Requests in flight. */
  get inFlight(): number {
    return this.pending.size;
  }

  close(): void {
    this.socket.end();
  }

  /**
   * Closes the connection now, not when the event loop next turns (as end() does): a
   * caller that blocks its loop next (a timed stop, polled synchronously) would leave
   * the server a connection it gives a second to close at shutdown.
   */
  destroy(): void {
    this.socket.destroy();
  }
}
