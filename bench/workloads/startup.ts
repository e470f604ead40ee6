// Startup: what a `tend` call costs as a whole process, against Node's own floor.
//   node -e 0             the floor: Node starting and exiting
//   node empty.mjs        the floor for an ES module entry point (the whole CLI is one)
//   tend --version        the CLI entry alone
//   tend check examples   a real command on the repository's examples/
// Runs are interleaved (all cases each round, in shuffled order), so that drift in the
// machine's load touches every case alike. The overhead rows are medians of the
// per-round differences against `node -e 0`; the goal is tend check examples within
// Node's start-up + 50 ms.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pairedDifferences } from "../lib/stats.js";
import { timeInterleaved, type Command } from "../lib/proc.js";
import { rng } from "../lib/prng.js";
import { makeTempDir, removeTempDir } from "../lib/tmp.js";
import { caseResult, repetitions, type Workload } from "../lib/workload.js";

/** tend's budget above Node's start-up. */
const OVERHEAD_GOAL_MS = 50;
const WARMUP_ROUNDS = 2;

export const startup: Workload = {
  name: "startup",
  title: "whole-process wall time of short tend commands vs node -e 0",
  async run(ctx) {
    const runs = repetitions(ctx, 40, 15);
    const node = process.execPath;
    const tmp = makeTempDir("startup");
    try {
      // An empty ES module: the ESM loader costs a few ms more than `-e 0`; this row
      // tells Node's share of tend's start-up from tend's own.
      const emptyModule = join(tmp, "empty.mjs");
      writeFileSync(emptyModule, "");
      const commands: Command[] = [
        { label: "node -e 0", file: node, args: ["-e", "0"] },
        { label: "node empty.mjs", file: node, args: [emptyModule] },
        { label: "tend --version", file: node, args: [ctx.tend, "--version"] },
        { label: "tend check examples", file: node, args: [ctx.tend, "check", join(ctx.root, "examples")], cwd: ctx.root },
      ];
      ctx.log(`startup: ${commands.length} cases × ${runs} runs, interleaved`);
      const r = rng(0x5eed);
      const samples = await timeInterleaved(commands, runs, {
        round: ctx.round,
        warmup: WARMUP_ROUNDS,
        shuffle: (items) => r.shuffle(items),
        check: (cmd, t) => {
          if (cmd.label === "tend check examples" && !/^accepted: /m.test(t.stdout)) {
            throw new Error(`tend check examples did not accept the examples:\n${t.stdout}${t.stderr}`);
          }
          if (cmd.label === "tend --version" && !/^tend \d/.test(t.stdout)) throw new Error(`unexpected tend --version output: ${t.stdout}`);
        },
      });
      const get = (label: string): number[] => samples.get(label)!;
      const floor = get("node -e 0");
      return {
        cases: [
          caseResult("startup", "node -e 0", "node", floor, null, "the floor"),
          caseResult("startup", "node empty.mjs", "node", get("node empty.mjs"), null, "the floor for an ES module entry"),
          caseResult("startup", "tend --version", "tend", get("tend --version")),
          caseResult("startup", "tend check examples", "tend", get("tend check examples")),
          caseResult("startup", "tend --version − node", "tend", pairedDifferences(get("tend --version"), floor), null, "per-round difference"),
          caseResult(
            "startup",
            "tend check examples − node",
            "tend",
            pairedDifferences(get("tend check examples"), floor),
            { text: `≤ ${OVERHEAD_GOAL_MS} ms`, max: OVERHEAD_GOAL_MS },
            "per-round difference",
          ),
        ],
        details: { commands: commands.map((c) => [c.file, ...c.args].join(" ")), warmupRounds: WARMUP_ROUNDS },
      };
    } finally {
      removeTempDir(tmp);
    }
  },
};
