// W6 readopt: the server killed with SIGKILL while 1000 services run, and a new server
// taking over from the keeper (docs/DESIGN.md, "Re-adoption"). The target (the issue):
// "kill -9 of the server with 1000 up, 500 of them printing a counter every 10 ms:
// 0 lost, 0 doubled, 0 counter lines missing from the logs; status correct within 1 s
// of the new server starting". tend only: it is a crash of tend's server and its
// take-over, which no peer's rows would compare like for like.
//
// Each round, on a fresh scratch root (1000 services; 200 with --quick):
//   1. half of them quiet (`svc --ready-ms 0 --fd 3`: ready at once, then waits), half
//      counters (`svc --ready-ms 0 --fd 3 --count 10 --last FILE`: ready at once, then
//      prints 1, 2, 3 … one line every 10 ms, and on SIGTERM writes the last number it
//      wrote to FILE) — the bench's C program (bench/lib/service-program.ts), no shell;
//      every one `ready = fd`, logging with the default `log = file`; a bundle `all`
//   2. `tend daemon` (as every workload launches it), `tend --json start all` until all
//      are up, `tend --json status all`: every service's pid
//   3. 2 s of counting; then SIGKILL to the server process alone (the pid the bench
//      started; its child tend-keeper, found as in W1, must outlive it), until it is
//      dead and reaped, as its parent would (a zombie still holds tend's lock)
//   4. at once a new `tend daemon` on the same root, not waited for; timed from its
//      spawn: (a) until a `ping` on its control socket is answered (a connection tried
//      every 2 ms), (b) until a `status` of `all` (on that one connection, one request at
//      a time, 10 ms between replies) shows all N `up` with exactly the pids of step 2:
//      "status correct", goal ≤ 1000 ms
//   5. 2 s more of counting, one more status (still the same pids), `tend shutdown`;
//      then every service's log files (ROOT/var/log/tend/NAME/current and current.N),
//      lines `STAMP N` or `STAMP [tend] …`: per counter, the numbers 1 … last (the last
//      from its FILE, or the largest logged) missing ("lost"), seen more than once
//      ("doubled"); per service, its `[tend] starting` lines (exactly one each, or it
//      was started twice)
// Rows: status correct (the median over 5 rounds, 1 with --quick), server answering, and
// three counts that must be 0 in every round (the verdict is on the worst round). The
// notes give what the counting costs (the keeper's CPU and the counters', which the new
// server competes with) and place any missing line against the kill. With --profile, or
// when the median misses the goal, one more round runs the new server under --cpu-prof
// and says where its time went until status was correct.

import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ServiceStatus } from "../../src/server/protocol.js";
import { CONTROL_SOCKET } from "../../src/server/protocol.js";
import { ControlClient } from "../lib/control-client.js";
import { adopt, refreshAdopted } from "../lib/machine.js";
import { COMMAND_TIMEOUT_MS, LAUNCH_TIMEOUT_MS, launchTend, tail, type Manager, type Orphans } from "../lib/managers.js";
import { alive, cpuMs, processesOf } from "../lib/processes.js";
import { breakdown, formatBreakdown, OTHER, type Breakdown, type Category } from "../lib/profile.js";
import { timeProcess, timeSteps } from "../lib/proc.js";
import { buildServiceProgram } from "../lib/service-program.js";
import { median } from "../lib/stats.js";
import { makeTempDir, removeTempDir } from "../lib/tmp.js";
import { caseResult, repetitions, type BenchContext, type CaseResult, type Workload } from "../lib/workload.js";

const SERVICES = 1000;
const QUICK_SERVICES = 200;
/** A counter's period. */
const PERIOD_MS = 10;
/** Counting before the kill, and after status is correct. */
const BEFORE_MS = 2000;
const AFTER_MS = 2000;
const STATUS_GOAL = { text: "≤ 1000 ms", max: 1000 };
const ZERO = { text: "0", max: 0, worst: true };
/** Between a status reply that is not correct yet and the next request. */
const POLL_GAP_MS = 10;
/** How long status may take to become correct before the round gives up on it. */
const CORRECT_TIMEOUT_MS = 30_000;
const BUNDLE = "all";
/** A line of a log file: the keeper's timestamp, then the service's text. */
const LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (.*)$/;

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));
const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

interface Layout {
  quiet: string[];
  counters: string[];
}

function layoutOf(n: number): Layout {
  const half = Math.floor(n / 2);
  const name = (prefix: string, i: number): string => `${prefix}${String(i).padStart(3, "0")}`;
  return { quiet: Array.from({ length: n - half }, (_, i) => name("q", i)), counters: Array.from({ length: half }, (_, i) => name("c", i)) };
}

const all = (l: Layout): string[] => [...l.quiet, ...l.counters];

/** A scratch root with the layout's services, compiled and installed, and the log directories made. */
function prepareRoot(ctx: BenchContext, root: string, program: string, l: Layout): void {
  const etc = join(root, "etc", "tend");
  mkdirSync(etc, { recursive: true });
  mkdirSync(join(root, "last"));
  for (const name of l.quiet) writeFileSync(join(etc, name), ["description = W6: quiet", "type = longrun", `command = ${program} --ready-ms 0 --fd 3`, "ready = fd", ""].join("\n"));
  for (const name of l.counters) {
    writeFileSync(
      join(etc, name),
      ["description = W6: a counter every 10 ms", "type = longrun", `command = ${program} --ready-ms 0 --fd 3 --count ${PERIOD_MS} --last ${join(root, "last", name)}`, "ready = fd", ""].join("\n"),
    );
  }
  writeFileSync(join(etc, BUNDLE), ["type = bundle", ...all(l).map((m) => `contents = ${m}`), ""].join("\n"));
  const compiled = timeProcess({ label: "tend compile", file: process.execPath, args: [ctx.tend, "compile", "--root", root], timeoutMs: COMMAND_TIMEOUT_MS });
  if (!/installed generation/.test(compiled.stdout)) throw new Error(`tend compile did not install W6's services:\n${compiled.stdout}${compiled.stderr}`);
  for (const name of all(l)) mkdirSync(join(root, "var", "log", "tend", name), { recursive: true });
}

/** Services of a status reply, whatever its wrapping. */
function servicesOf(result: unknown): ServiceStatus[] {
  if (Array.isArray(result)) return result as ServiceStatus[];
  return ((result as { services?: ServiceStatus[] } | null)?.services ?? []) as ServiceStatus[];
}

interface Agreement {
  up: number;
  samePid: number;
  /** The first few that differ: name, phase, pid. */
  odd: string[];
}

/** How far a status reply is from "all up with the recorded pids". */
function agreement(services: readonly ServiceStatus[], pids: ReadonlyMap<string, number>): Agreement {
  let up = 0;
  let samePid = 0;
  const odd: string[] = [];
  for (const s of services) {
    const same = pids.has(s.name) && s.pid === pids.get(s.name);
    if (s.phase === "up") up++;
    if (same) samePid++;
    if ((s.phase !== "up" || !same) && odd.length < 5) odd.push(`${s.name} ${s.phase} pid ${s.pid ?? "none"} (was ${pids.get(s.name) ?? "none"})${s.reason ? `: ${s.reason}` : ""}`);
  }
  return { up, samePid, odd };
}

const isCorrect = (a: Agreement, n: number, services: number): boolean => services === n && a.up === n && a.samePid === n;

interface Gap {
  service: string;
  /** Numbers from..to (inclusive) are missing. */
  from: number;
  to: number;
  /** The stamps of the lines around the gap (null at the start or the end). */
  after: string | null;
  before: string | null;
}

interface LogCheck {
  /** Counter lines read, over every counter. */
  lines: number;
  lost: number;
  doubled: number;
  /** Counters with at least one number missing. */
  servicesWithGap: number;
  /** Of `lost`: numbers after the largest logged one, up to the counter's last (its FILE). */
  lostAtTheEnd: number;
  /** Lines whose number is smaller than the one before. */
  outOfOrder: number;
  /** Lines that are neither a number nor tend's. */
  otherLines: number;
  /** Counters that left no last number (no SIGTERM reached them, or they could not write). */
  noLast: string[];
  /** Services whose logs have more than one `[tend] starting` line, and none. */
  startedTwice: string[];
  neverStarted: string[];
  /** tend's lines in the services' logs, by text (`starting`, `up`, …), over every service. */
  tendLines: Record<string, number>;
  gaps: Gap[];
  /** Log files read per service, at most (rotation: current.N). */
  maxFiles: number;
}

/** The log files of a service, oldest first: current.K … current.1, current. */
function logFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const rotated = names
    .map((f) => /^current\.(\d+)$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => b - a)
    .map((k) => join(dir, `current.${k}`));
  return [...rotated, ...(names.includes("current") ? [join(dir, "current")] : [])];
}

function checkLogs(root: string, l: Layout): LogCheck {
  const c: LogCheck = { lines: 0, lost: 0, doubled: 0, servicesWithGap: 0, lostAtTheEnd: 0, outOfOrder: 0, otherLines: 0, noLast: [], startedTwice: [], neverStarted: [], tendLines: {}, gaps: [], maxFiles: 0 };
  const counters = new Set(l.counters);
  for (const name of all(l)) {
    const files = logFiles(join(root, "var", "log", "tend", name));
    c.maxFiles = Math.max(c.maxFiles, files.length);
    const numbers: number[] = [];
    const stamps: string[] = [];
    let starting = 0;
    for (const file of files) {
      for (const line of readFileSync(file, "utf8").split("\n")) {
        if (line === "") continue;
        const m = LINE.exec(line);
        const text = m === null ? line : m[2]!;
        if (text.startsWith("[tend] ")) {
          const what = text.slice(7);
          const key = what.replace(/\d+/g, "N");
          c.tendLines[key] = (c.tendLines[key] ?? 0) + 1;
          if (/^starting(:|$)/.test(what)) starting++;
        } else if (m !== null && counters.has(name) && /^\d+$/.test(text)) {
          numbers.push(Number(text));
          stamps.push(m[1]!);
        } else {
          c.otherLines++;
        }
      }
    }
    if (starting > 1) c.startedTwice.push(name);
    if (starting === 0) c.neverStarted.push(name);
    if (!counters.has(name)) continue;
    c.lines += numbers.length;
    let last: number | null = null;
    try {
      const text = readFileSync(join(root, "last", name), "utf8").trim();
      if (/^\d+$/.test(text)) last = Number(text);
    } catch {
      // no SIGTERM reached it
    }
    if (last === null) c.noLast.push(name);
    const largest = numbers.reduce((a, b) => Math.max(a, b), 0);
    const end = Math.max(largest, last ?? 0);
    const seen = new Uint8Array(end + 2);
    let previous = 0;
    for (const n of numbers) {
      if (n < previous) c.outOfOrder++;
      previous = n;
      if (n >= 1 && n <= end) {
        if (seen[n]) c.doubled++;
        seen[n] = 1;
      }
    }
    // Every number from 1 to the end once: the runs of missing ones are the gaps.
    let lostHere = 0;
    for (let n = 1; n <= end; n++) {
      if (seen[n]) continue;
      let to = n;
      while (to + 1 <= end && !seen[to + 1]) to++;
      lostHere += to - n + 1;
      if (n > largest) c.lostAtTheEnd += to - n + 1;
      if (c.gaps.length < 20) {
        const i = numbers.indexOf(n - 1);
        const j = numbers.indexOf(to + 1);
        c.gaps.push({ service: name, from: n, to, after: i < 0 ? null : stamps[i]!, before: j < 0 ? null : stamps[j]! });
      }
      n = to;
    }
    c.lost += lostHere;
    if (lostHere > 0) c.servicesWithGap++;
  }
  return c;
}

interface RoundResult {
  n: number;
  counters: number;
  /** `tend --json start all`, the whole CLI call. */
  startMs: number;
  /** (a): the new server's spawn → its first answered ping. */
  answerMs: number;
  /** (b): its spawn → the first status reply that is correct (or the time given up at). */
  correctMs: number;
  correct: boolean;
  polls: number;
  /** The first status reply of the new server, and the last one read before giving up or being correct. */
  first: Agreement;
  final: Agreement;
  /** AFTER_MS after status was correct: still the same pids? */
  later: Agreement;
  keeper: number;
  /** The keeper's CPU while the counters ran before the kill, and the counters' own (Σ), % of one CPU. */
  keeperCpu: number;
  countersCpu: number;
  /** Wall clock (ISO) of the kill and of the new server's spawn: to place gaps. */
  killedAt: string;
  spawnedAt: string;
  /** What the new server said about taking over (its log). */
  takeOver: string[];
  /**
   * From its spawn (ms, wall clock, from the stamps of its log): it has the keeper's
   * table ("keeper N (already running)": Node's start-up, the database, the snapshot and
   * journal read, hello and the table), it has taken over (snapshot restored, journal
   * replayed, every process adopted), it listens on its sockets.
   */
  phases: { keeper: number | null; tookOver: number | null; listening: number | null };
  logs: LogCheck;
  /** hrtime µs of the new server's spawn and of its correct status: a profile's window. */
  windowUs: [number, number];
}

/** Connects to the control socket, retrying every 2 ms, until a ping is answered; throws when the server dies or at the deadline. */
async function firstAnswer(path: string, pid: number, log: string, deadline: number): Promise<ControlClient> {
  for (;;) {
    if (!alive(pid)) throw new Error(`the new tend server exited before it answered:\n${tail(log)}`);
    try {
      const client = await ControlClient.open(path);
      const reply = await client.request({ cmd: "ping" });
      if (reply.ok) return client;
      client.close();
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error(`the new tend server did not answer on ${path} within ${LAUNCH_TIMEOUT_MS / 1000} s:\n${tail(log)}`);
    await sleep(2);
  }
}

/** One round on a fresh root: start all, count, kill the server, start a new one, time it, count, shut down, read the logs. */
async function readoptRound(ctx: BenchContext, root: string, program: string, l: Layout, profileDir?: string): Promise<RoundResult> {
  const n = l.quiet.length + l.counters.length;
  const log = join(root, "daemon.log");
  const m1 = launchTend(ctx, { root, program });
  let orphans: Orphans | null = null;
  let m2: Manager | null = null;
  let client: ControlClient | null = null;
  let result: Omit<RoundResult, "logs"> | null = null;
  try {
    const started = timeSteps(m1.start(BUNDLE));
    m1.checkStarted(started.stdout, n);
    const status = timeProcess({ label: "tend --json status all", file: process.execPath, args: [ctx.tend, "--root", root, "--json", "status", BUNDLE], timeoutMs: COMMAND_TIMEOUT_MS });
    const pids = new Map(servicesOf(JSON.parse(status.stdout)).map((s) => [s.name, s.pid] as const));
    const missing = all(l).filter((name) => typeof pids.get(name) !== "number");
    if (pids.size !== n || missing.length > 0) throw new Error(`tend --json status all: ${pids.size} services, ${missing.length} without a pid (${missing.slice(0, 5).join(", ")})`);
    const recorded = pids as Map<string, number>;
    const keepers = m1.keepers?.() ?? [];
    if (keepers.length !== 1) throw new Error(`the tend server has ${keepers.length} tend-keeper children, 1 expected: W6 needs the keeper`);
    const keeper = keepers[0]!;
    // Their CPU is the bench's own work, not other work (the keeper outlives its server).
    adopt(keeper, false);
    for (const pid of recorded.values()) adopt(pid, false);

    // What the counting costs (on a small machine the new server competes with it for the CPUs).
    const counterPids = l.counters.map((name) => recorded.get(name)!);
    const cpuOf = (pids: readonly number[]): number => pids.reduce((sum, pid) => sum + (cpuMs(pid) ?? Number.NaN), 0);
    const k0 = cpuOf([keeper]);
    const s0 = cpuOf(counterPids);
    const c0 = performance.now();
    await sleep(BEFORE_MS);
    const ms = performance.now() - c0;
    const keeperCpu = ((cpuOf([keeper]) - k0) / ms) * 100;
    const countersCpu = ((cpuOf(counterPids) - s0) / ms) * 100;

    const killedAt = new Date().toISOString();
    orphans = await m1.killServer!();
    if (!alive(keeper)) throw new Error(`the keeper (pid ${keeper}) did not outlive its server`);
    const logBefore = existsSync(log) ? statSync(log).size : 0;

    // The new server, timed from its spawn.
    const t0 = performance.now();
    const t0Us = nowUs();
    const spawnedAtMs = Date.now();
    const spawnedAt = new Date(spawnedAtMs).toISOString();
    m2 = launchTend(ctx, { root, program }, { wait: false, ...(profileDir === undefined ? {} : { profileDir }) });
    client = await firstAnswer(join(root, "run", "tend", CONTROL_SOCKET), m2.pid, log, t0 + LAUNCH_TIMEOUT_MS);
    const answerMs = performance.now() - t0;
    let first: Agreement | null = null;
    let final: Agreement;
    let correct = false;
    let polls = 0;
    let correctMs: number;
    let correctUs = 0;
    for (;;) {
      const reply = await client.request({ cmd: "status", names: [BUNDLE] });
      const at = performance.now();
      polls++;
      if (!reply.ok) throw new Error(`status on the new server: ${reply.error}`);
      const services = servicesOf(reply.result);
      final = agreement(services, recorded);
      first ??= final;
      if (isCorrect(final, n, services.length)) {
        correct = true;
        correctMs = at - t0;
        correctUs = nowUs();
        break;
      }
      if (at - t0 > CORRECT_TIMEOUT_MS) {
        correctMs = at - t0;
        correctUs = nowUs();
        break;
      }
      if (!alive(m2.pid)) throw new Error(`the new tend server exited:\n${tail(log)}`);
      await sleep(POLL_GAP_MS);
    }

    await sleep(AFTER_MS);
    const laterReply = await client.request({ cmd: "status", names: [BUNDLE] });
    if (!laterReply.ok) throw new Error(`status on the new server: ${laterReply.error}`);
    const later = agreement(servicesOf(laterReply.result), recorded);
    client.close();
    client = null;
    const lines = readFileSync(log).subarray(logBefore).toString("utf8").split("\n");
    const takeOver = lines.filter((line) => /took over|not taking over|internal error|LOST/i.test(line)).map((line) => line.replace(/^\S+ /, ""));
    // The new server's own log, stamped to the ms: when it had the keeper's table, had taken over, listened.
    const at = (test: RegExp): number | null => {
      const line = lines.find((x) => test.test(x));
      const stamp = line === undefined ? Number.NaN : Date.parse(line.split(" ")[0]!);
      return Number.isFinite(stamp) ? stamp - spawnedAtMs : null;
    };
    const phases = { keeper: at(/ keeper \d+ \(already running\)/), tookOver: at(/ took over \d+ running/), listening: at(new RegExp(` tend server ${m2.pid}:`)) };
    result = {
      n,
      counters: l.counters.length,
      startMs: started.ms,
      answerMs,
      correctMs,
      correct,
      polls,
      first: first ?? final,
      final,
      later,
      keeper,
      keeperCpu,
      countersCpu,
      killedAt,
      spawnedAt,
      takeOver,
      phases,
      windowUs: [t0Us, correctUs],
    };
  } finally {
    client?.close();
    // The keeper and the services are not the bench's children: their CPU is read now,
    // before they exit, or the interference check would count it as other work.
    refreshAdopted();
    if (m2 !== null) {
      try {
        m2.shutdown(); // stops the services and the keeper it took over; kills them should that fail
      } finally {
        orphans?.release();
      }
    } else if (orphans !== null) {
      orphans.killLeft();
    } else {
      m1.shutdown();
    }
  }
  if (result === null) throw new Error("unreachable: the round ended without a result");
  const left = processesOf(program).length;
  if (left > 0) throw new Error(`${left} service processes left after tend shutdown`);
  return { ...result, logs: checkLogs(root, l) };
}

/** Where the new server's time goes until status is correct: the innermost frame of each sample that one of these claims. */
const READOPT_CATEGORIES: readonly Category[] = [
  { name: "loading modules (Node's loader)", test: (f) => f.url.startsWith("node:internal/modules/") },
  { name: "restoring the snapshot, replaying the journal (src/engine/snapshot)", test: (f) => f.url.includes("/src/engine/snapshot.") },
  { name: "engine (src/engine)", test: (f) => f.url.includes("/src/engine/") },
  { name: "journal and checkpoints (src/server/runtime-state)", test: (f) => f.url.includes("/src/server/runtime-state.") },
  { name: "the keeper: connection, hello, table, frames (src/keeper)", test: (f) => f.url.includes("/src/keeper/") },
  { name: "supervisor: adopting, readiness (src/supervisor)", test: (f) => f.url.includes("/src/supervisor/") },
  { name: "status replies (src/server/status)", test: (f) => f.url.includes("/src/server/status.") },
  { name: "control socket (src/server/control-socket)", test: (f) => f.url.includes("/src/server/control-socket.") },
  { name: "reading the database (src/compile)", test: (f) => f.url.includes("/src/compile/") },
  { name: "configuration records (src/config)", test: (f) => f.url.includes("/src/config/") },
  { name: "server, other (src/server)", test: (f) => f.url.includes("/src/server/") },
  { name: "the CLI's entry (src/cli)", test: (f) => f.url.includes("/src/cli/") },
];

const sumOf = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

export const w6Readopt: Workload = {
  name: "w6-readopt",
  title: "W6: kill -9 of the server with 1000 up, 500 printing a counter every 10 ms: a new server's status correct within 1 s, no counter line lost or doubled",
  async run(ctx) {
    const runs = repetitions(ctx, 5, 1);
    const n = ctx.quick ? QUICK_SERVICES : SERVICES;
    const l = layoutOf(n);
    const tmp = makeTempDir("w6");
    try {
      const program = buildServiceProgram(tmp);
      const rounds: RoundResult[] = [];
      let roots = 0;
      for (let i = 0; i < runs; i++) {
        ctx.log(`w6-readopt: round ${i + 1}/${runs}: ${n} services (${l.counters.length} counters), kill -9 of the server, a new one on the same root`);
        // A fresh root each time, also for a round --wait-idle runs again: its logs must hold one run only.
        rounds.push(
          await ctx.round(() => {
            const root = join(tmp, `r${roots++}`);
            prepareRoot(ctx, root, program, l);
            return readoptRound(ctx, root, program, l);
          }),
        );
        const r = rounds[rounds.length - 1]!;
        ctx.log(
          `w6-readopt: answering ${r.answerMs.toFixed(0)} ms, status ${r.correct ? "correct" : "NOT correct"} at ${r.correctMs.toFixed(0)} ms (${r.polls} polls); ` +
            `lines lost ${r.logs.lost}, doubled ${r.logs.doubled}, started twice ${r.logs.startedTwice.length}`,
        );
      }

      const notes: string[] = [];
      const up = `${n} up`;
      const counted = `${l.counters.length} counters × ${PERIOD_MS} ms`;
      const quick = ctx.quick ? `; --quick: ${n} services, not ${SERVICES}` : "";
      const cases: CaseResult[] = [
        caseResult(
          "w6-readopt",
          `w6 status correct after restart (${up})`,
          "tend",
          rounds.map((r) => r.correctMs),
          STATUS_GOAL,
          `the new server's spawn → a status of all with every service up and the same pid (polled on the control socket every ${POLL_GAP_MS} ms)${quick}`,
        ),
        caseResult("w6-readopt", "w6 server answering", "tend", rounds.map((r) => r.answerMs), null, `the new server's spawn → its first ping answered on control.sock${quick}`),
        caseResult(
          "w6-readopt",
          "w6 counter lines lost",
          "tend",
          rounds.map((r) => r.logs.lost),
          ZERO,
          `numbers missing from the logs, Σ over ${counted} (${sumOf(rounds.map((r) => r.logs.servicesWithGap))} services with a gap, ${sumOf(rounds.map((r) => r.logs.lostAtTheEnd))} at the end; ${sumOf(rounds.map((r) => r.logs.lines)).toLocaleString("en-US")} lines read)${quick}`,
          "count",
        ),
        caseResult("w6-readopt", "w6 counter lines doubled", "tend", rounds.map((r) => r.logs.doubled), ZERO, `numbers logged more than once, Σ over ${counted}${quick}`, "count"),
        caseResult(
          "w6-readopt",
          "w6 services started twice",
          "tend",
          rounds.map((r) => r.logs.startedTwice.length),
          ZERO,
          `services whose logs have more than one '[tend] starting' line, of ${n}${quick}`,
          "count",
        ),
      ];

      for (const [i, r] of rounds.entries()) {
        const which = runs > 1 ? ` (round ${i + 1})` : "";
        if (!r.correct) {
          notes.push(
            `w6-readopt${which}: status was not correct ${(r.correctMs / 1000).toFixed(1)} s after the new server started: ${r.final.up} of ${r.n} up, ${r.final.samePid} with the same pid; e.g. ${r.final.odd.join("; ")}`,
          );
        } else if (r.polls > 1) {
          notes.push(`w6-readopt${which}: the new server's first status showed ${r.first.up} of ${r.n} up, ${r.first.samePid} with the same pid (correct after ${r.polls} polls)`);
        }
        if (r.later.up !== r.n || r.later.samePid !== r.n) notes.push(`w6-readopt${which}: ${AFTER_MS / 1000} s after that, ${r.later.up} of ${r.n} up, ${r.later.samePid} with the same pid: ${r.later.odd.join("; ")}`);
        if (!r.takeOver.some((line) => /took over \d+ running process(es)? and the previous server's state/.test(line))) {
          notes.push(`w6-readopt${which}: the new server did not say it took over the previous server's state: ${r.takeOver.join(" | ") || "(nothing in its log)"}`);
        }
        if (r.logs.gaps.length > 0) {
          notes.push(
            `w6-readopt${which}: missing counter lines (killed ${r.killedAt}, new server ${r.spawnedAt}): ` +
              r.logs.gaps
                .slice(0, 8)
                .map((g) => `${g.service} ${g.from === g.to ? g.from : `${g.from}–${g.to}`} (after ${g.after ?? "the start"}, before ${g.before ?? "the end"})`)
                .join("; "),
          );
        }
        if (r.logs.neverStarted.length > 0) notes.push(`w6-readopt${which}: ${r.logs.neverStarted.length} services have no '[tend] starting' line in their logs: ${r.logs.neverStarted.slice(0, 5).join(", ")}`);
        if (r.logs.startedTwice.length > 0) notes.push(`w6-readopt${which}: started twice: ${r.logs.startedTwice.slice(0, 10).join(", ")}`);
        if (r.logs.noLast.length > 0) notes.push(`w6-readopt${which}: ${r.logs.noLast.length} counters wrote no last number on SIGTERM (their tail is judged by the logs alone): ${r.logs.noLast.slice(0, 5).join(", ")}`);
        if (r.logs.outOfOrder > 0 || r.logs.otherLines > 0) notes.push(`w6-readopt${which}: ${r.logs.outOfOrder} counter lines out of order, ${r.logs.otherLines} lines neither a number nor tend's`);
      }
      notes.push(
        `w6-readopt: ${n} services, ${l.counters.length} printing every ${PERIOD_MS} ms: tend start all ${median(rounds.map((r) => r.startMs)).toFixed(0)} ms; while they counted, the keeper used ${median(rounds.map((r) => r.keeperCpu)).toFixed(1)}% of a CPU and the counters ${median(rounds.map((r) => r.countersCpu)).toFixed(1)}% (Σ); ` +
          `new server answering after ${median(rounds.map((r) => r.answerMs)).toFixed(0)} ms, status correct after ${median(rounds.map((r) => r.correctMs)).toFixed(0)} ms (median of ${runs}); ` +
          `${sumOf(rounds.map((r) => r.logs.lines)).toLocaleString("en-US")} counter lines read, ${sumOf(rounds.map((r) => r.logs.lost))} lost, ${sumOf(rounds.map((r) => r.logs.doubled))} doubled`,
      );

      const phase = (pick: (r: RoundResult) => number | null): string => {
        const xs = rounds.map(pick).filter((x): x is number => x !== null);
        return xs.length === 0 ? "?" : `${median(xs).toFixed(0)} ms`;
      };
      notes.push(
        `w6-readopt: the new server, from its spawn (medians; its log's stamps): the keeper's table read at ${phase((r) => r.phases.keeper)} (Node's start-up, loading, the database, snapshot and journal, hello), ` +
          `taken over at ${phase((r) => r.phases.tookOver)} (snapshot restored, journal replayed, ${n} processes adopted), listening at ${phase((r) => r.phases.listening)}, ` +
          `answering at ${phase((r) => r.answerMs)}, status correct at ${phase((r) => r.correctMs)}`,
      );

      let profile: { file: string; breakdown: Breakdown; correctMs: number; answerMs: number } | null = null;
      const slow = cases[0]!.verdict === "FAIL";
      if (ctx.profile || slow) {
        ctx.log(`w6-readopt: one more round with the new server under --cpu-prof${slow ? " (status was slow to become correct)" : ""}`);
        const root = join(tmp, "profiled");
        prepareRoot(ctx, root, program, l);
        const profDir = join(tmp, "prof");
        mkdirSync(profDir);
        const r = await readoptRound(ctx, root, program, l, profDir);
        const written = readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"));
        if (written === undefined) throw new Error("the profiled server wrote no profile");
        const kept = join(ctx.resultsDir, `${ctx.stamp}-w6-readopt.cpuprofile`);
        copyFileSync(join(profDir, written), kept);
        const [b] = breakdown(kept, READOPT_CATEGORIES, [{ name: `the new server's spawn → status correct (profiled; ${r.correct ? "correct" : "not correct"})`, fromUs: r.windowUs[0], toUs: r.windowUs[1] }]);
        profile = { file: kept, breakdown: b!, correctMs: r.correctMs, answerMs: r.answerMs };
        notes.push(
          `w6-readopt: where the new server's time goes until status is correct (--cpu-prof, 250 µs sampling; answering after ${r.answerMs.toFixed(0)} ms, correct after ${r.correctMs.toFixed(0)} ms while profiled; ` +
            `profiled, the server runs tsc's per-module output (dist/src), which takes longer to load than the bundle; 'not sampled' is mostly Node's start-up before the profiler runs; ` +
            `on a machine the counters keep busy, time the server waited for a CPU is charged to whatever it was running; '${OTHER.split(" (")[0]}' is Node's own code; open ${kept} in Chrome DevTools or speedscope):`,
          ...formatBreakdown(b!),
        );
      }

      return {
        cases,
        notes,
        details: {
          services: n,
          counters: l.counters.length,
          periodMs: PERIOD_MS,
          beforeMs: BEFORE_MS,
          afterMs: AFTER_MS,
          pollGapMs: POLL_GAP_MS,
          rounds: rounds.map((r) => ({
            startMs: Math.round(r.startMs),
            answerMs: Math.round(r.answerMs * 10) / 10,
            correctMs: Math.round(r.correctMs * 10) / 10,
            correct: r.correct,
            polls: r.polls,
            first: r.first,
            final: r.final,
            later: r.later,
            keeperCpu: Math.round(r.keeperCpu * 10) / 10,
            countersCpu: Math.round(r.countersCpu * 10) / 10,
            killedAt: r.killedAt,
            spawnedAt: r.spawnedAt,
            takeOver: r.takeOver,
            phases: r.phases,
            logs: r.logs,
          })),
          profile,
        },
      };
    } finally {
      removeTempDir(tmp);
    }
  },
};
