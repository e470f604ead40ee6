// The commands that tell the server what happened: emit (an edge event), set and
// unset (levels), and those that show it: events (the history), levels. `tend emit`
// is called from udev rules and network hooks, so this module stays small.

import type { Places } from "../places.js";
import type { HistoryEntry } from "../server/history.js";
import { checkEvent } from "../server/protocol.js";
import { request, type RequestBody } from "./client.js";
import { UserError } from "./errors.js";
import type { Output } from "./output.js";
import { nameRecord } from "../records.js";

/** `KEY=VALUE` words into values; every malformed one is refused, with the reason. */
export function parseAssignments(words: readonly string[]): Record<string, string> {
  const values = nameRecord<string>();
  for (const word of words) {
    const eq = word.indexOf("=");
    if (eq <= 0) throw new UserError(`'${word}' is not KEY=VALUE (an event's values are KEY=VALUE words, like DEVNAME=/dev/sdb1)`, 2);
    values[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return values;
}

export async function emit(places: Places, out: Output, name: string, words: string[]): Promise<number> {
  const values = parseAssignments(words);
  const problem = checkEvent(name, values);
  if (problem !== null) throw new UserError(problem, 2);
  const entry = await request(places, { cmd: "emit", name, values });
  if (out.json) out.data(entry);
  else if (entry !== null) out.line(describe(entry));
  return 0;
}

export async function setLevel(places: Places, out: Output, name: string, value: string | null, persist: boolean | undefined): Promise<number> {
  const problem = checkEvent(name, value === null ? {} : { value });
  if (problem !== null) throw new UserError(problem, 2);
  const body: RequestBody<"set" | "unset"> = value === null ? { cmd: "unset", name } : persist === undefined ? { cmd: "set", name, value } : { cmd: "set", name, value, persist };
  const entry = await request(places, body);
  if (out.json) out.data(entry);
  else if (entry !== null) out.line(describe(entry));
  return 0;
}

export async function events(places: Places, out: Output, count: number): Promise<number> {
  const result = await request(places, { cmd: "events", count });
  if (out.json) return out.data(result), 0;
  if (result.dropped > 0) out.line(`(${result.dropped} older entries dropped: the history keeps the last ${result.total - result.dropped})`);
  for (const entry of result.entries) out.line(`${new Date(entry.time).toISOString()}  ${describe(entry)}`);
  return 0;
}

export async function levels(places: Places, out: Output): Promise<number> {
  const result = await request(places, { cmd: "levels" });
  if (out.json) return out.data(result), 0;
  const levels = Object.entries(result).sort(([a], [b]) => (a < b ? -1 : 1));
  if (levels.length === 0) out.line("no levels are set");
  for (const [name, level] of levels) out.line(`${name}=${level.value}${level.persisted ? "  (persisted)" : ""}`);
  return 0;
}

/** A history entry in a line (`tend events`, `tend monitor`): what happened, and what it started, stopped or skipped. */
export function describe(entry: HistoryEntry): string {
  const values = Object.entries(entry.values).map(([k, v]) => ` ${k}=${v}`).join("");
  const what =
    entry.kind === "level"
      ? `level ${entry.name}${entry.values.value === undefined ? " unset" : `=${entry.values.value}`}`
      : entry.kind === "schedule"
        ? `schedule of ${entry.name}`
        : `${entry.kind === "job" ? "job " : ""}${entry.name}${values}`;
  const effects = [
    entry.started.length > 0 ? `started ${entry.started.join(", ")}` : "",
    entry.stopped.length > 0 ? `stopped ${entry.stopped.join(", ")}` : "",
    entry.skipped.length > 0 ? `skipped ${entry.skipped.join(", ")} (still running)` : "",
  ].filter(Boolean);
  return `${what}${effects.length > 0 ? ` → ${effects.join("; ")}` : ""}`;
}
