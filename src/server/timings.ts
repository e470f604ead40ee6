// The timings the server keeps (src/analyze/timeline.ts is their shape): each step's
// fact and actions become transitions — a command's `affected`, a spawn, a phase
// change — kept in a bounded ring, and whole for the last boot and the last start.
// Written to the state directory (0600, atomically) when a boot has settled, once
// other changes have stopped for a few seconds (or half a minute after the first of
// them on a server never quiet), and at a clean shutdown: never on every fact. A file that cannot be read is kept aside and said so; the record starts empty.

import { join } from "node:path";
import { failuresOf, type Failure } from "../analyze/blame.js";
import { TIMELINE_VERSION, TRANSITIONS_KEPT, SPAN_TRANSITIONS_KEPT, type Span, type Timeline, type Transition } from "../analyze/timeline.js";
import { servicesOf } from "../engine/boot.js";
import { stateOf, type Engine } from "../engine/engine.js";
import { isSettled } from "../engine/rules.js";
import type { Action, TimedFact } from "../engine/types.js";
import { SECRET_FILE_MODE, writeFileAtomically } from "../system/files.js";
import { loadStateFile, type Warn } from "./persist.js";

export const TIMINGS_FILE = "timings.json";
/**
 * After changes, the record is written once they have stopped for this long (a mass
 * start and the stop after it write once, when it is over, not in the middle)…
 */
const SAVE_QUIET_MS = 2_000;
/** …or this long after the first change not written, on a server that is never quiet. */
const SAVE_WITHIN_MS = 30_000;

export interface Timings {
  /** One step: its fact, the actions it gave, and the engine after it. */
  stepped(fact: TimedFact, actions: readonly Action[], engine: Engine): void;
  /** What is recorded now. */
  timeline(): Timeline;
  /** Written now if anything changed since the last write (a clean shutdown). */
  save(): void;
  /** What failed during the last boot, and why: `tend status` says it (found again only when the boot's record grew). */
  bootFailures(): Failure[];
}

/** A span still being recorded: the services of it that have not settled yet. */
interface Recording {
  span: Span;
  pending: Set<string>;
  /** Begun in the step being recorded: each of its services is looked at once (one may be up already), later only what changed. */
  fresh: boolean;
}

export function openTimings(stateDir: string, warn: Warn, log: (line: string) => void, now: () => number): Timings {
  const path = join(stateDir, TIMINGS_FILE);
  const loaded = loadStateFile(stateDir, TIMINGS_FILE, decodeTimeline, null, warn);
  let boot: Span | null = loaded?.boot ?? null;
  let start: Span | null = loaded?.start ?? null;
  /**
   * The ring: the last transitions, at most `TRANSITIONS_KEPT`; once full, each new one
   * takes the place of the oldest (at `oldest`), so it is never copied nor grown.
   */
  const ring: Transition[] = (loaded?.transitions ?? []).slice(-TRANSITIONS_KEPT);
  let oldest = 0;
  let total = (loaded?.transitions.length ?? 0) + (loaded?.dropped ?? 0);
  /** A span read back from the file is not recorded further: the server that began it is gone. */
  const recording: Recording[] = [];
  /** The services whose phase changed in the step being recorded (one array for every step). */
  const changed: string[] = [];
  let dirty = false;
  let timer: NodeJS.Timeout | undefined;
  /** The times of the first change not written yet, and of the last (the facts' clock, the server's `now`). */
  let dirtySince = 0;
  let lastChange = 0;
  let failing = false;
  let failures: { of: Span; length: number; failures: Failure[] } | undefined;

  const note = (t: Transition): void => {
    if (ring.length < TRANSITIONS_KEPT) ring.push(t);
    else {
      ring[oldest] = t;
      oldest = oldest + 1 === TRANSITIONS_KEPT ? 0 : oldest + 1;
    }
    total++;
    for (const r of recording) {
      if (r.span.transitions.length < SPAN_TRANSITIONS_KEPT) r.span.transitions.push(t);
      else r.span.dropped++;
    }
  };

  const begin = (kind: Span["kind"], names: string[], at: number, services: string[]): Span => {
    const span: Span = { kind, names, at, services, completeAt: null, transitions: [], dropped: 0 };
    const i = recording.findIndex((r) => r.span.kind === kind);
    if (i >= 0) recording.splice(i, 1);
    recording.push({ span, pending: new Set(services), fresh: true });
    return span;
  };

  const save = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (!dirty) return;
    dirty = false;
    try {
      writeFileAtomically(path, JSON.stringify(timings.timeline()), { mode: SECRET_FILE_MODE });
      failing = false;
    } catch (e) {
      // A full disk costs the next server its record of this one's boot, not this server its work.
      if (!failing) log(`WARNING: cannot write ${path}: ${(e as Error).message}; the timings are kept in memory`);
      failing = true;
    }
  };

  /** One timer for all the changes: once it fires, it waits on while they go on (checked then, not re-armed at each). */
  const saveWhenQuiet = (): void => {
    const t = now();
    const wait = Math.min(lastChange + SAVE_QUIET_MS, dirtySince + SAVE_WITHIN_MS) - t;
    if (wait > 0) timer = setTimeout(saveWhenQuiet, wait).unref();
    else save();
  };

  const timings: Timings = {
    stepped(fact, actions, engine) {
      const at = fact.now;
      const before = total;
      if (fact.kind === "boot" && engine.boot !== null && engine.boot.services.size > 0) {
        const services = [...engine.boot.services];
        boot = begin("boot", fact.names, at, services);
        for (const service of services) note({ at, service, kind: "asked", command: "boot" });
      }
      changed.length = 0;
      for (const a of actions) {
        if (a.kind === "affected") {
          // A start waits for what its names stand for and what they require (boot.ts `servicesOf`, as a boot's set).
          const named = fact.kind === "start" || fact.kind === "restart" ? fact.names : [];
          const services = a.command === "stop" || a.services.length === 0 ? a.services : servicesOf(engine, named);
          if (a.command !== "stop" && services.length > 0) start = begin("start", named, at, services);
          for (const service of services) note({ at, service, kind: "asked", command: a.command });
        } else if (a.kind === "spawn") note({ at, service: a.service, kind: "spawn", role: a.role });
        else if (a.kind === "changed") {
          note({ at, service: a.service, kind: "phase", phase: a.phase, reason: a.reason });
          changed.push(a.service);
        }
      }
      if (total === before) return;
      dirty = true;
      let bootSettled = false;
      for (let i = recording.length - 1; i >= 0; i--) {
        const r = recording[i]!;
        // Its services are pending until each has settled as the waiters see it (one the
        // engine no longer has has settled). A span begun in this step looks at each once
        // (one may be up already; a Set may lose entries while it is iterated), later ones
        // only at what changed, or at what is pending when that is fewer.
        if (r.fresh || changed.length > r.pending.size) {
          for (const name of r.pending) if (isSettled(engine, name, "start", r.span.at)) r.pending.delete(name);
        } else {
          for (const name of changed) if (r.pending.has(name) && isSettled(engine, name, "start", r.span.at)) r.pending.delete(name);
        }
        r.fresh = false;
        if (r.span.completeAt === null) r.span.completeAt = completion(r, engine, at);
        if (r.pending.size === 0) {
          recording.splice(i, 1);
          bootSettled ||= r.span.kind === "boot";
        }
      }
      // A boot that settled is written at once, after the replies its step let go; the
      // rest at most every few seconds (a start and a stop of 1,000 write once).
      if (bootSettled) {
        clearTimeout(timer);
        timer = setTimeout(save, 0).unref();
      } else {
        if (timer === undefined) dirtySince = at;
        lastChange = at;
        timer ??= setTimeout(saveWhenQuiet, SAVE_QUIET_MS).unref();
      }
    },
    timeline: () => ({ version: TIMELINE_VERSION, boot, start, transitions: ring.slice(oldest).concat(ring.slice(0, oldest)), dropped: Math.max(0, total - TRANSITIONS_KEPT) }),
    save,
    bootFailures() {
      if (boot === null) return [];
      if (failures?.of !== boot || failures.length !== boot.transitions.length) failures = { of: boot, length: boot.transitions.length, failures: failuresOf(boot) };
      return failures.failures;
    },
  };
  return timings;
}

/** When a span completed: a boot, when the engine says so; a start, once each of its services has been up (a task: has run). */
function completion(r: Recording, engine: Engine, at: number): number | null {
  if (r.span.kind === "boot") return engine.boot?.completeAt ?? null;
  if (r.pending.size > 0) return null;
  const up = r.span.services.every((n) => !engine.services.has(n) || stateOf(engine, n).phase === "up" || (engine.defs.get(n)?.type === "task" && stateOf(engine, n).runs > 0));
  return up ? at : null;
}

// ---- Reading the file back: every field checked, since it is read by a new server ----

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isTime = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");
const PHASES = new Set(["down", "starting", "up", "running", "stopping", "failed"]);
const ROLES = new Set(["pre-start", "launcher", "main", "up", "down", "post-stop", "reload", "stop"]);
const COMMANDS = new Set(["boot", "start", "stop", "restart"]);

function isTransition(v: unknown): v is Transition {
  if (!isObject(v) || !isTime(v.at) || typeof v.service !== "string") return false;
  switch (v.kind) {
    case "asked":
      return COMMANDS.has(v.command as string);
    case "spawn":
      return ROLES.has(v.role as string);
    case "phase":
      return PHASES.has(v.phase as string) && (v.reason === null || typeof v.reason === "string");
    default:
      return false;
  }
}

const isTransitions = (v: unknown): v is Transition[] => Array.isArray(v) && v.every(isTransition);

function isSpan(v: unknown): v is Span {
  return (
    isObject(v) &&
    (v.kind === "boot" || v.kind === "start") &&
    isStrings(v.names) &&
    isTime(v.at) &&
    isStrings(v.services) &&
    (v.completeAt === null || isTime(v.completeAt)) &&
    isTransitions(v.transitions) &&
    Number.isSafeInteger(v.dropped)
  );
}

/** The timeline a file holds, or null when it is not one tend writes. */
export function decodeTimeline(data: unknown): Timeline | null {
  if (!isObject(data) || data.version !== TIMELINE_VERSION) return null;
  const { boot, start, transitions, dropped } = data;
  if (!(boot === null || isSpan(boot)) || !(start === null || isSpan(start)) || !isTransitions(transitions) || !Number.isSafeInteger(dropped)) return null;
  return { version: TIMELINE_VERSION, boot, start, transitions, dropped: dropped as number };
}
