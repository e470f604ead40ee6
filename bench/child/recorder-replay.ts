// A child program of the recorder workload: W1's steps for tend — `tend start` of a set
// of independent longruns, each spawned then ready (fd), then `tend stop` of it, each
// exit reported — replayed through the engine and the server's timings recorder
// (src/server/timings.ts `stepped`) in the order the server's loop calls them, the
// engine's steps and the recorder's timed apart, and then the record's write. No
// processes: the keeper's answers are queued behind the step that asked for them, as
// the server queues facts. A fresh process, as W1's fresh server: its first cycle is cold.
//
//   node dist/bench/child/recorder-replay.js SOURCE_DIR BUNDLE CYCLES STATE_DIR
//     → {"cycles":[{"engine":{"start":ms,"stop":ms},"recorder":{"start":ms,"stop":ms},"write":ms,"steps":{"start":n,"stop":n}}, …]}

import { compile } from "../../src/compile/compile.js";
import { installDatabase } from "../../src/compile/database.js";
import { createEngine, step } from "../../src/engine/engine.js";
import type { Fact } from "../../src/engine/types.js";
import { openTimings } from "../../src/server/timings.js";

const [sourceDir, bundle, cycles, stateDir] = process.argv.slice(2);
if (sourceDir === undefined || bundle === undefined || cycles === undefined || stateDir === undefined) throw new Error("usage: recorder-replay.js SOURCE_DIR BUNDLE CYCLES STATE_DIR");
const compiled = compile({ sourceDir, hostChecks: false }).compiled;
if (compiled === null) throw new Error(`${sourceDir} does not compile`);
const db = installDatabase(stateDir, compiled).database;

let clock = Date.now();
const engine = createEngine(db, clock);
const timings = openTimings(stateDir, (line) => process.stderr.write(`${line}\n`), (line) => process.stderr.write(`${line}\n`), () => clock);
let pid = 1000;
const ns = (): bigint => process.hrtime.bigint();

/** One command and every fact it leads to: the engine's and the recorder's time in ms, and the steps. */
function replay(command: Fact): { engine: number; recorder: number; steps: number } {
  const queue: Fact[] = [command];
  let engineNs = 0n;
  let recorderNs = 0n;
  let steps = 0;
  for (let fact = queue.shift(); fact !== undefined; fact = queue.shift()) {
    const timed = { ...fact, now: (clock += 0.05) };
    const t0 = ns();
    const actions = step(engine, timed);
    const t1 = ns();
    timings.stepped(timed, actions, engine);
    engineNs += t1 - t0;
    recorderNs += ns() - t1;
    steps++;
    for (const a of actions) {
      if (a.kind === "spawn") queue.push({ kind: "spawned", service: a.service, pid: ++pid }, { kind: "ready", service: a.service, pid });
      else if (a.kind === "signal") queue.push({ kind: "exited", service: a.service, pid: a.pid, status: { code: null, signal: a.signal } });
    }
  }
  return { engine: Number(engineNs) / 1e6, recorder: Number(recorderNs) / 1e6, steps };
}

const results = [];
for (let i = 0; i < Number(cycles); i++) {
  const start = replay({ kind: "start", names: [bundle] });
  const notUp = [...engine.services].filter(([, s]) => s.phase !== "up").map(([name]) => name);
  if (notUp.length > 0) throw new Error(`after the start of ${bundle}, ${notUp.length} services are not up (${notUp[0]}: ${engine.services.get(notUp[0]!)!.phase})`);
  const stop = replay({ kind: "stop", names: [bundle] });
  const t0 = ns();
  timings.save();
  const write = Number(ns() - t0) / 1e6;
  results.push({ engine: { start: start.engine, stop: stop.engine }, recorder: { start: start.recorder, stop: stop.recorder }, write, steps: { start: start.steps, stop: stop.steps } });
}
process.stdout.write(`${JSON.stringify({ cycles: results })}\n`);
