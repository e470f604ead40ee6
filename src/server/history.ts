// The event history `tend events` shows: a ring buffer of the last events, levels and
// schedules, and of the job events that started or stopped something, each with what
// it started or stopped. Bounded, and honest about it: what falls out of the buffer
// is counted, and the count is shown.

import type { Action } from "../engine/types.js";

export interface HistoryEntry {
  /** ms since the epoch. */
  time: number;
  kind: "event" | "level" | "job" | "schedule";
  name: string;
  values: Record<string, string>;
  started: string[];
  stopped: string[];
  /** Triggers that found their task still running (it never overlaps itself). */
  skipped: string[];
}

/** The newest entries, oldest first, and how many were dropped since the server started. */
export interface RecentHistory {
  entries: HistoryEntry[];
  dropped: number;
  total: number;
}

export interface History {
  add(entry: HistoryEntry): void;
  /** The newest `count` entries. */
  recent(count: number): RecentHistory;
}

export const HISTORY_CAPACITY = 1000;

export function createHistory(capacity = HISTORY_CAPACITY): History {
  const ring: HistoryEntry[] = [];
  let next = 0;
  let total = 0;
  return {
    add(entry) {
      if (ring.length < capacity) ring.push(entry);
      else ring[next] = entry;
      next = (next + 1) % capacity;
      total++;
    },
    recent(count) {
      const ordered = ring.length < capacity ? ring : [...ring.slice(next), ...ring.slice(0, next)];
      return { entries: ordered.slice(Math.max(0, ordered.length - count)), dropped: total - ring.length, total };
    },
  };
}

/** The history entry for an engine's `occurred` action. */
export function historyEntry(action: Extract<Action, { kind: "occurred" }>, time: number): HistoryEntry {
  const { what, started, stopped, skipped } = action;
  const base = { time, started, stopped, skipped };
  switch (what.kind) {
    case "event":
      return { ...base, kind: "event", name: what.name, values: { ...what.values } };
    case "job":
      return { ...base, kind: "job", name: `${what.verb} ${what.service}`, values: { ...what.values } };
    case "level":
      return { ...base, kind: "level", name: what.name, values: what.value === null ? {} : { value: what.value } };
    case "schedule":
      return { ...base, kind: "schedule", name: what.service, values: {} };
  }
}
