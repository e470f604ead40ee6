// How the world's processes behave (see world.ts): what each will do, decided when it
// is spawned, and how it takes a signal. By default they obey at once; the
// simulation's behave at random: a spawn is reported at once or a little later (so
// that a stop can arrive in between), or fails; a daemon becomes ready (sometimes
// never, sometimes says it twice), crashes now and then (less with each incarnation,
// so that every run ends), ignores SIGTERM; hooks, oneshots and tasks end by
// themselves, or rarely hang; a forking daemon's pid file names its daemon soon (or
// names a process the keeper refuses, or is never written). `faults` sets how hostile
// the world is, from 1 to 0.

import type { ServiceDef } from "../../../src/config/service.js";
import type { ExitStatus, SpawnRole } from "../../../src/engine/types.js";
import { weighted, type Random } from "./choose.js";

export interface Proc {
  pid: number;
  service: string;
  role: SpawnRole;
  alive: boolean;
  /** The engine has been told `spawned` (or `spawn-failed`). */
  reported: boolean;
  /** The spawn fails: `spawn-failed` instead of `spawned`. */
  fails: boolean;
  /** Only SIGKILL ends it. */
  ignoresSignals: boolean;
  /** A longrun main that said it is ready (or needs not: ready = none). */
  ready: boolean;
}

/** What a process will do, decided when it is spawned. Times count from when its spawn is reported. */
export interface Fate {
  fails: boolean;
  /** After how long its spawn is reported. */
  reportAfter: number;
  /** When a longrun's main says it is ready (none: never; twice: it says it twice). */
  ready: number[];
  /** When it ends by itself, and how; null: it runs until signalled. */
  exit: { after: number; status: ExitStatus } | null;
  ignoresSignals: boolean;
}

/** What a notify service's main process says about a reload: RELOADING=1, then READY=1 (never, for one that hangs), after how long. */
export interface ReloadTalk {
  reloading: number | null;
  ready: number | null;
}

export interface Behaviour {
  fate(service: string, role: SpawnRole, def: ServiceDef): Fate;
  /** What a forking daemon's pid file leads to once its launcher exited: the keeper's answer after `after` ms (a refusal, or its main taken), or never an answer (null). */
  finds(service: string, def: ServiceDef): { after: number; refused: boolean } | null;
  /** How a process ends on `signal` (an admin's or a reload's, or the engine's stop): after how long, and how; null: it carries on. */
  signalled(p: Proc, signal: string, asked: boolean): { after: number; status: ExitStatus } | null;
  /** A `ready = notify` main process asked to reload (its reload command runs, or it was sent its reload signal). */
  reloadTalk(def: ServiceDef): ReloadTalk;
}

/** Signals that end a process that does not handle them; an admin's SIGHUP or SIGUSR1 asks a daemon for something else. */
const ENDS: ReadonlySet<string> = new Set(["SIGTERM", "SIGINT", "SIGQUIT", "SIGKILL"]);

/** Every process does what it is asked at once: the default for hand-written tests. */
export const obedient: Behaviour = {
  fate: (_service, role, def) => {
    const daemon = role === "main" && def.type === "longrun";
    return { fails: false, reportAfter: 0, ready: daemon && def.ready.kind !== "none" ? [0] : [], exit: daemon ? null : { after: 0, status: { code: 0, signal: null } }, ignoresSignals: false };
  },
  finds: () => ({ after: 0, refused: false }),
  signalled: (p, signal, asked) => (asked && !ENDS.has(signal)) || (p.ignoresSignals && signal !== "SIGKILL") ? null : { after: 0, status: { code: null, signal } },
  // A notify service sent its reload signal speaks the protocol; its reload command reloads it without a word.
  reloadTalk: (def) => (def.reload === null ? { reloading: 0, ready: 0 } : { reloading: null, ready: null }),
};

export function randomBehaviour(rng: Random, faults: number): Behaviour {
  /** Main processes spawned so far, per service: each one is less likely to crash. */
  const mains = new Map<string, number>();
  return {
    fate(service, role, def) {
      const fails = rng.chance(0.04 * faults);
      const ignoresSignals = rng.chance(0.12 * faults);
      const reportAfter = rng.chance(0.8) ? 0 : rng.int(1, 40);
      const fate: Fate = { fails, reportAfter, ready: [], exit: null, ignoresSignals };
      if (fails) return fate;
      if (role === "main" && def.type === "longrun") {
        const k = mains.get(service) ?? 0;
        mains.set(service, k + 1);
        if (def.ready.kind !== "none" && !rng.chance(0.15 * faults)) {
          fate.ready.push(rng.chance(faults) ? rng.int(0, 400) : rng.int(0, 40));
          if (rng.chance(0.05)) fate.ready.push(rng.int(0, 800)); // said twice
        }
        if (rng.chance(0.35 * faults * 0.6 ** k)) {
          const status = weighted<ExitStatus>(rng, [
            [{ code: 1, signal: null }, 4],
            [{ code: 0, signal: null }, 3],
            [{ code: 2, signal: null }, 1],
            [{ code: null, signal: "SIGSEGV" }, 1],
          ]);
          fate.exit = { after: rng.int(0, 2500), status };
        }
        return fate;
      }
      // Tasks run on another service's job event hang more often: their transition has a hook timeout.
      const jobTask = def.type === "task" && def.startOn !== null && JSON.stringify(def.startOn).includes('"kind":"job"');
      if (rng.chance(jobTask ? 0.12 : 0.03 * faults)) return fate;
      const after = rng.chance(0.1 * faults) ? rng.int(300, 4000) : rng.chance(faults) ? rng.int(0, 300) : rng.int(0, 30);
      const status = rng.chance(0.15 * faults)
        ? rng.pick<ExitStatus>([
            { code: 1, signal: null },
            { code: 1, signal: null },
            { code: 2, signal: null },
            { code: null, signal: "SIGSEGV" },
          ])
        : { code: 0, signal: null };
      fate.exit = { after, status };
      return fate;
    },
    finds(_service, def) {
      // Never written: only where a start timeout ends the wait (else it would wait for good).
      if (def.startTimeoutMs !== null && rng.chance(0.05 * faults)) return null;
      return { after: rng.chance(0.8) ? rng.int(0, 40) : rng.int(40, 600), refused: rng.chance(0.06 * faults) };
    },
    signalled(p, signal, asked) {
      if (signal === "SIGKILL") return { after: rng.int(0, 3), status: { code: null, signal } };
      if (p.ignoresSignals || (asked && !ENDS.has(signal))) return null;
      return { after: rng.int(0, 300), status: rng.chance(0.7) ? { code: null, signal } : { code: 0, signal: null } };
    },
    reloadTalk(def) {
      // Mostly RELOADING=1 then READY=1; now and then silent, or stuck after RELOADING=1.
      const talks = def.reload === null ? !rng.chance(0.1 * faults) : rng.chance(0.5);
      if (!talks) return { reloading: null, ready: null };
      const reloading = rng.int(0, 60);
      return { reloading, ready: rng.chance(0.1 * faults) ? null : reloading + rng.int(0, 300) };
    },
  };
}
