// The environment a service starts with: a fixed clean base, then the server-wide
// tend.env, who it runs as, the variables of the server's own environment its
// `pass-env` names, its env-files, its `env` lines — never anything else of the
// environment of the server or of whoever asked for the start. This is what makes a
// start at boot and a start by an admin the same start.

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

/** Where a service's variables come from besides its file. */
export interface EnvSources {
  /** The environment the server runs with (a container's `docker run -e`): only what `pass-env` names is taken. */
  server: Readonly<Record<string, string | undefined>>;
  /** tend.env's variables (src/supervisor/default-environment.ts): under everything the service sets. */
  defaults?: Readonly<Record<string, string>>;
  /** The KEY=VALUE pairs of the event that started the job: after the service's own settings, but never replacing the base. */
  event?: Readonly<Record<string, string>>;
  /** tend's own (NOTIFY_SOCKET, RUNTIME_DIRECTORY & co.), which nothing replaces. */
  extra?: Readonly<Record<string, string>>;
}

/** `account` is who the process runs as: its HOME, USER and LOGNAME are set from it. */
export function serviceEnvironment(def: ServiceDef, account: Account, sources: EnvSources): EnvResult {
  const env = Object.assign(nameRecord<string>(), { PATH: CLEAN_PATH }, sources.defaults, {
    HOME: account.home,
    USER: account.name,
    LOGNAME: account.name,
    TEND_SERVICE: def.name,
  });
  Object.assign(env, passed(def.passEnv, sources.server));
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
    const bad = parsed.errors[0];
    if (bad !== undefined) return { ok: false, error: `${file.path}: line ${bad.line}: ${bad.message}` };
    Object.assign(env, envOf(parsed.assignments));
  }
  const fromEvent = Object.fromEntries(Object.entries(sources.event ?? {}).filter(([name]) => !BASE_NAMES.has(name)));
  return { ok: true, env: { ...env, ...def.env, ...fromEvent, ...sources.extra } };
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

/** An env-file read: its assignments in order (a later one of a name wins), and its bad lines. */
export interface EnvFileText {
  assignments: { name: string; value: string; line: number }[];
  errors: { line: number; message: string }[];
}

/**
 * The env-file format (docs/service-files.md, "env-file"): `NAME=VALUE` lines, `#`
 * comments, blank lines, an optional `export ` in front; blanks around the name and the
 * value are dropped, then one pair of matching quotes around the value; nothing else is
 * interpreted (no escapes, no variables, no continued lines).
 */
export function parseEnvFile(text: string): EnvFileText {
  const out: EnvFileText = { assignments: [], errors: [] };
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const assignment = line.startsWith("export ") ? line.slice(7).trimStart() : line;
    const eq = assignment.indexOf("=");
    const name = eq < 0 ? "" : assignment.slice(0, eq).trim();
    if (!ENV_NAME.test(name)) {
      out.errors.push({ line: i + 1, message: "expected NAME=VALUE" });
      continue;
    }
    let value = assignment.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) value = value.slice(1, -1);
    out.assignments.push({ name, value, line: i + 1 });
  }
  return out;
}

/** The variables of an env-file's assignments (prototype-free: `__proto__=` is a variable). */
export function envOf(assignments: EnvFileText["assignments"]): Record<string, string> {
  const env = nameRecord<string>();
  for (const a of assignments) env[a.name] = a.value;
  return env;
}
