// The server's loop: facts in, actions out. Facts are queued and handled one at a time,
// never re-entrantly (a fact produced while actions run waits its turn): each is
// journaled, stepped through the engine, and its actions carried out through the
// supervisor, the scheduler, the waiters, the history and the monitors.

import { isOver } from "../engine/boot.js";
import { defOf, isActive, step, type Engine } from "../engine/engine.js";
import type { Action, Fact, TimedFact } from "../engine/types.js";
import type { ServerContext, Told } from "./context.js";
import { historyEntry } from "./history.js";
import { concernsOf } from "./monitors.js";
import type { RuntimeState } from "./runtime-state.js";
import type { Timings } from "./timings.js";

export interface Loop {
  /** A fact handled at once when the server serves: a request's, whose outcome its reply names (`told`: what its command concerns). */
  emit(fact: Fact, told?: Told): void;
  /**
   * What the keeper reports comes in bursts (500 exits in one read): the facts of one
   * turn are handled together, once the turn is over, so that the journal, the waiters
   * and the acknowledgements are dealt with once for all of them.
   */
  post(fact: Fact): void;
  /** From now on facts are handled, those queued while the server started first. */
  serve(server: ServerContext): void;
  /** Whether facts are journaled: not before the engine is settled (see `readopt`), nor after the server's end. */
  journaling: boolean;
}

export interface LoopOptions {
  now(): number;
  log(line: string): void;
  runtime: RuntimeState;
  /** Told each step, to record the transitions it made (`tend analyze`). */
  timings: Timings;
  /** Called after each drain once every service is down in a shutdown. */
  finishShutdown(): void;
}

export function createLoop(options: LoopOptions): Loop {
  const { now, log, runtime, timings } = options;
  /** Facts to step, each with the request to tell what its command concerns (the step's `affected` action). */
  const queue: { fact: TimedFact; told?: Told }[] = [];
  let draining = false;
  /** Facts that come while the server starts (the keeper's `terminate`) wait until it serves. */
  let serving: ServerContext | null = null;
  let drainQueued = false;

  const loop: Loop = {
    emit(fact, told) {
      queue.push({ fact: { ...fact, now: now() } as TimedFact, told });
      if (serving !== null && !draining) drain(serving);
    },
    post(fact) {
      queue.push({ fact: { ...fact, now: now() } as TimedFact });
      if (drainQueued) return;
      drainQueued = true;
      queueMicrotask(() => {
        drainQueued = false;
        if (serving !== null && !draining) drain(serving);
      });
    },
    serve(server) {
      serving = server;
      drain(server);
    },
    journaling: false,
  };

  function drain(server: ServerContext): void {
    const { engine, supervisor, waiters } = server;
    draining = true;
    try {
      while (queue.length > 0) {
        const { fact, told } = queue.shift()!;
        const defs = engine.defs;
        const boot = engine.boot !== null && engine.boot.completeAt === null ? engine.boot : null;
        const endBefore = engine.end;
        try {
          if (loop.journaling) runtime.record(fact);
          const actions = step(engine, fact);
          if (endBefore === null && engine.end !== null && fact.kind !== "shutdown") log(`${engine.end.reason}: stopping everything (the server will exit with status ${engine.end.code})`);
          if (boot !== null && boot.completeAt !== null && boot.services.size > 0) log(`boot complete: all ${boot.services.size} services of the boot have been up`);
          // Written ahead: what the keeper is asked to do is in the journal first.
          if (actions.some((a) => a.kind === "spawn" || a.kind === "signal")) runtime.flush();
          // An action is carried out even when one before it could not be: each is reported.
          for (const action of actions) {
            try {
              if (action.kind === "affected") told?.(action.services);
              else perform(server, action, defs);
            } catch (e) {
              log(`internal error carrying out ${action.kind}: ${(e as Error).stack ?? e}`);
            }
          }
          settle(server, actions, defs);
          timings.stepped(fact, actions, engine);
        } catch (e) {
          log(`internal error handling ${fact.kind}: ${(e as Error).stack ?? e}`);
        }
      }
      if (loop.journaling) {
        runtime.flush();
        supervisor.acknowledge(); // every exit reported so far is journaled now
        runtime.checkpoint();
      }
      server.statusFile.changed();
      waiters.check();
      if (isOver(engine)) options.finishShutdown();
    } finally {
      draining = false;
    }
  }

  return loop;
}

/**
 * What lives only while a service runs (its runtime directories) goes once a step
 * leaves it down or failed: one that went down and starts again in the same step (an
 * automatic restart without delay), or waits for its restart delay (starting), keeps it.
 */
function settle(server: ServerContext, actions: readonly Action[], defs: Engine["defs"]): void {
  const { engine, supervisor, log } = server;
  for (const action of actions) {
    if (action.kind !== "changed" || isActive(action.phase)) continue;
    const s = engine.services.get(action.service);
    // The definition it ran with: an apply in this step may have switched to another.
    const def = defs.get(action.service) ?? engine.defs.get(action.service);
    if (def === undefined || (s !== undefined && isActive(s.phase))) continue;
    try {
      supervisor.stopped(action.service, def);
    } catch (e) {
      log(`internal error after ${action.service} stopped: ${(e as Error).stack ?? e}`);
    }
  }
}

/**
 * Carry out one action of a step but `affected`, which answers the request of the
 * step's fact. `defs` are the definitions the step began with: a service an apply
 * removed is found there.
 */
function perform(server: ServerContext, action: Exclude<Action, { kind: "affected" }>, defs: Engine["defs"]): void {
  const { engine, log, supervisor, waiters, history, monitors, scheduler, persistent } = server;
  switch (action.kind) {
    case "changed": {
      const line = `${action.phase}${action.reason ? `: ${action.reason}` : ""}`;
      log(`${action.service}: ${line}`);
      const def = engine.defs.get(action.service) ?? defs.get(action.service);
      if (def !== undefined) supervisor.note(action.service, def, line);
      waiters.progress(action.service, action.phase, action.reason);
      monitors.changed(action.service, action.phase, action.reason);
      return;
    }
    case "occurred": {
      // Every start and stop is a job event: only those that set something off are history.
      const effect = action.started.length + action.stopped.length + action.skipped.length > 0;
      if (action.what.kind === "job" && !effect) return;
      const entry = historyEntry(action, Date.now());
      history.add(entry);
      monitors.occurred(entry, concernsOf(action));
      if (entry.kind === "event" || entry.kind === "level") server.lastOccurrence = entry;
      return;
    }
    case "delay":
      return scheduler.delay(action.service, action.ms, action.env);
    case "switched":
      // What the supervisor keeps for a service removed or changed belongs to the old definition (but the sockets a changed one keeps).
      for (const name of action.removed) supervisor.forget(name);
      for (const name of action.changed) supervisor.forget(name, action.db.services[name]);
      supervisor.listen(Object.values(action.db.services));
      scheduler.load(action.db, new Set(persistent.disabled));
      return log(`database generation ${action.db.generation} applied`);
    default:
      return supervisor.perform(action, defOf(engine, action.service));
  }
}
