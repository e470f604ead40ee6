// Dependents of a failed service, from DESIGN.md's words: they "stop and show
// `dependency X failed`, however far up they are and however they were started …;
// they start again by themselves when X comes back." So a reason that names a
// dependency is true when it is given (X is one of its requirements, and X, or what X
// requires, cannot come up until an admin acts) and does not outlive it: once X is up,
// a wanted dependent failed for X is stale — it should have started again. A
// dependent that is no longer wanted does not start again; its stale reason is
// counted (`stale reason, unwanted`), not failed, since the words do not say what it
// shows; so is one that an apply or a bounce is taking down (it waits for them), and
// any in a shutdown (nothing starts again then).

import type { Check, Sim } from "./check.js";
import type { Oracle } from "./wanted.js";

const DEPENDENCY = /^dependency (.+) (failed|exited by itself|ran and ended)$/;

export function dependentChecks(sim: Sim, oracle: Oracle, leaving: () => ReadonlySet<string>): Check {
  const { world, count } = sim;
  const fail: Sim["fail"] = sim.fail;
  const e = world.engine;

  /** Can `name` not come up until an admin acts: failed, ended and held, or up but blocked below? */
  const blocked = (name: string, seen = new Set<string>()): boolean => {
    if (seen.has(name) || !world.knows(name)) return false;
    seen.add(name);
    const phase = world.phase(name);
    if (phase === "failed" || (phase === "down" && e.services.get(name)?.held === true)) return true;
    return phase !== "down" && world.graph.requires(name).some((r) => blocked(r, seen));
  };

  /** The dependency a reason names, if it names one. */
  const dependencyOf = (reason: string | null): string | null => DEPENDENCY.exec(reason ?? "")?.[1] ?? null;

  /** A dependent's reason that no longer holds: what it names is up, and nothing below it is blocked. */
  const stale = (name: string, x: string, quiet: boolean, wanted: { has(name: string): boolean }): void => {
    if (blocked(x)) return;
    if (!quiet && world.phase(x) !== "up") return; // on its way down or up: wait for it
    const s = e.services.get(name)!;
    const what = `${name} is ${s.phase} (${s.reason}) while ${x} is ${world.phase(x)}`;
    // What an apply or a bounce is taking down waits for it, whatever its reason says; in a shutdown (a boot's end) nothing starts again.
    const waits = leaving().has(name) || e.bounces.some((g) => g.has(name));
    if (wanted.has(name) && !s.held && !waits && !e.shuttingDown) fail(`dependents: ${what}: it should have started again by itself`);
    count(e.shuttingDown ? "stale reason, shutting down" : waits ? "stale reason, waiting for an apply or a bounce" : "stale reason, unwanted");
  };

  /** The requirements that were blocked when each stopping service began its stop: the reason its end may give. */
  const blockedAtStop = new Map<string, string[]>();

  return {
    action(a) {
      if (a.kind !== "changed") return;
      // A stop begins (one already stopping that gets a new reason, its stop command failed, goes on with the same stop).
      if (a.phase === "stopping" && world.phase(a.service) !== "stopping") blockedAtStop.set(a.service, world.graph.requires(a.service).filter((r) => blocked(r)));
      if (a.phase !== "failed") return;
      const x = dependencyOf(a.reason);
      const atStop = blockedAtStop.get(a.service) ?? [];
      blockedAtStop.delete(a.service);
      if (x === null) return;
      if (!world.graph.requires(a.service).includes(x)) fail(`dependents: ${a.service} failed for '${x}', which it does not require`);
      if (blocked(x)) return count("dependency failure");
      // A stop begun for a failed requirement ends with that reason, though the requirement came back meanwhile.
      if (atStop.includes(x)) return count("dependency failure, back since the stop began");
      fail(`dependents: ${a.service} failed (${a.reason}), but ${x} is ${world.phase(x)} and nothing it requires is blocked`);
    },
    afterStep(_fact, actions) {
      // When X comes back, what failed for it starts again in the same step.
      for (const a of actions) {
        if (a.kind !== "changed" || a.phase !== "up") continue;
        for (const d of world.graph.requiredBy(a.service)) {
          if (world.knows(d) && world.phase(d) === "failed" && dependencyOf(e.services.get(d)?.reason ?? null) === a.service) stale(d, a.service, false, e.wanted);
        }
      }
    },
    settled() {
      const wanted = oracle.wanted();
      for (const name of e.topo.names) {
        const s = e.services.get(name)!;
        const x = dependencyOf(s.reason);
        if (x !== null && (s.phase === "failed" || s.phase === "down")) stale(name, x, true, wanted);
      }
    },
  };
}
