// Random databases, built in memory: services numbered s0000…, the last one `default`
// (the boot's bundle). Every `requires`, `wants` and `after` names an earlier service
// and every `before` a later one that is not a bundle, so every ordering edge points
// from a later service to an earlier one: no cycle, whatever is added later (derive.ts
// keeps to the same rule). No requirement reaches a task, not even through a bundle.

import type { Database } from "../../../src/compile/database.js";
import { resolveGraph } from "../../../src/compile/graph.js";
import { addNamedInstances } from "../../../src/compile/templates.js";
import { collector, formatDiagnostic, hasErrors } from "../../../src/config/diagnostics.js";
import type { ParsedService } from "../../../src/config/parse.js";
import { defaultService, type ServiceDef, type ServiceType } from "../../../src/config/service.js";
import { earlier, random, weighted, type Random } from "./choose.js";
import { conditionRefs, decorate } from "./conditions.js";
import { indexOf, nameAt, ref } from "./names.js";
import { templatize } from "./templates.js";

/**
 * `size` services, `default` included. With `events` (a stream of its own, so that
 * the graph of a seed stays the same), some services get conditions and schedules
 * (see conditions.ts).
 */
export function generateDatabase(rng: Random, size: number, events: Random | null = null): Database {
  const n = Math.max(size - 1, 1);
  const defs: ServiceDef[] = [];
  /** Does the name stand for a task (a task, or a bundle holding one)? */
  const holdsTask: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const type: ServiceType = weighted(rng, [
      ["longrun", 60],
      ["oneshot", 22],
      ["task", 10],
      ["bundle", i >= 2 ? 8 : 0],
    ]);
    const def = defaultService(nameAt(i), `/sim/${nameAt(i)}`, type);
    defs.push(def);
    if (type === "bundle") {
      const count = rng.int(1, Math.min(i, 4));
      for (let k = 0; k < count; k++) def.contents.push(ref(nameAt(earlier(rng, i))));
      holdsTask.push(def.contents.some((r) => holdsTask[indexOf(r.name)]));
      continue;
    }
    holdsTask.push(type === "task");
    configure(rng, def);
    if (i === 0) continue;
    const edges = (max: number, weights: number[]): number => weighted(rng, weights.slice(0, max + 1).map((w, k) => [k, w] as const));
    for (let k = edges(3, [35, 35, 20, 10]); k > 0; k--) {
      const j = earlier(rng, i);
      if (!holdsTask[j]) def.requires.push(ref(nameAt(j)));
    }
    for (let k = edges(2, [60, 30, 10]); k > 0; k--) def.wants.push(ref(nameAt(earlier(rng, i))));
    for (let k = edges(1, [75, 25]); k > 0; k--) def.after.push(ref(nameAt(earlier(rng, i))));
  }
  for (let i = 0; i < n - 1; i++) {
    if (defs[i]!.type === "bundle" || !rng.chance(0.12)) continue;
    const j = rng.int(i + 1, n - 1);
    if (defs[j]!.type !== "bundle") defs[i]!.before.push(ref(nameAt(j)));
  }
  if (events !== null) decorate(events, defs);
  const boot = defaultService("default", "/sim/default", "bundle");
  const share = rng.pick([0.3, 0.6, 0.9]);
  for (let i = 0; i < n; i++) if (rng.chance(share)) boot.contents.push(ref(nameAt(i)));
  defs.push(boot);
  // Drawn last, from a stream of their own: the graph of a seed stays what it was without them.
  const reloads = random(rng.int(0, 0x7fffffff));
  for (const def of defs) if (def.type === "longrun") configureBeside(reloads, def);
  // Templates too, from a stream of their own (templates.ts): some of the services become one, what named them names an instance.
  templatize(random(rng.int(0, 0x7fffffff)), defs);
  return databaseOf(defs, 1);
}

/** Services as a database the engine runs, the instances they name compiled and their references resolved as the compiler does. */
export function databaseOf(defs: readonly ServiceDef[], generation: number): Database {
  const parsed = new Map<string, ParsedService>(defs.map((def) => [def.name, { def, conditionRefs: conditionRefs(def), keyAt: new Map() }]));
  const { diagnostics, report } = collector();
  addNamedInstances(parsed, new Set(), report);
  const graph = resolveGraph(parsed, new Set(), report);
  if (hasErrors(diagnostics)) throw new Error(`the generator made an invalid graph:\n${diagnostics.map(formatDiagnostic).join("\n")}`);
  const services = Object.fromEntries([...parsed].map(([name, p]) => [name, p.def]));
  return { format: "tend-db", version: 1, generation, compiledAt: "", source: "/sim", services, graph, boot: [], digest: `generation ${generation}` };
}

/** The commands beside: for some longruns a reload (a command or a signal to the main process, under a timeout or none), for some a stop command, for some a post-start. */
export function configureBeside(rng: Random, def: ServiceDef): void {
  if (rng.chance(0.3)) def.stop = ["/sim/stop"];
  const how = weighted(rng, [
    ["none", 50],
    ["command", 30],
    ["signal", 20],
  ] as const);
  if (how === "command") def.reload = ["/sim/reload"];
  else if (how === "signal") def.reloadSignal = rng.pick(["SIGHUP", "SIGUSR1", "SIGUSR2"]);
  if (how !== "none") def.reloadTimeoutMs = rng.chance(0.1) ? null : rng.int(50, 1500);
  if (rng.chance(0.3)) def.postStart = ["/sim/post-start"];
}

/** Random commands, hooks, readiness, timeouts and restart policy for a service. */
export function configure(rng: Random, def: ServiceDef): void {
  const maybe = (p: number, ms: () => number): number | null => (rng.chance(p) ? null : ms());
  switch (def.type) {
    case "longrun":
      def.command = ["/sim/daemon"];
      def.ready = weighted(rng, [
        [{ kind: "none" }, 30],
        [{ kind: "fd", fd: 3 }, 40],
        [{ kind: "notify" }, 30],
      ] as const);
      def.restart = rng.pick(["always", "on-failure", "never"] as const);
      def.restartDelayMs = weighted(rng, [
        [0, 15],
        [rng.int(1, 50), 85],
      ]);
      def.restartDelayMaxMs = def.restartDelayMs + rng.int(0, 200);
      def.restartLimit = rng.chance(0.2) ? null : { count: rng.int(1, 4), windowMs: rng.int(100, 3000) };
      def.startTimeoutMs = maybe(0.25, () => rng.int(50, 1500));
      def.stopTimeoutMs = maybe(0.08, () => rng.int(20, 800));
      def.successExit = rng.pick([[0], [0], [0, 2], [0, "SIGTERM"], [0, 1]]);
      def.stopSignal = weighted(rng, [
        ["SIGTERM", 70],
        ["SIGINT", 10],
        ["SIGQUIT", 10],
        ["SIGHUP", 10],
      ]);
      if (rng.chance(0.2)) def.preStart = ["/sim/pre-start"];
      if (rng.chance(0.2)) def.postStop = ["/sim/post-stop"];
      // A forking daemon: its readiness is the main taken, or a probe of it (no fd, no notify: the compiler says why).
      // Its main named by a pid file, or (forking = yes alone: a third of them, by name, so that the random draws, and the
      // seeds of earlier failures, stay as they were) the one process left in its tree; the supervisor finds either.
      if (rng.chance(0.15)) {
        def.forking = true;
        if (def.name.charCodeAt(def.name.length - 1) % 3 !== 0) def.pidFile = `/sim/run/${def.name}.pid`;
        if (def.ready.kind === "fd" || def.ready.kind === "notify") def.ready = { kind: "exec", argv: ["/sim/probe"] };
      }
      break;
    case "oneshot":
      def.up = ["/sim/up"];
      if (rng.chance(0.6)) def.down = ["/sim/down"];
      def.startTimeoutMs = maybe(0.4, () => rng.int(50, 1500));
      def.stopTimeoutMs = maybe(0.15, () => rng.int(20, 800));
      break;
    case "task":
      def.command = ["/sim/task"];
      if (rng.chance(0.15)) def.preStart = ["/sim/pre-start"];
      if (rng.chance(0.15)) def.postStop = ["/sim/post-stop"];
      def.startTimeoutMs = maybe(0.7, () => rng.int(50, 1500));
      def.stopTimeoutMs = maybe(0.1, () => rng.int(20, 800));
      def.successExit = rng.pick([[0], [0, 1]]);
      break;
    case "bundle":
      break;
  }
}
