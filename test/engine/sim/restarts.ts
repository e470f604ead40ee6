// Automatic restarts, from DESIGN.md's words: "A longrun that exits on its own is
// restarted by its policy without touching its dependents, with a delay that doubles
// up to `restart-delay-max` and resets after a stable run; at the restart limit it is
// failed and held." A model of each longrun's back-off says, at each crash of its main
// process, what must follow: a restart after exactly the next delay (restart-delay,
// then twice that, … up to restart-delay-max), or — the limit's count of restarts
// within its window reached — `failed` with "restart limit hit" and held, never
// started again until an admin (or its event) asks; or, when its policy or its being
// unwanted says no restart, down or failed and held. A failed post-start is a crash too
// (its main is stopped, then the same follows). Where the words leave a choice:
//  - a stable run is one that stayed up for the limit's window (restart-delay-max
//    without a limit): the only length the service file gives;
//  - what releases a hold (an admin's start or restart of it or of what requires it,
//    its event) also resets its back-off, and so does an apply that changes it.

import type { Fact } from "../../../src/engine/types.js";
import type { Check, Sim } from "./check.js";
import { requirementsOf } from "./graph.js";
import { isSuccess } from "./processes.js";

interface Backoff {
  /** The next delay. */
  delay: number;
  /** When the restarts counted against the limit happened. */
  restarts: number[];
  /** When it last became up, while it is up. */
  upAt: number | null;
}

/** `down`: a crash that its policy would restart, of a service a bounce or an apply is taking down: it comes back with them, not held. */
type Outcome = { kind: "restart"; delay: number } | { kind: "limit" } | { kind: "held" } | { kind: "down" };

export function restartChecks(sim: Sim, leaving: () => ReadonlySet<string>): Check {
  const { world, count } = sim;
  const fail: Sim["fail"] = sim.fail;
  const e = world.engine;
  const models = new Map<string, Backoff>();
  /** What each crash must lead to, until the service's next change but a post-stop's `stopping`. */
  const pending = new Map<string, Outcome>();
  /** A restart delay decided in this step, and the `arm` it is owed. */
  const owed = new Map<string, number>();
  /** Services released while the crash that holds them is still being handled. */
  const released = new Set<string>();
  /** Services the restart limit holds down until released. */
  const held = new Set<string>();
  /** Services that crashed on their way down for a bounce or an apply, whose policy would restart them: not held, they come back. */
  const comesBack = new Set<string>();

  /** The names of this step's start, restart or boot that stood for no service before it: instances by name, which it may make. */
  let unmade: string[] = [];

  const model = (name: string): Backoff => {
    let m = models.get(name);
    if (m === undefined) models.set(name, (m = { delay: world.def(name).restartDelayMs, restarts: [], upAt: null }));
    return m;
  };
  /** Released (an admin's start, its event, an apply): no hold, and the back-off starts over. */
  const release = (name: string): void => {
    const upAt = models.get(name)?.upAt ?? null;
    models.delete(name);
    if (upAt !== null) model(name).upAt = upAt;
    held.delete(name);
    // Asked for on its way down to a hold (its post-stop runs): the hold does not come.
    if (pending.get(name)?.kind === "limit") released.add(name);
  };

  /**
   * The main process of a longrun ended (or never started) while it was not being
   * stopped: a crash. So is a forking daemon's launcher that did not exit 0 (its exit 0
   * is its job done).
   */
  const crashed = (fact: Extract<Fact, { kind: "exited" | "spawn-failed" }>): void => {
    const name = fact.service;
    const s = e.services.get(name);
    const def = world.def(name);
    if (s === undefined || def.type !== "longrun" || (s.role !== "main" && s.role !== "launcher") || world.phase(name) === "stopping") return;
    if (fact.kind === "exited" && s.pid !== fact.pid) return;
    if (s.role === "launcher" && fact.kind === "exited" && fact.status.code === 0) return;
    expect(name, s.role === "main" && fact.kind === "exited" && isSuccess(def, fact.status));
  };

  /** A post-start that failed (could not start, or exited non-zero) fails its start: as a crash of its main, its policy says what follows. */
  const postStartFailed = (fact: Extract<Fact, { kind: "reload-exited" | "reload-spawn-failed" }>): void => {
    const c = e.services.get(fact.service)?.postStart;
    if (c == null || (fact.kind === "reload-exited" && (c.pid !== fact.pid || fact.status.code === 0))) return;
    expect(fact.service, false);
  };

  /** What a crash of `name` (`ok`: a clean exit) must lead to. */
  const expect = (name: string, ok: boolean): void => {
    const def = world.def(name);
    const policy = def.restart === "always" || (def.restart === "on-failure" && !ok);
    const bounced = e.bounces.some((g) => g.has(name));
    const endsBoot = e.boot?.exitWith === name && e.end === null;
    if (!policy || !e.wanted.has(name) || e.shuttingDown || endsBoot) return void pending.set(name, { kind: "held" });
    if (leaving().has(name) || bounced) return void pending.set(name, { kind: "down" });
    const m = model(name);
    const limit = def.restartLimit;
    if (m.upAt !== null && world.now - m.upAt >= (limit?.windowMs ?? def.restartDelayMaxMs)) {
      count("back-off reset after a stable run");
      m.delay = def.restartDelayMs;
      m.restarts = [];
    }
    if (limit !== null) {
      m.restarts = m.restarts.filter((t) => world.now - t < limit.windowMs);
      if (m.restarts.length >= limit.count) return void pending.set(name, { kind: "limit" });
    }
    m.restarts.push(world.now);
    pending.set(name, { kind: "restart", delay: m.delay });
    m.delay = Math.min(m.delay * 2, def.restartDelayMaxMs);
  };

  const changed = (name: string, phase: string, reason: string | null): void => {
    if (phase === "up") model(name).upAt = world.now;
    else if (models.has(name)) model(name).upAt = null;
    const restarting = phase === "starting" && (reason?.startsWith("restarting in ") ?? false);
    const limitHit = phase === "failed" && (reason?.startsWith("restart limit hit") ?? false);
    const expected = pending.get(name);
    if (expected === undefined) {
      if (restarting) fail(`restart: ${name} went ${phase} (${reason}), but its main process did not crash`);
      if (limitHit) fail(`restart: ${name} failed (${reason}), but its main process did not crash`);
      return;
    }
    if (phase === "stopping") return; // its post-stop runs first
    pending.delete(name);
    const got = `${phase}${reason === null ? "" : ` (${reason})`}`;
    switch (expected.kind) {
      case "restart":
        if (expected.delay > 0 && !restarting) fail(`restart: ${name} crashed and should restart in ${expected.delay} ms, but went ${got}`);
        if (expected.delay === 0 && (phase !== "down" || reason !== null)) fail(`restart: ${name} crashed and should restart at once, but went ${got}`);
        if (expected.delay > 0) owed.set(name, expected.delay);
        return count("restart checked");
      case "limit":
        if (!limitHit) fail(`restart: ${name} crashed past its restart limit (${JSON.stringify(world.def(name).restartLimit)}), but went ${got}`);
        if (!released.delete(name)) held.add(name);
        return count("restart limit checked");
      case "held":
        if (phase !== "down" && phase !== "failed") fail(`restart: ${name} crashed and is not to be restarted, but went ${got}`);
        return;
      case "down":
        if (phase !== "down" && phase !== "failed") fail(`restart: ${name} crashed while a bounce or an apply takes it down, and went ${got}`);
        comesBack.add(name);
        return;
    }
  };

  /** The instances this step's names made (the world knows them from its first action on): what they require is released, as a start's. */
  const releaseMade = (): void => {
    if (unmade.length === 0) return;
    const made = unmade.filter((n) => world.graph.members(n).length > 0);
    for (const r of requirementsOf(world.graph, made.flatMap((n) => world.graph.members(n)))) release(r);
    unmade = unmade.filter((n) => !made.includes(n));
  };

  return {
    beforeStep(fact) {
      switch (fact.kind) {
        case "boot":
        case "start":
        case "restart": {
          const names = fact.kind === "boot" && fact.policy.exitWith !== null ? [...fact.names, fact.policy.exitWith] : fact.names;
          for (const r of requirementsOf(world.graph, names.flatMap((n) => world.graph.members(n)))) release(r);
          // An instance named that is not made yet releases what it requires once the step made it (see `releaseMade`).
          unmade = names.filter((n) => world.graph.members(n).length === 0);
          return;
        }
        case "exited":
        case "spawn-failed":
          return crashed(fact);
        case "reload-exited":
        case "reload-spawn-failed":
          return postStartFailed(fact);
        default:
          return;
      }
    },
    action(a) {
      releaseMade();
      switch (a.kind) {
        case "changed":
          return changed(a.service, a.phase, a.reason);
        case "arm": {
          if (a.purpose !== "restart-delay") return;
          // The same reason as before (it was restarting already, with the same delay and count): no change is told.
          const p = pending.get(a.service);
          if (p?.kind === "restart" && p.delay > 0 && world.phase(a.service) === "starting") {
            pending.delete(a.service);
            owed.set(a.service, p.delay);
            count("restart checked");
          }
          if (owed.get(a.service) !== a.ms) fail(`restart: ${a.service} armed a restart delay of ${a.ms} ms; the back-off says ${owed.get(a.service) ?? "no restart"}`);
          owed.delete(a.service);
          return;
        }
        case "spawn":
          if (held.has(a.service) && world.begins(a) !== null) fail(`restart: ${a.service} hit its restart limit and is held, but starts again with no admin's start`);
          return;
        case "occurred":
          for (const t of a.started) release(t);
          return;
        case "switched":
          for (const n of [...a.removed, ...a.changed]) {
            release(n);
            models.delete(n);
            pending.delete(n);
          }
          return;
        default:
          return;
      }
    },
    afterStep() {
      releaseMade();
      unmade = [];
      for (const [name, ms] of owed) fail(`restart: ${name} is restarting, and no restart delay of ${ms} ms was armed`);
      for (const [name, outcome] of pending) {
        if (world.knows(name) && world.phase(name) !== "stopping") fail(`restart: ${name} crashed (${outcome.kind} expected), and nothing followed`);
      }
      for (const name of held) if (e.services.get(name)?.held === false && world.phase(name) === "failed") fail(`restart: ${name} hit its restart limit but is not held`);
      for (const name of comesBack) {
        const s = e.services.get(name);
        if (s?.held === true) fail(`restart: ${name} crashed (restart = ${world.def(name).restart}) while a bounce or an apply was taking it down, and is held (${s.reason}): it will not come back with them`);
      }
      comesBack.clear();
    },
  };
}
