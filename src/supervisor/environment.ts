// The environment a service starts with: a fixed clean base, then the variables of the
// server's own environment its `pass-env` names, then its env-files, then its `env`
// lines — never anything else of the environment of the server or of whoever asked for
// the start. This is what makes a start at boot and a start by an admin the same start.

import { lstatSync, type Stats } from "node:fs";
import { dirname } from "node:path";
import { CLEAN_PATH, type ServiceDef } from "../config/service.js";
import { ENV_NAME, setByTend } from "../config/values.js";
import { BoundedReadError, readRegularFile } from "../system/bounded-read.js";
import type { Account } from "./accounts.js";
import { nameRecord } from "../records.js";

/** An env-file holds a few variables; anything larger is a mistake (or /dev/zero). */
export const MAX_ENV_FILE_BYTES = 1024 * 1024;
/** What makes an optional env-file missing (skipped) rather than bad (a failed start). */
const MISSING = new Set(["ENOENT", "ENOTDIR"]);

/** The clean base: the clean PATH, and who the process runs as. */
const CLEAN_BASE: ReadonlySet<string> = new Set(["PATH", "HOME", "USER", "LOGNAME"]);
/** What an event's values may not replace: the clean base every service relies on, and tend's own. */
const BASE_NAMES: ReadonlySet<string> = new Set([...CLEAN_BASE, "TEND_SERVICE", "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID"]);

export type EnvResult = { ok: true; env: Record<string, string> } | { ok: false; error: string };

/**
 * `account` is who the process runs as: its HOME, USER and LOGNAME are set from it.
 * `server` is the environment the server runs with (a container's `docker run -e`),
 * of which only what `pass-env` names is taken. `event` holds the KEY=VALUE pairs of the
 * event that started the job (they come after the service's own settings, but cannot
 * replace the base); `extra` is tend's own (NOTIFY_SOCKET), which nothing replaces.
 */
export function serviceEnvironment(
  def: ServiceDef,
  account: Account,
  server: Readonly<Record<string, string | undefined>>,
  event: Record<string, string>,
  extra: Record<string, string>,
): EnvResult {
  const env = Object.assign(nameRecord<string>(), {
    PATH: CLEAN_PATH,
    HOME: account.home,
    USER: account.name,
    LOGNAME: account.name,
    TEND_SERVICE: def.name,
  });
  Object.assign(env, passed(def.passEnv, server));
  for (const file of def.envFiles) {
    let text: string;
    try {
      text = readRegularFile(file.path, MAX_ENV_FILE_BYTES, vetFor(file.path, account)).toString("utf8");
    } catch (e) {
      if (!(e instanceof BoundedReadError)) throw e;
      if (file.optional && e.code !== null && MISSING.has(e.code)) continue;
      return { ok: false, error: `cannot read env-file ${file.path}: ${e.message}` };
    }
    const parsed = parseEnvFile(text);
    if (typeof parsed === "string") return { ok: false, error: `${file.path}: ${parsed}` };
    Object.assign(env, parsed);
  }
  const fromEvent = Object.fromEntries(Object.entries(event).filter(([name]) => !BASE_NAMES.has(name)));
  return { ok: true, env: { ...env, ...def.env, ...fromEvent, ...extra } };
}

/**
 * The variables of the server's environment that `pass-env` names. A name is taken as
 * written, even PATH or HOME (whoever writes `pass-env = PATH` means it). A pattern
 * (`AWS_*`, `*`) never takes the clean base nor a variable of tend's own (`TEND_*`,
 * `NOTIFY_SOCKET`, `LISTEN_*`): `*` passes what a container was given, not how tend
 * itself was run. Nothing tend sets itself is taken, whatever names it.
 */
function passed(passEnv: readonly string[], server: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out = nameRecord<string>();
  if (passEnv.length === 0) return out;
  const names = new Set(passEnv.filter((p) => !p.endsWith("*")));
  const prefixes = passEnv.filter((p) => p.endsWith("*")).map((p) => p.slice(0, -1));
  for (const [name, value] of Object.entries(server)) {
    if (value === undefined || setByTend(name)) continue;
    const patternMay = !CLEAN_BASE.has(name) && !name.startsWith("LISTEN_");
    if (names.has(name) || (patternMay && prefixes.some((p) => name.startsWith(p)))) out[name] = value;
  }
  return out;
}

/**
 * The server reads env-files as root. One reached through a path the service's user
 * may change (a directory of theirs, or a link they own: allowed by strict modes, for
 * a secret given to that user) may be swapped at any time for a link to a root-only
 * file: then the file read must be the user's own, or readable by all.
 */
function vetFor(path: string, account: Account): (stat: Stats) => string | null {
  const asRoot = process.geteuid?.() === 0;
  if (!asRoot || account.uid === 0 || !userMayRedirect(path, account.uid)) return () => null;
  return (stat) =>
    stat.uid === account.uid || (stat.mode & 0o004) !== 0
      ? null
      : `it is reached through a path ${account.name} may change, and is not ${account.name}'s to read (owned by uid ${stat.uid}, mode ${(stat.mode & 0o7777).toString(8).padStart(4, "0")})`;
}

/** Does `uid` own `path` or a directory above it (a missing part counts as nobody's)? */
function userMayRedirect(path: string, uid: number): boolean {
  for (let at = path; ; at = dirname(at)) {
    try {
      if (lstatSync(at).uid === uid) return true;
    } catch {
      // not there (yet): opening it says so
    }
    if (dirname(at) === at) return false;
  }
}

/**
 * The env-file format: `NAME=VALUE` lines, `#` comments, blank lines, an optional
 * `export ` in front, and one pair of matching quotes around the value removed.
 * Returns the variables, or what is wrong and where.
 */
export function parseEnvFile(text: string): Record<string, string> | string {
  const env = nameRecord<string>();
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const assignment = line.startsWith("export ") ? line.slice(7).trimStart() : line;
    const eq = assignment.indexOf("=");
    const name = eq < 0 ? "" : assignment.slice(0, eq).trim();
    if (!ENV_NAME.test(name)) return `line ${i + 1}: expected NAME=VALUE`;
    let value = assignment.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) value = value.slice(1, -1);
    env[name] = value;
  }
  return env;
}
