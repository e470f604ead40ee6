// Clients waiting for a command to finish (`tend start` waits by default): they get a
// progress line for each change among the services concerned, then one final reply
// once every one of them has settled. And `tend ready --wait`: answered once the
// services are ready, one of them failed, or its time is up.

import type { Readiness } from "../engine/boot.js";
import { stateOf, type Engine } from "../engine/engine.js";
import { reloadOutcome } from "../engine/reload.js";
import { isSettled } from "../engine/rules.js";
import { edgesOf, members } from "../engine/topology.js";
import type { Phase } from "../engine/types.js";
import type { Connection } from "./control-socket.js";
import type { ApplyPlan, Outcome, ResultOf } from "./protocol.js";

export interface Waiter {
  id: number;
  connection: Connection;
  kind: "start" | "stop" | "restart" | "shutdown" | "apply";
  /** The services named (bundles expanded), or for `stop` everything that stops with them. */
  services: string[];
  /** When the command was given (engine clock). */
  since: number;
  /** An apply's plan, which its final reply carries with the outcome. */
  result?: ApplyPlan;
  /** Send a progress line for each change (default); off, only the outcome. */
  progress?: boolean;
}

interface Pending extends Waiter {
  /** The services whose changes are reported: the named ones and what they pull in. */
  watched: Set<string>;
  /** Not answered before the command has run and `widen` said what it concerns. */
  complete: boolean;
  /** Detaches it from its connection once answered: a connection that waits for command after command keeps none of them. */
  detach(): void;
}

/** A `reload` waited for: answered once the reload of each service is over. */
export interface ReloadWaiter {
  id: number;
  connection: Connection;
  services: string[];
  /** When it was asked (engine clock): a reload that ended before is not its own. */
  since: number;
}

/** A `ready` request with `waitMs`. */
export interface ReadyWaiter {
  id: number;
  connection: Connection;
  /** The readiness of the services asked about, as it is now. */
  query(): Readiness;
  /** How long to wait at most: then the answer is what `query` says. */
  ms: number;
}

export function createWaiters(engine: () => Engine) {
  let pending: Pending[] = [];
  const readyWaiters = new Set<{ waiter: ReadyWaiter; answer(): void }>();
  const reloadWaiters = new Set<{ waiter: ReloadWaiter; detach(): void }>();

  const finalReply = (w: Pending): void => {
    const e = engine();
    const services = w.services
      .filter((n) => e.services.has(n))
      .map((n) => {
        const s = stateOf(e, n);
        return { name: n, phase: s.phase, reason: s.reason };
      });
    const outcome: Outcome = { services, failed: services.filter((s) => s.phase === "failed").map((s) => s.name) };
    const result: ResultOf<"start" | "stop" | "restart" | "shutdown" | "apply"> = w.result === undefined ? outcome : { ...w.result, ...outcome };
    w.connection.send({ id: w.id, ok: true, result });
  };

  return {
    /**
     * Returns a function that adds the services found to be concerned once the command
     * ran (what a stop stops with it): the waiter is answered only after it is called.
     */
    add(waiter: Waiter): (more: readonly string[]) => void {
      const e = engine();
      const detach = waiter.connection.onClose(() => (pending = pending.filter((p) => p !== entry)));
      const entry: Pending = { ...waiter, services: [], watched: new Set(), complete: false, detach };
      const widen = (names: readonly string[]): void => {
        const added = names.flatMap((n) => members(e.topo, n)).filter((n) => !entry.services.includes(n));
        entry.services.push(...added);
        const stack = [...added];
        while (stack.length > 0) {
          const n = stack.pop()!;
          if (entry.watched.has(n) || !e.topo.requires.has(n)) continue;
          entry.watched.add(n);
          if (waiter.kind === "start" || waiter.kind === "restart") stack.push(...edgesOf(e.topo, "requires", n), ...edgesOf(e.topo, "wants", n));
        }
      };
      widen(waiter.services);
      pending.push(entry);
      return (more) => {
        widen(more);
        entry.complete = true;
      };
    },
    progress(service: string, phase: Phase, reason: string | null): void {
      for (const w of pending) {
        if (w.progress !== false && (w.kind === "shutdown" || w.watched.has(service))) w.connection.send({ id: w.id, progress: { service, phase, reason } });
      }
    },
    reload(waiter: ReloadWaiter): void {
      const entry = { waiter, detach: () => {} };
      entry.detach = waiter.connection.onClose(() => reloadWaiters.delete(entry));
      reloadWaiters.add(entry);
    },
    ready(waiter: ReadyWaiter): void {
      const entry = {
        waiter,
        answer: () => {
          clearTimeout(deadline);
          detach();
          readyWaiters.delete(entry);
          waiter.connection.send({ id: waiter.id, ok: true, result: waiter.query() });
        },
      };
      const deadline = setTimeout(entry.answer, waiter.ms);
      const detach = waiter.connection.onClose(() => {
        clearTimeout(deadline);
        readyWaiters.delete(entry);
      });
      readyWaiters.add(entry);
    },
    check(): void {
      for (const entry of readyWaiters) {
        const now = entry.waiter.query();
        // A failed service will not come up by itself, and a server shutting down brings nothing up: no use waiting.
        if (now.ready || now.failed.length > 0 || now.shuttingDown) entry.answer();
      }
      const e = engine();
      for (const entry of reloadWaiters) {
        const { waiter } = entry;
        const outcomes = waiter.services.map((name) => ({ name, outcome: reloadOutcome(e, name, waiter.since) }));
        if (outcomes.some((o) => o.outcome === null)) continue;
        entry.detach();
        reloadWaiters.delete(entry);
        const services = outcomes.map(({ name, outcome }) => ({ name, error: outcome!.error }));
        waiter.connection.send({ id: waiter.id, ok: true, result: { services, failed: services.filter((s) => s.error !== null).map((s) => s.name) } });
      }
      const still: Pending[] = [];
      for (const w of pending) {
        const applying = w.kind === "apply" && e.pendingApply !== null;
        if (w.complete && !applying && w.services.every((n) => isSettled(e, n, w.kind, w.since))) {
          w.detach();
          finalReply(w);
        } else still.push(w);
      }
      pending = still;
    },
  };
}
