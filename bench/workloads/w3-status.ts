// W3 status: one status query from each manager's CLI, the whole process, while 1000
// services are up under it (every manager runs its own 1000 at the same time, each on
// its own copy of the service program), timed in the same interleaved rounds as
// `node -e 0` (the floor of a Node CLI; the cleaned environment: no
// NODE_EXTRA_CA_CERTS):
//   tend          tend status             (the table of all 1000; the bench checks 1000 up)
//   s6            s6-svstat ./s0000       (one service: s6 has no command that lists every
//                                          service; s6-rc would). Its ratio is taken against
//                                          `tend status s0000`, timed in the same rounds.
//   runit         sv status ./s0000 …     (every service, one process)
//   supervisord   supervisorctl status
//   pm2           pm2 ls
//   dinit         dinitctl list           (when the machine has dinit)
// Goal (issue 3): `tend status − node -e 0` ≤ 10 ms per round. And tend's memory with
// the 1000 up, once settled (before the status calls), over all of tend's processes (the
// server and, once it lands, its keeper, found among the server's descendants by its
// program dist/keeper/tend-keeper): Σ VmRSS < 60 MB, Σ Pss ≤ 45 MB; the keeper alone
// Pss ≤ 1 MB + 2 KB per service.
//
// With --profile, `tend status` is run 5 more times under `node --cpu-prof` (100 µs
// sampling) and each profile is split into where the CLI's time went (STATUS_CATEGORIES).

import { findDinit } from "../lib/dinit.js";
import { contenders, dirOf, Guard, QUICK_MAX_N } from "../lib/contenders.js";
import type { Manager, Subject } from "../lib/managers.js";
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { sleepSync } from "../lib/processes.js";
import { breakdown, formatBreakdown, sumBreakdowns, wholeProfile, type Breakdown, type Category } from "../lib/profile.js";
import { timeInterleaved, timeProcess, timeSteps, type Command } from "../lib/proc.js";
import { rng } from "../lib/prng.js";
import { flatSet } from "../lib/service-sets.js";
import { servicePrograms } from "../lib/service-program.js";
import { pairedDifferences } from "../lib/stats.js";
import { makeTempDir, removeTempDir } from "../lib/tmp.js";
import { caseResult, repetitions, withRatio, type CaseResult, type Workload } from "../lib/workload.js";

const SERVICES = 1000;
const BUNDLE = `flat-${SERVICES}`;
const GOAL_MS = 10;
const RSS_GOAL = { text: "< 60 MB", max: 60, strict: true };
/** Every tend process together (server + keeper), Σ Pss. */
const PSS_GOAL = { text: "≤ 45 MB", max: 45 };
/** The keeper alone: 1 MB + 2 KB per service (MiB and KiB, as every "MB" of the tables). */
const KEEPER_GOAL = { text: `≤ 1 MB + 2 KB × ${SERVICES}`, max: 1 + (2 * SERVICES) / 1024 };
/** V8's memory reducer shrinks the heap some seconds (about 8) after the start's burst. */
const SETTLE_MS = 20_000;
const RSS_DROP_MIB = 5;

const PROFILE_CALLS = 5;
/** Left out with --quick: supervisord's start of 1000 takes 5–8 s, each `supervisorctl status` 1 s. */
const QUICK_W3_LEFT_OUT: readonly Subject[] = ["supervisord"];

/** Where a `tend status` process's time goes: the innermost frame of each sample that one of these claims. */
export const STATUS_CATEGORIES: readonly Category[] = [
  { name: "Node's start-up (pre-execution, main)", test: (f) => f.url.startsWith("node:internal/process/pre_execution") || f.url.startsWith("node:internal/main/") || f.url.startsWith("node:internal/bootstrap/node") },
  { name: "writing the table to stdout (streams, write())", test: (f) => f.url.startsWith("node:internal/stream_base_commons") || f.url.startsWith("node:internal/streams/") || (f.url === "node:fs" && /write/i.test(f.functionName)) || f.functionName === "writeBuffer" || f.functionName === "writeUtf8String" },
  { name: "the socket: connect, read the reply (node:net)", test: (f) => f.url === "node:net" || f.url.startsWith("node:internal/net") },
  { name: "JSON.parse of the reply", test: (f) => f.functionName === "parse" && f.url === "" },
  { name: "loading modules: the ESM loader, Node's built-ins (node:net …), tend's bundle", test: (f) => f.url.startsWith("node:internal/modules/") || f.url === "node:internal/bootstrap/realm" },
  { name: "tend's CLI code (dist/bin: arguments, the table's text)", test: (f) => f.url.includes("/dist/bin/") },
];

/** How each status output shows 1000 services up (checked once, in the first warm-up round). */
const UP_LINES: Partial<Record<Subject, RegExp>> = {
  tend: /^s\d{4}\s+longrun\s+up\s/,
  runit: /^run: \.\/s\d{4}: \(pid \d+\)/,
  supervisord: /^flat-1000:s\d{4}\s+RUNNING\s/,
  pm2: /\bs\d{4}\b.*\bonline\b/,
};

export const w3Status: Workload = {
  name: "w3-status",
  title: "W3: one status query from each manager's CLI with 1000 services up, vs node -e 0; the memory of all tend processes (server + keeper)",
  prepare: async (ctx) => void (await findDinit(ctx)),
  async run(ctx) {
    const runs = repetitions(ctx, 20, 5);
    // --quick: tend's memory is read after at most 5 s (it may not have settled yet: the row says so).
    const settleMs = ctx.quick ? 5000 : SETTLE_MS;
    const tmp = makeTempDir("w3");
    const managers: Manager[] = [];
    /** Shuts every manager down (the last started first); returns the failures: tend's, and the peers'. */
    const stopAll = (): { tend: string[]; peers: string[] } => {
      const errors = { tend: [] as string[], peers: [] as string[] };
      while (managers.length > 0) {
        const m = managers.pop()!;
        ctx.log(`w3-status: stopping ${m.subject}`);
        try {
          m.shutdown();
        } catch (e) {
          (m.subject === "tend" ? errors.tend : errors.peers).push(`${m.subject}: ${(e as Error).message}`);
        }
      }
      return errors;
    };
    try {
      const programs = servicePrograms(tmp);
      const set = flatSet(SERVICES, [SERVICES]);
      const notes: string[] = [];
      const all = await contenders(ctx, programs);
      for (const s of all.skipped) notes.push(`w3-status: no ${s.subject} rows: ${s.why}`);
      // --quick: the peers that take longest to start and stop 1000 services are left out.
      const list = all.list.filter((c) => !ctx.quick || ((QUICK_MAX_N[c.subject] ?? Infinity) >= SERVICES && !QUICK_W3_LEFT_OUT.includes(c.subject)));
      for (const c of all.list) if (!list.includes(c)) notes.push(`w3-status: no ${c.subject} rows with --quick (starting and stopping its 1000 services takes too long for a quick look)`);
      const guard = new Guard("w3-status", ctx.log);

      // tend first, alone: its memory settles while the others start.
      const startMs: Record<string, number> = {};
      let tend: Manager | null = null;
      let settleFrom = 0;
      let peakRss = Number.NaN;
      for (const c of list) {
        ctx.log(`w3-status: starting ${SERVICES} services under ${c.subject}`);
        const m = await guard.run(c.subject, () => {
          const launch = c.prepare(dirOf(tmp, c.subject, "n1000"), set);
          const m = launch();
          managers.push(m);
          const t = timeSteps(m.start(BUNDLE));
          m.checkStarted(t.stdout, SERVICES);
          startMs[c.subject] = Math.round(t.ms);
          return m;
        });
        if (m === undefined) continue;
        if (c.subject === "tend") {
          tend = m;
          settleFrom = performance.now();
          peakRss = m.memory()?.rssMiB ?? Number.NaN;
        }
      }
      if (tend === null) throw new Error("tend did not start");
      // The RSS goal is about a server that runs 1000 services, not one that has just
      // started them: the start's burst grows V8's heap, which V8 gives back when its
      // memory reducer runs, some seconds later if the server is left alone. So the
      // server is left alone (the peers start meanwhile) until that happened (its RSS
      // fell by RSS_DROP_MIB), at most SETTLE_MS after its start, before the status calls.
      ctx.log(`w3-status: waiting (at most ${settleMs / 1000} s after its start) for tend's memory to settle`);
      let tendRss = tend.memory()?.rssMiB ?? Number.NaN;
      while (performance.now() - settleFrom < settleMs && !(peakRss - tendRss >= RSS_DROP_MIB)) {
        sleepSync(250);
        tendRss = tend.memory()?.rssMiB ?? Number.NaN;
      }
      const settledIn = performance.now() - settleFrom;
      if (peakRss - tendRss >= RSS_DROP_MIB) sleepSync(1000);
      // The reading: every tend process (the server and, once it lands, its keeper), and the keeper alone.
      const tendMemory = tend.memory();
      const keeperMemory = tend.keeperMemory?.() ?? null;
      tendRss = tendMemory?.rssMiB ?? tendRss;
      const settledNote =
        peakRss - tendRss >= RSS_DROP_MIB
          ? `VmRSS, settled ${(settledIn / 1000).toFixed(1)} s after the start (${peakRss.toFixed(0)} MB just after)`
          : `VmRSS, NOT settled within ${settleMs / 1000} s (${peakRss.toFixed(0)} MB just after the start)`;

      const node: Command = { label: "node -e 0", file: process.execPath, args: ["-e", "0"] };
      const tendAll = tend.status();
      const tendOne: Command = { ...tendAll, label: "tend status s0000", args: [...tendAll.args, "s0000"] };
      const running = managers.filter((m) => guard.ok(m.subject));
      const peers = running.filter((m) => m.subject !== "tend");
      const statusOf = new Map(peers.map((m) => [m.subject, m.status()] as const));
      const commands = [node, tendAll, ...(statusOf.has("s6") ? [tendOne] : []), ...statusOf.values()];
      ctx.log(`w3-status: ${commands.length} cases × ${runs} runs, interleaved`);
      const r = rng(0x3003);
      const samples = await timeInterleaved(commands, runs, {
        round: ctx.round,
        warmup: ctx.quick ? 1 : 2,
        shuffle: (items) => r.shuffle(items),
        check: (cmd, t) => {
          const who = cmd === tendAll ? "tend" : peers.find((m) => statusOf.get(m.subject) === cmd)?.subject;
          const pattern = who === undefined ? undefined : UP_LINES[who];
          if (pattern === undefined) return;
          const up = t.stdout.split("\n").filter((l) => pattern.test(l.replace(/\x1b\[[0-9;]*m/g, ""))).length;
          if (up !== SERVICES) throw new Error(`${cmd.label} shows ${up} of ${SERVICES} services up:\n${t.stdout.slice(0, 1000)}`);
        },
      });
      const floor = samples.get(node.label)!;
      const all1000 = samples.get(tendAll.label)!;
      const cases: CaseResult[] = [
        caseResult("w3-status", "node -e 0", "node", floor, null, "the floor"),
        caseResult("w3-status", "tend status (1000 up)", "tend", all1000, null, "whole CLI call"),
        caseResult("w3-status", "tend status − node", "tend", pairedDifferences(all1000, floor), { text: `≤ ${GOAL_MS} ms`, max: GOAL_MS }, "per-round difference"),
      ];
      if (tendMemory !== null) {
        const whose = keeperMemory === null ? "the server alone (no keeper process)" : `Σ over the server and its keeper (${tendMemory.processes} processes)`;
        cases.push(caseResult("w3-status", "tend RSS, 1000 up (all tend processes)", "tend", [tendMemory.rssMiB], RSS_GOAL, `${settledNote}; ${whose}`, "MB"));
        cases.push(caseResult("w3-status", "tend PSS, 1000 up (all tend processes)", "tend", [tendMemory.pssMiB], PSS_GOAL, `Pss (smaps_rollup), read with the RSS; ${whose}; USS ${tendMemory.ussMiB.toFixed(1)} MB`, "MB"));
        cases.push(caseResult("w3-status", "tend anonymous, 1000 up (all tend processes)", "tend", [tendMemory.anonMiB], null, `RssAnon + RssShmem, read with the RSS; ${whose}`, "MB"));
        if (keeperMemory !== null) {
          cases.push(caseResult("w3-status", "tend-keeper PSS, 1000 up", "tend", [keeperMemory.pssMiB], KEEPER_GOAL, "the keeper alone, Pss (smaps_rollup)", "MB"));
          cases.push(caseResult("w3-status", "tend-keeper RSS, 1000 up", "tend", [keeperMemory.rssMiB], null, `the keeper alone, VmRSS (anonymous ${keeperMemory.anonMiB.toFixed(1)} MB)`, "MB"));
        } else {
          notes.push(`w3-status: no tend-keeper process under tend's server (dist/keeper/tend-keeper not running): no keeper row, and tend's memory is the server's alone`);
        }
        notes.push(
          `w3-status: tend with 1000 up: RSS ${tendMemory.rssMiB.toFixed(1)} MB, PSS ${tendMemory.pssMiB.toFixed(1)} MB, USS ${tendMemory.ussMiB.toFixed(1)} MB, anonymous ${tendMemory.anonMiB.toFixed(1)} MB (${whose})` +
            `${keeperMemory === null ? "" : `; the keeper alone PSS ${keeperMemory.pssMiB.toFixed(2)} MB, RSS ${keeperMemory.rssMiB.toFixed(2)} MB`}; ${settledNote.replace(/^VmRSS, /, "")}`,
        );
      }
      if (statusOf.has("s6")) cases.push(caseResult("w3-status", "tend status s0000 (one service)", "tend", samples.get(tendOne.label)!, null, "for s6-svstat"));
      for (const m of peers) {
        const cmd = statusOf.get(m.subject)!;
        const mine = samples.get(cmd.label)!;
        const name = `${cmd.label}${m.subject === "s6" ? " (one service)" : " (1000 up)"}`;
        const against = m.subject === "s6" ? samples.get(tendOne.label)! : all1000;
        cases.push(withRatio(caseResult("w3-status", name, m.subject, mine, null, m.statusScope ?? "whole process"), against, mine));
      }
      let profile: { files: string[]; breakdown: Breakdown } | null = null;
      if (ctx.profile) {
        ctx.log(`w3-status: ${PROFILE_CALLS} more 'tend status' calls under --cpu-prof`);
        const profDir = join(tmp, "prof");
        mkdirSync(profDir);
        const walls: number[] = [];
        for (let i = 0; i < PROFILE_CALLS; i++) {
          walls.push(timeProcess({ ...tendAll, label: "tend status --cpu-prof", args: ["--cpu-prof", "--cpu-prof-interval", "100", "--cpu-prof-dir", profDir, ...tendAll.args] }).ms);
        }
        const files = readdirSync(profDir).filter((f) => f.endsWith(".cpuprofile")).map((f) => join(profDir, f));
        const parts = files.map((f) => breakdown(f, STATUS_CATEGORIES, [wholeProfile(f, "tend status")])[0]!);
        const sum = sumBreakdowns(`tend status with 1000 up, ${files.length} calls profiled (the profiles' span; whole processes took ${walls.map((w) => w.toFixed(0)).join(", ")} ms)`, parts);
        const perCall = { ...sum, wallMs: Math.round((sum.wallMs / files.length) * 10) / 10, parts: sum.parts.map((p) => ({ ...p, ms: Math.round((p.ms / files.length) * 10) / 10 })) };
        profile = { files, breakdown: perCall };
        notes.push("w3-status: where a `tend status` call's time goes (--cpu-prof, 100 µs sampling, per call; Node's own start-up before the profiler starts is not in the span):", ...formatBreakdown(perCall));
      }
      notes.push(...guard.notes());
      const stopped = stopAll();
      if (stopped.tend.length > 0) throw new Error(stopped.tend.join("\n"));
      for (const e of stopped.peers) notes.push(`w3-status: ${e.split("\n")[0]}`);
      return {
        cases,
        notes,
        details: {
          services: SERVICES,
          startMs,
          statusCommands: Object.fromEntries([["tend", [tendAll.file, ...tendAll.args].join(" ")], ...[...statusOf].map(([s, c]) => [s, [c.file, ...c.args.slice(0, 3), c.args.length > 3 ? "…" : ""].join(" ").trim()])]),
          managers: Object.fromEntries(list.map((c) => [c.subject, c.version])),
          profile: profile?.breakdown ?? null,
        },
      };
    } finally {
      // Only on the way out of a failure: the managers still running are stopped.
      const stopped = stopAll();
      removeTempDir(tmp);
      if (stopped.tend.length + stopped.peers.length > 0) ctx.log(`w3-status: ${[...stopped.tend, ...stopped.peers].join("\n")}`);
    }
  },
};
