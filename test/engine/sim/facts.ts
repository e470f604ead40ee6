// What comes to the engine from outside, at random times: the admin's commands (start,
// stop, restart, disable, signal, reload, apply), the boot, and the world's edge events, level
// changes and clock runs.

import type { Database } from "../../../src/compile/database.js";
import { isTemplateDef } from "../../../src/config/template.js";
import type { Fact } from "../../../src/engine/types.js";
import { weighted, type Random } from "./choose.js";
import { DEVNAMES, EVENT_NAMES, LEVEL_NAMES, LEVELS } from "./conditions.js";
import { derive } from "./derive.js";

export interface TimedFact {
  t: number;
  fact: Fact;
}

/**
 * Admin commands in [0, until]: start, stop, restart, disable (unwant), reloads and signals of
 * services and bundles of any of `dbs` (the first, and those applied later); mostly a
 * boot of the first first.
 */
export function commands(rng: Random, dbs: readonly Database[], count: number, until: number): TimedFact[] {
  const db = dbs[0]!;
  const names = [...new Set(dbs.flatMap((d) => Object.keys(d.services)))];
  const out: TimedFact[] = [];
  if (rng.chance(0.85)) out.push({ t: 0, fact: rng.chance(0.5) ? { kind: "start", names: ["default"] } : bootFact(rng, db) });
  for (let i = 0; i < count; i++) {
    const t = rng.int(0, until);
    const picked = Array.from({ length: weighted(rng, [[1, 70], [2, 20], [3, 10]] as const) }, () => rng.pick(names));
    const kind = weighted(rng, [
      ["start", 35],
      ["stop", 25],
      ["restart", 20],
      ["default", 15],
      ["stop-default", 5],
      ["unwant", 5],
      ["signal", 8],
      ["reload", 12],
    ] as const);
    if (kind === "signal") {
      const signal = weighted(rng, [["SIGHUP", 30], ["SIGUSR1", 15], ["SIGTERM", 30], ["SIGINT", 10], ["SIGKILL", 15]] as const);
      out.push({ t, fact: { kind: "signal", service: picked[0]!, signal, to: rng.chance(0.3) ? "main" : "group" } });
      continue;
    }
    if (kind === "reload") {
      // Mostly of services that can be reloaded (the server refuses the others; the engine records why).
      const reloadable = [...new Set(dbs.flatMap((d) => Object.values(d.services).filter((s) => s.reload !== null || s.reloadSignal !== null).map((s) => s.name)))];
      const name = reloadable.length > 0 && rng.chance(0.85) ? rng.pick(reloadable) : picked[0]!;
      // Now and then twice in a row: the second waits for the first.
      out.push({ t, fact: { kind: "reload", names: [name] } });
      if (rng.chance(0.15)) out.push({ t: t + rng.int(0, 30), fact: { kind: "reload", names: [name] } });
      continue;
    }
    const fact: Fact =
      kind === "default" ? { kind: "start", names: ["default"] } : kind === "stop-default" ? { kind: "stop", names: ["default"] } : { kind, names: picked };
    out.push({ t, fact });
  }
  return out;
}

/** A boot of `default`, with an exit-with service (a longrun or a task) and `on-boot-failure = stop` now and then. */
function bootFact(rng: Random, db: Database): Fact {
  // (Not a template, which never runs.)
  const runs = Object.values(db.services).filter((d) => (d.type === "longrun" || d.type === "task") && !isTemplateDef(d)).map((d) => d.name);
  const exitWith = runs.length > 0 && rng.chance(0.35) ? rng.pick(runs) : null;
  return { kind: "boot", names: ["default"], policy: { exitWith, onBootFailure: rng.chance(0.35) ? "stop" : "report" } };
}

/**
 * `count` applies in [0, until], each of a database derived from the one applied
 * before it; now and then one comes right after the one before, while it is likely still
 * waiting for what leaves to stop.
 */
export function applies(rng: Random, db: Database, count: number, until: number): TimedFact[] {
  const times = Array.from({ length: count }, () => rng.int(0, until)).sort((a, b) => a - b);
  for (let i = 1; i < times.length; i++) if (rng.chance(0.4)) times[i] = times[i - 1]! + rng.int(0, 20);
  let last = db;
  return times.map((t) => {
    last = derive(rng, last, last.generation + 1);
    return { t, fact: { kind: "apply", db: last } };
  });
}

/** Edge events, level changes and clock runs in [0, until]. */
export function worldFacts(rng: Random, clockTasks: readonly string[], count: number, until: number): TimedFact[] {
  const out: TimedFact[] = [];
  for (let i = 0; i < count; i++) {
    const t = rng.int(0, until);
    const kind = weighted(rng, [
      ["event", 55],
      ["level", 35],
      ["scheduled", clockTasks.length > 0 ? 10 : 0],
    ] as const);
    if (kind === "event") {
      const values: Record<string, string> = {};
      if (rng.chance(0.75)) values.DEVNAME = rng.pick(DEVNAMES);
      if (rng.chance(0.4)) values.FS = rng.pick(["ext4", "vfat"]);
      if (rng.chance(0.2)) values.N = String(rng.int(1, 3));
      out.push({ t, fact: { kind: "event", name: rng.pick(EVENT_NAMES), values } });
    } else if (kind === "level") {
      const name = rng.pick(LEVEL_NAMES);
      out.push({ t, fact: { kind: "level", name, value: rng.chance(0.15) ? null : rng.pick(LEVELS[name]!) } });
    } else {
      out.push({ t, fact: { kind: "scheduled", service: rng.pick(clockTasks), env: { TEND_EVENT: "schedule", TEND_DUE: new Date(t).toISOString() } } });
    }
  }
  return out;
}
