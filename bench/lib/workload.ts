// What a workload is and what it hands back. One module per workload lives in
// bench/workloads/ and is listed in bench/workloads/index.ts.

import type { RoundRunner } from "./proc.js";
import { roundStats, summarize, type Stats } from "./stats.js";

export interface BenchContext {
  /** `--quick`: fewer repetitions, the whole bench in under a minute. */
  quick: boolean;
  /** `--runs N` overrides every workload's repetition count. */
  runs: number | null;
  /** `--profile`: take a CPU profile even when the goal is met. */
  profile: boolean;
  /** The repository root (where package.json is). */
  root: string;
  /** The CLI the `tend` program execs (dist/bin/tend.cjs), run as `node dist/bin/tend.cjs …`. */
  tend: string;
  /** Where results and profiles go. */
  resultsDir: string;
  /** The run's timestamp, as used in result file names. */
  stamp: string;
  /** Progress lines (stderr), so that stdout stays the table. */
  log(message: string): void;
  /**
   * Runs one measured round (a set of timed runs that belong together). With
   * `--wait-idle`, a round during which other processes used more than a fifth of the
   * CPUs is thrown away and run again once the machine is quiet; otherwise it runs once.
   */
  round: RoundRunner;
}

export type Verdict = "pass" | "FAIL" | "info";

export interface Goal {
  /** How the goal reads in the table, like "< 1000 ms". */
  text: string;
  /** The case's median must stay at or below this (in the row's unit; below it, when `strict`). */
  max: number;
  strict?: boolean;
  /** The verdict is on the largest sample, not the median: a count that must stay 0 in every round (W6). */
  worst?: boolean;
}

/** What a row measures: milliseconds, megabytes (memory), a ratio (× a floor or a peer), a rate (per second), CPU (% of one CPU), or a count (lines, services). */
export type Unit = "ms" | "MB" | "ratio" | "per-s" | "%" | "count";

/** One measured row of the table. */
export interface CaseResult {
  workload: string;
  case: string;
  /** Who is measured: "tend", "node", later "s6", "runit", … */
  subject: string;
  unit: Unit;
  samples: number[];
  stats: Stats;
  goal: Goal | null;
  verdict: Verdict;
  note?: string;
  /**
   * On a peer's row: tend's figure divided by this row's, per round (the two measured
   * in the same round), summarized; above 1 tend is slower or bigger.
   */
  vsTend?: { median: number; min: number; max: number; n: number };
}

export interface WorkloadResult {
  cases: CaseResult[];
  /** Anything else worth keeping in the JSON (phase splits, profile summaries, inputs). */
  details?: Record<string, unknown>;
  /** Lines printed under the table. */
  notes?: string[];
}

export interface Workload {
  name: string;
  /** One line: what it measures. */
  title: string;
  run(ctx: BenchContext): Promise<WorkloadResult>;
  /**
   * Done once before the first workload runs, outside every measured window (building
   * dinit): so that a build's CPU is not "other work" during a workload. Must not throw.
   */
  prepare?(ctx: BenchContext): Promise<void>;
}

/** Builds a row: statistics from the samples, the verdict from the median (the largest sample, for a `worst` goal) against the goal. */
export function caseResult(workload: string, name: string, subject: string, samples: number[], goal: Goal | null = null, note?: string, unit: Unit = "ms"): CaseResult {
  const stats = summarize(samples);
  const judged = goal?.worst ? stats.max : stats.median;
  const met = goal !== null && (goal.strict ? judged < goal.max : judged <= goal.max);
  const verdict: Verdict = goal === null ? "info" : met ? "pass" : "FAIL";
  const row: CaseResult = { workload, case: name, subject, unit, samples: samples.map((s) => Math.round(s * 1000) / 1000), stats: roundStats(stats), goal, verdict };
  if (note !== undefined) row.note = note;
  return row;
}

/** Adds tend's per-round ratio to a peer's row: tend[i] ÷ peer[i]. */
export function withRatio(row: CaseResult, tend: readonly number[], peer: readonly number[]): CaseResult {
  const n = Math.min(tend.length, peer.length);
  if (n === 0) return row;
  const ratios = Array.from({ length: n }, (_, i) => tend[i]! / peer[i]!).filter((x) => Number.isFinite(x));
  if (ratios.length === 0) return row;
  const s = summarize(ratios);
  const r = (x: number): number => Math.round(x * 1000) / 1000;
  row.vsTend = { median: r(s.median), min: r(s.min), max: r(s.max), n: s.n };
  return row;
}

/** Repetitions: `--runs` wins, else the quick or the full count. */
export function repetitions(ctx: BenchContext, full: number, quick: number): number {
  return ctx.runs ?? (ctx.quick ? quick : full);
}
