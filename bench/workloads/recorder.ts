// recorder: what the server's timings recorder (src/server/timings.ts, which `tend
// analyze` reads) costs over W1's steps, measured apart from the rest of the server:
// the steps of `tend start` of 500 independent longruns (each spawned, then ready) and
// of their `tend stop`, replayed through the engine and the recorder in a fresh process
// each round (bench/child/recorder-replay.ts), its first cycle cold as W1's fresh server
// meets it; the recorder's `stepped` timed apart from the engine's `step`. And the
// record's write (the whole timeline as JSON, written atomically), which the server
// does once changes have stopped for 2 s: after W1's windows, not in them.
// Issue 14's goal, the recording ≤ 2 % of W1, is judged against W1's start of 500 in
// docs/benchmarks.md: CPU time in one process is steadier on a busy machine than W1's
// wall times, which cannot resolve 2 % there.

import { join } from "node:path";
import { timeProcess } from "../lib/proc.js";
import { flatSet, writeTendSet } from "../lib/service-sets.js";
import { makeTempDir, removeTempDir } from "../lib/tmp.js";
import { caseResult, repetitions, type CaseResult, type Workload } from "../lib/workload.js";

const SIZE = 500;
/** Cycles of a start and a stop in each fresh process: the first is cold, the others warm. */
const CYCLES = 4;

interface Cycle {
  engine: { start: number; stop: number };
  recorder: { start: number; stop: number };
  write: number;
  steps: { start: number; stop: number };
}

export const recorder: Workload = {
  name: "recorder",
  title: `the timings recorder over W1's steps (start and stop of ${SIZE}), apart from the engine`,
  async run(ctx) {
    const runs = repetitions(ctx, 15, 5);
    const tmp = makeTempDir("recorder");
    try {
      const source = join(tmp, "services");
      // The program is never run: the replay has no processes.
      writeTendSet(source, flatSet(SIZE, [SIZE]), "/bin/true");
      const child = join(ctx.root, "dist", "bench", "child", "recorder-replay.js");
      ctx.log(`recorder: ${runs} fresh processes, ${CYCLES} cycles each (the first cold)`);
      const rounds: Cycle[][] = [];
      for (let i = 0; i < runs; i++) {
        const state = join(tmp, `state-${i}`);
        const t = await ctx.round(() => timeProcess({ label: "recorder replay", file: process.execPath, args: [child, source, `flat-${SIZE}`, String(CYCLES), state] }));
        if (t.status !== 0) throw new Error(`recorder replay failed:\n${t.stderr}`);
        rounds.push((JSON.parse(t.stdout) as { cycles: Cycle[] }).cycles);
      }
      const cold = rounds.map((r) => r[0]!);
      const warm = rounds.flatMap((r) => r.slice(1));
      const { start: startSteps, stop: stopSteps } = cold[0]!.steps;
      const cases: CaseResult[] = [
        caseResult("recorder", `recorder, start ${SIZE} (cold)`, "tend", cold.map((c) => c.recorder.start), null, `${startSteps} steps, a fresh process`),
        caseResult("recorder", `engine, start ${SIZE} (cold)`, "tend", cold.map((c) => c.engine.start), null, "the same steps"),
        caseResult("recorder", `recorder ÷ engine, start ${SIZE} (cold)`, "tend", cold.map((c) => c.recorder.start / c.engine.start), null, undefined, "ratio"),
        caseResult("recorder", `recorder, stop ${SIZE} (cold)`, "tend", cold.map((c) => c.recorder.stop), null, `${stopSteps} steps`),
        caseResult("recorder", `engine, stop ${SIZE} (cold)`, "tend", cold.map((c) => c.engine.stop), null, "the same steps"),
        caseResult("recorder", `recorder, start ${SIZE} (warm)`, "tend", warm.map((c) => c.recorder.start), null, `cycles 2–${CYCLES} of each process`),
        caseResult("recorder", `recorder, stop ${SIZE} (warm)`, "tend", warm.map((c) => c.recorder.stop), null, `cycles 2–${CYCLES} of each process`),
        caseResult("recorder", `record written (start + stop of ${SIZE})`, "tend", cold.map((c) => c.write), null, "JSON of the timeline, written atomically; after W1's windows"),
      ];
      return { cases, notes: [], details: { size: SIZE, cycles: CYCLES, rounds } };
    } finally {
      removeTempDir(tmp);
    }
  },
};
