// The boot as the engine sees it: which services a set of names stands for, which of
// them a boot waits for, the exit status a run's end gives, and readiness (`tend
// ready`); and the rules of its end (docs/DESIGN.md, "The boot"): its completion, a
// failure before it, and the end that stops everything.

import type { Database } from "../compile/database.js";
import { waitsForTrigger } from "../config/service.js";
import { isTemplateDef } from "../config/template.js";
import { own } from "../records.js";
import { defOf, type Engine, isActive, stateOf, type Step } from "./engine.js";
import { edgesOf } from "./topology.js";
import type { Boot, End, ExitStatus, Phase } from "./types.js";
import { broughtUpBy, wantsUp } from "./wanted.js";

/** Why `name` cannot be the service whose end ends the boot (`--exit-with`), or null. */
export function checkExitWith(db: Database, name: string): string | null {
  const def = own(db.services, name);
  if (def === undefined) return `--exit-with ${name}: there is no service '${name}' in the database (generation ${db.generation})`;
  if (isTemplateDef(def)) return `--exit-with ${name}: '${name}' is a template, which never runs itself; name one of its instances the files name`;
  if (def.type !== "longrun" && def.type !== "task") return `--exit-with ${name}: '${name}' is a ${def.type}; only a longrun or a task has a run whose end can end the boot`;
  return null;
}

/**
 * The services `names` stand for: each service, each bundle's members (but those
 * `disable` took out of it), and everything they require, directly or not. A service
 * that an event or a clock starts counts only when named itself, as in the wanted set:
 * being in a bundle does not start it.
 */
export function servicesOf(e: Engine, names: readonly string[]): string[] {
  const found = new Set<string>();
  const named = new Set<string>();
  const stack: string[] = [];
  for (const name of names) {
    if (e.topo.requires.has(name)) named.add(name);
    stack.push(...broughtUpBy(e, name));
  }
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (found.has(name) || (!named.has(name) && waitsForTrigger(defOf(e, name)))) continue;
    found.add(name);
    stack.push(...edgesOf(e.topo, "requires", name));
  }
  return [...found];
}

/**
 * What a boot of `names` waits for: the services they stand for, and those the
 * `exit-with` service requires. A task given to `exit-with` is the container's command,
 * not part of the boot: its run is what the boot is for, and its end ends it.
 */
export function bootServices(e: Engine, names: readonly string[], exitWith: string | null): string[] {
  const all = servicesOf(e, exitWith === null ? names : [...names, exitWith]);
  return exitWith !== null && e.defs.get(exitWith)?.type === "task" ? all.filter((n) => n !== exitWith) : all;
}

/** Linux's signal numbers (x86, arm, riscv and most others): a process killed by signal N exits a shell with 128+N. */
const SIGNAL_NUMBERS: Readonly<Record<string, number>> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10,
  SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGSTKFLT: 16, SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19,
  SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22, SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28,
  SIGIO: 29, SIGPWR: 30, SIGSYS: 31,
};

/**
 * The exit status a process's end stands for, as a shell gives it: its exit code,
 * 128+N for signal N, and 1 when there is no status to give (the keeper names a signal
 * it has no name for `signal N`).
 */
export function exitCodeOf(status: ExitStatus | null): number {
  if (status === null) return 1;
  if (status.code !== null) return status.code;
  const n = status.signal === null ? undefined : (own(SIGNAL_NUMBERS, status.signal) ?? Number(/^signal (\d+)$/.exec(status.signal)?.[1] ?? NaN));
  return n !== undefined && Number.isInteger(n) ? 128 + n : 1;
}

export interface Readiness {
  /** Every service is up (a task: has run, and its last run did not fail), and the server is not shutting down. */
  ready: boolean;
  /** Those not up yet, nor failed. */
  waiting: string[];
  /** Those that will not come up by themselves: failed, or ended and held (a longrun that exited by itself). */
  failed: string[];
  shuttingDown: boolean;
}

/**
 * Where one service stands for readiness: `ready` a longrun or a oneshot when up, a
 * task once it has run (`runs` counts the runs that ended) unless its last run failed
 * (a task is never "up", and one that must have run before what needs it can start is
 * ready then); `failed` when it will not come up by itself (failed, or a longrun or
 * oneshot ended and held); else `waiting`. `tend ready` and `tend monitor --until` ask it.
 */
export function readinessOf(e: Engine, name: string): "ready" | "waiting" | "failed" {
  const s = stateOf(e, name);
  const task = defOf(e, name).type === "task";
  if (s.phase === "failed" || (!task && s.phase === "down" && s.held)) return "failed";
  return (task ? s.runs === 0 : s.phase !== "up") ? "waiting" : "ready";
}

/** Are these services ready (each as `readinessOf` says), and the server not shutting down? */
export function readiness(e: Engine, services: readonly string[]): Readiness {
  const waiting = services.filter((n) => readinessOf(e, n) === "waiting");
  const failed = services.filter((n) => readinessOf(e, n) === "failed");
  return { ready: waiting.length === 0 && failed.length === 0 && !e.shuttingDown, waiting, failed, shuttingDown: e.shuttingDown };
}

/**
 * The boot is complete once each of its services that is still wanted (an admin may
 * have stopped one, an apply removed it) has been up once: its policy no longer applies.
 */
export function completeBoot(ctx: Step): void {
  const { e } = ctx;
  const boot = e.boot;
  if (boot === null || boot.completeAt !== null) return;
  for (const name of boot.waiting) if (e.services.has(name) && e.wanted.has(name)) return;
  boot.completeAt = ctx.now;
}

/** A service of the boot changed phase while the boot is under way. */
export function bootProgress(ctx: Step, boot: Boot, name: string, was: Phase, phase: Phase, reason: string | null): void {
  const { e } = ctx;
  if (!boot.services.has(name)) return;
  // A task is never up: it has been through the boot once its run ended well.
  if (phase === "up" || (defOf(e, name).type === "task" && phase === "down" && stateOf(e, name).runs > 0)) boot.waiting.delete(name);
  if (phase === "failed" && was !== "failed" && boot.onBootFailure === "stop") end(ctx, { code: 1, reason: `boot failed: ${name} failed: ${reason ?? "no reason given"}` });
}

/** `exit-with NAME`: does a run of NAME that ends now end the boot? Not when tend stops it (a stop, a restart, an apply, a shutdown). */
export const endsBoot = (e: Engine, name: string): boolean => e.boot?.exitWith === name && e.end === null && wantsUp(e, name);

/** Shutting down, and everything is down: the server may exit (with `e.end`, when one was recorded). */
export const isOver = (e: Engine): boolean => e.shuttingDown && e.topo.names.every((n) => !isActive(stateOf(e, n).phase));

/** The server is to end as `how` says (unless an end was recorded already): everything stops. */
export function end(ctx: Step, how: End): void {
  const { e } = ctx;
  e.end ??= how;
  e.shuttingDown = true;
  for (const name of e.topo.names) ctx.dirty.add(name);
}
