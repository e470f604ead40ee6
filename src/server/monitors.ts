// `tend monitor` subscribers: each is sent the current phase of the services it watches,
// then every change of phase, event, level change, job event and schedule the loop
// carries out, as it happens. What a subscriber may cost is bounded as a log follower's
// is: past MAX_STREAM_BACKLOG unsent, its lines are dropped and counted, and once its
// client has taken what was queued it is told how many it missed, then goes on.

import { isTemplateName } from "../config/template.js";
import { readinessOf } from "../engine/boot.js";
import type { Engine } from "../engine/engine.js";
import { members } from "../engine/topology.js";
import type { Action, Phase } from "../engine/types.js";
import { MAX_STREAM_BACKLOG, type Connection } from "./control-socket.js";
import type { HistoryEntry } from "./history.js";
import type { MonitorEntry } from "./protocol.js";

export interface Monitors {
  /**
   * Subscribes `connection` (request `id`) to the services `names` stand for (bundles
   * expanded, an instance not made yet by its name), or to all of them: their current
   * phase is sent at once. Returns the unsubscription.
   */
  add(id: number, connection: Connection, names: readonly string[] | null): () => void;
  /** A service's phase changed (the loop's `changed` action). */
  changed(service: string, phase: Phase, reason: string | null): void;
  /** An entry of the history (the loop's `occurred` action that is one), with the services it concerns. */
  occurred(entry: HistoryEntry, concerns: readonly string[]): void;
}

type ServiceEntry = Extract<MonitorEntry, { kind: "service" }>;

interface Subscriber {
  id: number;
  connection: Connection;
  /** The services watched; null: every one, those an apply adds included. */
  watched: ReadonlySet<string> | null;
  /** Lines dropped since the client last took what was queued. */
  missed: number;
}

/** The services an `occurred` action concerns: what it started, stopped or skipped, and the service of a job event or schedule. */
export function concernsOf(action: Extract<Action, { kind: "occurred" }>): string[] {
  const { what, started, stopped, skipped } = action;
  return [...started, ...stopped, ...skipped, ...(what.kind === "job" || what.kind === "schedule" ? [what.service] : [])];
}

export function createMonitors(engine: () => Engine): Monitors {
  const subscribers = new Set<Subscriber>();

  const serviceEntry = (e: Engine, service: string, phase: Phase, reason: string | null, time: number): ServiceEntry => ({
    kind: "service",
    time: Math.round(time), // the engine's clock keeps fractions of a millisecond
    service,
    phase,
    reason,
    // As the engine says after the step that made the change (a service an apply removed is not ready).
    ready: e.services.has(service) && readinessOf(e, service) === "ready",
  });

  /** Sends `entry` unless the client is too far behind; the count of those missed goes first. */
  const send = (s: Subscriber, entry: MonitorEntry): void => {
    if (s.connection.backlog() > MAX_STREAM_BACKLOG) return void s.missed++;
    tellMissed(s);
    s.connection.send({ id: s.id, monitor: entry });
  };
  const tellMissed = (s: Subscriber): void => {
    if (s.missed === 0) return;
    s.connection.send({ id: s.id, monitor: { kind: "missed", time: Date.now(), count: s.missed } });
    s.missed = 0;
  };

  return {
    add(id, connection, names) {
      const e = engine();
      const all = e.topo.names.filter((n) => !isTemplateName(n));
      // A name that stands for nothing yet is an instance not made: watched by its name, down until it is.
      const standsFor = (n: string): readonly string[] => (members(e.topo, n).length > 0 ? members(e.topo, n) : [n]);
      const watched = names === null ? null : new Set(names.flatMap(standsFor));
      const subscriber: Subscriber = { id, connection, watched, missed: 0 };
      for (const name of watched ?? new Set(all.flatMap((n) => members(e.topo, n)))) {
        const s = e.services.get(name);
        const entry = s === undefined ? serviceEntry(e, name, "down", null, Date.now()) : serviceEntry(e, name, s.phase, s.reason, s.since);
        send(subscriber, { ...entry, current: true });
      }
      subscribers.add(subscriber);
      const stopDrain = connection.onDrain(() => tellMissed(subscriber));
      const stopClose = connection.onClose(() => remove());
      const remove = (): void => {
        subscribers.delete(subscriber);
        stopDrain();
        stopClose();
      };
      return remove;
    },
    changed(service, phase, reason) {
      if (subscribers.size === 0) return;
      const entry = serviceEntry(engine(), service, phase, reason, Date.now());
      for (const s of subscribers) if (s.watched === null || s.watched.has(service)) send(s, entry);
    },
    occurred(entry, concerns) {
      for (const s of subscribers) if (s.watched === null || concerns.some((n) => s.watched!.has(n))) send(s, entry);
    },
  };
}
