// `tend monitor`: the server's `monitor` subscription as a line per change (JSON lines
// with --json), until interrupted; with --until, until each condition holds (for
// scripts, as s6-svwait and dinit-monitor), which is checked against the current state
// first, so a condition true already ends it at once.

import type { Places } from "../places.js";
import type { MonitorEntry } from "../server/protocol.js";
import { CommandError, requestOnceListening, subscribe } from "./client.js";
import { UserError } from "./errors.js";
import { describe } from "./event-commands.js";
import { paint, type Output } from "./output.js";

/**
 * What `--until NAME=STATE` waits for: `up` is the engine's readiness, as `tend ready`
 * says (a longrun or oneshot up, a task that has run and not failed: a task is never
 * up); the others are the phase of that name.
 */
export const UNTIL_STATES = ["up", "down", "starting", "running", "stopping", "failed"] as const;
export type UntilState = (typeof UNTIL_STATES)[number];

export interface Condition {
  service: string;
  state: UntilState;
}

export interface MonitorOptions {
  /** Services or bundles to watch; none: every one (or, with conditions, those they name). */
  names: string[];
  /** All must hold at once; none: until interrupted. */
  until: Condition[];
  /** With conditions: how long to wait for them at most. */
  timeoutMs: number | undefined;
  quiet: boolean;
}

/** `web=up`, several with commas or given again; what is wrong, worded for a usage error. */
export function parseConditions(texts: readonly string[]): Condition[] | string {
  const conditions: Condition[] = [];
  for (const word of texts.flatMap((t) => t.split(","))) {
    const eq = word.lastIndexOf("=");
    const [service, state] = [word.slice(0, eq), word.slice(eq + 1)];
    if (eq <= 0) return `--until: '${word}' is not NAME=STATE (like web=up)`;
    if (!(UNTIL_STATES as readonly string[]).includes(state)) return `--until: '${state}' in '${word}' is not a state: use ${UNTIL_STATES.join(", ")}`;
    conditions.push({ service, state: state as UntilState });
  }
  return conditions;
}

const holds = (c: Condition, entry: Extract<MonitorEntry, { kind: "service" }>): boolean => (c.state === "up" ? entry.ready : entry.phase === c.state);

/** 0 when interrupted, or once the conditions hold; 1 when the time ran out or the server exited first. */
export async function monitor(places: Places, out: Output, options: MonitorOptions): Promise<number> {
  const { timeoutMs, quiet } = options;
  // With a timeout, what it waits for includes a server to listen at all (a script may run before it does).
  const deadline = timeoutMs === undefined ? 0 : Date.now() + timeoutMs;
  const until = options.until.length === 0 ? [] : await ofServices(places, deadline, options.until);
  if (options.until.length > 0 && until.length === 0) return 0; // conditions on empty bundles only: they hold
  // No names but conditions: only what they name is watched.
  const names = [...new Set([...options.names, ...until.map((c) => c.service)])];
  const latest = new Map<string, Extract<MonitorEntry, { kind: "service" }>>();
  const held = (c: Condition): boolean => latest.has(c.service) && holds(c, latest.get(c.service)!);
  const stop = new AbortController();
  let ended: "timeout" | "interrupted" | null = null;
  const end = (why: "timeout" | "interrupted"): void => {
    ended ??= why;
    stop.abort();
  };
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => end("timeout"), Math.max(0, deadline - Date.now()));
  const interrupt = (): void => end("interrupted");
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  for (const signal of signals) process.on(signal, interrupt);
  try {
    const final = await subscribe(places, { cmd: "monitor", ...(names.length > 0 ? { names } : {}) }, (reply) => {
      if (!("monitor" in reply)) return false;
      const entry = reply.monitor;
      if (!quiet) out.line(out.json ? JSON.stringify(entry) : line(out, entry));
      if (entry.kind !== "service") return false;
      latest.set(entry.service, entry);
      return until.length > 0 && until.every(held);
    }, stop.signal);
    if (final !== null && !final.ok) throw new CommandError(final.error);
    // Interrupted, or the server's end: a monitor that waits for nothing has done its job.
    if (until.length === 0) return 0;
    if (final === null && ended === null) return 0; // the conditions hold
    const why = until
      .filter((c) => !held(c))
      .map((c) => (latest.has(c.service) ? `${c.service} is ${latest.get(c.service)!.phase}, not ${c.state}` : `no state of ${c.service} came, awaited ${c.state}`))
      .join("; ");
    const ending = ended === "timeout" ? `timed out after ${timeoutMs! / 1000}s` : ended === "interrupted" ? "interrupted" : "the server exited";
    throw new UserError(`${ending}: ${why}`);
  } finally {
    clearTimeout(timer);
    for (const signal of signals) process.off(signal, interrupt);
  }
}

/** A condition on a bundle is one on each of its members, as the server's `list` names them. */
async function ofServices(places: Places, deadline: number, until: readonly Condition[]): Promise<Condition[]> {
  const bundles = new Map((await requestOnceListening(places, deadline, () => ({ cmd: "list" }))).flatMap((e) => (e.members === null ? [] : [[e.name, e.members] as const])));
  return until.flatMap((c) => (bundles.get(c.service) ?? [c.service]).map((service) => ({ service, state: c.state })));
}

/** `12:00:03.120 web up`, `… web failed: exited with 3`, `… event net-up IFACE=eth0`, `… level net.eth0=up`. */
function line(out: Output, entry: MonitorEntry): string {
  const when = clock(entry.time);
  switch (entry.kind) {
    case "service": {
      const phase = entry.phase === "failed" ? paint(out, "red", entry.phase) : entry.phase === "up" ? paint(out, "green", entry.phase) : entry.phase;
      return `${when} ${entry.service} ${phase}${entry.reason === null ? "" : `: ${entry.reason}`}`;
    }
    case "missed":
      return `${when} [tend] missed ${entry.count} changes (reader too slow)`;
    case "event":
      return `${when} event ${describe(entry)}`;
    default:
      return `${when} ${describe(entry)}`;
  }
}

/** Local time of day to the millisecond: `12:00:03.120`. */
function clock(ms: number): string {
  const d = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}
