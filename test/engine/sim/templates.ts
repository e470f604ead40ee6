// Templates by name in a random database (see database.ts), and what names their
// instances at run time. Some services become templates (`s0005` → `s0005@`): what
// named them names an instance now (`requires = s0005@a`), which the compiler makes
// (compile/templates.ts), and some of the templates start an instance per value of an
// event's IFACE (`instance = IFACE`, `start-on = link-up IFACE=*`). The commands name
// instances that are not made yet, and a flood now and then names more distinct ones
// than a template may keep (MAX_INSTANCES): starts by name, or events, with IFACE or
// with the DEVNAME of a service with `instance = DEVNAME` (conditions.ts).
//
// The arguments hold no '/', so that an instance's name says which kind of template
// it is of (graph.ts `templateOf`). A template is never required directly, nor named
// by a condition, and is never decorated but with its own `instance = IFACE`.

import type { Database } from "../../../src/compile/database.js";
import type { Condition } from "../../../src/config/condition.js";
import type { ServiceDef } from "../../../src/config/service.js";
import { isTemplateDef } from "../../../src/config/template.js";
import { MAX_INSTANCES } from "../../../src/engine/instances.js";
import type { Fact } from "../../../src/engine/types.js";
import { weighted, type Random } from "./choose.js";
import { conditionRefs, decorated } from "./conditions.js";
import type { TimedFact } from "./facts.js";

/** The arguments the files name instances with (compiled), and the others the commands name (made by the engine). */
export const COMPILED_ARGUMENTS = ["a", "b"] as const;
const RUNTIME_ARGUMENTS = ["a", "b", "n1", "n2", "n3"] as const;
/** The key and events of a template by name that events make instances of. */
export const TEMPLATE_KEY = "IFACE";
export const LINK_EVENTS = ["link-up", "link-down"] as const;

const REFERENCES = ["requires", "wants", "after", "before", "contents"] as const;

/** Make some of `defs` (in place) templates by name, and what named them name instances of them. */
export function templatize(rng: Random, defs: ServiceDef[]): void {
  if (defs.length < 3 || !rng.chance(0.15)) return;
  const named = new Set(defs.flatMap((d) => conditionRefs(d).map((r) => r.name)));
  const candidates = defs.filter((d) => d.type !== "bundle" && d.name !== "default" && !decorated(d) && !named.has(d.name));
  for (let k = Math.min(rng.int(1, 3), candidates.length); k > 0; k--) {
    const def = candidates.splice(rng.int(0, candidates.length - 1), 1)[0]!;
    const old = def.name;
    def.name = `${old}@`;
    def.file = `/sim/${def.name}`;
    def.description = "instance ${INSTANCE}";
    if (def.pidFile !== null) def.pidFile = `/sim/run/${def.name}\${INSTANCE}.pid`;
    if (def.type !== "oneshot" && rng.chance(0.4)) {
      def.instance = TEMPLATE_KEY;
      def.startOn = { kind: "event", name: "link-up", match: { IFACE: rng.pick(["*", "n*", "a"]) } };
      const down: Condition = { kind: "event", name: "link-down", match: { IFACE: "$INSTANCE" } };
      def.stopOn = weighted<Condition | null>(rng, [
        [down, 70],
        [null, 30],
      ]);
    }
    for (const other of defs) {
      for (const key of REFERENCES) {
        if (other[key].some((r) => r.name === old)) other[key] = other[key].map((r) => (r.name === old ? { ...r, name: `${def.name}${rng.pick(COMPILED_ARGUMENTS)}` } : r));
      }
    }
  }
}

/**
 * Commands that name instances of the templates by name of `db` (made or not yet), or a
 * template itself, in [0, until]; and now and then a flood of more distinct instances
 * than a template keeps, by name or by events.
 */
export function templateFacts(rng: Random, db: Database, until: number): TimedFact[] {
  const defs = Object.values(db.services);
  const templates = defs.filter(isTemplateDef);
  const byEvent = defs.filter((d) => d.instance !== null && d.template === null && d.startOn !== null);
  const out: TimedFact[] = [];
  // (Fewer on big databases, where the dry run of each command copies the whole engine.)
  const small = defs.length <= 60;
  for (const template of templates) {
    for (let k = small ? rng.int(1, 3) : rng.int(0, 1); k > 0; k--) {
      const name = rng.chance(0.1) ? template.name : `${template.name}${rng.pick(RUNTIME_ARGUMENTS)}`;
      const kind = weighted(rng, [["start", 50], ["restart", 20], ["stop", 30]] as const);
      out.push({ t: rng.int(0, until), fact: { kind, names: [name] } });
    }
    if (template.instance !== null) {
      for (let k = rng.int(1, 6); k > 0; k--) {
        const values = { [TEMPLATE_KEY]: rng.pick(RUNTIME_ARGUMENTS) };
        out.push({ t: rng.int(0, until), fact: { kind: "event", name: rng.pick(LINK_EVENTS), values } });
      }
    }
  }
  // (On small databases: on big ones, every instance made walks the graph again, for little more to see.)
  const floodable = [...templates, ...byEvent];
  if (floodable.length > 0 && small && rng.chance(0.03)) out.push(...flood(rng, rng.pick(floodable), until));
  return out;
}

/** More distinct instances of `template` than it may keep, named one after the other, some of them let go again. */
function flood(rng: Random, template: ServiceDef, until: number): TimedFact[] {
  const count = MAX_INSTANCES + rng.int(2, 12);
  const from = rng.int(0, until);
  const out: TimedFact[] = [];
  for (let i = 0; i < count; i++) {
    const t = from + i * rng.int(0, 5);
    const [make, letGo] = factsFor(template, `f${i}`);
    out.push({ t, fact: make });
    if (rng.chance(0.3)) out.push({ t: t + rng.int(0, 200), fact: letGo });
  }
  return out;
}

/** What makes (or starts) the instance for `argument`, and what lets it go. */
function factsFor(template: ServiceDef, argument: string): [Fact, Fact] {
  if (!isTemplateDef(template)) {
    const values = { [template.instance!]: `/dev/sd${argument}` };
    return [
      { kind: "event", name: "block-added", values },
      { kind: "event", name: "block-removed", values },
    ];
  }
  if (template.instance !== null) {
    const values = { [TEMPLATE_KEY]: `n${argument}` };
    return [
      { kind: "event", name: "link-up", values },
      { kind: "event", name: "link-down", values },
    ];
  }
  const names = [`${template.name}${argument}`];
  return [
    { kind: "start", names },
    { kind: "stop", names },
  ];
}
