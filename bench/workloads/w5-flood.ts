// W5 flood: one service that prints as fast as it can — `yes`, a copy of the machine's
// in the bench's temporary directory (so that the bench finds its process, and only
// its, by the program's path) — logged to a file with a small rotation (log-size 1M,
// log-keep 1), for 30 s (10 s with --quick). Measured:
//   CPU       the tend server's CPU over the window: utime + stime of the server process
//             alone (/proc/PID/stat, not its children), as % of one CPU; the keeper's
//             separately once it lands (dist/keeper/tend-keeper, found among the
//             server's descendants), and `yes`'s own for scale
//   status    `tend status` (the whole CLI process), N calls back to back on the idle
//             server before the flood, and N calls spread evenly over the flood's
//             window (fewer when they overrun it: none starts after its end); the row
//             `flood ÷ idle` is each call during the flood divided by
//             the idle median (so its median is the ratio of the medians): goal ≤ 1.2×
//   volume    the bytes `yes` got written per second (wchar of /proc/PID/io): how much
//             output tend took in; the log directory is checked afterwards (at most
//             log-keep + 1 files, none much above log-size)
// Afterwards the service is stopped, the server shut down, and nothing is left running
// (the copy of `yes` is killed by its path should anything fail).

import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, readdirSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { adopt } from "../lib/machine.js";
import { launchTend, type Manager } from "../lib/managers.js";
import { findExecutable } from "../lib/peers.js";
import { alive, bytesWritten, cpuTicks, processesOf, ticksPerSecond, waitUntil } from "../lib/processes.js";
import { cleanEnv, timeProcess, timeSteps } from "../lib/proc.js";
import { median } from "../lib/stats.js";
import { makeTempDir, removeTempDir } from "../lib/tmp.js";
import { caseResult, repetitions, type CaseResult, type Workload } from "../lib/workload.js";

const SERVICE = "flood";
const LOG_SIZE = "1M";
const LOG_SIZE_BYTES = 1024 * 1024;
const LOG_KEEP = 1;
const RATIO_GOAL = { text: "≤ 1.2×", max: 1.2 };
/** After the start, before the window: the flood reaches its steady state (the first rotations). */
const WARM_MS = 1000;
/** How long the flood's process may take to be gone once the stop returned. */
const GONE_MS = 30_000;
/** A line of `tend status` that shows the flood up. */
const UP_LINE = new RegExp(`^${SERVICE}\\s+longrun\\s+up\\s`);

interface Snapshot {
  atMs: number;
  server: number | null;
  keepers: number | null;
  yes: number | null;
  yesBytes: number | null;
}

function snapshot(m: Manager, yes: number, keepers: readonly number[]): Snapshot {
  const k = keepers.map(cpuTicks);
  return {
    atMs: performance.now(),
    server: cpuTicks(m.pid),
    keepers: k.length === 0 || k.some((x) => x === null) ? null : k.reduce<number>((a, b) => a + b!, 0),
    yes: cpuTicks(yes),
    yesBytes: bytesWritten(yes),
  };
}

/** % of one CPU between two tick readings. */
function cpuPercent(a: number | null, b: number | null, ms: number): number {
  if (a === null || b === null) return Number.NaN;
  return ((b - a) / ticksPerSecond() / (ms / 1000)) * 100;
}

/** Waits (the event loop turning: a Ctrl-C is handled at once) until performance.now() reaches `t`. */
const sleepUntil = (t: number): Promise<void> => new Promise((done) => setTimeout(done, Math.max(0, t - performance.now())));

export const w5Flood: Workload = {
  name: "w5-flood",
  title: "W5: one service printing as fast as it can (yes) into a small rotated log: tend's CPU, and `tend status` during the flood vs idle",
  async run(ctx) {
    const windowMs = ctx.quick ? 10_000 : 30_000;
    const calls = repetitions(ctx, 20, 10);
    const tmp = makeTempDir("w5");
    try {
      const found = findExecutable("yes");
      if (found === null) throw new Error("this machine has no 'yes' (coreutils)");
      // A copy of its own: the bench finds the flood's process, and only that one, by this path.
      const yes = join(tmp, "yes");
      copyFileSync(realpathSync(found), yes);
      chmodSync(yes, 0o755);
      const root = join(tmp, "root");
      const logDir = join(root, "var", "log", "tend", SERVICE);
      mkdirSync(join(root, "etc", "tend"), { recursive: true });
      mkdirSync(logDir, { recursive: true });
      writeFileSync(
        join(root, "etc", "tend", SERVICE),
        ["description = W5: prints as fast as it can", "type = longrun", `command = ${yes}`, "log = file", `log-size = ${LOG_SIZE}`, `log-keep = ${LOG_KEEP}`, ""].join("\n"),
      );
      const compiled = execFileSync(process.execPath, [ctx.tend, "compile", "--root", root], { encoding: "utf8", env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
      if (!/installed generation/.test(compiled)) throw new Error(`tend compile did not install W5's service:\n${compiled}`);

      const m = launchTend(ctx, { root, program: yes });
      const notes: string[] = [];
      try {
        const status = m.status();
        const statusCall = (during: boolean): number => {
          const t = timeProcess(status);
          if (during && !t.stdout.split("\n").some((l) => UP_LINE.test(l.replace(/\x1b\[[0-9;]*m/g, "")))) {
            throw new Error(`tend status does not show '${SERVICE}' up during the flood:\n${t.stdout.slice(0, 1000)}`);
          }
          return t.ms;
        };

        // Idle: the server with nothing running, N calls back to back after two warm-up calls.
        ctx.log(`w5-flood: ${calls} × tend status on the idle server`);
        const idle = await ctx.round(() => {
          statusCall(false);
          statusCall(false);
          return Array.from({ length: calls }, () => statusCall(false));
        });

        ctx.log(`w5-flood: ${SERVICE} (yes → log, ${LOG_SIZE} × ${LOG_KEEP + 1}) for ${windowMs / 1000} s, ${calls} × tend status spread over it`);
        const flood = await ctx.round(async () => {
          const started = timeSteps(m.start(SERVICE));
          m.checkStarted(started.stdout, 1);
          const pids = processesOf(yes);
          if (pids.length !== 1) throw new Error(`tend start ${SERVICE}: ${pids.length} processes of ${yes} running, 1 expected\n${m.logTail()}`);
          const yesPid = pids[0]!;
          adopt(yesPid, true); // its CPU is the bench's own work, not other work
          try {
            await sleepUntil(performance.now() + WARM_MS);
            const keepers = m.keepers?.() ?? [];
            const a = snapshot(m, yesPid, keepers);
            const during: number[] = [];
            const slice = windowMs / calls;
            for (let i = 0; i < calls; i++) {
              // A server so busy that the calls overrun the window: no more calls once it is over.
              if (during.length > 0 && performance.now() >= a.atMs + windowMs) break;
              await sleepUntil(a.atMs + (i + 0.5) * slice);
              during.push(statusCall(true));
            }
            await sleepUntil(a.atMs + windowMs);
            const b = snapshot(m, yesPid, keepers);
            const ms = b.atMs - a.atMs;
            const memory = m.memory();
            const restarted = !alive(yesPid) || processesOf(yes)[0] !== yesPid;
            return {
              during,
              ms,
              keepers: keepers.length,
              serverCpu: cpuPercent(a.server, b.server, ms),
              keeperCpu: keepers.length === 0 ? null : cpuPercent(a.keepers, b.keepers, ms),
              yesCpu: cpuPercent(a.yes, b.yes, ms),
              bytesPerS: a.yesBytes === null || b.yesBytes === null ? Number.NaN : (b.yesBytes - a.yesBytes) / (ms / 1000),
              memory,
              restarted,
            };
          } finally {
            // Stop the flood whatever happened, and wait until its process is gone.
            timeSteps(m.stop(SERVICE));
            if (!waitUntil(() => processesOf(yes).length === 0, GONE_MS, 5)) throw new Error(`tend stop ${SERVICE}: ${yes} still running ${GONE_MS / 1000} s after the stop returned`);
          }
        });

        // The log: rotated at log-size, log-keep rotated files kept.
        const files = readdirSync(logDir).map((f) => ({ name: f, bytes: statSync(join(logDir, f)).size })).sort((x, y) => x.name.localeCompare(y.name));
        const tooMany = files.length > LOG_KEEP + 1;
        const tooBig = files.filter((f) => f.bytes > LOG_SIZE_BYTES + 64 * 1024);
        if (tooMany || tooBig.length > 0) {
          notes.push(`w5-flood: the log did not stay within log-size ${LOG_SIZE} × log-keep ${LOG_KEEP}: ${files.map((f) => `${f.name} ${(f.bytes / 1024).toFixed(0)} KiB`).join(", ")}`);
        }
        if (flood.during.length < calls) {
          notes.push(`w5-flood: only ${flood.during.length} of ${calls} status calls fit in the ${windowMs / 1000} s window (a call took ${median(flood.during).toFixed(0)} ms): the window ran ${(flood.ms / 1000).toFixed(1)} s`);
        }
        if (flood.restarted) notes.push(`w5-flood: ${SERVICE}'s process was not the same at the end of the window (it exited or was restarted during the flood)`);

        const idleMedian = median(idle);
        const who = flood.keepers === 0 ? "the server alone (no keeper process)" : "Σ over the server and its keeper";
        const cases: CaseResult[] = [
          caseResult("w5-flood", "tend status, idle", "tend", idle, null, "whole CLI call, the server idle, back to back"),
          caseResult("w5-flood", "tend status, during the flood", "tend", flood.during, null, `whole CLI call, spread over the ${(windowMs / 1000).toFixed(0)} s flood`),
          caseResult("w5-flood", "tend status, flood ÷ idle", "tend", flood.during.map((x) => x / idleMedian), RATIO_GOAL, "each call during the flood ÷ the idle median", "ratio"),
          caseResult("w5-flood", "tend server CPU, flood", "tend", [flood.serverCpu], null, `utime + stime of the server process alone over ${(flood.ms / 1000).toFixed(1)} s; 100% = one CPU`, "%"),
        ];
        if (flood.keeperCpu !== null) {
          cases.push(caseResult("w5-flood", "tend-keeper CPU, flood", "tend", [flood.keeperCpu], null, `utime + stime of the keeper alone over ${(flood.ms / 1000).toFixed(1)} s`, "%"));
        } else {
          notes.push("w5-flood: no tend-keeper process under tend's server (dist/keeper/tend-keeper not running): the server reads and logs the flood itself; no keeper row");
        }
        cases.push(
          caseResult("w5-flood", "yes CPU, flood", "yes", [flood.yesCpu], null, "the flood's own process, for scale", "%"),
          caseResult("w5-flood", "bytes/s taken from yes", "tend", [flood.bytesPerS], null, "wchar of yes over the window: the output tend read and logged", "per-s"),
        );
        if (flood.memory !== null) {
          cases.push(caseResult("w5-flood", "tend PSS, end of the flood", "tend", [flood.memory.pssMiB], null, `Pss, ${who} (RSS ${flood.memory.rssMiB.toFixed(1)} MB)`, "MB"));
        }
        notes.push(
          `w5-flood: over ${(flood.ms / 1000).toFixed(1)} s, tend's server used ${flood.serverCpu.toFixed(1)}% of a CPU${flood.keeperCpu === null ? "" : ` and its keeper ${flood.keeperCpu.toFixed(1)}%`}, yes ${flood.yesCpu.toFixed(1)}%, ` +
            `${(flood.bytesPerS / 1e6).toFixed(2)} MB/s of output; tend status ${median(flood.during).toFixed(0)} ms during vs ${idleMedian.toFixed(0)} ms idle (median)`,
        );
        return {
          cases,
          notes,
          details: {
            windowMs: Math.round(flood.ms),
            calls,
            log: { size: LOG_SIZE, keep: LOG_KEEP, files },
            keepers: flood.keepers,
            memory: flood.memory,
            yes: realpathSync(found),
          },
        };
      } finally {
        m.shutdown();
      }
    } finally {
      removeTempDir(tmp);
    }
  },
};
