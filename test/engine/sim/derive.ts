// New databases derived from one, for `apply`: services added (some in `default`),
// removed (and the references to them), and changed — a command, the dependencies,
// the type, the restart settings — with templates among them now and then, so that
// their instances go (or, when the template stays, carry on). The rules of
// database.ts and conditions.ts still hold: edges point to earlier services, nothing
// requires a task, a template or a leaf, and what a condition names stays.

import type { Database } from "../../../src/compile/database.js";
import { defaultService, type ServiceDef, type ServiceType } from "../../../src/config/service.js";
import { isTemplateName, splitInstanceName } from "../../../src/config/template.js";
import { weighted, type Random } from "./choose.js";
import { conditionRefs, decorated, requirable } from "./conditions.js";
import { configure, configureBeside, databaseOf } from "./database.js";
import { indexOf, nameAt, ref } from "./names.js";

type Edit = "add" | "remove" | "change";
type Change = "command" | "deps" | "type" | "restart";

/** A database like `db`, a few services added, removed or changed; sometimes none (the same services again). */
export function derive(rng: Random, db: Database, generation: number): Database {
  // Copied as they are edited: what does not change is the very same record in both.
  const defs = new Editable(db.services);
  const edits = weighted(rng, [[0, 10], [1, 45], [2, 30], [4, 15]] as const);
  for (let k = 0; k < edits; k++) {
    const edit = weighted<Edit>(rng, [["add", 30], ["remove", 20], ["change", 50]]);
    if (edit === "add") add(rng, defs);
    else if (edit === "remove") remove(rng, defs);
    else change(rng, defs, generation);
  }
  const ordered = [...defs.values()].sort((a, b) => indexOf(a.name) - indexOf(b.name));
  return databaseOf(ordered, generation);
}

/** The services of a database being edited: `edit` copies one before it changes. */
class Editable extends Map<string, ServiceDef> {
  private readonly copied = new Set<string>();
  constructor(services: Readonly<Record<string, ServiceDef>>) {
    // The instances the files name are the compiler's to make again (database.ts `databaseOf`), from the templates as they become.
    super(Object.entries(services).filter(([, d]) => d.template === null));
  }
  edit(name: string): ServiceDef {
    const def = this.get(name)!;
    if (this.copied.has(name)) return def;
    const copy = structuredClone(def);
    this.copied.add(name);
    this.set(name, copy);
    return copy;
  }
  /** A new service, or one replaced whole. */
  put(def: ServiceDef): void {
    this.copied.add(def.name);
    this.set(def.name, def);
  }
}

/** The services but `default`, in index order. */
const services = (defs: ReadonlyMap<string, ServiceDef>): ServiceDef[] =>
  [...defs.values()].filter((d) => d.name !== "default").sort((a, b) => indexOf(a.name) - indexOf(b.name));

function add(rng: Random, defs: Editable): void {
  const existing = services(defs);
  const index = existing.length === 0 ? 0 : indexOf(existing[existing.length - 1]!.name) + 1;
  const type = weighted<ServiceType>(rng, [["longrun", 60], ["oneshot", 30], ["task", 10]]);
  const def = defaultService(nameAt(index), `/sim/${nameAt(index)}`, type);
  configure(rng, def);
  if (type === "longrun") configureBeside(rng, def);
  const mayRequire = existing.filter(requirable);
  for (let k = rng.int(0, 2); k > 0 && mayRequire.length > 0; k--) def.requires.push(ref(rng.pick(mayRequire).name));
  if (existing.length > 0 && rng.chance(0.4)) def.wants.push(ref(rng.pick(existing).name));
  if (existing.length > 0 && rng.chance(0.2)) def.after.push(ref(rng.pick(existing).name));
  dedupe(def);
  defs.put(def);
  if (defs.has("default") && rng.chance(0.7)) defs.edit("default").contents.push(ref(def.name));
}

function remove(rng: Random, defs: Editable): void {
  // What a condition names stays: a condition on the job of a service that is gone does not compile.
  const named = new Set([...defs.values()].flatMap((d) => conditionRefs(d).map((r) => r.name)));
  const candidates = services(defs).filter((d) => !named.has(d.name));
  if (candidates.length === 0) return;
  const gone = rng.pick(candidates).name;
  defs.delete(gone);
  // A template goes with the instances named of it.
  const goes = (name: string): boolean => name === gone || (isTemplateName(gone) && name.startsWith(gone));
  for (const def of [...defs.values()]) {
    for (const key of ["requires", "wants", "after", "before", "contents"] as const) {
      if (def[key].some((r) => goes(r.name))) defs.edit(def.name)[key] = def[key].filter((r) => !goes(r.name));
    }
  }
}

function change(rng: Random, defs: Editable, generation: number): void {
  const runnable = services(defs).filter((d) => d.type !== "bundle");
  if (runnable.length === 0) return;
  // Templates more often than their share: what becomes of their instances is the point.
  const templates = runnable.filter((d) => d.instance !== null);
  const picked = templates.length > 0 && rng.chance(0.3) ? rng.pick(templates) : rng.pick(runnable);
  const def = defs.edit(picked.name);
  const what = weighted<Change>(rng, [
    ["command", 40],
    ["deps", decorated(def) ? 0 : 25],
    ["type", decorated(def) ? 0 : 20],
    ["restart", def.type === "longrun" ? 15 : 0],
  ]);
  switch (what) {
    case "command":
      if (def.type === "oneshot") def.up = [def.up?.[0] ?? "/sim/up", `v${generation}`];
      else def.command = [def.command?.[0] ?? "/sim/run", `v${generation}`];
      return;
    case "deps": {
      const before = runnable.filter((d) => indexOf(d.name) < indexOf(def.name));
      const mayRequire = before.filter(requirable);
      const kind = weighted(rng, [["requires", mayRequire.length > 0 ? 40 : 0], ["wants", before.length > 0 ? 25 : 0], ["drop", 35]] as const);
      if (kind === "requires") def.requires.push(ref(rng.pick(mayRequire).name));
      else if (kind === "wants") def.wants.push(ref(rng.pick(before).name));
      else {
        const key = rng.pick(["requires", "wants", "after"] as const);
        if (def[key].length > 0) def[key].splice(rng.int(0, def[key].length - 1), 1);
      }
      dedupe(def);
      return;
    }
    case "type": {
      const required = requiredNames(defs).has(def.name);
      const types = (["longrun", "oneshot", "task"] as const).filter((t) => t !== def.type && (t !== "task" || !required));
      const fresh = defaultService(def.name, def.file, rng.pick(types));
      configure(rng, fresh);
      if (fresh.type === "longrun") configureBeside(rng, fresh);
      for (const key of ["requires", "wants", "after", "before"] as const) fresh[key] = def[key];
      defs.put(fresh);
      return;
    }
    case "restart":
      def.restartDelayMs = rng.int(0, 60);
      def.restartDelayMaxMs = def.restartDelayMs + rng.int(0, 300);
      def.restartLimit = rng.chance(0.2) ? null : { count: rng.int(1, 4), windowMs: rng.int(100, 3000) };
      return;
  }
}

/** Every service something requires, directly or as a member of a bundle it requires. */
function requiredNames(defs: ReadonlyMap<string, ServiceDef>): Set<string> {
  const found = new Set<string>();
  const stack = [...defs.values()].flatMap((d) => d.requires.map((r) => r.name));
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (found.has(name)) continue;
    found.add(name);
    // An instance required is its template's to be.
    const template = splitInstanceName(name)?.template;
    if (template !== undefined) found.add(template);
    stack.push(...(defs.get(name)?.contents.map((r) => r.name) ?? []));
  }
  return found;
}

/** A service file names each dependency once. */
function dedupe(def: ServiceDef): void {
  for (const key of ["requires", "wants", "after"] as const) def[key] = def[key].filter((r, i, all) => all.findIndex((x) => x.name === r.name) === i);
}
