// One fact in, the next actions out: the fact is handled, then every service it may
// have unblocked is evaluated until nothing changes.

import { adopt } from "./adopt.js";
import { beginApply, bounce, completeApply, completeBounces } from "./apply.js";
import { bootServices, completeBoot, end } from "./boot.js";
import { type Engine, isActive, stateOf, type Step } from "./engine.js";
import { levelChanged, occur, trigger } from "./events.js";
import { mainRefused, mainTaken } from "./forking.js";
import { makeNamed } from "./instances.js";
import { processEnded, spawned, timerFired } from "./processes.js";
import { reloaded, reloading, reloadNamed, reloadProcessFact, reloadTimedOut } from "./reload.js";
import { stopCommandFact, stopCommandTimedOut } from "./stop-command.js";
import { leftPostStartFact, mainStarted, postStartFact } from "./post-start.js";
import { evaluate } from "./rules.js";
import { members, requirersOf } from "./topology.js";
import type { Action, Command, Fact, TimedFact } from "./types.js";
import { broughtUpBy, startNamed, stopNamed, unwantNamed } from "./wanted.js";

export function step(e: Engine, fact: TimedFact): Action[] {
  const ctx: Step = { e, now: fact.now, out: [], dirty: new Set() };
  const activeBefore = fact.kind === "stop" ? e.topo.names.filter((n) => e.wanted.has(n) && isActive(stateOf(e, n).phase)) : [];
  handle(ctx, fact);
  if (fact.kind === "start" || fact.kind === "stop" || fact.kind === "restart") {
    ctx.out.unshift({ kind: "affected", command: fact.kind, services: affectedBy(e, fact.kind, fact.names, activeBefore) });
  }
  do {
    // Evaluate until nothing changes: each change marks the services it may unblock.
    while (ctx.dirty.size > 0) {
      const name: string = ctx.dirty.values().next().value!;
      ctx.dirty.delete(name);
      if (e.services.has(name)) evaluate(ctx, name); // an apply may have removed it
    }
  } while (completeBounces(ctx) || completeApply(ctx));
  completeBoot(ctx);
  return ctx.out;
}

/**
 * What a command concerns, once handled: a start, the services it brings up; a stop,
 * what was wanted and active and is wanted no more (its dependents, and what only they
 * needed); a restart, the bounce groups it made, with the services it names.
 */
function affectedBy(e: Engine, command: Command, names: readonly string[], activeBefore: readonly string[]): string[] {
  // A set: a request may name thousands.
  const named = new Set(names.flatMap((n) => (command === "start" ? broughtUpBy(e, n) : members(e.topo, n))));
  switch (command) {
    case "start":
      return [...named];
    case "stop":
      return activeBefore.filter((n) => !e.wanted.has(n));
    case "restart": {
      const bounced = new Set(e.bounces.flatMap((group) => [...group]));
      return [...new Set([...named].flatMap((n) => requirersOf(e.topo, n)))].filter((n) => bounced.has(n) || named.has(n));
    }
  }
}

function handle(ctx: Step, fact: Fact): void {
  const { e } = ctx;
  switch (fact.kind) {
    case "boot": {
      const { exitWith } = fact.policy;
      makeNamed(ctx, fact.names); // an enabled `getty@tty1`
      const services = bootServices(e, fact.names, exitWith);
      e.boot = { ...fact.policy, services: new Set(services), waiting: new Set(services), completeAt: null };
      // The `exit-with` service is started by the boot, in its set or not.
      return startNamed(ctx, exitWith === null ? fact.names : [...fact.names, exitWith]);
    }
    case "start":
      makeNamed(ctx, fact.names);
      return startNamed(ctx, fact.names);
    case "stop":
      return stopNamed(ctx, fact.names);
    case "restart":
      makeNamed(ctx, fact.names);
      for (const name of fact.names) for (const m of members(e.topo, name)) bounce(ctx, m);
      return startNamed(ctx, fact.names);
    case "unwant":
      return unwantNamed(ctx, fact.names);
    case "apply":
      return beginApply(ctx, fact.db);
    case "shutdown":
      return end(ctx, { code: 0, reason: fact.reason ?? "asked to shut down" });
    case "spawned":
    case "spawn-failed":
    case "ready":
    case "exited":
    case "timer":
    case "main-pid":
    case "main-pid-refused":
      if (!e.services.has(fact.service)) return; // a service an apply removed
      return processFact(ctx, fact);
    case "signal": {
      const s = e.services.get(fact.service);
      // `--main`: the main process alone, which a service has only while its `command` runs.
      const to = fact.to === "main" ? "main" : "group";
      if (s?.pid != null && (to === "group" || s.role === "main")) ctx.out.push({ kind: "signal", service: fact.service, pid: s.pid, signal: fact.signal, to });
      return;
    }
    case "reload":
      return reloadNamed(ctx, fact.names);
    case "reload-spawned":
    case "reload-spawn-failed":
    case "reload-exited": {
      const s = e.services.get(fact.service);
      if (s === undefined) return;
      return (s.postStartLeft ? leftPostStartFact : s.postStart !== null ? postStartFact : s.stopCommand !== null ? stopCommandFact : reloadProcessFact)(ctx, fact);
    }
    case "reloading":
    case "reloaded":
      if (!e.services.has(fact.service)) return;
      return (fact.kind === "reloading" ? reloading : reloaded)(ctx, fact.service, fact.pid);
    case "adopted":
      if (!e.services.has(fact.service)) return;
      return adopt(ctx, fact);
    case "event":
      return void occur(ctx, { kind: "event", name: fact.name, values: fact.values });
    case "level":
      return levelChanged(ctx, fact.name, fact.value);
    case "scheduled": {
      if (!e.defs.has(fact.service)) return;
      const result = trigger(ctx, fact.service, fact.env);
      ctx.out.push({ kind: "occurred", what: { kind: "schedule", service: fact.service }, started: result.started, stopped: [], skipped: result.skipped });
      return;
    }
  }
}

function processFact(ctx: Step, fact: Extract<Fact, { kind: "spawned" | "spawn-failed" | "ready" | "exited" | "timer" | "main-pid" | "main-pid-refused" }>): void {
  const { e } = ctx;
  switch (fact.kind) {
    case "spawned":
      return spawned(ctx, fact.service, fact.pid);
    case "spawn-failed":
      return processEnded(ctx, fact.service, { code: null, signal: null }, `cannot start: ${fact.error}`);
    case "ready": {
      const s = stateOf(e, fact.service);
      if (s.phase === "starting" && s.role === "main" && s.pid === fact.pid) mainStarted(ctx, fact.service);
      return;
    }
    case "exited": {
      const s = stateOf(e, fact.service);
      if (s.pid !== fact.pid) return; // a process we no longer track
      return processEnded(ctx, fact.service, fact.status, null);
    }
    case "timer": {
      const s = stateOf(e, fact.service);
      if (s.timer !== fact.token) return; // superseded
      if (s.reload?.token === fact.token) return reloadTimedOut(ctx, fact.service);
      if (s.stopCommand !== null) return stopCommandTimedOut(ctx, fact.service);
      s.timer = 0;
      return timerFired(ctx, fact.service);
    }
    case "main-pid":
      return mainTaken(ctx, fact.service, fact.pid);
    case "main-pid-refused":
      return mainRefused(ctx, fact.service, fact.reason);
    default: {
      const unknown: never = fact;
      throw new Error(`unknown fact ${JSON.stringify(unknown)}`);
    }
  }
}
