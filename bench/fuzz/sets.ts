// Runs set cases (bench/fuzz/service-cases.ts) in worker threads, so that a case that
// never ends is a finding (a hang, named by its index) and not the end of the run: a
// worker that makes no progress for `hangMs` is ended and a new one goes on after it.

import { Worker } from "node:worker_threads";
import type { Finding } from "./requests.js";
import type { SetJob, SetMessage } from "./sets-worker.js";

export interface SetFuzzOptions {
  seed: number;
  start: number;
  count: number;
  /** Worker threads at once. */
  jobs: number;
  hangMs?: number;
  progress?(done: number): void;
}

export interface SetFuzzOutcome {
  inputs: number;
  accepted: number;
  findings: Finding[];
}

const WORKER = new URL("./sets-worker.js", import.meta.url);
const POLL_MS = 500;

export async function fuzzSets(options: SetFuzzOptions): Promise<SetFuzzOutcome> {
  const hangMs = options.hangMs ?? 10_000;
  const findings: Finding[] = [];
  const end = options.start + options.count;
  const share = Math.ceil(options.count / options.jobs);
  const progressOf: number[] = [];
  let accepted = 0;
  const report = (): void => options.progress?.(progressOf.reduce((a, b) => a + b, 0));

  /** Cases from..to on one worker, and on another after each hang. */
  async function run(slot: number, from: number, to: number): Promise<void> {
    let base = 0; // cases done by the workers before a hang
    while (from < to) {
      const cursor = new SharedArrayBuffer(16);
      const view = new Float64Array(cursor);
      view[0] = from;
      const worker = new Worker(WORKER, { workerData: { seed: options.seed, from, to, cursor } satisfies SetJob });
      const hungAt = await new Promise<number | null>((resolve, reject) => {
        let last = -1;
        let since = Date.now();
        const watch = setInterval(() => {
          progressOf[slot] = base + view[1]!;
          report();
          if (view[1] !== last) {
            last = view[1]!;
            since = Date.now();
          } else if (Date.now() - since > hangMs) {
            clearInterval(watch);
            void worker.terminate();
            resolve(view[0]!);
          }
        }, POLL_MS);
        worker.on("message", (m: SetMessage) => {
          if (m.kind === "failure") findings.push({ kind: m.failure.kind, from: m.failure.index, to: m.failure.index + 1, what: m.failure.what });
          else {
            clearInterval(watch);
            accepted += m.accepted;
            resolve(null);
          }
        });
        worker.once("error", (e) => {
          clearInterval(watch);
          reject(e);
        });
      });
      if (hungAt === null) {
        progressOf[slot] = base + (to - from);
        return;
      }
      findings.push({ kind: "hang", from: hungAt, to: hungAt + 1, what: `no progress within ${hangMs} ms` });
      base += hungAt + 1 - from;
      from = hungAt + 1;
    }
  }

  const slots = Array.from({ length: options.jobs }, (_, k) => [options.start + k * share, Math.min(end, options.start + (k + 1) * share)] as const).filter(([a, b]) => a < b);
  await Promise.all(slots.map(([from, to], slot) => run(slot, from, to)));
  report();
  return { inputs: options.count, accepted, findings };
}
