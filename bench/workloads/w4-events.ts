// W4 events: an event → the service waiting for it spawned. tend's server holds a task
// `on-ping` with `start-on = bench.ping` whose command is the bench's C program in its
// `--stamp FILE` mode: the first thing it does is append CLOCK_MONOTONIC (the clock of
// Node's process.hrtime) to FILE, then it exits. So the latency of one event is the
// task's own stamp minus the moment the bench sent the event:
//   over the socket   the bench writes {"cmd":"emit","name":"bench.ping"} on one open
//                     connection to control.sock (no CLI process): the server's share;
//                     goal (issue 5): p50 under 5 ms
//   tend emit (CLI)   from spawning `node dist/bin/tend.cjs emit bench.ping` (what `tend` runs): the CLI's start-up
//                     included; `tend --version` is timed in the same rounds as the CLI's
//                     start-up, and the row "CLI − tend --version" is the difference per
//                     event (what the CLI's start-up does not explain)
// One event at a time (the next once the task's run is over: a task never overlaps
// itself), ≥ 100 per run; per run the p50 and p99 are taken, and the rows are the median
// and min–max of those over the runs (a fresh server each run).
//
// Then, on the same server, sustained events per second over one connection: events
// nobody waits for (`bench.tick SEQ=n`), 64 in flight at a time, in bursts of 20,000,
// with the server's RSS before the first burst and after each: the server keeps the
// last 1000 events, so its memory must not grow with their number.
//
// No peer has events that start services (s6, runit, supervisord and pm2 start services
// when told to, not on an event), so W4 measures tend alone.

import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, watch, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CONTROL_SOCKET } from "../../src/server/protocol.js";
import { ControlClient } from "../lib/control-client.js";
import { launchTend, COMMAND_TIMEOUT_MS, type Manager } from "../lib/managers.js";
import { cleanEnv, timeProcess } from "../lib/proc.js";
import { buildServiceProgram } from "../lib/service-program.js";
import { percentile } from "../lib/stats.js";
import { makeTempDir, removeTempDir } from "../lib/tmp.js";
import { caseResult, repetitions, type CaseResult, type Workload } from "../lib/workload.js";

const EVENT = "bench.ping";
const TASK = "on-ping";
const TICK = "bench.tick";
const GOAL = { text: "< 5 ms", max: 5, strict: true };
const WINDOW = 64;
const STAMP_TIMEOUT_MS = 10_000;

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/** The stamps (ns, monotonic) the task has written so far. */
function readStamps(file: string): bigint[] {
  const text = readFileSync(file, "utf8");
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => BigInt(l));
}

/** Waits until the stamp file holds `count` stamps; resolves with the last one. */
async function stampNumber(file: string, count: number): Promise<bigint> {
  const deadline = performance.now() + STAMP_TIMEOUT_MS;
  let stamps = readStamps(file);
  if (stamps.length >= count) return stamps[count - 1]!;
  // inotify wakes the bench as soon as the task wrote; the poll is the safety net.
  let wake: () => void = () => {};
  const watcher = watch(file, () => wake());
  try {
    while (stamps.length < count) {
      if (performance.now() > deadline) throw new Error(`the task '${TASK}' did not run within ${STAMP_TIMEOUT_MS} ms of event ${count} (${stamps.length} runs)`);
      await new Promise<void>((done) => {
        wake = done;
        setTimeout(done, 5);
      });
      stamps = readStamps(file);
    }
    return stamps[count - 1]!;
  } finally {
    watcher.close();
  }
}

/** Waits until the task's run is over (its phase no longer `running`), so that the next event starts a new run. */
async function taskIdle(client: ControlClient, runs: number): Promise<void> {
  const deadline = performance.now() + STAMP_TIMEOUT_MS;
  for (;;) {
    const reply = await client.request({ cmd: "status", names: [TASK] });
    const s = (reply.result as { services: { phase: string; runs: number }[] } | undefined)?.services[0];
    if (s !== undefined && s.phase !== "running" && s.runs >= runs) return;
    if (performance.now() > deadline) throw new Error(`the task '${TASK}' is still ${s?.phase ?? "unknown"} after run ${runs}`);
    await sleep(1);
  }
}

const hr = (): bigint => process.hrtime.bigint();
const msBetween = (a: bigint, b: bigint): number => Number(b - a) / 1e6;

interface RunResult {
  socket: number[];
  cli: number[];
  cliMinusVersion: number[];
  version: number[];
  rates: number[];
  rss: number[];
  history: { dropped: number; total: number; kept: number };
}

export const w4Events: Workload = {
  name: "w4-events",
  title: "W4: event → the task waiting for it spawned (socket and CLI), and sustained events per second with the server's RSS",
  async run(ctx) {
    const runs = repetitions(ctx, 5, 1);
    const socketEvents = 100;
    const cliEvents = ctx.quick ? 30 : 100;
    const burst = ctx.quick ? 5000 : 20_000;
    const bursts = ctx.quick ? 2 : 5;
    const tmp = makeTempDir("w4");
    try {
      const program = buildServiceProgram(tmp);
      const root = join(tmp, "root");
      const stampDir = join(tmp, "stamps");
      mkdirSync(stampDir);
      mkdirSync(join(root, "etc", "tend"), { recursive: true });
      mkdirSync(join(root, "var", "log", "tend", TASK), { recursive: true });
      const compile = (stamps: string): void => {
        writeFileSync(join(root, "etc", "tend", TASK), [`description = W4: says when it was spawned`, "type = task", `start-on = ${EVENT}`, `command = ${program} --stamp ${stamps}`, ""].join("\n"));
        const out = execFileSync(process.execPath, [ctx.tend, "compile", "--root", root], { encoding: "utf8", env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
        if (!/installed generation/.test(out)) throw new Error(`tend compile did not install W4's task:\n${out}`);
      };
      const cli = (args: string[]) => ({ label: `tend ${args.join(" ")}`, file: process.execPath, args: [ctx.tend, "--root", root, ...args], timeoutMs: COMMAND_TIMEOUT_MS });

      const oneRun = async (r: number): Promise<RunResult> => {
        const stamps = join(stampDir, `run-${r}`);
        writeFileSync(stamps, "");
        compile(stamps);
        const m: Manager = launchTend(ctx, { root, program });
        let client: ControlClient | null = null;
        try {
          client = await ControlClient.open(join(root, "run", "tend", CONTROL_SOCKET));
          let count = 0;
          const viaSocket = async (): Promise<number> => {
            const t0 = hr();
            const reply = await client!.request({ cmd: "emit", name: EVENT, values: {} });
            if (!reply.ok) throw new Error(`emit ${EVENT}: ${reply.error}`);
            const started = (reply.result as { started?: string[] } | null)?.started ?? [];
            if (!started.includes(TASK)) throw new Error(`emit ${EVENT} started ${JSON.stringify(started)}, not ${TASK}`);
            const stamp = await stampNumber(stamps, ++count);
            await taskIdle(client!, count);
            return msBetween(t0, stamp);
          };
          const viaCli = async (): Promise<[number, number]> => {
            const version = timeProcess(cli(["--version"])).ms;
            const t0 = hr();
            const p = spawnSync(process.execPath, [ctx.tend, "--root", root, "emit", EVENT], { env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", timeout: COMMAND_TIMEOUT_MS });
            if (p.status !== 0) throw new Error(`tend emit ${EVENT}: exit status ${p.status}\n${p.stderr}`);
            const stamp = await stampNumber(stamps, ++count);
            await taskIdle(client!, count);
            return [msBetween(t0, stamp), version];
          };
          // Warm-up: the first runs load code paths in the server and the page cache.
          for (let i = 0; i < 5; i++) await viaSocket();
          await viaCli();
          const socket: number[] = [];
          for (let i = 0; i < socketEvents; i++) socket.push(await viaSocket());
          const cliMs: number[] = [];
          const version: number[] = [];
          for (let i = 0; i < cliEvents; i++) {
            const [ms, v] = await viaCli();
            cliMs.push(ms);
            version.push(v);
          }

          // Sustained: bursts of events nobody waits for, WINDOW in flight.
          const rss = [m.memory()?.rssMiB ?? Number.NaN];
          const rates: number[] = [];
          let seq = 0;
          for (let b = 0; b < bursts; b++) {
            const t0 = hr();
            await new Promise<void>((resolve, reject) => {
              let sent = 0;
              let done = 0;
              const pump = (): void => {
                while (sent < burst && sent - done < WINDOW) {
                  sent++;
                  client!.request({ cmd: "emit", name: TICK, values: { SEQ: String(++seq) } }).then((reply) => {
                    if (!reply.ok) return reject(new Error(`emit ${TICK}: ${reply.error}`));
                    done++;
                    if (done === burst) resolve();
                    else pump();
                  }, reject);
                }
              };
              pump();
            });
            rates.push(burst / (msBetween(t0, hr()) / 1000));
            rss.push(m.memory()?.rssMiB ?? Number.NaN);
          }
          const h = (await client.request({ cmd: "events", count: 1000 })).result as { entries: unknown[]; dropped: number; total: number };
          return {
            socket,
            cli: cliMs,
            cliMinusVersion: cliMs.map((x, i) => x - version[i]!),
            version,
            rates,
            rss,
            history: { dropped: h.dropped, total: h.total, kept: h.entries.length },
          };
        } finally {
          client?.close();
          m.shutdown();
        }
      };

      ctx.log(`w4-events: ${runs} run(s): ${socketEvents} events over the socket, ${cliEvents} with the CLI, then ${bursts} bursts of ${burst} events over one connection`);
      const results: RunResult[] = [];
      for (let r = 0; r < runs; r++) results.push(await ctx.round(() => oneRun(r)));

      const per = (pick: (x: RunResult) => number[], p: number): number[] => results.map((x) => percentile(pick(x), p));
      const cases: CaseResult[] = [
        caseResult("w4-events", "emit → task spawned, socket: p50", "tend", per((x) => x.socket, 50), GOAL, `per run, ${socketEvents} events each`),
        caseResult("w4-events", "emit → task spawned, socket: p99", "tend", per((x) => x.socket, 99), null, `per run, ${socketEvents} events each`),
        caseResult("w4-events", "tend emit → task spawned (CLI): p50", "tend", per((x) => x.cli, 50), null, `per run, ${cliEvents} events each, from spawning the CLI`),
        caseResult("w4-events", "tend emit → task spawned (CLI): p99", "tend", per((x) => x.cli, 99), null, `per run, ${cliEvents} events each`),
        caseResult("w4-events", "tend --version (the CLI's start-up)", "tend", per((x) => x.version, 50), null, "per-run median, same rounds"),
        caseResult("w4-events", "CLI − tend --version: p50", "tend", per((x) => x.cliMinusVersion, 50), null, "per event, then per-run p50"),
        caseResult("w4-events", `events/s, one connection, ${WINDOW} in flight`, "tend", results.flatMap((x) => x.rates), null, `per burst of ${burst}`, "per-s"),
        caseResult("w4-events", "tend daemon RSS before the bursts", "tend", results.map((x) => x.rss[0]!), null, "Σ VmRSS of tend's processes: the server, and its keeper once there is one", "MB"),
        caseResult("w4-events", "tend daemon RSS after the 1st burst", "tend", results.map((x) => x.rss[1]!), null, `after ${burst} events`, "MB"),
        caseResult("w4-events", `tend daemon RSS after burst ${bursts}`, "tend", results.map((x) => x.rss[bursts]!), null, `after ${bursts * burst} events`, "MB"),
      ];
      const last = results[results.length - 1]!;
      const notes = [
        `w4-events: the server kept ${last.history.kept} of ${last.history.total} events in its history (${last.history.dropped} dropped): memory bounded by the history's size; RSS ${last.rss.map((x) => x.toFixed(1)).join(" → ")} MB over the bursts of the last run`,
        "w4-events: no peer rows: s6, runit, supervisord and pm2 have no events that start services",
      ];
      return {
        cases,
        notes,
        details: {
          socketEvents,
          cliEvents,
          burst,
          bursts,
          window: WINDOW,
          runs: results.map((x) => ({
            socket: x.socket.map((v) => Math.round(v * 1000) / 1000),
            cli: x.cli.map((v) => Math.round(v * 1000) / 1000),
            version: x.version.map((v) => Math.round(v * 1000) / 1000),
            rates: x.rates.map(Math.round),
            rssMiB: x.rss.map((v) => Math.round(v * 10) / 10),
            history: x.history,
          })),
        },
      };
    } finally {
      removeTempDir(tmp);
    }
  },
};
