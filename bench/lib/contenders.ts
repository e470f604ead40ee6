// Every manager a supervision workload can run, behind one interface: tend, dinit (on
// the PATH, or built by the bench from ../shared/peers: bench/lib/dinit.ts), and the
// peers (s6, runit, supervisord, pm2) found or installed by bench/lib/peers.ts. A contender writes a service set in its manager's format into a
// directory of its own and hands back the launcher of a fresh instance on it.
//
// A peer must never cost tend's rows: `guard` runs a peer's job and, once one fails,
// leaves that peer out for the rest of the workload, with the error in a note.

import { join } from "node:path";
import { findDinit } from "./dinit.js";
import { launchDinit, launchTend, prepareDinit, prepareTend, type Manager, type Subject } from "./managers.js";
import { launchPm2, launchRunit, launchS6, launchSupervisord, preparePm2, prepareRunit, prepareS6, prepareSupervisord } from "./peer-managers.js";
import { findPeer, PEERS } from "./peers.js";
import type { Programs } from "./service-program.js";
import type { ServiceSet } from "./service-sets.js";
import type { BenchContext } from "./workload.js";

/**
 * With --quick, the largest set a slow peer runs (pm2 stops its apps about two at a time,
 * ~50 ms each here: 1000 take ~50 s, and `pm2 kill` as long).
 */
export const QUICK_MAX_N: Partial<Record<Subject, number>> = { pm2: 100 };

export interface Contender {
  subject: Subject;
  version: string;
  /** Writes `set` (one bundle of all its services) into `dir`; returns the launcher of a fresh instance on it. */
  prepare(dir: string, set: ServiceSet): () => Manager;
}

export interface Contenders {
  /** tend first. */
  list: Contender[];
  /** Why the others are missing. */
  skipped: { subject: Subject; why: string }[];
}

const bundleOf = (set: ServiceSet): string => Object.keys(set.bundles)[0]!;

/** tend, then dinit and the peers that this machine has or that the bench could install. */
export async function contenders(ctx: BenchContext, programs: Programs, options: { peers?: boolean; dinit?: boolean } = {}): Promise<Contenders> {
  const list: Contender[] = [
    {
      subject: "tend",
      version: "tend (this tree)",
      prepare: (dir, set) => {
        const t = prepareTend(ctx, dir, set, programs.tend);
        return () => launchTend(ctx, t);
      },
    },
  ];
  const skipped: Contenders["skipped"] = [];
  if (options.dinit !== false) {
    const dinit = await findDinit(ctx);
    if (dinit.ok) {
      list.push({
        subject: "dinit",
        version: dinit.tools.version,
        prepare: (dir, set) => {
          const d = prepareDinit(dir, set, programs.dinit);
          return () => launchDinit(dinit.tools, d, [bundleOf(set)]);
        },
      });
    } else {
      skipped.push({ subject: "dinit", why: dinit.why });
    }
  }
  if (options.peers === false) return { list, skipped };
  for (const name of PEERS) {
    switch (name) {
      case "s6": {
        const p = findPeer("s6", ctx.log);
        if (!p.ok) skipped.push({ subject: "s6", why: p.why });
        else list.push({ subject: "s6", version: p.tools.version, prepare: (dir, set) => { const d = prepareS6(dir, set, programs.s6, programs.helper); return () => launchS6(p.tools, d); } });
        break;
      }
      case "runit": {
        const p = findPeer("runit", ctx.log);
        if (!p.ok) skipped.push({ subject: "runit", why: p.why });
        else list.push({ subject: "runit", version: p.tools.version, prepare: (dir, set) => { const d = prepareRunit(dir, set, programs.runit, programs.helper); return () => launchRunit(p.tools, d); } });
        break;
      }
      case "supervisord": {
        const p = findPeer("supervisord", ctx.log);
        if (!p.ok) skipped.push({ subject: "supervisord", why: p.why });
        else list.push({ subject: "supervisord", version: p.tools.version, prepare: (dir, set) => { const d = prepareSupervisord(dir, set, programs.supervisord); return () => launchSupervisord(p.tools, d); } });
        break;
      }
      case "pm2": {
        const p = findPeer("pm2", ctx.log);
        if (!p.ok) skipped.push({ subject: "pm2", why: p.why });
        else list.push({ subject: "pm2", version: p.tools.version, prepare: (dir, set) => { const d = preparePm2(dir, set, programs.pm2); return () => launchPm2(p.tools, d); } });
        break;
      }
    }
  }
  return { list, skipped };
}

/** Runs peers' jobs so that a failing peer is left out (once) instead of failing the workload. */
export class Guard {
  readonly failed = new Map<Subject, string>();
  constructor(private readonly workload: string, private readonly log: (message: string) => void) {}

  ok(subject: Subject): boolean {
    return !this.failed.has(subject);
  }

  /** tend's jobs run as they are (their failure fails the workload); a peer's failure is recorded. */
  async run<T>(subject: Subject, job: () => T | Promise<T>): Promise<T | undefined> {
    if (subject === "tend") return job();
    if (this.failed.has(subject)) return undefined;
    try {
      return await job();
    } catch (e) {
      const message = (e as Error).message;
      this.failed.set(subject, message);
      this.log(`${this.workload}: ${subject} failed, left out from now on: ${message.split("\n")[0]}`);
      return undefined;
    }
  }

  notes(): string[] {
    return [...this.failed].map(([subject, why]) => `${this.workload}: ${subject} rows left out: a round failed: ${why.split("\n").slice(0, 3).join(" / ")}`);
  }
}

/** The scratch directory of one contender and one set. */
export const dirOf = (tmp: string, subject: Subject, label: string): string => join(tmp, subject, label);
