// Writes a run's results as JSON: bench/results/<timestamp>.json, and the same
// content as bench/results/latest.json for tools that want the newest run.

import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Machine } from "./machine.js";
import type { CaseResult } from "./workload.js";

export const RESULTS_FORMAT = "tend-bench";
/**
 * 2: rows have a unit (ms, MB, ratio) and goals a `max` in that unit (was `maxMs`).
 * 3: a peer's row may carry `vsTend` (tend's per-round ratio to it); `peers` lists the
 *    peers' versions or why each was skipped.
 * 4: a row's unit may be "%" (CPU, % of one CPU); memory readings carry `pssMiB`; a
 *    tend memory reading is the server and its keeper added up; `peers` has dinit.
 * 5: a row's unit may be "count" (lines, services: W6), and a goal may be `worst`
 *    (judged on the largest sample instead of the median).
 */
export const RESULTS_VERSION = 5;

export interface RunReport {
  format: typeof RESULTS_FORMAT;
  version: typeof RESULTS_VERSION;
  startedAt: string;
  durationMs: number;
  options: { quick: boolean; runs: number | null; only: string[] | null; profile: boolean };
  machine: Machine;
  /**
   * How busy the machine was with other work: the fraction (0–1) of all CPU time that
   * went to other processes just before the run and during each workload; os.loadavg().
   */
  load: {
    cpuBusyBefore: number | null;
    /** Per workload: other processes' share of the CPUs while it ran; with --wait-idle, the rounds run again and the time waited. */
    during: Record<string, { otherWork: number | null; discarded?: number; waitedMs?: number }>;
    loadAverageStart: number[];
    loadAverageEnd: number[];
  };
  /** Each peer's version, or why it was skipped. */
  peers: Record<string, string>;
  /** Variables removed from the environment of every measured process. */
  envRemoved: string[];
  cases: CaseResult[];
  /** Per workload: whatever else it recorded. */
  details: Record<string, unknown>;
  notes: string[];
  /** Workloads that threw, with the message. */
  failures: { workload: string; error: string }[];
}

/** A file-name-safe UTC timestamp: 2024-05-01T12-30-05Z. */
export function stampOf(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, "Z").replace(/:/g, "-");
}

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Returns the path of the timestamped file. */
export function writeResults(dir: string, stamp: string, report: RunReport): string {
  mkdirSync(dir, { recursive: true });
  const text = `${JSON.stringify(report, null, 2)}\n`;
  const file = join(dir, `${stamp}.json`);
  writeAtomically(file, text);
  writeAtomically(join(dir, "latest.json"), text);
  return file;
}
