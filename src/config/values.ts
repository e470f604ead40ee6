// Parsers for the value types of service-file keys. Each takes the value text and
// returns either the parsed value or an error message with the offset it refers to.

import { constants } from "node:os";
import { closest } from "./diagnostics.js";
import { parseCommand, type Argv } from "./argv.js";
import { required } from "../records.js";

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string; offset?: number };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(message: string, offset?: number): Parsed<T> =>
  offset === undefined ? { ok: false, message } : { ok: false, message, offset };

/** Service names double as file names and appear in `name@instance` at run time. */
export const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** What `pass-env` names: a variable, a prefix of names ending in `*` (`AWS_*`), or `*` alone (every variable). */
export const PASS_ENV_NAME = /^(?:[A-Za-z_][A-Za-z0-9_]*\*?|\*)$/;

/**
 * Variables tend sets itself, in every service (`TEND_SERVICE`) or for a protocol it
 * speaks (sd_notify, socket activation): a service file may neither set nor pass them.
 */
export const setByTend = (name: string): boolean =>
  name.startsWith("TEND_") || name === "NOTIFY_SOCKET" || name === "LISTEN_FDS" || name === "LISTEN_PID";

/**
 * A directory's mode: three or four octal digits, with a leading 0 allowed before four
 * (`0755`, `750`, `2770`, `02755` as systemd writes it). Set-group-id (2000: what is made
 * in it gets its group) and sticky (1000: only a file's owner removes it) mean something
 * on a directory; set-user-id (4000) means nothing there, so it is refused, not ignored.
 */
export function parseDirectoryMode(text: string): Parsed<number> {
  if (!/^(0?[0-7]{4}|[0-7]{3})$/.test(text)) return fail(`'${text}' is not an octal mode like 0755, 0750 or 2770`);
  const mode = parseInt(text, 8);
  if ((mode & 0o4000) !== 0) return fail(`'${text}' has the set-user-id bit (4000), which means nothing on a directory: leave it out (${(mode & 0o3777).toString(8).padStart(4, "0")})`);
  return ok(mode);
}

/** The longest part of a path the kernel takes (NAME_MAX). */
const MAX_NAME_BYTES = 255;

/**
 * A directory name of `runtime-directory` & co.: a relative path under its base, with
 * no empty, `.` or `..` part (it must stay under the base), no `:` (the variables
 * that list them are colon-separated) and no control character. The first part may
 * not be `tend`: tend keeps its own places there.
 */
export function parseDirectoryName(text: string): Parsed<string> {
  if (text.startsWith("/")) return fail(`'${text}' is an absolute path: name a directory under the base (runtime-directory = sshd makes /run/sshd)`);
  const parts = text.split("/");
  const bad = parts.findIndex((p) => p === "" || p === "." || p === "..");
  if (bad >= 0) return fail(`'${text}' has ${parts[bad] === "" ? "an empty part" : `a '${parts[bad]}' part`}: the name must be a plain path under the base, like 'sshd' or 'postgresql/15-main'`);
  if (/[:\x00-\x1f\x7f]/.test(text)) return fail(`'${text}' holds a ':' or a control character`);
  if (parts.some((p) => Buffer.byteLength(p) > MAX_NAME_BYTES)) return fail(`'${text}' has a part longer than ${MAX_NAME_BYTES} bytes`);
  if (parts[0] === "tend") return fail(`'${text}': tend keeps its own files under 'tend'; choose another name`);
  return ok(text);
}

const DURATION_UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/**
 * The longest duration a file may give: 100 years. Timers of any length work (see
 * src/system/timers.ts), but a deadline is the epoch plus the duration, and it must
 * stay an exact number of milliseconds; a duration past a century is a typo.
 */
export const MAX_DURATION_DAYS = 36_500;
const MAX_DURATION_MS = MAX_DURATION_DAYS * DURATION_UNITS.d;

/**
 * `500ms`, `10s`, `5m`, `1h30m`, `2d`; `0` alone needs no unit. With `allowInfinity`,
 * `infinity` means "no limit" and parses to null.
 */
export function parseDuration(text: string, allowInfinity?: false): Parsed<number>;
export function parseDuration(text: string, allowInfinity: boolean): Parsed<number | null>;
export function parseDuration(text: string, allowInfinity = false): Parsed<number | null> {
  if (allowInfinity && text === "infinity") return ok(null);
  if (text === "0") return ok(0);
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;
  let total = 0;
  let at = 0;
  while (at < text.length) {
    part.lastIndex = at;
    const m = part.exec(text);
    if (m === null) {
      const hint = /^\d+(\.\d+)?$/.test(text) ? ` (say '${text}s' for seconds)` : "";
      const also = allowInfinity ? ", or 'infinity'" : "";
      return fail(`'${text}' is not a duration: use a number with a unit ms, s, m, h or d, like 500ms, 10s, 1m30s${also}${hint}`, at);
    }
    total += Number(m[1]) * required(DURATION_UNITS, m[2]!, "duration units");
    at = part.lastIndex;
  }
  if (text === "") return fail("a duration is needed here, like 10s");
  if (!(total <= MAX_DURATION_MS)) return fail(`'${text}' is too long a duration: at most ${MAX_DURATION_DAYS}d (100 years)`, 0);
  return ok(Math.round(total));
}

const SIZE_UNITS = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** A byte count: `4096`, `512K`, `10M`, `1G` (powers of 1024; `KiB`/`KB` accepted too). */
export function parseSize(text: string): Parsed<number> {
  const m = /^(\d+)\s*([kmgt]?)(?:i?b)?$/i.exec(text);
  if (m === null) return fail(`'${text}' is not a size: use a number of bytes with an optional unit K, M, G, like 10M`);
  const bytes = Number(m[1]) * required(SIZE_UNITS, m[2]!.toLowerCase(), "size units");
  if (!Number.isSafeInteger(bytes)) return fail(`'${text}' is too large a size`);
  return ok(bytes);
}

const SIGNALS = constants.signals as Record<string, number>;

/** `TERM`, `SIGTERM`, `sigterm` or `15`; always returned in the `SIGTERM` form. */
export function parseSignal(text: string): Parsed<string> {
  if (/^\d+$/.test(text)) {
    const name = Object.keys(SIGNALS).find((k) => SIGNALS[k] === Number(text));
    return name === undefined ? fail(`${text} is not a signal number on this system`) : ok(name);
  }
  const name = text.toUpperCase().startsWith("SIG") ? text.toUpperCase() : `SIG${text.toUpperCase()}`;
  if (Object.hasOwn(SIGNALS, name)) return ok(name);
  const guess = closest(name, Object.keys(SIGNALS));
  return fail(`'${text}' is not a signal${guess ? ` (did you mean '${guess.slice(3)}'?)` : ""}`);
}

export function parseBoolean(text: string): Parsed<boolean> {
  if (/^(yes|true|on|1)$/i.test(text)) return ok(true);
  if (/^(no|false|off|0)$/i.test(text)) return ok(false);
  return fail(`'${text}' is not yes or no`);
}

export function parseUmask(text: string): Parsed<number> {
  if (!/^0?[0-7]{3}$/.test(text)) return fail(`'${text}' is not an octal umask like 022 or 0027`);
  return ok(parseInt(text, 8));
}

export function parseInteger(text: string, min: number, max: number): Parsed<number> {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    return fail(`'${text}' is not a whole number from ${min} to ${max}`);
  }
  return ok(Number(text));
}

export type ReadySpec =
  | { kind: "none" }
  | { kind: "fd"; fd: number }
  | { kind: "notify" }
  | { kind: "tcp"; host: string; port: number }
  /** A stream socket: Node connects only by SOCK_STREAM. */
  | { kind: "unix"; path: string }
  /** A datagram socket bound to the path (a /dev/log): no connection is made. */
  | { kind: "unix-dgram"; path: string }
  | { kind: "exec"; argv: Argv };

const READY_KINDS = ["none", "fd", "notify", "tcp", "unix", "unix-dgram", "exec"];

/** `none`, `fd` / `fd:N`, `notify`, `tcp:HOST:PORT`, `unix:/PATH`, `unix-dgram:/PATH`, `exec:COMMAND`. */
export function parseReady(text: string): Parsed<ReadySpec> {
  const colon = text.indexOf(":");
  const kind = colon < 0 ? text : text.slice(0, colon);
  const arg = colon < 0 ? undefined : text.slice(colon + 1);
  switch (kind) {
    case "none":
    case "notify":
      return arg === undefined ? ok({ kind }) : fail(`'${kind}' takes no argument`, colon);
    case "fd": {
      if (arg === undefined) return ok({ kind: "fd", fd: 3 });
      const fd = parseInteger(arg, 3, 1023);
      return fd.ok ? ok({ kind: "fd", fd: fd.value }) : fail(`the readiness fd must be a number from 3 to 1023, not '${arg}'`, colon + 1);
    }
    case "tcp": {
      const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d+)$/.exec(arg ?? "");
      if (m === null) return fail("expected tcp:HOST:PORT, like tcp:127.0.0.1:8080 or tcp:[::1]:8080", colon + 1);
      const port = parseInteger(m[2]!, 1, 65535);
      if (!port.ok) return fail(`port ${m[2]} is not from 1 to 65535`, text.lastIndexOf(":") + 1);
      return ok({ kind: "tcp", host: m[1]!.replace(/^\[|\]$/g, ""), port: port.value });
    }
    case "unix":
    case "unix-dgram":
      if (arg === undefined || !arg.startsWith("/")) return fail(`expected ${kind}:/ABSOLUTE/PATH`, colon + 1);
      return ok({ kind, path: arg });
    case "exec": {
      const command = parseCommand(arg ?? "");
      if (command.ok) return ok({ kind: "exec", argv: command.argv });
      if (command.offset === undefined) return fail("expected exec:COMMAND, the probe that exits 0 once the service is ready", colon + 1);
      return fail(command.message, colon + 1 + command.offset);
    }
    default: {
      const guess = closest(kind, READY_KINDS);
      return fail(`'${kind}' is not a readiness protocol; use one of ${READY_KINDS.join(", ")}${guess ? ` (did you mean '${guess}'?)` : ""}`, 0);
    }
  }
}

export interface RestartLimit {
  count: number;
  windowMs: number;
}

/** `5 in 30s`: at most 5 automatic restarts within any 30 s; `none` for no limit. */
export function parseRestartLimit(text: string): Parsed<RestartLimit | null> {
  if (text === "none") return ok(null);
  const m = /^(\d+)\s+in\s+(\S+)$/.exec(text);
  if (m === null) return fail(`expected 'COUNT in DURATION' like '5 in 30s', or 'none'`);
  const count = parseInteger(m[1]!, 1, 1_000_000);
  if (!count.ok) return fail(count.message);
  const windowText = m[2]!;
  const window = parseDuration(windowText);
  const windowAt = text.length - windowText.length;
  if (!window.ok) return fail(window.message, windowAt);
  if (window.value === 0) return fail("the window of a restart limit must be longer than 0", windowAt);
  return ok({ count: count.value, windowMs: window.value });
}

export interface ResourceLimit {
  soft: number | null; // null = unlimited
  hard: number | null;
}

/** `N`, `unlimited`, or `SOFT:HARD`; byte-valued limits take sizes (`512M`). */
export function parseResourceLimit(text: string, bytes: boolean): Parsed<ResourceLimit> {
  const one = (part: string): Parsed<number | null> => {
    if (part === "unlimited" || part === "infinity") return ok(null);
    if (bytes) return parseSize(part);
    if (!/^\d+$/.test(part)) return fail(`'${part}' is not a whole number or 'unlimited'`);
    return Number.isSafeInteger(Number(part)) ? ok(Number(part)) : fail(`'${part}' is too large a limit`);
  };
  const [softText, hardText, extra] = text.split(":");
  if (extra !== undefined) return fail("expected LIMIT or SOFT:HARD");
  const soft = one(softText!);
  if (!soft.ok) return soft as Parsed<never>;
  const hard = hardText === undefined ? soft : one(hardText);
  if (!hard.ok) return fail(hard.message, softText!.length + 1);
  if (hard.value !== null && (soft.value === null || soft.value > hard.value)) {
    return fail("the soft limit is above the hard limit");
  }
  return ok({ soft: soft.value, hard: hard.value });
}

/** Exit statuses counted as success: numbers 0–255 and signal names. */
export function parseExitStatus(word: string): Parsed<number | string> {
  if (/^\d+$/.test(word)) return parseInteger(word, 0, 255);
  const signal = parseSignal(word);
  return signal.ok ? signal : fail(`'${word}' is neither an exit code (0–255) nor a signal name`);
}

export function parseEnvAssignment(text: string): Parsed<[string, string]> {
  const eq = text.indexOf("=");
  const name = eq < 0 ? text : text.slice(0, eq);
  if (eq < 0) return fail(`expected NAME=VALUE, found '${text}'`);
  if (!ENV_NAME.test(name)) return fail(`'${name}' is not a valid environment variable name`);
  return ok([name, text.slice(eq + 1)]);
}
