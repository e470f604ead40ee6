// The control protocol (docs/protocol.md): JSON lines over a unix stream socket.
// A client sends one request per line; the server answers with one or more lines
// carrying the request's id: `progress` lines for a command that waits, then exactly
// one final line with `ok`.

import type { Phase } from "../engine/types.js";

/** In the run directory: the control socket (0600) and the read-only status socket (0666). */
export const CONTROL_SOCKET = "control.sock";
export const STATUS_SOCKET = "status.sock";

/** A request line may be at most this long; a longer one gets an error and the connection is closed. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** A connection that sends half a request and then nothing is closed after this long. */
export const PARTIAL_REQUEST_TIMEOUT_MS = 10_000;

export type Request =
  | { id: number; cmd: "status"; names?: string[] }
  | { id: number; cmd: "list" }
  /** `progress: false` asks for the outcome only (a script, or output that is not a terminal). */
  | { id: number; cmd: "start" | "stop" | "restart"; names: string[]; wait?: boolean; progress?: boolean }
  | { id: number; cmd: "enable" | "disable"; names: string[] }
  | { id: number; cmd: "logs"; name: string; lines?: number; follow?: boolean }
  | { id: number; cmd: "signal"; name: string; signal: string }
  | { id: number; cmd: "why"; name: string }
  /** Load the installed database, or with `from`, only say what loading the one in that directory would do. */
  | { id: number; cmd: "apply"; from?: string; wait?: boolean }
  | { id: number; cmd: "shutdown" }
  | { id: number; cmd: "emit"; name: string; values: Record<string, string> }
  | { id: number; cmd: "set"; name: string; value: string; persist?: boolean }
  | { id: number; cmd: "unset"; name: string }
  | { id: number; cmd: "events"; count?: number }
  | { id: number; cmd: "levels" }
  /** Are the services (default: what the boot brings up) ready? With `waitMs`, answered once they are, one failed, or that long passed. */
  | { id: number; cmd: "ready"; names?: string[]; waitMs?: number }
  | { id: number; cmd: "ping" };

export type Command = Request["cmd"];

/** Commands the read-only status socket accepts. */
export const READ_ONLY_COMMANDS: ReadonlySet<Command> = new Set(["status", "list", "why", "ping", "events", "levels", "ready"]);

/** Names of events and levels (`block-added`, `net.eth0`), and of the keys events carry. */
export const EVENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$/;
export const EVENT_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const MAX_EVENT_VALUES = 64;
const MAX_EVENT_VALUE_LENGTH = 4096;
/** The longest `ready` wait: a day (a startup probe waits seconds). */
export const MAX_READY_WAIT_MS = 86_400_000;

/**
 * A value from a request, for an error message. Never throws, whatever was sent:
 * String() throws on `{"toString": 1}`, JSON.stringify on a list nested 30,000 deep.
 */
function shown(value: unknown): string {
  if (typeof value === "string") return `'${value.slice(0, 200)}'`;
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) return String(value);
  return Array.isArray(value) ? "a list" : "an object";
}

/** What is wrong with an event's name and values, or null. */
export function checkEvent(name: unknown, values: unknown): string | null {
  if (typeof name !== "string" || !EVENT_NAME.test(name)) {
    return `${shown(name)} is not an event name: letters, digits and . _ : / -, starting with a letter or digit`;
  }
  if (typeof values !== "object" || values === null || Array.isArray(values)) return "'values' must be an object of KEY: VALUE strings";
  const entries = Object.entries(values);
  if (entries.length > MAX_EVENT_VALUES) return `an event carries at most ${MAX_EVENT_VALUES} values`;
  for (const [key, value] of entries) {
    if (!EVENT_KEY.test(key)) return `'${key}' is not a valid key: letters, digits and _, not starting with a digit`;
    if (typeof value !== "string") return `the value of ${key} must be a string`;
    if (value.length > MAX_EVENT_VALUE_LENGTH) return `the value of ${key} is longer than ${MAX_EVENT_VALUE_LENGTH} characters`;
  }
  return null;
}

export interface ServiceStatus {
  name: string;
  type: string;
  description: string;
  phase: Phase;
  /** Whether something wants it up (an admin, the boot, a dependent). */
  wanted: boolean;
  pid: number | null;
  /** ms since the epoch. */
  since: number;
  reason: string | null;
  lastExit: { code: number | null; signal: string | null } | null;
  restarts: number;
  runs: number;
  /** Triggers that came while a run was still going: a task never overlaps itself. */
  skipped: number;
  /** When its clock schedule falls due next (ms since the epoch). */
  nextRun: number | null;
  /** What an sd_notify service last said with STATUS=. */
  statusText: string | null;
}

export type Reply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string }
  | { id: number; progress: { service: string; phase: Phase; reason: string | null } }
  /** Before a start, stop or restart is waited for: every service it concerns. */
  | { id: number; affected: string[] }
  | { id: number; line: string };

/** Validate one parsed request line; returns an error message for anything malformed. */
export function checkRequest(value: unknown): Request | string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "a request is a JSON object";
  const r = value as Record<string, unknown>;
  if (typeof r.id !== "number" || !Number.isSafeInteger(r.id)) return "'id' must be an integer";
  const names = (key: string): string | null =>
    Array.isArray(r[key]) && (r[key] as unknown[]).every((n) => typeof n === "string") && (r[key] as unknown[]).length > 0
      ? null
      : `'${key}' must be a non-empty list of names`;
  const str = (key: string): string | null => (typeof r[key] === "string" && r[key] !== "" ? null : `'${key}' must be a string`);
  const optional = (key: string, type: string): string | null =>
    r[key] === undefined || typeof r[key] === type ? null : `'${key}' must be a ${type}`;
  let problem: string | null;
  switch (r.cmd) {
    case "status":
      problem = r.names === undefined ? null : names("names");
      break;
    case "list":
    case "shutdown":
    case "ping":
      problem = null;
      break;
    case "start":
    case "stop":
    case "restart":
      problem = names("names") ?? optional("wait", "boolean") ?? optional("progress", "boolean");
      break;
    case "enable":
    case "disable":
      problem = names("names");
      break;
    case "logs":
      problem = str("name") ?? optional("lines", "number") ?? optional("follow", "boolean");
      break;
    case "signal":
      problem = str("name") ?? str("signal");
      break;
    case "why":
      problem = str("name");
      break;
    case "apply":
      problem = optional("from", "string") ?? optional("wait", "boolean");
      break;
    case "emit":
      problem = checkEvent(r.name, r.values);
      break;
    case "set":
      problem = checkEvent(r.name, {}) ?? (typeof r.value === "string" && r.value.length <= MAX_EVENT_VALUE_LENGTH ? null : "'value' must be a string") ?? optional("persist", "boolean");
      break;
    case "unset":
      problem = checkEvent(r.name, {});
      break;
    case "events":
      problem = optional("count", "number");
      break;
    case "levels":
      problem = null;
      break;
    case "ready":
      problem =
        (r.names === undefined ? null : names("names")) ??
        (r.waitMs === undefined || (Number.isSafeInteger(r.waitMs) && (r.waitMs as number) >= 0 && (r.waitMs as number) <= MAX_READY_WAIT_MS)
          ? null
          : `'waitMs' must be a whole number of milliseconds from 0 to ${MAX_READY_WAIT_MS}`);
      break;
    default:
      return `unknown command ${typeof r.cmd === "string" ? JSON.stringify(r.cmd.slice(0, 200)) : shown(r.cmd)}`;
  }
  return problem ?? (r as unknown as Request);
}
