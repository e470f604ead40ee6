// W1 flat: N independent long-running services (N = 100, 500, 1000), each the bench's C
// program, under every manager the machine has or the bench could install: tend, dinit,
// s6, runit, supervisord, pm2 (see bench/lib/contenders.ts and peer-managers.ts). For
// each N every manager gets its own set of exactly N services, in its own format, in its
// own scratch directory. Each measured round launches a fresh instance of every manager
// (in a shuffled order, one after the other, never two at once), and for each:
//   start N   from "start everything" until the manager reports all N up (tend: `tend
//             --json start flat-N` until it returns, all ready through `ready = fd`;
//             s6: up *and ready* through notification-fd; the others: spawned, as they
//             have no readiness protocol) — see each manager's command in peer-managers.ts
//   stop N    from "stop everything" until every service process is gone (reaped)
//   RSS       the manager's VmRSS with all N up, right after the start: for s6 and
//             runit the scanner plus every per-service supervisor, added up; and for
//             those two also "shared pages once" (Σ RssAnon + the largest RssFile: the
//             supervisors map the same program and libc, which Σ VmRSS counts N times);
//             for tend the server plus its keeper (dist/keeper/tend-keeper, once it
//             lands: found among the server's descendants, never a service)
//   PSS       the same processes' Σ Pss (smaps_rollup): shared pages split between
//             the processes that map them; tend's keeper alone on a row of its own
// dinit's rows are followed by `tend ÷ dinit` rows for start and stop (per round).
// A peer row's last column is tend's figure divided by the peer's, per round.
// tend's goal (< 60 MB with 1000 up) is judged in w3-status, once its memory settled.
//
// --quick: one round at N = 100 and 500 (pm2 at 100 only), no warm-up round.
// With --profile, one more round at N = 500 runs tend's daemon under --cpu-prof and says
// where its time went during the start and the stop (see docs/benchmarks.md).

import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { findDinit } from "../lib/dinit.js";
import { contenders, dirOf, Guard, QUICK_MAX_N, type Contender } from "../lib/contenders.js";
import { launchTend, prepareTend, type Manager, type Subject, type TendRoot } from "../lib/managers.js";
import { killEach, memoryOf, processesOf, sleepSync, waitUntil, type Memory } from "../lib/processes.js";
import { breakdown, formatBreakdown, OTHER, type Breakdown, type Category } from "../lib/profile.js";
import { cleanEnv, timeSteps } from "../lib/proc.js";
import { rng } from "../lib/prng.js";
import { digestOfSet, flatSet, type ServiceSet } from "../lib/service-sets.js";
import { servicePrograms } from "../lib/service-program.js";
import { median } from "../lib/stats.js";
import { makeTempDir, removeTempDir } from "../lib/tmp.js";
import { caseResult, repetitions, withRatio, type BenchContext, type CaseResult, type Workload } from "../lib/workload.js";

export const SIZES = [100, 500, 1000] as const;
/** --quick: the bench in under two minutes leaves out the largest set. */
const QUICK_SIZES = [100, 500] as const;
const PROFILE_SIZE = 500;
/** How long the services may take to be gone once a stop returned. */
const GONE_TIMEOUT_MS = 120_000;

export interface Cycle {
  /** The start steps until they returned with everything up. */
  upMs: number;
  /** The stop steps until they returned and every service process is gone. */
  downMs: number;
  /** Of downMs: after the stop returned, until the last process was gone. */
  lingerMs: number;
  /** The manager's memory with everything up. */
  memory: Memory;
  /** The manager's memory just before the start: its configuration loaded, nothing running. */
  idle: Memory | null;
  /** tend: its keeper's memory alone with everything up (of `memory`); null while there is no keeper. */
  keeper?: Memory | null;
  /** What the manager's untimed check after the start measured (s6: s6-svwait). */
  check?: Record<string, number>;
  /** Monotonic µs (process.hrtime) of the start and stop, for a profile. */
  windows: { start: [number, number]; stop: [number, number] };
}

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** Cheap enough not to disturb the measure: kill(pid, 0) fails once the manager reaped it. */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/** One start/stop of `bundle` (n services) on a freshly launched manager, shut down afterwards. */
export function cycle(launch: () => Manager, bundle: string, n: number): Cycle {
  const m = launch();
  try {
    const idle = m.memory();
    const s0 = nowUs();
    const started = timeSteps(m.start(bundle));
    const s1 = nowUs();
    m.checkStarted(started.stdout, n);
    const memory = m.memory();
    if (memory === null) throw new Error(`${m.subject}: the manager is gone after starting ${bundle}\n${m.logTail()}`);
    const keeper = m.keeperMemory?.();
    const pids = processesOf(m.program);
    if (pids.length !== n) throw new Error(`${m.subject} start ${bundle}: ${pids.length} service processes running, ${n} expected\n${m.logTail()}`);
    const check = m.afterStart?.();
    const t0 = nowUs();
    timeSteps(m.stop(bundle));
    const returned = nowUs();
    let next = 0;
    if (!waitUntil(() => {
      while (next < pids.length && gone(pids[next]!)) next++;
      return next === pids.length;
    }, GONE_TIMEOUT_MS, 1)) {
      throw new Error(`${m.subject} stop ${bundle}: ${pids.length - next} service processes still running ${GONE_TIMEOUT_MS} ms after the stop returned`);
    }
    const t1 = nowUs();
    return {
      upMs: started.ms,
      downMs: (t1 - t0) / 1000,
      lingerMs: (t1 - returned) / 1000,
      memory,
      idle,
      ...(keeper === undefined ? {} : { keeper }),
      ...(check === undefined ? {} : { check }),
      windows: { start: [s0, s1], stop: [t0, t1] },
    };
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
  const c = cycle(() => launchTend(ctx, tend, { profileDir: profDir }), `flat-${PROFILE_SIZE}`, PROFILE_SIZE);
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


/** The floor of a Node daemon: the VmRSS of an idle `node` that only waits (tend and pm2 run on Node). */
function idleNodeRss(): number {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1e6)"], { env: cleanEnv(), stdio: "ignore" });
  try {
    sleepSync(500);
    return memoryOf([child.pid!])?.rssMiB ?? Number.NaN;
  } finally {
    killEach([child.pid!], "SIGKILL");
  }
}

/** W1's figures per manager and N, for the chart and the scaling notes. */
export interface W1Point {
  n: number;
  runs: number;
  startMs: { median: number; min: number; max: number };
  stopMs: { median: number; min: number; max: number };
  rssMiB: number;
  sharedOnceMiB: number;
  pssMiB: number;
  /** tend: its keeper's PSS alone (NaN without a keeper, and for the peers). */
  keeperPssMiB: number;
}

const spread = (xs: number[]): { median: number; min: number; max: number } => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });

/** How a cost grows from the smallest N to the largest: per service, and the exponent b of cost ∝ N^b. */
export function growth(points: readonly W1Point[], pick: (p: W1Point) => number): { perService: number; exponent: number } | null {
  if (points.length < 2) return null;
  const a = points[0]!;
  const b = points[points.length - 1]!;
  const ya = pick(a);
  const yb = pick(b);
  return { perService: (yb - ya) / (b.n - a.n), exponent: Math.log(yb / ya) / Math.log(b.n / a.n) };
}

export const w1Flat: Workload = {
  name: "w1-flat",
  title: "W1: start/stop N = 100, 500, 1000 independent services and the manager's RSS, tend and its peers",
  prepare: async (ctx) => void (await findDinit(ctx)),
  async run(ctx) {
    const runs = repetitions(ctx, 5, 1);
    const sizes: readonly number[] = ctx.quick ? QUICK_SIZES : SIZES;
    const tmp = makeTempDir("w1");
    try {
      const programs = servicePrograms(tmp);
      const notes: string[] = [];
      const { list, skipped } = await contenders(ctx, programs);
      for (const s of skipped) notes.push(`w1-flat: no ${s.subject} rows: ${s.why}`);
      const guard = new Guard("w1-flat", ctx.log);
      const maxN = (c: Contender): number => (ctx.quick ? (QUICK_MAX_N[c.subject] ?? Infinity) : Infinity);

      // Every manager's set of each size, written once.
      const sets = new Map<number, ServiceSet>(sizes.map((n) => [n, flatSet(n, [n])]));
      const launchers = new Map<string, () => Manager>();
      for (const c of list) {
        for (const n of sizes) {
          if (n > maxN(c)) continue;
          const launcher = await guard.run(c.subject, () => c.prepare(dirOf(tmp, c.subject, `n${n}`), sets.get(n)!));
          if (launcher !== undefined) launchers.set(`${c.subject}-${n}`, launcher);
        }
      }
      const cycleOf = (c: Contender, n: number): Promise<Cycle | undefined> => {
        const launcher = launchers.get(`${c.subject}-${n}`);
        if (launcher === undefined || !guard.ok(c.subject)) return Promise.resolve(undefined);
        return guard.run(c.subject, () => cycle(launcher, `flat-${n}`, n));
      };

      // Warm-up (page cache, the programs, Node's code cache), not timed; not with --quick.
      if (!ctx.quick) {
        ctx.log(`w1-flat: warm-up round (100 services: ${list.map((c) => c.subject).join(", ")})`);
        for (const c of list) await cycleOf(c, 100);
      }

      const order = rng(0x3001);
      const cases: CaseResult[] = [caseResult("w1-flat", "RSS of an idle node (Node's floor)", "node", [idleNodeRss(), idleNodeRss(), idleNodeRss()], null, "node -e 'setInterval(…)', VmRSS", "MB")];
      const results: Record<string, Cycle[]> = {};
      const points: Record<string, W1Point[]> = {};
      for (const n of sizes) {
        const here = list.filter((c) => n <= maxN(c));
        ctx.log(`w1-flat: ${n} services × ${runs} rounds: ${here.map((c) => c.subject).join(", ")} (shuffled each round)`);
        const rounds: Map<Subject, Cycle>[] = [];
        for (let i = 0; i < runs; i++) {
          const round = await ctx.round(async () => {
            const out = new Map<Subject, Cycle>();
            for (const c of order.shuffle([...here])) {
              const r = await cycleOf(c, n);
              if (r !== undefined) out.set(c.subject, r);
            }
            return out;
          });
          rounds.push(round);
        }
        // Only rounds in which tend ran pair with a peer's; a peer that failed is left out entirely.
        const series = (subject: Subject): Cycle[] => (guard.ok(subject) ? rounds.map((r) => r.get(subject)).filter((c): c is Cycle => c !== undefined) : []);
        const tend = series("tend");
        const pairs = (subject: Subject): [Cycle[], Cycle[]] => {
          const both = rounds.filter((r) => r.has("tend") && r.has(subject));
          return [both.map((r) => r.get("tend")!), both.map((r) => r.get(subject)!)];
        };
        for (const c of here) {
          const mine = series(c.subject);
          if (mine.length === 0) continue;
          results[`${c.subject}-${n}`] = mine;
          (points[c.subject] ??= []).push({
            n,
            runs: mine.length,
            startMs: spread(mine.map((x) => x.upMs)),
            stopMs: spread(mine.map((x) => x.downMs)),
            rssMiB: median(mine.map((x) => x.memory.rssMiB)),
            sharedOnceMiB: median(mine.map((x) => x.memory.sharedOnceMiB)),
            pssMiB: median(mine.map((x) => x.memory.pssMiB)),
            keeperPssMiB: median(mine.map((x) => x.keeper?.pssMiB ?? Number.NaN)),
          });
          const peer = c.subject !== "tend";
          const [t, p] = pairs(c.subject);
          const row = (name: string, pick: (x: Cycle) => number, note: string, unit: "ms" | "MB" = "ms", tendPick: (x: Cycle) => number = pick): CaseResult => {
            const r = caseResult("w1-flat", name, c.subject, mine.map(pick), null, note, unit);
            return peer ? withRatio(r, t.map(tendPick), p.map(pick)) : r;
          };
          const processes = mine[0]!.memory.processes;
          // s6 and runit: a scanner and a supervisor per service; tend: the server, and its keeper once it lands.
          const supervisors = processes > 1 && c.subject !== "tend";
          const keeperUp = c.subject === "tend" && mine.some((x) => x.keeper != null);
          const whose = c.subject === "tend" ? (keeperUp ? "Σ over the server and its keeper" : "the server alone (no keeper process)") : supervisors ? `Σ over ${processes} processes: the scanner and every supervisor` : "";
          cases.push(row(`start ${n}: ${c.subject}`, (x) => x.upMs, START_NOTE[c.subject]));
          cases.push(row(`stop ${n}: ${c.subject}`, (x) => x.downMs, STOP_NOTE[c.subject]));
          if (c.subject === "dinit") {
            const [td, d] = pairs("dinit");
            if (d.length > 0) {
              cases.push(caseResult("w1-flat", `tend ÷ dinit, start ${n}`, "tend", td.map((x, i) => x.upMs / d[i]!.upMs), null, "per round: both until all up and ready", "ratio"));
              cases.push(caseResult("w1-flat", `tend ÷ dinit, stop ${n}`, "tend", td.map((x, i) => x.downMs / d[i]!.downMs), null, "per round: both until every service process is gone", "ratio"));
            }
          }
          if (c.subject === "tend" && n === Math.max(...sizes)) {
            cases.push(caseResult("w1-flat", `RSS idle, ${n} loaded: tend`, "tend", tend.map((x) => x.idle?.rssMiB ?? Number.NaN), null, `VmRSS before the start, ${whose}`, "MB"));
          }
          cases.push(row(`RSS ${n} up: ${c.subject}`, (x) => x.memory.rssMiB, whose === "" ? "VmRSS right after the start" : `VmRSS right after the start, ${whose}`, "MB"));
          if (supervisors) {
            cases.push(row(`  shared pages once: ${c.subject}`, (x) => x.memory.sharedOnceMiB, "Σ RssAnon + the largest RssFile", "MB", (x) => x.memory.sharedOnceMiB));
          }
          cases.push(row(`PSS ${n} up: ${c.subject}`, (x) => x.memory.pssMiB, whose === "" ? "Pss (smaps_rollup) right after the start" : `Pss (smaps_rollup) right after the start, ${whose}`, "MB"));
          if (keeperUp) {
            cases.push(caseResult("w1-flat", `  keeper PSS ${n} up: tend`, "tend", mine.map((x) => x.keeper?.pssMiB ?? Number.NaN), null, "tend-keeper alone (of the PSS above)", "MB"));
          }
        }
      }
      notes.push(...guard.notes());
      const tendCycles = Object.entries(results).filter(([k]) => k.startsWith("tend-")).flatMap(([, v]) => v);
      if (tendCycles.length > 0 && !tendCycles.some((x) => x.keeper != null)) {
        notes.push("w1-flat: no tend-keeper process under tend's server (dist/keeper/tend-keeper not running): tend's memory rows are the server's alone");
      }

      // The scaling curve: how each manager's cost grows with N.
      const scaling: Record<string, unknown> = {};
      for (const [subject, pts] of Object.entries(points)) {
        const start = growth(pts, (p) => p.startMs.median);
        const rss = growth(pts, (p) => p.rssMiB);
        const shared = growth(pts, (p) => p.sharedOnceMiB);
        const pss = growth(pts, (p) => p.pssMiB);
        const keeper = pts.every((p) => Number.isFinite(p.keeperPssMiB)) ? growth(pts, (p) => p.keeperPssMiB) : null;
        scaling[subject] = { start, rss, sharedOnce: shared, pss, ...(keeper === null ? {} : { keeperPss: keeper }) };
        if (start === null || rss === null) continue;
        const first = pts[0]!.n;
        const last = pts[pts.length - 1]!.n;
        const kib = (g: { perService: number }): string => (g.perService * 1024).toFixed(1);
        notes.push(
          `w1-flat: ${subject}: start ${start.perService.toFixed(2)} ms per service from ${first} to ${last} (∝ N^${start.exponent.toFixed(2)}); ` +
            `RSS ${(rss.perService * 1024).toFixed(0)} KiB per service (∝ N^${rss.exponent.toFixed(2)})` +
            (shared !== null && subject !== "tend" && pts[0]!.rssMiB !== pts[0]!.sharedOnceMiB ? `, shared pages once ${(shared.perService * 1024).toFixed(0)} KiB per service` : "") +
            (pss !== null && Number.isFinite(pss.perService) ? `, PSS ${(pss.perService * 1024).toFixed(0)} KiB per service` : "") +
            // The keeper's target is 1 MB + 2 KB per service: its intercept and slope.
            (keeper !== null ? `; tend-keeper PSS ${kib(keeper)} KiB per service (${(pts[0]!.keeperPssMiB - keeper.perService * first).toFixed(2)} MB at 0)` : ""),
        );
      }

      let profile: { file: string; start: Breakdown; stop: Breakdown } | null = null;
      if (ctx.profile) {
        ctx.log(`w1-flat: one more round at ${PROFILE_SIZE} with tend's daemon under --cpu-prof`);
        const root = prepareTend(ctx, dirOf(tmp, "tend", "profile"), sets.get(PROFILE_SIZE)!, programs.tend);
        profile = profileRound(ctx, tmp, root);
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
          sets: Object.fromEntries([...sets].map(([n, set]) => [n, digestOfSet(set)])),
          managers: Object.fromEntries(list.map((c) => [c.subject, c.version])),
          skipped: Object.fromEntries(skipped.map((s) => [s.subject, s.why])),
          failed: Object.fromEntries(guard.failed),
          points,
          scaling,
          cycles: Object.fromEntries(
            Object.entries(results).map(([k, v]) => [
              k,
              v.map((c) => ({ upMs: round1(c.upMs), downMs: round1(c.downMs), lingerMs: round1(c.lingerMs), memory: c.memory, idle: c.idle, ...(c.keeper !== undefined ? { keeper: c.keeper } : {}), ...(c.check ? { check: c.check } : {}) })),
            ]),
          ),
          profile,
        },
      };
    } finally {
      removeTempDir(tmp);
    }
  },
};

const round1 = (x: number): number => Math.round(x * 10) / 10;

/** What "start" and "stop" are for each manager (the row's note, in the JSON). */
const START_NOTE: Record<Subject, string> = {
  tend: "tend --json start flat-N until it returns: all up and ready (ready = fd)",
  dinit: "dinitctl start until it returns: all up and ready (pipefd:3)",
  s6: "u to every supervise/control, until every supervisor reports up and ready (notification-fd)",
  runit: "sv up ./s… until every runsv reports it running (no readiness protocol)",
  supervisord: "supervisorctl start GROUP:* until it returns: all RUNNING (startsecs = 0)",
  pm2: "pm2 start ecosystem.json until it returns: all online",
};
const STOP_NOTE: Record<Subject, string> = {
  tend: "tend --json stop flat-N, until every process is gone",
  dinit: "dinitctl stop, until every process is gone",
  s6: "d to every supervise/control, until every process is gone",
  runit: "sv down ./s…, until every process is gone",
  supervisord: "supervisorctl stop GROUP:*, until every process is gone",
  pm2: "pm2 stop all, until every process is gone",
};
