// Conditions and schedules added to a random database (see database.ts), and the names
// the world's events and levels use.
//
// The database stays free of loops that a user could write on purpose (a task run on
// `stopped X` that wants X again runs forever, and rightly so): a condition on the job
// events of another service belongs either to a hook task (`starting X`, `stopping X`,
// which may require X and nothing else) or to a leaf, a service that requires and
// wants nothing and is required by nothing; both name only services before them, so
// that job events set off runs further down the list only. Instance templates are
// never required either (a requirement on `mount` cannot say which `mount@…` it
// means). Everything else may be as tangled as the generator makes it.

import type { Condition, JobVerb } from "../../../src/config/condition.js";
import type { Reference, ServiceDef } from "../../../src/config/service.js";
import { isTemplateDef } from "../../../src/config/template.js";
import { weighted, type Random } from "./choose.js";
import { ref } from "./names.js";

export const DEVNAMES = ["/dev/sda", "/dev/sdb", "/dev/sdc1"] as const;
export const EVENT_NAMES = ["block-added", "block-removed", "wake", "tick"] as const;
export const LEVELS: Readonly<Record<string, readonly string[]>> = {
  "net.eth0": ["up", "down"],
  power: ["ac", "battery"],
  mode: ["normal", "rescue", "maint"],
};
export const LEVEL_NAMES = Object.keys(LEVELS);
const VERBS: readonly JobVerb[] = ["starting", "started", "stopping", "stopped"];

function eventAtom(rng: Random): Condition {
  const match = weighted<Record<string, string>>(rng, [
    [{}, 40],
    [{ DEVNAME: "/dev/sd*" }, 25],
    [{ DEVNAME: rng.pick(DEVNAMES) }, 20],
    [{ FS: "ext*" }, 15],
  ]);
  return { kind: "event", name: rng.pick(EVENT_NAMES), match };
}

function levelAtom(rng: Random): Condition {
  const name = rng.pick(LEVEL_NAMES);
  return { kind: "level", name, value: rng.chance(0.15) ? "*" : rng.pick(LEVELS[name]!) };
}

/** A condition over what the world emits (edge events and levels), no job events. */
function outside(rng: Random, levels: boolean, events: boolean, depth = 0): Condition {
  const atom = (): Condition => (levels && (!events || rng.chance(0.45)) ? levelAtom(rng) : eventAtom(rng));
  const shape = depth > 0 ? "atom" : weighted(rng, [["atom", 70], ["and", 15], ["or", 15]] as const);
  if (shape === "atom") return atom();
  return { kind: shape, of: [outside(rng, levels, events, depth + 1), outside(rng, levels, events, depth + 1)] };
}

const job = (verb: JobVerb, service: string, match: Record<string, string> = {}): Condition => ({ kind: "job", verb, service, match });

/** What a decorated service is: see the cases of `decorate`. */
type EventRole = "event" | "while" | "stop-only" | "instance" | "hook" | "leaf" | "after" | "every";

/**
 * Give some of the services conditions and schedules (in place), and drop the
 * requirements the rules above forbid. `defs` are the generated services in index
 * order (bundles included), before the graph is resolved.
 */
export function decorate(rng: Random, defs: ServiceDef[]): void {
  // Fewer on big graphs, where every trigger recomputes what is wanted.
  const density = rng.pick([0.08, 0.2, 0.35]) / (defs.length > 500 ? 3 : 1);
  const index = new Map(defs.map((d, i) => [d.name, i]));
  const runnable = defs.filter((d) => d.type !== "bundle");
  const unrequirable = new Set<string>();
  for (let i = 0; i < defs.length; i++) {
    const def = defs[i]!;
    if (def.type === "bundle" || !rng.chance(density)) continue;
    const earlier = runnable.filter((d) => index.get(d.name)! < i);
    const role = weighted<EventRole>(rng, [
      ["event", 30],
      ["while", def.type === "task" ? 0 : 15],
      ["stop-only", 8],
      ["instance", def.type === "oneshot" ? 0 : 12],
      ["hook", def.type === "task" && earlier.length > 0 ? 45 : 0],
      ["leaf", earlier.length > 0 ? 20 : 0],
      ["after", def.type === "task" ? 15 : 0],
      ["every", def.type === "task" ? 8 : 0],
    ]);
    switch (role) {
      case "event":
        def.startOn = outside(rng, true, true);
        if (rng.chance(0.5)) def.stopOn = outside(rng, true, true);
        break;
      case "while":
        def.startOn = outside(rng, true, false);
        break;
      case "stop-only":
        def.stopOn = outside(rng, true, true);
        break;
      case "instance": {
        def.instance = "DEVNAME";
        const added: Condition = { kind: "event", name: "block-added", match: { DEVNAME: rng.pick(["/dev/sd*", "*"]) } };
        def.startOn = rng.chance(0.75) ? added : { kind: "and", of: [added, levelAtom(rng)] };
        if (def.type === "task" && rng.chance(0.3)) {
          // Its runs come a little after the device does, one per device.
          def.startOn = null;
          def.schedule = { kind: "after", delayMs: rng.int(0, 300), event: added };
        }
        const removed: Condition = { kind: "event", name: "block-removed", match: { DEVNAME: "$DEVNAME" } };
        def.stopOn = weighted<Condition | null>(rng, [
          [removed, 60],
          [null, 25],
          [levelAtom(rng), 15],
        ]);
        unrequirable.add(def.name);
        break;
      }
      case "hook": {
        // A task run on another service's transition, which waits for it (up to its start timeout).
        const x = rng.pick(earlier);
        const verb = rng.chance(0.6) ? "stopping" : "starting";
        def.startOn = rng.chance(0.85) ? job(verb, x.name) : { kind: "or", of: [job(verb, x.name), job(rng.pick(["starting", "stopping"] as const), rng.pick(earlier).name)] };
        def.startTimeoutMs = weighted<number | null>(rng, [
          [rng.int(50, 600), 80],
          [null, 20],
        ]);
        def.requires = [];
        def.wants = [];
        // What a hook of a stop needs may be the service that stops: it stays up for it.
        if (x.type !== "task" && !unrequirable.has(x.name) && rng.chance(0.3)) def.requires.push(ref(x.name));
        break;
      }
      case "leaf": {
        const x = rng.pick(earlier);
        const verb = rng.pick(VERBS.filter((v) => def.type === "task" || v === "started" || v === "stopped"));
        const on = job(verb, x.name, verb === "stopped" && rng.chance(0.25) ? { RESULT: "ok" } : {});
        def.startOn = rng.chance(0.7) ? on : { kind: rng.pick(["and", "or"] as const), of: [on, outside(rng, true, true, 1)] };
        if (def.type !== "task" && rng.chance(0.6)) def.stopOn = job(verb === "started" ? "stopped" : "started", rng.pick(earlier).name);
        def.requires = [];
        def.wants = [];
        unrequirable.add(def.name);
        break;
      }
      case "after": {
        const leaf = earlier.length > 0 && rng.chance(0.4);
        def.schedule = { kind: "after", delayMs: rng.int(0, 400), event: leaf ? job(rng.pick(["started", "stopped"] as const), rng.pick(earlier).name) : outside(rng, true, true) };
        if (leaf) {
          def.requires = [];
          def.wants = [];
        }
        break;
      }
      case "every":
        def.schedule = { kind: "every", intervalMs: 1000 };
        break;
    }
  }
  // No requirement on what may not be required, directly or through a bundle.
  const holds = new Set(unrequirable);
  for (const def of defs) {
    if (def.type === "bundle" && def.contents.some((r) => holds.has(r.name))) holds.add(def.name);
  }
  for (const def of defs) def.requires = def.requires.filter((r) => !holds.has(r.name));
}

/** The services a condition names after a job verb, for the compiler's reference check. */
export function conditionRefs(def: ServiceDef): Reference[] {
  const out: Reference[] = [];
  const walk = (c: Condition | null): void => {
    if (c === null) return;
    if (c.kind === "and" || c.kind === "or") c.of.forEach(walk);
    else if (c.kind === "job") out.push(ref(c.service));
  };
  walk(def.startOn);
  walk(def.stopOn);
  walk(def.schedule?.kind === "after" ? def.schedule.event : null);
  return out;
}


/** May another service require this one: not a task (never up), nor an instance template, a template by name (its instances are what runs) or a leaf (see above)? */
export const requirable = (def: ServiceDef): boolean =>
  def.type !== "task" && def.type !== "bundle" && def.instance === null && !isTemplateDef(def) && conditionRefs(def).length === 0;

/** Does an event, a level or a clock have a say in when it runs? */
export const decorated = (def: ServiceDef): boolean => def.startOn !== null || def.stopOn !== null || def.schedule !== null || def.instance !== null;
