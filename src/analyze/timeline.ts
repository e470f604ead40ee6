// The timeline: what the server records of every start and stop (src/server/timings.ts
// records it, `tend analyze` reads it), in one shape for every reader — the analysis
// (blame, critical chain, boot report), the plot, and programs (`tend analyze --json`,
// `tend analyze plot --json`). Plain JSON data: it is persisted as it is.
//
// Times are the engine's clock: milliseconds since the epoch, fractional (the facts'
// `now`), monotonic within one server.

import type { Phase, SpawnRole } from "../engine/types.js";

/** The version of this shape; a file of another version is kept aside, not read. */
export const TIMELINE_VERSION = 1;

/** What is recorded: the last boot (or, when none, the last start) whole, and the last transitions of any service. */
export interface Timeline {
  version: typeof TIMELINE_VERSION;
  /** The last boot's record, kept until the next boot: null when no server of this root has booted since the record began. */
  boot: Span | null;
  /** The last `tend start` (or restart), whole: what `tend analyze` shows when no boot happened. */
  start: Span | null;
  /** The last transitions of every service, oldest first: at most `TRANSITIONS_KEPT`. */
  transitions: Transition[];
  /** How many transitions fell out of `transitions` (the oldest go first) since the record began. */
  dropped: number;
}

/** How many transitions the ring keeps; those of a span are kept in the span besides. */
export const TRANSITIONS_KEPT = 2000;

/**
 * One thing that happened to one service:
 * - `asked`: a command concerned it (the boot, or a `start`/`stop`/`restart`: the step's `affected`) — when it was wanted, or unwanted;
 * - `spawn`: one of its processes was asked of the keeper (`role`: what for; `pre-start`, `launcher`, `main` and `up` start it);
 * - `phase`: its phase changed, with the engine's reason (why it failed, is down, waits for a hook or a restart delay).
 */
export type Transition =
  | { at: number; service: string; kind: "asked"; command: "boot" | "start" | "stop" | "restart" }
  | { at: number; service: string; kind: "spawn"; role: SpawnRole }
  | { at: number; service: string; kind: "phase"; phase: Phase; reason: string | null };

/**
 * A boot, or a start, recorded whole — the transitions of every service — from its
 * fact until each of its services had settled (been up, a task run, or failed, as the
 * waiters see it: rules.ts `isSettled`), bounded by `SPAN_TRANSITIONS_KEPT`.
 */
export interface Span {
  kind: "boot" | "start";
  /** The names it was given (`default` and what is enabled, for a boot). */
  names: string[];
  /** When its fact was handled. */
  at: number;
  /** The services it waits for: a boot's services (boot.ts `bootServices`), a start's `affected`. */
  services: string[];
  /** When the last of `services` had been up once (a boot's completion; a start's last service up); null: not (yet). */
  completeAt: number | null;
  /** The transitions of every service from `at` on, oldest first. */
  transitions: Transition[];
  /** How many transitions were left out once `SPAN_TRANSITIONS_KEPT` were kept. */
  dropped: number;
}

/** A span keeps its first transitions up to this many (a boot of 10,000 services with a few each). */
export const SPAN_TRANSITIONS_KEPT = 50_000;

/**
 * One run of a service, read off its transitions: what the plot draws as bars
 * (waiting: `asked` → `starting`; starting: `starting` → `ready`; up: `ready` → `stopping`
 * or `ended`) and what blame and the critical chain measure.
 */
export interface Run {
  service: string;
  /** A task's run (phase `running`): `ready` is its end, when it ended well. */
  task: boolean;
  /** When a command asked for it (the boot, a start) before this run; null when nothing did (pulled in by `wants`, an event). */
  asked: number | null;
  /** When it left down (or its restart began): what it requires was ready and what it is ordered after had settled. */
  starting: number;
  /** Its first process asked of the keeper, after its hooks and restart delay; null: none (yet). */
  spawned: number | null;
  /** Up (a longrun, a oneshot), or a task's run ended well; null: not (yet, or ever in this run). */
  ready: number | null;
  /** When its stop began; null: not stopped (yet). */
  stopping: number | null;
  /** When the run ended (down, failed, or back to starting for a restart); null: still going. */
  ended: number | null;
  /** Why it failed (the engine's words), when it ended failed; null otherwise. */
  failed: string | null;
  /** What it waited for between `starting` and `spawned`, the engine's words with when each began: a hook (`waiting for h (run on starting x)`), a restart delay (`restarting in 2s (…)`). */
  waits: { at: number; why: string }[];
}

/** Roles whose spawn starts a run (not a stop's `down`/`post-stop`, nor a command beside the main). */
const STARTING_ROLES: ReadonlySet<SpawnRole> = new Set(["pre-start", "launcher", "main", "up"]);

/**
 * The runs the transitions tell, in the order they began (a run still going has
 * `ended` null). A run ends down or failed, or at a `starting` after its spawn (a
 * restart: the next run begins there, its delay its first wait). A service that failed
 * without a run (a dependency failed while it waited) has a run of no length, for the
 * report.
 */
export function runsOf(transitions: readonly Transition[]): Run[] {
  const runs: Run[] = [];
  const open = new Map<string, Run>();
  const asked = new Map<string, number>();
  const begin = (service: string, at: number): Run => {
    const run: Run = { service, task: false, asked: asked.get(service) ?? null, starting: at, spawned: null, ready: null, stopping: null, ended: null, failed: null, waits: [] };
    asked.delete(service);
    runs.push(run);
    return run;
  };
  for (const t of transitions) {
    let run = open.get(t.service);
    if (t.kind === "asked") {
      if (t.command !== "stop") asked.set(t.service, t.at);
    } else if (t.kind === "spawn") {
      if (run !== undefined && run.spawned === null && STARTING_ROLES.has(t.role)) run.spawned = t.at;
    } else if (t.phase === "down" || t.phase === "failed") {
      if (run === undefined) {
        if (t.phase === "failed") Object.assign(begin(t.service, t.at), { ended: t.at, failed: t.reason });
        continue;
      }
      // A task is never up: a run of it that ends down, not failed, has run well.
      if (t.phase === "down" && run.task && run.spawned !== null) run.ready ??= t.at;
      run.ended = t.at;
      run.failed = t.phase === "failed" ? t.reason : null;
      open.delete(t.service);
    } else {
      if (run !== undefined && t.phase === "starting" && run.spawned !== null) {
        run.ended = t.at;
        run = undefined;
      }
      if (run === undefined) {
        run = begin(t.service, t.at);
        open.set(t.service, run);
      }
      if (t.phase === "running") run.task = true;
      if (t.phase === "up") run.ready ??= t.at;
      else if (t.phase === "stopping") run.stopping ??= t.at;
      else if (t.reason !== null && run.spawned === null) run.waits.push({ at: t.at, why: t.reason });
    }
  }
  return runs;
}
