// The keeper protocol (docs/keeper-protocol.md): frames of a u32 little-endian length
// and NUL-terminated fields, the message type first, then `key=value`. This module
// turns the server's messages into frames and the keeper's frames into typed
// messages; it does no I/O, so that any byte stream can be fed to it in a test.

import { constants } from "node:os";
import type { SpawnRole } from "../engine/types.js";

export const PROTOCOL_VERSION = 1;
/** The longest frame either side may send; a length outside 1..this ends the connection. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** Fields after the type the keeper takes in one frame (MAX_FIELDS in keeper.c). */
export const MAX_FRAME_FIELDS = 32_768;
/** The most pids a `procs` answer lists (MAX_PROCS_LISTED in keeper.h); its `total` says how many there were. */
export const MAX_PROCS_LISTED = 256;

const KEY = /^[a-z][a-z0-9-]*$/;
const ROLES: readonly SpawnRole[] = ["main", "launcher", "pre-start", "up", "down", "post-stop", "reload"];
const SIGNAL_NUMBERS = constants.signals as Record<string, number>;

/** One frame, untyped: what the wire holds. */
export interface Frame {
  type: string;
  fields: [key: string, value: string][];
}

/** A message the server cannot put into a frame (a NUL in a value, too long); the caller reports it. */
export class EncodeError extends Error {}

/** The stream is lost: a length out of range means no later frame can be found. */
export class FramingError extends Error {}

// ---- server → keeper ----

export interface Limit {
  /** As setrlimit names it without RLIMIT_: nofile, nproc, core … */
  name: string;
  /** null: unlimited. */
  soft: number | null;
  hard: number | null;
}

/** Where a service's output goes: a spawn says it, and so may a note that comes first. */
export interface LogSettings {
  log: "file" | "stdout" | "none";
  logDir?: string;
  logSize?: number;
  logKeep?: number;
  /** The group the log directory (0750) and files (0640) are given to: the service's, so that its user reads its own logs. */
  logGroup?: number;
  /** With `file`: every line also goes to the keeper's console (its stdout), as with `stdout`. */
  logConsole?: boolean;
}

export interface SpawnMessage extends LogSettings {
  type: "spawn";
  service: string;
  /** `reload`: the reload command, beside the service's process (see docs/keeper-protocol.md). */
  role: SpawnRole;
  file: string;
  /** argv, argv[0] first. */
  args: string[];
  /** `NAME=VALUE`: the whole environment. */
  env: string[];
  cwd: string;
  umask: number;
  /** Both or neither: switch to these. */
  uid?: number;
  gid?: number;
  /** Supplementary groups (with a uid/gid switch; none: no supplementary groups). */
  groups?: number[];
  nnp?: boolean;
  limits?: Limit[];
  readyFd?: number;
  notify?: string;
  cgroup?: string;
  killRest?: boolean;
  /** How many listening sockets the service's `listen` set holds: the spawn fails when the keeper holds another number (they could not be opened). */
  listen?: number;
  /** `apart`: stderr on a pipe of its own (marked `[stderr]` in a file, the keeper's stderr with log=stdout); absent: with stdout. */
  stderr?: "apart";
}

export type ServerMessage =
  | { type: "hello"; version: number }
  | SpawnMessage
  /** To the process group of the service's process; `main`: its process alone; `reload`: its reload command's group. */
  | { type: "signal"; service: string; signal: number; to?: "main" | "reload" }
  /** Take `pid` (a forking daemon's, from its pid file) as the service's main process: answered with `main` or `main-refused`. */
  | { type: "main"; service: string; pid: number }
  | ({ type: "note"; service: string; text: string } & Partial<LogSettings>)
  /** `keepSockets` (a changed service): its listening sockets stay, for the `listen` of its new set that follows. */
  | { type: "forget"; service: string; keepSockets?: boolean }
  /** Asks for the pids of the service's tree: answered by a `procs` of the same service. */
  | { type: "procs"; service: string }
  | { type: "ack"; seq: number }
  /** How long a stop asked by a signal may take before SIGKILL (ms), and the console's format. */
  | { type: "settings"; stopGraceMs: number; console: "text" | "json" }
  /** Listen for syslog(3) messages at `path` (none: nowhere), and where those no service sent go. */
  | ({ type: "syslog"; path?: string } & Partial<LogSettings>)
  /** The service's listening sockets, each `NAME=tcp:ADDR:PORT`, `NAME=udp:ADDR:PORT` or `NAME=unix:MODE:UID:GID:PATH`
   * (none: it holds none); a socket the set held already (the same spec after NAME=) is kept, backlog and all. Answered with `listening`. */
  | { type: "listen"; service: string; sockets: string[]; watch?: boolean }
  | { type: "shutdown" };

// ---- keeper → server ----

export type KeeperMessage =
  | { type: "hello"; version: number; pid: number; tracking: "cgroup" | "fallback"; cgroup: string | null }
  | { type: "proc"; service: string; role: SpawnRole; pid: number; since: number; ready: boolean }
  | { type: "table-end" }
  /** `reload`: about the reload command, not the service's process. */
  | { type: "spawned"; service: string; pid: number; reload: boolean }
  | { type: "spawn-failed"; service: string; error: string; reload: boolean }
  | { type: "ready"; service: string; pid: number }
  | {
      type: "notify";
      service: string;
      pid: number;
      /** Each is absent when this message does not carry it (MAINPID= comes as `main` or `main-refused`). */
      status?: string;
      stopping?: boolean;
      reloading?: boolean;
      /** READY=1 after RELOADING=1: the reload is done. */
      reloaded?: boolean;
      watchdog?: boolean;
    }
  /** Neither a code nor a signal: a main named by MAINPID= that was not the keeper's child ended (its status went to its parent). */
  | { type: "exited"; service: string; pid: number; seq: number; code: number | null; signal: string | null; reload: boolean }
  /** The keeper took `pid` as the service's main process (asked by `main`, or named by sd_notify MAINPID=). */
  | { type: "main"; service: string; pid: number }
  /** It would not: `error` says why, in words that follow "which" (`is not a process of web`). */
  | { type: "main-refused"; service: string; pid: number; error: string }
  | { type: "log-trouble"; service: string; error: string }
  /** The answer to a `procs`: at most MAX_PROCS_LISTED pids, its leader (main process) first; `total` counts them all. */
  | { type: "procs"; service: string; pids: number[]; total: number }
  | { type: "terminate"; signal: string }
  /** The keeper got SIGHUP: load the installed database, as `tend apply` would. */
  | { type: "hangup" }
  /** The answer to `syslog`: where the keeper listens now (null: nowhere), and why not where it was asked. */
  | { type: "syslog"; path: string | null; error: string | null }
  /** The answer to `listen`: how many sockets the service holds now, and why none when they could not be opened. */
  | { type: "listening"; service: string; count: number; error: string | null }
  /** A connection came to a service's sockets while it had no process (asked for by `listen watch=1`): told once a `listen`. */
  | { type: "connection"; service: string }
  | { type: "error"; message: string };

// ---- encoding ----

/** The frame for `message`: its length, then its fields. Throws EncodeError. */
export function encodeMessage(message: ServerMessage): Buffer {
  return encodeFrame(toFrame(message));
}

/** The keeper's limit on a service's name (an instance's, `mount@/dev/…`, may be longer: it cannot run). */
export const MAX_SERVICE_NAME_BYTES = 255;

function toFrame(message: ServerMessage): Frame {
  const fields: Frame["fields"] = [];
  const put = (key: string, value: string | number | undefined): void => {
    if (value !== undefined) fields.push([key, String(value)]);
  };
  // Refused here, not by the keeper: a spawn the keeper refuses without a spawn-failed
  // would leave the service starting, with no process, for good.
  if ("service" in message && Buffer.byteLength(message.service) > MAX_SERVICE_NAME_BYTES) {
    throw new EncodeError(`its name is ${Buffer.byteLength(message.service)} bytes; the keeper takes at most ${MAX_SERVICE_NAME_BYTES}`);
  }
  const putLog = (settings: Partial<LogSettings>): void => {
    put("log", settings.log);
    put("log-dir", settings.logDir);
    put("log-size", settings.logSize);
    put("log-keep", settings.logKeep);
    put("log-group", settings.logGroup);
    if (settings.logConsole) put("log-console", 1);
  };
  switch (message.type) {
    case "hello":
      put("version", message.version);
      break;
    case "spawn": {
      const m = message;
      put("service", m.service);
      put("role", m.role);
      put("file", m.file);
      for (const a of m.args) put("arg", a);
      for (const e of m.env) put("env", e);
      put("cwd", m.cwd);
      put("umask", m.umask.toString(8).padStart(3, "0"));
      putLog(m);
      put("stderr", m.stderr);
      put("uid", m.uid);
      put("gid", m.gid);
      for (const g of m.groups ?? []) put("group", g);
      if (m.nnp) put("nnp", 1);
      for (const l of m.limits ?? []) put("limit", `${l.name}:${limitText(l.soft)}:${limitText(l.hard)}`);
      put("ready-fd", m.readyFd);
      put("notify", m.notify);
      put("cgroup", m.cgroup);
      if (m.killRest) put("kill-rest", 1);
      put("listen", m.listen);
      break;
    }
    case "signal":
      put("service", message.service);
      put("signal", message.signal);
      put("to", message.to);
      break;
    case "main":
      put("service", message.service);
      put("pid", message.pid);
      break;
    case "note":
      put("service", message.service);
      put("text", message.text);
      putLog(message);
      break;
    case "forget":
      put("service", message.service);
      if (message.keepSockets) put("keep-sockets", 1);
      break;
    case "procs":
      put("service", message.service);
      break;
    case "ack":
      put("seq", message.seq);
      break;
    case "settings":
      put("stop-grace", message.stopGraceMs);
      put("console", message.console);
      break;
    case "syslog":
      put("path", message.path);
      putLog(message);
      break;
    case "listen":
      put("service", message.service);
      for (const socket of message.sockets) put("socket", socket);
      if (message.watch) put("watch", 1);
      break;
    case "shutdown":
      break;
  }
  return { type: message.type, fields };
}

const limitText = (n: number | null): string => (n === null ? "unlimited" : String(n));

/** Any frame, as the wire holds it (the keeper's side too, for tests). Throws EncodeError. */
export function encodeFrame(frame: Frame): Buffer {
  // The keeper answers a frame of more with an error, not a spawn-failed: refused here.
  if (frame.fields.length > MAX_FRAME_FIELDS) throw new EncodeError(`the '${frame.type}' message has ${frame.fields.length} fields, more than the ${MAX_FRAME_FIELDS} the keeper takes`);
  const parts: Buffer[] = [field(frame.type, "the message type")];
  for (const [key, value] of frame.fields) {
    if (!KEY.test(key)) throw new EncodeError(`'${key}' is not a valid key`);
    parts.push(field(`${key}=${value}`, key));
  }
  const length = parts.reduce((sum, p) => sum + p.length, 0);
  if (length > MAX_FRAME_BYTES) throw new EncodeError(`the '${frame.type}' message is ${length} bytes, more than the ${MAX_FRAME_BYTES} a frame may hold`);
  const header = Buffer.alloc(4);
  header.writeUInt32LE(length);
  return Buffer.concat([header, ...parts], 4 + length);
}

function field(text: string, what: string): Buffer {
  if (text.includes("\0")) throw new EncodeError(`${what} holds a NUL byte, which the keeper protocol cannot carry`);
  return Buffer.from(`${text}\0`, "utf8");
}

// ---- decoding ----

export type Decoded<T> = { ok: true; message: T } | { ok: false; error: string };

/**
 * Cuts a byte stream into frames, whatever the chunks, and parses each. Holds at most
 * one frame: the length comes first, so a frame that is too long is refused before
 * any of it is kept.
 */
export class Decoder<T> {
  private header = Buffer.alloc(4);
  private headerFilled = 0;
  private body: Buffer | null = null;
  private bodyFilled = 0;
  private broken: string | null = null;

  constructor(private readonly parse: (frame: Frame) => Decoded<T>) {}

  /** The messages (or frame errors) `chunk` completes, in order. Throws FramingError once the stream is lost. */
  push(chunk: Buffer): Decoded<T>[] {
    if (this.broken !== null) throw new FramingError(this.broken);
    const out: Decoded<T>[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.body === null) {
        const take = Math.min(4 - this.headerFilled, chunk.length - at);
        chunk.copy(this.header, this.headerFilled, at, at + take);
        this.headerFilled += take;
        at += take;
        if (this.headerFilled < 4) break;
        const length = this.header.readUInt32LE(0);
        if (length < 1 || length > MAX_FRAME_BYTES) {
          this.broken = `a frame length of ${length} bytes (1 to ${MAX_FRAME_BYTES} allowed)`;
          throw new FramingError(this.broken);
        }
        this.headerFilled = 0;
        this.body = Buffer.alloc(length);
        this.bodyFilled = 0;
      }
      const take = Math.min(this.body.length - this.bodyFilled, chunk.length - at);
      chunk.copy(this.body, this.bodyFilled, at, at + take);
      this.bodyFilled += take;
      at += take;
      if (this.bodyFilled === this.body.length) {
        const frame = splitFrame(this.body);
        this.body = null;
        out.push(typeof frame === "string" ? { ok: false, error: frame } : this.parse(frame));
      }
    }
    return out;
  }

  /** Bytes of an unfinished frame: a stream that ends with some was cut short. */
  pending(): number {
    return this.body === null ? this.headerFilled : 4 + this.bodyFilled;
  }
}

/** A frame's body → its fields, or what is wrong with it. */
function splitFrame(body: Buffer): Frame | string {
  if (body.length === 0 || body[body.length - 1] !== 0) return "the frame does not end with a NUL byte";
  // The type, then the fields: each a string that ends with a NUL, the last one at the body's end.
  const typeEnd = body.indexOf(0);
  const type = body.subarray(0, typeEnd).toString("utf8");
  if (!KEY.test(type)) return `'${type}' is not a message type`;
  const fields: Frame["fields"] = [];
  for (let start = typeEnd + 1; start < body.length; ) {
    const nul = body.indexOf(0, start);
    const f = body.subarray(start, nul);
    start = nul + 1;
    const eq = f.indexOf(0x3d); // '='
    if (eq < 0) return `a field of '${type}' has no '=': '${f.toString("utf8")}'`;
    const key = f.subarray(0, eq).toString("latin1");
    if (!KEY.test(key)) return `'${key}' is not a valid key (in '${type}')`;
    fields.push([key, f.subarray(eq + 1).toString("utf8")]);
  }
  return { type, fields };
}

/** Reads a frame's fields: the last of a key counts, as the protocol says; each getter fails with what is wrong. */
class Fields {
  private readonly last = new Map<string, string>();

  constructor(private readonly frame: Frame) {
    for (const [key, value] of frame.fields) this.last.set(key, value);
  }

  has(key: string): boolean {
    return this.last.has(key);
  }

  text(key: string): string {
    const value = this.last.get(key);
    if (value === undefined) throw new FieldError(`'${this.frame.type}' lacks '${key}'`);
    return value;
  }

  /** A non-empty text (names, errors). */
  name(key: string): string {
    const value = this.text(key);
    if (value === "") throw new FieldError(`'${this.frame.type}' has an empty '${key}'`);
    return value;
  }

  number(key: string): number {
    return this.decimal(key, this.text(key));
  }

  /** Every value of a repeated key, in order, as numbers. */
  numbers(key: string): number[] {
    return this.frame.fields.filter(([k]) => k === key).map(([, value]) => this.decimal(key, value));
  }

  private decimal(key: string, value: string): number {
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new FieldError(`'${key}=${value}' in '${this.frame.type}' is not a number`);
    return Number(value);
  }

  flag(key: string): boolean {
    const value = this.text(key);
    if (value !== "0" && value !== "1") throw new FieldError(`'${key}=${value}' in '${this.frame.type}' is not 0 or 1`);
    return value === "1";
  }

  optional<T>(key: string, get: (key: string) => T): T | undefined {
    return this.has(key) ? get.call(this, key) : undefined;
  }
}

class FieldError extends Error {}

/** `SIGKILL`, `KILL` or `9` → `SIGKILL` (the form the engine and `tend status` use). */
function signalName(text: string): string {
  if (/^\d+$/.test(text)) return Object.keys(SIGNAL_NUMBERS).find((k) => SIGNAL_NUMBERS[k] === Number(text)) ?? `signal ${text}`;
  return text.startsWith("SIG") ? text : `SIG${text}`;
}

/** `role=reload` on `spawned`, `spawn-failed` and `exited`: the news is of the reload command; absent, of the service's process. */
function ofReload(f: Fields): boolean {
  const role = f.optional("role", f.text);
  if (role !== undefined && role !== "reload") throw new FieldError(`'role=${role}' is not 'reload'`);
  return role === "reload";
}

/** A frame from the keeper → its message, or why it is not one. */
export function parseKeeperMessage(frame: Frame): Decoded<KeeperMessage> {
  try {
    return { ok: true, message: keeperMessage(frame, new Fields(frame)) };
  } catch (e) {
    if (e instanceof FieldError) return { ok: false, error: e.message };
    throw e;
  }
}

function keeperMessage(frame: Frame, f: Fields): KeeperMessage {
  switch (frame.type) {
    case "hello": {
      const tracking = f.text("tracking");
      if (tracking !== "cgroup" && tracking !== "fallback") throw new FieldError(`'tracking=${tracking}' in 'hello' is neither cgroup nor fallback`);
      return { type: "hello", version: f.number("version"), pid: f.number("pid"), tracking, cgroup: f.optional("cgroup", f.text) ?? null };
    }
    case "proc": {
      const role = f.text("role");
      if (!(ROLES as readonly string[]).includes(role)) throw new FieldError(`'role=${role}' in 'proc' is not a role`);
      return { type: "proc", service: f.name("service"), role: role as SpawnRole, pid: f.number("pid"), since: f.number("since"), ready: f.flag("ready") };
    }
    case "table-end":
      return { type: "table-end" };
    case "spawned":
      return { type: "spawned", service: f.name("service"), pid: f.number("pid"), reload: ofReload(f) };
    case "spawn-failed":
      return { type: "spawn-failed", service: f.name("service"), error: f.name("error"), reload: ofReload(f) };
    case "ready":
      return { type: "ready", service: f.name("service"), pid: f.number("pid") };
    case "notify": {
      const message: Extract<KeeperMessage, { type: "notify" }> = { type: "notify", service: f.name("service"), pid: f.number("pid") };
      const status = f.optional("status", f.text);
      if (status !== undefined) message.status = status;
      for (const key of ["stopping", "reloading", "reloaded", "watchdog"] as const) if (f.has(key)) message[key] = f.flag(key);
      return message;
    }
    case "exited": {
      const code = f.optional("code", f.number) ?? null;
      const signal = f.optional("signal", f.name) ?? null;
      const unknown = f.optional("unknown", f.flag) ?? false;
      if ([code !== null, signal !== null, unknown].filter(Boolean).length !== 1) throw new FieldError("'exited' needs one of 'code', 'signal' and 'unknown=1'");
      return { type: "exited", service: f.name("service"), pid: f.number("pid"), seq: f.number("seq"), code, signal: signal === null ? null : signalName(signal), reload: ofReload(f) };
    }
    case "main":
      return { type: "main", service: f.name("service"), pid: f.number("pid") };
    case "main-refused":
      return { type: "main-refused", service: f.name("service"), pid: f.number("pid"), error: f.name("error") };
    case "log-trouble":
      return { type: "log-trouble", service: f.name("service"), error: f.name("error") };
    case "procs": {
      const pids = f.numbers("pid");
      const total = f.number("total");
      if (pids.length > Math.min(total, MAX_PROCS_LISTED)) throw new FieldError(`'procs' lists ${pids.length} pids of a total of ${total} (at most ${MAX_PROCS_LISTED})`);
      return { type: "procs", service: f.name("service"), pids, total };
    }
    case "terminate":
      return { type: "terminate", signal: signalName(f.name("signal")) };
    case "hangup":
      return { type: "hangup" };
    case "syslog":
      return { type: "syslog", path: f.optional("path", f.name) ?? null, error: f.optional("error", f.name) ?? null };
    case "connection":
      return { type: "connection", service: f.name("service") };
    case "listening":
      return { type: "listening", service: f.name("service"), count: f.number("count"), error: f.optional("error", f.name) ?? null };
    case "error":
      return { type: "error", message: f.text("message") };
    default:
      throw new FieldError(`unknown message type '${frame.type}'`);
  }
}
