// W1 flat: N independent longruns in a bundle (N = 100, 500, 1000), each the bench's
// C program made ready at once through `ready = fd`. Each measured round starts a
// fresh `tend daemon` (as at boot; the log directories already exist, as on a machine
// that booted before), then times, as whole CLI calls:
//   tend start flat-N   until it returns: it waits until all N are up (ready)
//   tend stop flat-N    until it returns and every service process is gone
// and reads the daemon's VmRSS with all N up, right after the start (the goal, < 60 MB
// with 1000 up, is judged in w3-status, once the server's memory settled).
//
// The peer: when dinit is there (or Debian packages it and the bench is root), the
// same round at N = 500 also runs a fresh user-mode dinit with the same services
// (`type = process`, `ready-notification = pipefd:3`, the bundle an `internal` service
// depending on them); tend ÷ dinit is the per-round ratio. dinitctl stop returns once
// the bundle is stopped, so for both managers "stop" runs until the last service
// process is gone.
//
// With --profile, one more round at N = 500 runs the daemon under --cpu-prof and says
// where its time went during the start and the stop (see docs/benchmarks.md).

import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { findDinit, launchDinit, launchTend, prepareDinit, prepareTend, type Manager, type TendRoot } from "../lib/managers.js";
import { processesOf, rssMiB, waitUntil } from "../lib/processes.js";
import { breakdown, formatBreakdown, OTHER, type Breakdown, type Category } from "../lib/profile.js";
import { timeProcess } from "../lib/proc.js";
import { rng } from "../lib/prng.js";
import { digestOfSet, flatSet } from "../lib/service-sets.js";
import { servicePrograms } from "../lib/service-program.js";
import { median } from "../lib/stats.js";
import { makeTempDir, removeTempDir } from "../lib/tmp.js";
import { caseResult, repetitions, type BenchContext, type CaseResult, type Workload } from "../lib/workload.js";

const SIZES = [100, 500, 1000] as const;
const PEER_SIZE = 500;
const PROFILE_SIZE = 500;
/** How long the services may take to be gone once a stop returned. */
const GONE_TIMEOUT_MS = 30_000;

export interface Cycle {
  /** `start BUNDLE` until it returned with everything up. */
  upMs: number;
  /** `stop BUNDLE` until it returned and every service process is gone. */
  downMs: number;
  /** Of downMs: after the stop command returned, until the last process was gone. */
  lingerMs: number;
  /** The manager's VmRSS with everything up. */
  rssMiB: number;
  /** The manager's VmRSS just before the start: its database loaded, nothing running. */
  idleRssMiB: number;
  /** Monotonic µs (process.hrtime) of the start and stop commands, for a profile. */
  windows: { start: [number, number]; stop: [number, number] };
}

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** One start/stop of `bundle` (n services running `program`) on a freshly launched manager, shut down afterwards. */
export function cycle(launch: () => Manager, bundle: string, n: number, program: string): Cycle {
  const m = launch();
  try {
    const idle = rssMiB(m.pid) ?? Number.NaN;
    const s0 = nowUs();
    const started = timeProcess(m.start(bundle));
    const s1 = nowUs();
    m.checkStarted(started.stdout, n);
    const rss = rssMiB(m.pid);
    if (rss === null) throw new Error(`${m.subject}: the manager is gone after starting ${bundle}\n${m.logTail()}`);
    const pids = processesOf(program);
    if (pids.length !== n) throw new Error(`${m.subject} start ${bundle}: ${pids.length} service processes running, ${n} expected`);
    const t0 = nowUs();
    timeProcess(m.stop(bundle));
    const returned = nowUs();
    // Cheap enough not to disturb the measure: kill(pid, 0) fails once the manager reaped it.
    const gone = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    };
    let next = 0;
    if (!waitUntil(() => {
      while (next < pids.length && gone(pids[next]!)) next++;
      return next === pids.length;
    }, GONE_TIMEOUT_MS, 1)) {
      throw new Error(`${m.subject} stop ${bundle}: ${pids.length - next} service processes still running ${GONE_TIMEOUT_MS} ms after the stop returned`);
    }
    const t1 = nowUs();
    return { upMs: started.ms, downMs: (t1 - t0) / 1000, lingerMs: (t1 - returned) / 1000, rssMiB: rss, idleRssMiB: idle, windows: { start: [s0, s1], stop: [t0, t1] } };
  } finally {
    m.shutdown();
  }
}

/** Where a tend daemon's time goes: the innermost frame of each sample that one of these claims. */
export const TEND_CATEGORIES: readonly Category[] = [
  { name: "Node's spawn() (fork + exec of the service, pipes)", test: (f) => (f.url === "node:child_process" || f.url === "node:internal/child_process") && /spawn/i.test(f.functionName) },
  { name: "Node's child exit handling", test: (f) => f.url === "node:internal/child_process" && /onexit/i.test(f.functionName) },
  { name: "sending signals (kill)", test: (f) => f.url === "node:internal/process/per_thread" && /kill/.test(f.functionName) },
  { name: "service logs (src/supervisor/logs)", test: (f) => f.url.includes("/src/supervisor/logs.") },
  { name: "server log to stderr (src/cli/daemon)", test: (f) => f.url.includes("/src/cli/daemon.") },
  { name: "readiness (src/supervisor/readiness)", test: (f) => f.url.includes("/src/supervisor/readiness/") },
  { name: "engine (src/engine)", test: (f) => f.url.includes("/src/engine/") },
  { name: "replies and progress to the client (control-socket)", test: (f) => f.url.includes("/src/server/control-socket.") },
  { name: "supervisor, other (environment, exec chain, pipes)", test: (f) => f.url.includes("/src/supervisor/") },
  { name: "server, other (drain, waiters, status)", test: (f) => f.url.includes("/src/server/") },
];

/** One extra tend round at PROFILE_SIZE with the daemon under --cpu-prof: the breakdown of the start and the stop. */
function profileRound(ctx: BenchContext, tmp: string, tend: TendRoot): { file: string; start: Breakdown; stop: Breakdown } {
  const profDir = join(tmp, "prof");
  mkdirSync(profDir);
  const c = cycle(() => launchTend(ctx, tend, { profileDir: profDir }), `flat-${PROFILE_SIZE}`, PROFILE_SIZE, tend.program);
  const written = readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"));
  if (written === undefined) throw new Error("the profiled daemon wrote no profile");
  const kept = join(ctx.resultsDir, `${ctx.stamp}-w1-flat-${PROFILE_SIZE}.cpuprofile`);
  copyFileSync(join(profDir, written), kept);
  const [start, stop] = breakdown(kept, TEND_CATEGORIES, [
    { name: `tend start flat-${PROFILE_SIZE} (whole CLI call, profiled)`, fromUs: c.windows.start[0], toUs: c.windows.start[1] },
    { name: `tend stop flat-${PROFILE_SIZE} (until the last process is gone, profiled)`, fromUs: c.windows.stop[0], toUs: c.windows.stop[1] },
  ]);
  return { file: kept, start: start!, stop: stop! };
}

export const w1Flat: Workload = {
  name: "w1-flat",
  title: "W1: start/stop N = 100, 500, 1000 independent longruns; daemon RSS (dinit at 500 when present)",
  async run(ctx) {
    // --quick: 3 rounds, 2 at 1000 services (the longest: several seconds each).
    const runsAt = (n: number): number => repetitions(ctx, 5, n >= 1000 ? 2 : 3);
    const tmp = makeTempDir("w1");
    try {
      const programs = servicePrograms(tmp);
      const set = flatSet(Math.max(...SIZES), SIZES);
      const tend = prepareTend(ctx, join(tmp, "tend-root"), set, programs.tend);
      const notes: string[] = [];
      const peer = findDinit(ctx.log);
      if (!peer.ok) notes.push(`w1-flat: no dinit rows: ${peer.why}`);
      const dinit = peer.ok ? prepareDinit(join(tmp, "dinit"), set, programs.dinit) : null;
      const launchers = {
        tend: () => launchTend(ctx, tend),
        dinit: (bundle: string) => launchDinit(peer.ok ? peer.tools : (null as never), dinit!, [bundle]),
      };

      // The peer must not cost tend's rows: once a dinit round fails, dinit is left out.
      let peerFailed: string | null = null;
      const tryPeer = (job: () => Cycle): Cycle | undefined => {
        if (peerFailed !== null) return undefined;
        try {
          return job();
        } catch (e) {
          peerFailed = (e as Error).message;
          ctx.log(`w1-flat: dinit failed, left out from now on: ${peerFailed}`);
          return undefined;
        }
      };

      // Warm-up (page cache, the program, Node's code cache), not timed.
      ctx.log("w1-flat: warm-up round (100 services)");
      cycle(launchers.tend, "flat-100", 100, programs.tend);
      if (dinit !== null) tryPeer(() => cycle(() => launchers.dinit("flat-100"), "flat-100", 100, programs.dinit));

      const order = rng(0x3001);
      const cases: CaseResult[] = [];
      const results: Record<string, Cycle[]> = {};
      for (const n of SIZES) {
        const bundle = `flat-${n}`;
        const withPeer = dinit !== null && n === PEER_SIZE;
        const runs = runsAt(n);
        ctx.log(`w1-flat: ${n} services × ${runs} rounds${withPeer ? ", tend and dinit interleaved" : ""}`);
        const tendRuns: Cycle[] = [];
        const dinitRuns: Cycle[] = [];
        for (let i = 0; i < runs; i++) {
          const [t, d] = await ctx.round(() => {
            const jobs: [string, () => Cycle | undefined][] = [["tend", () => cycle(launchers.tend, bundle, n, programs.tend)]];
            if (withPeer && peerFailed === null) jobs.push(["dinit", () => tryPeer(() => cycle(() => launchers.dinit(bundle), bundle, n, programs.dinit))]);
            const out = new Map(order.shuffle(jobs).map(([who, job]) => [who, job()] as const));
            return [out.get("tend")!, out.get("dinit")] as const;
          });
          tendRuns.push(t);
          if (d !== undefined) dinitRuns.push(d);
        }
        if (peerFailed !== null) dinitRuns.length = 0;
        results[`tend-${n}`] = tendRuns;
        cases.push(caseResult("w1-flat", `tend start ${bundle}`, "tend", tendRuns.map((c) => c.upMs), null, "whole CLI call, until all up"));
        cases.push(caseResult("w1-flat", `tend stop ${bundle}`, "tend", tendRuns.map((c) => c.downMs), null, "until all processes gone"));
        if (n === Math.max(...SIZES)) {
          cases.push(caseResult("w1-flat", `tend daemon RSS, idle (${n} loaded)`, "tend", tendRuns.map((c) => c.idleRssMiB), null, "VmRSS before the start", "MB"));
        }
        if (n >= PEER_SIZE) {
          const rss = tendRuns.map((c) => c.rssMiB);
          cases.push(caseResult("w1-flat", `tend daemon RSS, ${n} up, just started`, "tend", rss, null, "VmRSS right after the start (w3-status has it settled)", "MB"));
        }
        if (dinitRuns.length > 0) {
          results[`dinit-${n}`] = dinitRuns;
          cases.push(caseResult("w1-flat", `dinit start ${bundle}`, "dinit", dinitRuns.map((c) => c.upMs), null, "dinitctl start, until all up"));
          cases.push(caseResult("w1-flat", `dinit stop ${bundle}`, "dinit", dinitRuns.map((c) => c.downMs), null, "dinitctl stop, until all processes gone"));
          cases.push(caseResult("w1-flat", `dinit RSS, ${n} up`, "dinit", dinitRuns.map((c) => c.rssMiB), null, "VmRSS, MiB", "MB"));
          cases.push(caseResult("w1-flat", `tend ÷ dinit, start ${n}`, "tend", tendRuns.map((c, i) => c.upMs / dinitRuns[i]!.upMs), null, "per round", "ratio"));
          cases.push(caseResult("w1-flat", `tend ÷ dinit, stop ${n}`, "tend", tendRuns.map((c, i) => c.downMs / dinitRuns[i]!.downMs), null, "per round", "ratio"));
        }
      }
      if (peerFailed !== null) notes.push(`w1-flat: dinit rows left out: a dinit round failed: ${peerFailed}`);
      const perService = (median(results["tend-1000"]!.map((c) => c.upMs)) - median(results["tend-100"]!.map((c) => c.upMs))) / 900;
      notes.push(`w1-flat: tend start costs ${perService.toFixed(2)} ms per service (the slope from 100 to 1000 services)`);

      let profile: { file: string; start: Breakdown; stop: Breakdown } | null = null;
      if (ctx.profile) {
        ctx.log(`w1-flat: one more round at ${PROFILE_SIZE} with the daemon under --cpu-prof`);
        profile = profileRound(ctx, tmp, tend);
        notes.push(
          `w1-flat: where tend's time goes (--cpu-prof of the daemon, 250 µs sampling; '${OTHER.split(" (")[0]}' is Node's own code outside these modules; open ${profile.file} in Chrome DevTools or speedscope):`,
          ...formatBreakdown(profile.start),
          ...formatBreakdown(profile.stop),
        );
      }
      return {
        cases,
        notes,
        details: {
          set: { services: set.services.length, bundles: Object.keys(set.bundles), digest: digestOfSet(set) },
          peer: peer.ok ? { dinit: peer.tools.version, installedByBench: peer.installed } : { skipped: peer.why },
          lingerMs: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.map((c) => Math.round(c.lingerMs * 10) / 10)])),
          profile,
        },
      };
    } finally {
      removeTempDir(tmp);
    }
  },
};
