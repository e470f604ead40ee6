// A worker thread of `npm run fuzz -- --only sets`: runs set cases from..to and posts
// what failed. The index it is on is kept in shared memory, so that the main thread
// can name the case of a hang (a worker stuck in a case posts nothing) and end it.

import { parentPort, workerData } from "node:worker_threads";
import { runSetCase } from "./service-cases.js";

export interface SetJob {
  seed: number;
  from: number;
  to: number;
  /** [0]: the case being run; [1]: how many are done. */
  cursor: SharedArrayBuffer;
}

export interface SetFailure {
  index: number;
  /** An AssertionError is a broken property ("wrong"); anything else thrown is a crash. */
  kind: "crash" | "wrong";
  what: string;
}

export type SetMessage = { kind: "failure"; failure: SetFailure } | { kind: "done"; accepted: number };

/** What runSetCase puts first in its messages: the main thread says which case itself. */
const CONTEXT = /^seed \d+, set \d+ \(replay: [^)]*\): /;

const job = workerData as SetJob;
const cursor = new Float64Array(job.cursor);
let accepted = 0;
for (let i = job.from; i < job.to; i++) {
  cursor[0] = i;
  try {
    if (runSetCase(job.seed, i).accepted) accepted++;
  } catch (e) {
    const kind = (e as Error).name === "AssertionError" && !(e as Error).message.includes(" threw ") ? "wrong" : "crash";
    parentPort!.postMessage({ kind: "failure", failure: { index: i, kind, what: (e as Error).message.replace(CONTEXT, "").split("\n")[0]!.slice(0, 300) } } satisfies SetMessage);
  }
  cursor[1] = i + 1 - job.from;
}
parentPort!.postMessage({ kind: "done", accepted } satisfies SetMessage);
