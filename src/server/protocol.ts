// The control protocol (docs/protocol.md): JSON lines over a unix stream socket.
// A client sends one request per line; the server answers with one or more lines
// carrying the request's id: `progress` lines for a command that waits, then exactly
// one final line with `ok`.
//
// Every command is one entry of COMMANDS, as every key of a service file is one entry
// of config/keys.ts: its request's fields and how each is checked, its reply's result
// (a type only), and whether anyone may make it. The request and reply types, the
// validation and the access rule all come from that table.

import type { Failure } from "../analyze/blame.js";
import type { Timeline } from "../analyze/timeline.js";
import type { ResolvedGraph } from "../compile/graph.js";
import type { ServiceDef } from "../config/service.js";
import type { Readiness } from "../engine/boot.js";
import type { Preview } from "../engine/preview.js";
import { type End, type Phase } from "../engine/types.js";
import type { Tracking } from "../supervisor/supervisor.js";
import type { ProcessInfo } from "../system/process-tree.js";
import type { MovedPlace } from "../system/writable.js";
import type { HistoryEntry, RecentHistory } from "./history.js";
import type { RunSettings } from "./run-settings.js";

/** In the run directory: the control socket (0600) and the read-only status socket (0666). */
export const CONTROL_SOCKET = "control.sock";
export const STATUS_SOCKET = "status.sock";

/** A request line may be at most this long; a longer one gets an error and the connection is closed. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** A connection that sends half a request and then nothing is closed after this long. */
export const PARTIAL_REQUEST_TIMEOUT_MS = 10_000;

/** Names of events and levels (`block-added`, `net.eth0`), and of the keys events carry. */
export const EVENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$/;
export const EVENT_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const MAX_EVENT_VALUES = 64;
const MAX_EVENT_VALUE_LENGTH = 4096;
/** The longest `ready` wait: a day (a startup probe waits seconds). */
export const MAX_READY_WAIT_MS = 86_400_000;

// ---- What the replies hold ----

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
  /** A reload is under way (`tend reload`, or a notify service that said RELOADING=1): shown `up (reloading)`. */
  reloading: boolean;
}

export interface StatusResult {
  generation: number;
  shuttingDown: boolean;
  tracking: Tracking;
  /** The server config file, its control group, the run settings in force, and the places in use. */
  settings: RunSettings & { file: string; controlGroup: string | null; places: { state: string; log: string; moved: MovedPlace[] } };
  /** When the boot completed (ms since the epoch, or null), and its services not up once yet. */
  boot: { completeAt: number | null; waiting: string[] } | null;
  /** How the server is to end, once decided. */
  end: End | null;
  /** What the server could not read or use when it started, each a sentence. */
  warnings: string[];
  /** The services that failed during the last boot, and why (its record survives a server's restart): `tend status` names them. */
  bootFailures: Failure[];
  /** The services of the table that `tend disable` took out of what the next boot brings up (a name, or a bundle holding it). */
  disabled: string[];
  services: ServiceStatus[];
}

/** The `table` reply: what `status` says of the server, and its services as the table's rows, laid out (cli/status-table.ts). */
export type TableResult = Omit<StatusResult, "services" | "disabled"> & { table: TableLayout };

/**
 * The table of `tend status` as the server lays it out: each row's cells up to SINCE,
 * padded to the column widths of every service; the CLI adds SINCE (it counts from the
 * moment it is shown), the colours, and keeps the rows of the states asked for.
 */
export interface TableLayout {
  /** The header's cells up to SINCE, padded as the rows are. */
  head: string;
  /** Where the STATE cell starts in a row's cells, and the column's width: the CLI paints the state there. */
  state: { at: number; width: number };
  rows: TableRow[];
}

/** A service's row: its cells up to SINCE (name, kind, state, pid), its phase, since when (ms since the epoch), its DETAIL. */
export type TableRow = [cells: string, phase: Phase, since: number, detail: string];

/**
 * What the next boot does with a service or bundle, by the persisted sets: `enabled`, it
 * brings it up by name (a member of `default`, or named by `tend enable`); `disabled`,
 * `tend disable` took it out (it, or a bundle holding it); `manual`, neither: it starts
 * when started, pulled in by what needs it, or by its event or clock.
 */
export type EnabledState = "enabled" | "disabled" | "manual";

/** One service in detail (`tend status NAME`): its status, and what the table leaves out. */
export interface ServiceDetail extends ServiceStatus {
  /** The service file it was compiled from (a template's, for an instance). */
  file: string;
  enablement: EnabledState;
  /** `tend why`'s lines (engine/explain.ts): the first says the state, the rest why. */
  why: string[];
  /** What its main process runs: a longrun's or a task's command, a oneshot's `up`. */
  command: string[] | null;
  /** Its processes now, parents before their children, each with its command line (from /proc): at most 256 (the keeper's list). */
  processes: ProcessInfo[];
  /** How many processes its tree holds, those not listed included. */
  processCount: number;
  /** What they use: the cgroup's memory.current, or the sum of their resident sets; null with no process. */
  memory: { bytes: number; from: "cgroup" | "rss" } | null;
  /** The window `restarts` counts in, and how many it allows. */
  restartLimit: { count: number; windowMs: number } | null;
}

export interface InspectResult {
  services: ServiceDetail[];
  warnings: string[];
}

/** `tend show`: the definition the server runs, every default filled in. */
export interface ShowResult {
  generation: number;
  definition: ServiceDef;
}

/** `tend cat`: the service file the definition was compiled from, as it is on disk now. */
export interface CatResult {
  path: string;
  text: string;
  /** Whether its bytes differ from those compiled (its sha256); null when the database recorded none. */
  changed: boolean | null;
}

export interface ListEntry {
  name: string;
  type: string;
  description: string;
  /** A bundle's members; null for a service. */
  members: readonly string[] | null;
}

/** Where a command that was waited for left each service it concerns. */
export interface Outcome {
  services: { name: string; phase: Phase; reason: string | null }[];
  failed: string[];
}

/** start, stop, restart: the outcome, or with `wait: false` at once what the command concerns; with `dryRun`, what it would change. */
export type ChangeResult = Outcome | { affected: string[] } | DryRun;

/**
 * start, stop, restart, enable, disable with `dryRun`: what the command would change,
 * nothing being changed (the engine's `preview`). Each list holds only what changes:
 * all empty, the command would do nothing.
 */
export interface DryRun extends Preview {
  dryRun: true;
  /** enable, disable: the names whose state for the next boot would change. */
  enablement: { name: string; from: EnabledState; to: EnabledState }[];
}

/** reload: how each service's reload ended (`error` null: reloaded), or with `wait: false` at once what is being reloaded. */
export type ReloadResult = { services: { name: string; error: string | null }[]; failed: string[] } | { reloading: string[] };

/**
 * `tend analyze`: what the server recorded (analyze/timeline.ts), with the graph the
 * analysis walks (the engine's topology: instances included) and the server's clock now.
 */
export interface TimingsResult extends Timeline {
  graph: ResolvedGraph;
  now: number;
}

/** What installing a database into the running server does. */
export interface ApplyPlan {
  generation: { from: number; to: number };
  added: string[];
  removed: string[];
  changed: string[];
  /** Unchanged services that stop and start again because something they require changes. */
  bounced: string[];
}

/** The plan, and then its outcome once waited for; or, answered at once (`from`, `wait: false`, nothing to do), whether it was applied. */
export type ApplyResult = (ApplyPlan & Outcome) | (ApplyPlan & { applied: boolean; note?: string });

/** enable, disable: the persisted sets, and whether this server booted (then the change takes effect now). */
export interface Enablement {
  enabled: string[];
  disabled: string[];
  booted: boolean;
}

/**
 * One line of a `monitor` subscription (docs/protocol.md, "monitor"): a service's phase
 * (first the current one of each, `current`, then each change), an event, level change,
 * job event or schedule as `tend events` shows it, or how many lines a reader too slow
 * to take them missed. `time`: ms since the epoch.
 */
export type MonitorEntry =
  | { kind: "service"; time: number; service: string; phase: Phase; reason: string | null; ready: boolean; current?: true }
  | HistoryEntry
  | { kind: "missed"; time: number; count: number };

// ---- The table ----

declare const holds: unique symbol;

/** A request field: how its value is checked, and (as a type only) what it holds once checked. */
interface Field<T, Optional extends boolean> {
  optional: Optional;
  /** Null when `value`, the field `key` of a request, is right; else what is wrong. */
  check(value: unknown, key: string): string | null;
  readonly [holds]?: T;
}

/** A reply's result, carried by the table as a type only: nothing of it exists at run time. */
interface Result<T> {
  readonly [holds]?: T;
}
const result = <T>(): Result<T> => ({});

interface CommandSpec {
  fields: Record<string, Field<unknown, boolean>>;
  /** It only reads: anyone may make it, on either socket (docs/protocol.md, "Access"). */
  readOnly: boolean;
  result: Result<unknown>;
}

const field = <T>(check: Field<T, false>["check"]): Field<T, false> => ({ optional: false, check });
const optional = <T>(f: Field<T, false>): Field<T, true> => ({ optional: true, check: (value, key) => (value === undefined ? null : f.check(value, key)) });
const typed = <T>(type: string): Field<T, false> => field((value, key) => (typeof value === type ? null : `'${key}' must be a ${type}`));

const boolean = typed<boolean>("boolean");
const number = typed<number>("number");
const string = typed<string>("string");
/** A string with something in it: a name, a signal. */
const text = field<string>((value, key) => (typeof value === "string" && value !== "" ? null : `'${key}' must be a string`));
const names = field<string[]>((value, key) =>
  Array.isArray(value) && value.every((n) => typeof n === "string") && value.length > 0 ? null : `'${key}' must be a non-empty list of names`,
);
const eventName = field<string>((value) =>
  typeof value === "string" && EVENT_NAME.test(value) ? null : `${shown(value)} is not an event name: letters, digits and . _ : / -, starting with a letter or digit`,
);
const eventValues = field<Record<string, string>>((value) => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "'values' must be an object of KEY: VALUE strings";
  const entries = Object.entries(value);
  if (entries.length > MAX_EVENT_VALUES) return `an event carries at most ${MAX_EVENT_VALUES} values`;
  for (const [key, v] of entries) {
    if (!EVENT_KEY.test(key)) return `'${key}' is not a valid key: letters, digits and _, not starting with a digit`;
    if (typeof v !== "string") return `the value of ${key} must be a string`;
    if (v.length > MAX_EVENT_VALUE_LENGTH) return `the value of ${key} is longer than ${MAX_EVENT_VALUE_LENGTH} characters`;
  }
  return null;
});
const levelValue = field<string>((value, key) => (typeof value === "string" && value.length <= MAX_EVENT_VALUE_LENGTH ? null : `'${key}' must be a string`));
const waitMs = field<number>((value, key) =>
  Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= MAX_READY_WAIT_MS
    ? null
    : `'${key}' must be a whole number of milliseconds from 0 to ${MAX_READY_WAIT_MS}`,
);

/** start, stop, restart. `progress: false` asks for the outcome only (a script, or output that is not a terminal). */
const change = { fields: { names, wait: optional(boolean), progress: optional(boolean), dryRun: optional(boolean) }, readOnly: false, result: result<ChangeResult>() };
const enablement = { fields: { names, dryRun: optional(boolean) }, readOnly: false, result: result<Enablement | DryRun>() };

/**
 * Every command: its fields, checked in this order (the first problem is the error),
 * its result, and whether it only reads. docs/protocol.md, "Commands", lists the same.
 */
export const COMMANDS = {
  status: { fields: { names: optional(names) }, readOnly: true, result: result<StatusResult>() },
  /** The table of `tend status`, laid out by the server (cli/status-table.ts): what the status file holds (server/status-file.ts). */
  table: { fields: {}, readOnly: true, result: result<TableResult>() },
  list: { fields: {}, readOnly: true, result: result<ListEntry[]>() },
  start: change,
  stop: change,
  restart: change,
  enable: enablement,
  disable: enablement,
  /**
   * The lines come as `line` replies, merged in time order when there are several
   * services (`names`, or neither field: every service); the result is null.
   */
  logs: {
    fields: { name: optional(text), names: optional(names), lines: optional(number), since: optional(number), until: optional(number), follow: optional(boolean) },
    readOnly: false,
    result: result<null>(),
  },
  /** To the process group of the service's process; `main`: to its main process alone. */
  signal: { fields: { name: text, signal: text, main: optional(boolean) }, readOnly: false, result: result<{ pid: number; signal: string }>() },
  /** Up services run their `reload` or are sent their `reload-signal`; waited for (the default) until each is over. */
  reload: { fields: { names, wait: optional(boolean) }, readOnly: false, result: result<ReloadResult>() },
  /** Lines that explain the state of one service. */
  why: { fields: { name: text }, readOnly: true, result: result<string[]>() },
  /** Services (bundles expanded) in detail: `tend status NAME`. */
  inspect: { fields: { names }, readOnly: true, result: result<InspectResult>() },
  /** What the next boot does with each name, in the order given. */
  "is-enabled": { fields: { names }, readOnly: true, result: result<{ name: string; enablement: EnabledState }[]>() },
  /** They carry `env` values: not for everyone. */
  show: { fields: { name: text }, readOnly: false, result: result<ShowResult>() },
  cat: { fields: { name: text }, readOnly: false, result: result<CatResult>() },
  /** Load the installed database, or with `from`, only say what loading the one in that directory would do. */
  apply: { fields: { from: optional(string), wait: optional(boolean) }, readOnly: false, result: result<ApplyResult>() },
  shutdown: { fields: {}, readOnly: false, result: result<Outcome>() },
  /** emit, set, unset: the history entry of the event or level change. */
  emit: { fields: { name: eventName, values: eventValues }, readOnly: false, result: result<HistoryEntry | null>() },
  set: { fields: { name: eventName, value: levelValue, persist: optional(boolean) }, readOnly: false, result: result<HistoryEntry | null>() },
  unset: { fields: { name: eventName }, readOnly: false, result: result<HistoryEntry | null>() },
  events: { fields: { count: optional(number) }, readOnly: true, result: result<RecentHistory>() },
  levels: { fields: {}, readOnly: true, result: result<Record<string, { value: string; persisted: boolean }>>() },
  /**
   * A subscription: `monitor` lines, the current state of each service (those `names`
   * stand for, or all) and then every change, until the client goes; the result (null)
   * comes only when the server exits.
   */
  monitor: { fields: { names: optional(names) }, readOnly: true, result: result<null>() },
  /** Are the services (default: what the boot brings up) ready? With `waitMs`, answered once they are, one failed, or that long passed. */
  ready: { fields: { names: optional(names), waitMs: optional(waitMs) }, readOnly: true, result: result<Readiness>() },
  ping: { fields: {}, readOnly: true, result: result<{ pid: number; generation: number }>() },
  /** The timings recorded: the last boot, the last start, the latest transitions (`tend analyze`). */
  timings: { fields: {}, readOnly: true, result: result<TimingsResult>() },
} satisfies Record<string, CommandSpec>;

type Table = typeof COMMANDS;
export type Command = keyof Table;

type Held<F> = F extends { readonly [holds]?: infer T } ? T : never;
type FieldsOf<F> = { [K in keyof F as F[K] extends Field<unknown, false> ? K : never]: Held<F[K]> } & {
  [K in keyof F as F[K] extends Field<unknown, true> ? K : never]?: Held<F[K]>;
};
type Flat<T> = { [K in keyof T]: T[K] };

/** The request of one command (of each of several, for a union). */
export type RequestOf<C extends Command> = { [K in C]: Flat<{ id: number; cmd: K } & FieldsOf<Table[K]["fields"]>> }[C];
export type Request = RequestOf<Command>;

type Results = { [C in Command]: Held<Table[C]["result"]> };
/** What the final reply to a request of `C` carries as its `result`. */
export type ResultOf<C extends Command> = Results[C];

/** The final line of a request of `C`, as its client reads it. */
export type Final<C extends Command = Command> = { id: number; ok: true; result: ResultOf<C> } | { id: number; ok: false; error: string };
/** The lines before the final one. */
export type Streamed =
  | { id: number; progress: { service: string; phase: Phase; reason: string | null } }
  /** Before a start, stop or restart is waited for: every service it concerns. */
  | { id: number; affected: string[] }
  /** A log line, and the service it is from (none: a line from tend about the request). */
  | { id: number; line: string; service?: string }
  /** A line of a `monitor` subscription. */
  | { id: number; monitor: MonitorEntry };
/**
 * Any line the server sends, as the socket carries it: what a result holds is the
 * table's, and the server's handlers can answer each command only with its own.
 */
export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string } | Streamed;

/** Whether anyone may make a request of `cmd`: it only reads. */
export const readOnly = (cmd: Command): boolean => COMMANDS[cmd].readOnly;

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
  return eventName.check(name, "name") ?? eventValues.check(values, "values");
}

/** Validate one parsed request line; returns an error message for anything malformed. */
export function checkRequest(value: unknown): Request | string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "a request is a JSON object";
  const r = value as Record<string, unknown>;
  if (typeof r.id !== "number" || !Number.isSafeInteger(r.id)) return "'id' must be an integer";
  const spec: CommandSpec | undefined = typeof r.cmd === "string" && Object.hasOwn(COMMANDS, r.cmd) ? COMMANDS[r.cmd as Command] : undefined;
  if (spec === undefined) return `unknown command ${typeof r.cmd === "string" ? JSON.stringify(r.cmd.slice(0, 200)) : shown(r.cmd)}`;
  for (const [key, f] of Object.entries(spec.fields)) {
    const problem = f.check(r[key], key);
    if (problem !== null) return problem;
  }
  return r as unknown as Request;
}
