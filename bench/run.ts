// The benchmark harness: `npm run bench [-- OPTIONS]` (builds first), or
// `node dist/bench/run.js [OPTIONS]` after a build.
//
//   --quick          fewer repetitions (the whole bench in under a minute)
//   --only A,B       run only these workloads
//   --runs N         repetitions per case, overriding each workload's default
//   --profile        take CPU profiles even where the goals are met
//   --keep           keep generated temporary directories (their paths are printed)
//   --markdown       also print the table as Markdown (for docs/benchmarks.md)
//   --chart FILE     also write W1's chart (SVG) to FILE (docs/bench-w1.svg for the docs);
//                    it is always written beside the results as <timestamp>-w1.svg
//   --wait-idle      for a shared machine: wait until other processes leave the CPUs
//                    mostly idle before each workload, and run again every round
//                    they disturbed (other work above 20% of the CPUs); at most 3
//                    minutes of waiting per workload
//   --list           list the workloads and exit
//
// Prints one table on stdout (progress goes to stderr) and writes the results to
// bench/results/<timestamp>.json and bench/results/latest.json. The supervision
// workloads run tend's peers (s6, runit, supervisord, pm2) beside it, installing them
// when they are missing (bench/lib/peers.ts), and dinit, built from its source release in
// ../shared/peers when it is not on the PATH (bench/lib/dinit.ts, cached in
// bench/.cache/), and stop everything they started. The container workload (root only)
// builds a Debian root file system with debootstrap once, cached in
// os.tmpdir()/tend-bench-rootfs/ (bench/lib/container-rootfs.ts). Exit status 0 when
// every workload ran (a missed goal is a verdict in the table, not a failure), 1 when
// a workload failed to run, 2 on a usage error.

import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { w1Chart } from "./lib/chart.js";
import { cpuBusy, cpuSnapshot, machine, otherWork } from "./lib/machine.js";
import { breathe, once, removedFromEnv, type RoundRunner } from "./lib/proc.js";
import { stampOf, writeResults, RESULTS_FORMAT, RESULTS_VERSION, type RunReport } from "./lib/results.js";
import { dinitNotes, dinitVersion } from "./lib/dinit.js";
import { peerInstallNotes, peerVersions } from "./lib/peers.js";
import { formatMarkdown, formatTable } from "./lib/table.js";
import { keepTempDirs, removeAllTempDirs } from "./lib/tmp.js";
import type { BenchContext, CaseResult } from "./lib/workload.js";
import { WORKLOADS } from "./workloads/index.js";

/** Other work using more than this fraction of the CPUs while a workload runs gets a note under the table. */
const BUSY = 0.2;

/** The repository root: run.js is dist/bench/run.js. */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the repository root (package.json)");
    dir = up;
  }
  return dir;
}

/** How long --wait-idle may wait, in all, during one workload. */
const WAIT_BUDGET_MS = 180_000;
/** How often one round may be thrown away and run again. */
const MAX_REPEATS = 5;

/** Waits until other processes leave the CPUs mostly idle, or `until` (a Date.now() value) passes. */
async function waitIdle(log: (message: string) => void, until: number): Promise<void> {
  for (;;) {
    const busy = await cpuBusy(1000);
    if (busy === null || busy <= BUSY) return;
    if (Date.now() >= until) {
      log(`other processes still use ${Math.round(busy * 100)}% of the CPUs: going ahead (--wait-idle budget spent)`);
      return;
    }
    log(`other processes use ${Math.round(busy * 100)}% of the CPUs: waiting (--wait-idle)`);
  }
}

interface RoundStats {
  /** Rounds thrown away because other work disturbed them. */
  discarded: number;
  waitedMs: number;
}

/**
 * With --wait-idle: each round is run, and if other processes took more than BUSY of
 * the CPUs meanwhile, it is thrown away and run again once the machine is quiet.
 */
function quietRounds(log: (message: string) => void, stats: RoundStats): RoundRunner {
  const deadline = Date.now() + WAIT_BUDGET_MS;
  return async (round) => {
    for (let attempt = 0; ; attempt++) {
      await breathe();
      const before = cpuSnapshot();
      const result = await round();
      const other = otherWork(before, cpuSnapshot());
      if (other === null || other <= BUSY || attempt >= MAX_REPEATS || Date.now() >= deadline) return result;
      stats.discarded++;
      log(`other processes took ${Math.round(other * 100)}% of the CPUs during a round: it is thrown away and run again`);
      const t = Date.now();
      await waitIdle(log, deadline);
      stats.waitedMs += Date.now() - t;
    }
  };
}

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        quick: { type: "boolean" },
        only: { type: "string" },
        runs: { type: "string" },
        profile: { type: "boolean" },
        keep: { type: "boolean" },
        markdown: { type: "boolean" },
        chart: { type: "string" },
        "wait-idle": { type: "boolean" },
        list: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write("usage: npm run bench -- [--quick] [--only W1,W2] [--runs N] [--profile] [--keep] [--markdown] [--chart FILE] [--wait-idle] [--list]\n");
    return 0;
  }
  if (values.list) {
    for (const w of WORKLOADS) process.stdout.write(`${w.name.padEnd(12)} ${w.title}\n`);
    return 0;
  }
  const only = values.only === undefined ? null : values.only.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = only?.filter((name) => !WORKLOADS.some((w) => w.name === name)) ?? [];
  if (unknown.length > 0) {
    process.stderr.write(`bench: no workload named ${unknown.join(", ")}; there are ${WORKLOADS.map((w) => w.name).join(", ")}\n`);
    return 2;
  }
  let runs: number | null = null;
  if (values.runs !== undefined) {
    runs = Number(values.runs);
    if (!Number.isInteger(runs) || runs < 1) {
      process.stderr.write(`bench: --runs takes a whole number ≥ 1, not '${values.runs}'\n`);
      return 2;
    }
  }
  keepTempDirs(values.keep === true);

  const root = findRoot();
  // What the `tend` program (bin/tend) execs node with: the quick CLI, which hands the
  // commands it leaves out to the whole one (src/cli/cli.ts).
  const tend = join(root, "dist", "bin", "tend.cjs");
  if (!existsSync(join(root, "dist", "bin", "main.js"))) {
    process.stderr.write("bench: dist/bin/main.js is missing: run 'npm run build' (or 'npm run bench', which builds)\n");
    return 1;
  }
  const started = new Date();
  const stamp = stampOf(started);
  const resultsDir = resolve(root, "bench", "results");
  mkdirSync(resultsDir, { recursive: true });
  const ctx: BenchContext = {
    quick: values.quick === true,
    runs,
    profile: values.profile === true,
    root,
    tend,
    resultsDir,
    stamp,
    log: (message) => process.stderr.write(`bench: ${message}\n`),
    round: once,
  };
  const host = machine(root);
  const loadStart = loadavg().map((x) => Math.round(x * 100) / 100);
  const busy = await cpuBusy();
  ctx.log(`${host.cpuModel}, ${host.nproc} CPUs, node ${host.node}, other work ${busy === null ? "?" : Math.round(busy * 100)}% of the CPUs${ctx.quick ? ", --quick" : ""}`);

  const cases: CaseResult[] = [];
  const details: Record<string, unknown> = {};
  const notes: string[] = [];
  const failures: RunReport["failures"] = [];
  const interference: RunReport["load"]["during"] = {};
  // What the workloads need built first (dinit, from its source release), outside their measured windows.
  for (const workload of WORKLOADS) {
    if (workload.prepare === undefined || (only !== null && !only.includes(workload.name))) continue;
    try {
      await workload.prepare(ctx);
    } catch (e) {
      ctx.log(`${workload.name}: preparing failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      removeAllTempDirs();
    }
  }
  for (const workload of WORKLOADS) {
    if (only !== null && !only.includes(workload.name)) continue;
    const roundStats: RoundStats = { discarded: 0, waitedMs: 0 };
    const waiting = values["wait-idle"] === true;
    if (waiting) {
      await waitIdle(ctx.log, Date.now() + WAIT_BUDGET_MS);
      ctx.round = quietRounds(ctx.log, roundStats);
    }
    const t = performance.now();
    const before = cpuSnapshot();
    try {
      const result = await workload.run(ctx);
      cases.push(...result.cases);
      if (result.details) details[workload.name] = result.details;
      notes.push(...(result.notes ?? []));
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      failures.push({ workload: workload.name, error: message });
      ctx.log(`${workload.name} failed: ${message}`);
    } finally {
      removeAllTempDirs();
    }
    const disturbed = otherWork(before, cpuSnapshot());
    interference[workload.name] = { otherWork: disturbed, ...(waiting ? roundStats : {}) };
    if (roundStats.discarded > 0) {
      notes.unshift(`note: '${workload.name}': ${roundStats.discarded} round(s) disturbed by other processes were run again (waited ${(roundStats.waitedMs / 1000).toFixed(0)} s)`);
    } else if (disturbed !== null && disturbed > BUSY && !waiting) {
      notes.unshift(`note: other processes used ${Math.round(disturbed * 100)}% of the CPUs while '${workload.name}' ran: its numbers are noisy (try --wait-idle, or a quiet machine)`);
    }
    ctx.log(`${workload.name}: done in ${((performance.now() - t) / 1000).toFixed(1)} s${disturbed === null ? "" : `, other work ${Math.round(disturbed * 100)}% of the CPUs`}`);
  }

  const dinit = await dinitVersion();
  const report: RunReport = {
    format: RESULTS_FORMAT,
    version: RESULTS_VERSION,
    startedAt: started.toISOString(),
    durationMs: Math.round(Date.now() - started.getTime()),
    options: { quick: ctx.quick, runs, only, profile: ctx.profile },
    machine: host,
    load: { cpuBusyBefore: busy, during: interference, loadAverageStart: loadStart, loadAverageEnd: loadavg().map((x) => Math.round(x * 100) / 100) },
    peers: { ...peerVersions(), ...(dinit === null ? {} : { dinit }) },
    envRemoved: removedFromEnv(),
    cases,
    details,
    notes,
    failures,
  };
  notes.push(...dinitNotes(), ...peerInstallNotes());
  const file = writeResults(resultsDir, stamp, report);
  const charts: string[] = [];
  const w1 = details["w1-flat"] as Parameters<typeof w1Chart>[0] | undefined;
  if (w1?.points !== undefined && Object.keys(w1.points).length > 0) {
    const svg = w1Chart(w1, { machine: `${host.cpuModel}, ${host.nproc} CPUs`, date: started.toISOString().slice(0, 10), quick: ctx.quick });
    const beside = join(resultsDir, `${stamp}-w1.svg`);
    writeFileSync(beside, svg);
    charts.push(beside);
    if (values.chart !== undefined) {
      writeFileSync(resolve(values.chart), svg);
      charts.push(resolve(values.chart));
    }
  }

  const out: string[] = [
    `tend bench ${started.toISOString()}  ${host.cpuModel}, ${host.nproc} CPUs, node ${host.node}${ctx.quick ? "  (--quick)" : ""}`,
    "",
    formatTable(cases),
  ];
  if (values.markdown) out.push("", formatMarkdown(cases));
  if (notes.length > 0) out.push("", ...notes);
  for (const f of failures) out.push("", `FAILED ${f.workload}: ${f.error}`);
  out.push("", `results: ${file} (and bench/results/latest.json)${charts.length > 0 ? `; W1 chart: ${charts.join(", ")}` : ""}`);
  process.stdout.write(`${out.join("\n")}\n`);
  return failures.length > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    removeAllTempDirs();
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
