// The settings a server runs with: when the boot ends and with which status, how long
// services are given to stop, how the server writes its log, whether it listens for
// syslog messages. They come from the flags of `tend boot` / `tend daemon` and from
// tend.conf, through one table of keys and parsers (`--exit-with NAME` is `exit-with =
// NAME`): flags override tend.conf, which overrides the defaults. Pure.

import { join } from "node:path";
import { splitInstanceName } from "../config/template.js";
import { parseDuration, SERVICE_NAME } from "../config/values.js";
import type { Places } from "../places.js";

export interface RunSettings {
  /** The service whose run, ending on its own, ends the boot with its exit status (a container's command). */
  exitWith: string | null;
  /** `stop`: a service of the boot set that fails before the boot completed shuts everything down, exit 1. */
  onBootFailure: "report" | "stop";
  /** How long services are given to stop once a shutdown is asked for, before they are killed (ms). */
  stopGraceMs: number;
  /** The console (the keeper's stdout: a container's log): lines of text, or a JSON object a line. */
  logFormat: "text" | "json";
  /** Where the lines of `log = file` services go: see ConsoleSettings (src/supervisor/supervisor.ts). */
  serviceLogs: "auto" | "files" | "console" | "both";
  /** Listen for syslog(3) messages: `off`, `on` (the default socket: see syslogSocket) or a socket's absolute path. */
  syslog: string;
  /** Compile the source directory before the server starts (a flag only). */
  compile: boolean;
}

export const DEFAULT_RUN_SETTINGS: Readonly<RunSettings> = { exitWith: null, onBootFailure: "report", stopGraceMs: 8000, logFormat: "text", serviceLogs: "auto", syslog: "off", compile: false };

/** The settings one place gives (the flags, tend.conf); the rest come from the next place. */
export type GivenSettings = Partial<RunSettings>;

/** The longest `stop-grace`: a container runtime kills a PID 1 that takes longer anyway. */
const MAX_STOP_GRACE_MS = 3_600_000;

type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };
const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(message: string): Parsed<T> => ({ ok: false, message });

const either =
  <A extends string, B extends string>(a: A, b: B) =>
  (text: string): Parsed<A | B> =>
    text === a || text === b ? ok(text as A | B) : fail(`'${text}' is neither ${a} nor ${b}`);

const oneOf =
  <T extends string>(...words: T[]) =>
  (text: string): Parsed<T> =>
    (words as string[]).includes(text) ? ok(text as T) : fail(`'${text}' is not one of ${words.join(", ")}`);

/** A unix socket's path fits in sun_path (108 bytes with its NUL). */
const MAX_SOCKET_PATH_BYTES = 107;

function parseSyslog(text: string): Parsed<string> {
  if (text === "on" || text === "off") return ok(text);
  if (!text.startsWith("/")) return fail(`'${text}' is not on, off or an absolute path`);
  if (Buffer.byteLength(text) > MAX_SOCKET_PATH_BYTES) return fail(`a socket path is at most ${MAX_SOCKET_PATH_BYTES} bytes`);
  if (text.includes("\0")) return fail("a path holds no NUL byte");
  return ok(text);
}

/**
 * The socket `syslog = on` means: /dev/log, where syslog(3) sends, for the system's
 * server; RUN/dev-log for a user's or a `--root` one (its daemons are pointed at it,
 * `logger -u`), which must not take the machine's. Null for `off`.
 */
export function syslogSocket(setting: string, where: { mode: Places["mode"]; run: string }): string | null {
  if (setting === "off") return null;
  if (setting !== "on") return setting;
  return where.mode === "system" ? "/dev/log" : join(where.run, "dev-log");
}

function parseStopGrace(text: string): Parsed<number> {
  const d = parseDuration(text);
  if (!d.ok) return fail(d.message);
  if (d.value === 0) return fail("the stop grace must be longer than 0");
  if (d.value > MAX_STOP_GRACE_MS) return fail(`'${text}' is too long a stop grace: at most 1h`);
  return ok(d.value);
}

type Valued = Exclude<keyof RunSettings, "compile">;

/** The keys that take a value, by field: the same in tend.conf (`KEY = VALUE`) and as flags (`--KEY VALUE`). */
const KEYS: { [F in Valued]: { key: string; parse(text: string): Parsed<RunSettings[F]> } } = {
  exitWith: { key: "exit-with", parse: (t) => (SERVICE_NAME.test(t) || splitInstanceName(t) !== null ? ok(t) : fail(`'${t}' is not a service name`)) },
  onBootFailure: { key: "on-boot-failure", parse: either("report", "stop") },
  stopGraceMs: { key: "stop-grace", parse: parseStopGrace },
  logFormat: { key: "log-format", parse: either("text", "json") },
  serviceLogs: { key: "service-logs", parse: oneOf("auto", "files", "console", "both") },
  syslog: { key: "syslog", parse: parseSyslog },
};

const FIELDS = Object.keys(KEYS) as Valued[];

/** The keys tend.conf takes for these settings. */
export const RUN_KEYS: readonly string[] = FIELDS.map((f) => KEYS[f].key);

/**
 * `KEY = TEXT` of tend.conf, or `--KEY TEXT`: the setting it gives, or what is wrong
 * with the value; null for a key that is not one of these.
 */
export function parseRunSetting(key: string, text: string): { ok: true; given: GivenSettings } | { ok: false; message: string } | null {
  const field = FIELDS.find((f) => KEYS[f].key === key);
  if (field === undefined) return null;
  const parsed = KEYS[field].parse(text);
  return parsed.ok ? { ok: true, given: { [field]: parsed.value } } : parsed;
}

/** The flags of `tend boot` / `tend daemon` (as node's parseArgs gives them): the settings, or a usage error. */
export function parseRunFlags(values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>): GivenSettings | string {
  const given: GivenSettings = {};
  for (const key of RUN_KEYS) {
    const text = values[key];
    if (typeof text !== "string") continue;
    const parsed = parseRunSetting(key, text)!;
    if (!parsed.ok) return `--${key}: ${parsed.message}`;
    Object.assign(given, parsed.given);
  }
  if (values.compile === true) given.compile = true;
  return given;
}

/** Flags over tend.conf over the defaults. */
export const mergeRunSettings = (flags: GivenSettings, conf: GivenSettings): RunSettings => ({ ...DEFAULT_RUN_SETTINGS, ...conf, ...flags });

/** The settings that differ from the defaults, as `KEY VALUE` words (`exit-with app`), for `tend status`. */
export function changedSettings(settings: RunSettings): string[] {
  const shown = (field: Valued): string => {
    const value = settings[field];
    if (field !== "stopGraceMs") return String(value);
    const ms = value as number;
    return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
  };
  const words = FIELDS.filter((f) => settings[f] !== DEFAULT_RUN_SETTINGS[f]).map((f) => `${KEYS[f].key} ${shown(f)}`);
  return settings.compile ? [...words, "compile"] : words;
}
