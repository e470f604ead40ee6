// `tend analyze` in one screen, read off a span of the timeline: how long until it
// completed, the slowest services (blame: spawn → ready), and what failed, why.
// Pure: the timeline in, figures out.

import { runsOf, type Run, type Span, type Timeline } from "./timeline.js";

/** What `tend analyze` looks at: the last boot; when there was none, the last start. */
export const spanOf = (timeline: Timeline): Span | null => timeline.boot ?? timeline.start;

export interface Blame {
  service: string;
  /** From its first process's spawn to ready (ms): what the service itself took. */
  ms: number;
  /** When it was ready, from the span's start (ms). */
  readyAfter: number;
}

export interface Failure {
  service: string;
  /** The engine's words (`exited with code 3`, `dependency x failed`). */
  reason: string;
  /** From the span's start (ms). */
  after: number;
}

export interface Summary {
  kind: Span["kind"];
  names: string[];
  at: number;
  services: number;
  /** From the span's fact to its completion (ms); null: not complete. */
  totalMs: number | null;
  /** Services of the span not ready: never up in it, nor failed (still on their way, or held). */
  waiting: string[];
  /** The slowest first: at most the number asked for. */
  blame: Blame[];
  failures: Failure[];
}

/** Each service's first run in the span that became ready, else its last: the run the span waited on. */
export function decisiveRuns(runs: readonly Run[]): Map<string, Run> {
  const chosen = new Map<string, Run>();
  for (const run of runs) {
    const had = chosen.get(run.service);
    if (had === undefined || had.ready === null) chosen.set(run.service, run);
  }
  return chosen;
}

/** The services that failed in the span and why, each once (its last failure), in the order they failed. */
export function failuresOf(span: Span): Failure[] {
  const last = new Map<string, Failure>();
  for (const t of span.transitions) {
    if (t.kind !== "phase" || t.phase !== "failed") continue;
    last.delete(t.service);
    last.set(t.service, { service: t.service, reason: t.reason ?? "no reason given", after: t.at - span.at });
  }
  return [...last.values()].sort((a, b) => a.after - b.after);
}

export function summarize(span: Span, slowest: number): Summary {
  const runs = decisiveRuns(runsOf(span.transitions));
  const blame: Blame[] = [];
  for (const run of runs.values()) {
    if (run.ready === null || run.spawned === null) continue;
    blame.push({ service: run.service, ms: run.ready - run.spawned, readyAfter: run.ready - span.at });
  }
  blame.sort((a, b) => b.ms - a.ms || a.readyAfter - b.readyAfter);
  const failures = failuresOf(span);
  const failed = new Set(failures.map((f) => f.service));
  const waiting = span.services.filter((n) => runs.get(n)?.ready == null && !failed.has(n)).sort();
  return {
    kind: span.kind,
    names: span.names,
    at: span.at,
    services: span.services.length,
    totalMs: span.completeAt === null ? null : span.completeAt - span.at,
    waiting,
    blame: blame.slice(0, slowest),
    failures,
  };
}
