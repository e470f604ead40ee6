// Every key a service file may hold: which service types it applies to, whether it
// may repeat, and how its value is parsed into the ServiceDef. docs/service-files.md
// documents this table; a test checks that the two name the same keys.

import { isAbsolute, resolve } from "node:path";
import { parseCommand, type Argv } from "./argv.js";
import { parseCondition } from "./condition.js";
import { listenAddress, MAX_LISTEN, parseListen } from "./listen.js";
import { parseSchedule } from "./schedule.js";
import { DEFAULT_DIRECTORY_MODE, DIRECTORY_KINDS, type Directories, type DirectoryKind, type Reference, type RestartPolicy, type LogMode, type ServiceDef, type ServiceType, type StderrMode } from "./service.js";
import {
  ENV_NAME,
  PASS_ENV_NAME,
  SERVICE_NAME,
  parseBoolean,
  parseDirectoryMode,
  parseDirectoryName,
  parseDuration,
  parseEnvAssignment,
  parseExitStatus,
  parseInteger,
  parseReady,
  parseResourceLimit,
  parseRestartLimit,
  parseSignal,
  parseSize,
  parseUmask,
  setByTend,
  type Parsed,
} from "./values.js";
import { closest } from "./diagnostics.js";
import { argumentProblem, isTemplateName, TEMPLATE_NAME, withSampleArgument } from "./template.js";

/** What a key's parser may use besides the value. */
export interface KeyContext {
  def: ServiceDef;
  /** The directory the source files are in; relative paths resolve against it. */
  sourceDir: string;
  line: number;
  col: number;
  /** Where character `offset` of the value stands (a value may span continued lines). */
  locate(offset: number): { line: number; col: number };
  error(message: string, offset?: number): void;
  warn(message: string, offset?: number): void;
  /** Services named by conditions, for the graph check. */
  conditionRefs: Reference[];
}

export interface KeySpec {
  /** The service types the key applies to. */
  types: readonly ServiceType[];
  /** List keys may repeat; their values accumulate. */
  list?: boolean;
  apply(value: string, ctx: KeyContext): void;
}

const ALL: readonly ServiceType[] = ["longrun", "oneshot", "task", "bundle"];
const PROCESS: readonly ServiceType[] = ["longrun", "oneshot", "task"];
const RUNS_COMMAND: readonly ServiceType[] = ["longrun", "task"];

/** Apply a parsed value, or report its error at the offset it names. */
function take<T>(parsed: Parsed<T>, ctx: KeyContext, set: (value: T) => void): void {
  if (parsed.ok) set(parsed.value);
  else ctx.error(parsed.message, parsed.offset);
}

function command(set: (def: ServiceDef, argv: Argv) => void): KeySpec["apply"] {
  return (value, ctx) => {
    const command = parseCommand(value);
    if (!command.ok) return ctx.error(command.message, command.offset);
    set(ctx.def, command.argv);
  };
}

function names(field: "requires" | "wants" | "after" | "before" | "contents"): KeySpec["apply"] {
  return (value, ctx) => {
    const re = /\S+/g;
    for (let m = re.exec(value); m !== null; m = re.exec(value)) {
      const name = m[0];
      const problem = referenceProblem(name);
      if (problem !== null) {
        ctx.error(problem, m.index);
        continue;
      }
      const list = ctx.def[field];
      const listed = namesIn(list);
      if (listed.has(name)) ctx.warn(`'${name}' is listed twice in '${field}'`, m.index);
      else {
        listed.add(name);
        list.push({ name, ...offsetAt(ctx, m.index) });
      }
    }
  };
}

/** Why `name` cannot be named in `requires` and the like: a service, or an instance of a template (`getty@tty1`); null when it can. */
export function referenceProblem(name: string): string | null {
  const at = name.indexOf("@");
  if (at < 0 || !TEMPLATE_NAME.test(name.slice(0, at + 1))) {
    return SERVICE_NAME.test(name) ? null : `'${name}' is not a valid service name (letters, digits, '.', '_' and '-', starting with a letter or digit)`;
  }
  if (at === name.length - 1) return `'${name}' is a template, which never runs itself: name one of its instances, like '${name}NAME'`;
  return argumentProblem(name.slice(at + 1));
}

/** The names already in a list of references or names (kept beside it: a list of 10^5 names is searched in constant time). */
const listedNames = new WeakMap<readonly (Reference | string)[], Set<string>>();
function namesIn(list: readonly (Reference | string)[]): Set<string> {
  let names = listedNames.get(list);
  if (names === undefined) listedNames.set(list, (names = new Set(list.map((r) => (typeof r === "string" ? r : r.name)))));
  return names;
}

function choice<T extends string>(options: readonly T[], set: (def: ServiceDef, value: T) => void): KeySpec["apply"] {
  return (value, ctx) => {
    if ((options as readonly string[]).includes(value)) return set(ctx.def, value as T);
    const guess = closest(value, options);
    ctx.error(`'${value}' is not one of ${options.join(", ")}${guess ? ` (did you mean '${guess}'?)` : ""}`, 0);
  };
}

function duration(set: (def: ServiceDef, ms: number) => void): KeySpec["apply"] {
  return (value, ctx) => take(parseDuration(value), ctx, (ms) => set(ctx.def, ms));
}

/** A duration, or `infinity` (null): no limit. */
function timeout(set: (def: ServiceDef, ms: number | null) => void): KeySpec["apply"] {
  return (value, ctx) => take(parseDuration(value, true), ctx, (ms) => set(ctx.def, ms));
}

function offsetAt(ctx: KeyContext, offset: number): { line: number; col: number } {
  return ctx.locate(offset);
}

const absolute = (path: string, ctx: KeyContext): string => (isAbsolute(path) ? path : resolve(ctx.sourceDir, path));

/** Resource limits the keeper sets with setrlimit (named as prlimit(1) does), and whether their values are byte counts. */
export const RESOURCE_LIMITS: Record<string, boolean> = {
  as: true,
  core: true,
  cpu: false,
  data: true,
  fsize: true,
  memlock: true,
  nofile: false,
  nproc: false,
  rss: true,
  stack: true,
};

/** The directories of one kind a file names so far (with the default mode until `KIND-directory-mode`). */
const directoriesOf = (def: ServiceDef, kind: DirectoryKind): Directories => (def.directories[kind] ??= { names: [], mode: DEFAULT_DIRECTORY_MODE });

/** `runtime-directory` & co.: names separated by blanks; one inside another of the same kind is refused (see src/system/service-directories.ts). */
function directoryNames(kind: DirectoryKind): KeySpec["apply"] {
  return (value, ctx) => {
    const re = /\S+/g;
    for (let m = re.exec(value); m !== null; m = re.exec(value)) {
      const offset = m.index;
      take(parseDirectoryName(m[0]), { ...ctx, error: (message) => ctx.error(message, offset) }, (name) => {
        const { names } = directoriesOf(ctx.def, kind);
        const nested = names.find((n) => n === name || name.startsWith(`${n}/`) || n.startsWith(`${name}/`));
        if (nested === name) return ctx.warn(`'${name}' is listed twice in '${kind}-directory'`, offset);
        if (nested !== undefined) return ctx.error(`'${name}' and '${nested}' are one inside the other: list only the one the service needs`, offset);
        names.push(name);
      });
    }
  };
}

const conditionKey = (field: "startOn" | "stopOn"): KeySpec => ({
  types: PROCESS, // a bundle is wanted when something names it; its members can wait for events
  apply: (value, ctx) =>
    take(parseCondition(value), ctx, ({ condition, references }) => {
      ctx.def[field] = condition;
      for (const r of references) ctx.conditionRefs.push({ name: r.service, ...offsetAt(ctx, r.offset) });
    }),
});

export const KEYS: Record<string, KeySpec> = {
  type: { types: ALL, apply: () => {} }, // read before every other key, see parse.ts
  description: { types: ALL, apply: (v, ctx) => void (ctx.def.description = v) },

  command: { types: RUNS_COMMAND, apply: command((d, a) => (d.command = a)) },
  up: { types: ["oneshot"], apply: command((d, a) => (d.up = a)) },
  down: { types: ["oneshot"], apply: command((d, a) => (d.down = a)) },
  "pre-start": { types: RUNS_COMMAND, apply: command((d, a) => (d.preStart = a)) },
  "post-stop": { types: RUNS_COMMAND, apply: command((d, a) => (d.postStop = a)) },

  requires: { types: PROCESS, list: true, apply: names("requires") },
  wants: { types: PROCESS, list: true, apply: names("wants") },
  after: { types: PROCESS, list: true, apply: names("after") },
  before: { types: PROCESS, list: true, apply: names("before") },
  contents: { types: ["bundle"], list: true, apply: names("contents") },

  ready: { types: ["longrun"], apply: (v, ctx) => take(parseReady(v), ctx, (r) => (ctx.def.ready = r)) },
  "pid-file": {
    types: ["longrun"],
    apply: (value, ctx) => (isAbsolute(value) ? void (ctx.def.pidFile = resolve(value)) : ctx.error("a pid file is an absolute path, like /run/nginx.pid")),
  },
  forking: { types: ["longrun"], apply: (v, ctx) => take(parseBoolean(v), ctx, (b) => (ctx.def.forking = b)) },
  listen: {
    types: ["longrun"],
    list: true,
    apply: (value, ctx) =>
      take(parseListen(value, ctx.def.name.replace(/@.*$/, "")), ctx, (socket) => {
        const address = listenAddress(socket);
        if (ctx.def.listen.some((s) => listenAddress(s) === address)) return ctx.error(`${address} is listed twice in 'listen'`);
        if (ctx.def.listen.length === MAX_LISTEN) return ctx.error(`a service may listen on at most ${MAX_LISTEN} sockets`);
        ctx.def.listen.push(socket);
      }),
  },
  "start-timeout": { types: PROCESS, apply: timeout((d, ms) => (d.startTimeoutMs = ms)) },
  "stop-timeout": { types: PROCESS, apply: timeout((d, ms) => (d.stopTimeoutMs = ms)) },

  restart: { types: ["longrun"], apply: choice<RestartPolicy>(["always", "on-failure", "never"], (d, v) => (d.restart = v)) },
  "restart-delay": { types: ["longrun"], apply: duration((d, ms) => (d.restartDelayMs = ms)) },
  "restart-delay-max": { types: ["longrun"], apply: duration((d, ms) => (d.restartDelayMaxMs = ms)) },
  "restart-limit": { types: ["longrun"], apply: (v, ctx) => take(parseRestartLimit(v), ctx, (l) => (ctx.def.restartLimit = l)) },
  "success-exit": {
    types: PROCESS,
    apply: (value, ctx) => {
      const codes: (number | string)[] = [];
      const re = /\S+/g;
      for (let m = re.exec(value); m !== null; m = re.exec(value)) {
        const parsed = parseExitStatus(m[0]);
        if (parsed.ok) codes.push(parsed.value);
        else ctx.error(parsed.message, m.index);
      }
      // Exit code 0 always counts: the list adds to it, as systemd's SuccessExitStatus and Upstart's `normal exit` do.
      ctx.def.successExit = [...new Set([0, ...codes])];
    },
  },
  "stop-signal": { types: RUNS_COMMAND, apply: (v, ctx) => take(parseSignal(v), ctx, (s) => (ctx.def.stopSignal = s)) },
  "post-start": { types: ["longrun"], apply: command((d, a) => (d.postStart = a)) },
  stop: { types: ["longrun"], apply: command((d, a) => (d.stop = a)) },
  reload: { types: ["longrun"], apply: command((d, a) => (d.reload = a)) },
  "reload-signal": { types: ["longrun"], apply: (v, ctx) => take(parseSignal(v), ctx, (s) => (ctx.def.reloadSignal = s)) },
  "reload-timeout": { types: ["longrun"], apply: timeout((d, ms) => (d.reloadTimeoutMs = ms)) },

  user: { types: PROCESS, apply: (v, ctx) => checkAccount(v, ctx, (name) => (ctx.def.user = name), true) },
  group: { types: PROCESS, apply: (v, ctx) => checkAccount(v, ctx, (name) => (ctx.def.group = name), true) },
  allow: {
    types: ALL,
    list: true,
    apply: (value, ctx) => {
      const re = /\S+/g;
      for (let m = re.exec(value); m !== null; m = re.exec(value)) {
        const who = m[0];
        const offset = m.index;
        checkAccount(who.startsWith("@") ? who.slice(1) : who, { ...ctx, error: (message) => ctx.error(message, offset) }, () => {
          if (ctx.def.allow.includes(who)) ctx.warn(`'${who}' is listed twice in 'allow'`, offset);
          else ctx.def.allow.push(who);
        });
      }
    },
  },
  env: {
    types: PROCESS,
    list: true,
    apply: (value, ctx) =>
      take(parseEnvAssignment(value), ctx, ([name, val]) => {
        if (Object.hasOwn(ctx.def.env, name)) ctx.warn(`'${name}' is set again here; the last value wins`);
        if (setByTend(name)) ctx.error(`'${name}' is set by tend itself and cannot be set in a service file`);
        ctx.def.env[name] = val;
      }),
  },
  "env-file": {
    types: PROCESS,
    list: true,
    apply: (value, ctx) => {
      const optional = value.startsWith("-");
      const path = optional ? value.slice(1) : value;
      if (path === "") return ctx.error("a file name is needed here");
      ctx.def.envFiles.push({ path: absolute(path, ctx), optional });
    },
  },
  "pass-env": {
    types: PROCESS,
    list: true,
    apply: (value, ctx) => {
      const re = /\S+/g;
      for (let m = re.exec(value); m !== null; m = re.exec(value)) {
        const name = m[0];
        if (!PASS_ENV_NAME.test(name)) {
          ctx.error(`'${name}' is neither a variable name nor a pattern: use NAME, PREFIX* (like AWS_*) or * alone`, m.index);
        } else if (setByTend(name)) ctx.error(`'${name}' is set by tend itself and cannot be passed in`, m.index);
        else if (namesIn(ctx.def.passEnv).has(name)) ctx.warn(`'${name}' is listed twice in 'pass-env'`, m.index);
        else {
          namesIn(ctx.def.passEnv).add(name);
          ctx.def.passEnv.push(name);
        }
      }
    },
  },
  cwd: { types: PROCESS, apply: (v, ctx) => void (ctx.def.cwd = absolute(v, ctx)) },
  umask: { types: PROCESS, apply: (v, ctx) => take(parseUmask(v), ctx, (u) => (ctx.def.umask = u)) },
  "no-new-privileges": { types: PROCESS, apply: (v, ctx) => take(parseBoolean(v), ctx, (b) => (ctx.def.noNewPrivileges = b)) },
  ...Object.fromEntries(
    Object.entries(RESOURCE_LIMITS).map(([limit, bytes]): [string, KeySpec] => [
      `limit-${limit}`,
      { types: PROCESS, apply: (v, ctx) => take(parseResourceLimit(v, bytes), ctx, (l) => (ctx.def.limits[limit] = l)) },
    ]),
  ),
  ...Object.fromEntries(
    DIRECTORY_KINDS.flatMap((kind): [string, KeySpec][] => [
      [`${kind}-directory`, { types: PROCESS, list: true, apply: directoryNames(kind) }],
      [`${kind}-directory-mode`, { types: PROCESS, apply: (v, ctx) => take(parseDirectoryMode(v), ctx, (mode) => (directoriesOf(ctx.def, kind).mode = mode)) }],
    ]),
  ),

  log: { types: PROCESS, apply: choice<LogMode>(["file", "stdout", "none"], (d, v) => (d.log = v)) },
  "log-size": {
    types: PROCESS,
    apply: (v, ctx) =>
      take(parseSize(v), ctx, (n) => (n < 4096 ? ctx.error("a log file must be allowed at least 4K") : (ctx.def.logMaxBytes = n))),
  },
  "log-keep": { types: PROCESS, apply: (v, ctx) => take(parseInteger(v, 0, 1000), ctx, (n) => (ctx.def.logKeep = n)) },
  stderr: { types: PROCESS, apply: choice<StderrMode>(["with-stdout", "apart"], (d, v) => (d.stderr = v)) },

  "start-on": conditionKey("startOn"),
  "stop-on": conditionKey("stopOn"),
  schedule: {
    types: ["task"],
    apply: (value, ctx) =>
      take(parseSchedule(value), ctx, ({ schedule, references }) => {
        ctx.def.schedule = schedule;
        for (const r of references) ctx.conditionRefs.push({ name: r.service, ...offsetAt(ctx, r.offset) });
      }),
  },
  "catch-up": { types: ["task"], apply: (v, ctx) => take(parseBoolean(v), ctx, (b) => (ctx.def.catchUp = b)) },
  instance: {
    types: ["longrun", "task"],
    apply: (value, ctx) => (ENV_NAME.test(value) ? void (ctx.def.instance = value) : ctx.error(`'${value}' is not an event key name`)),
  },
};

const ACCOUNT = /^([a-z_][a-z0-9_.-]*\$?|\d+)$/i;

/** With `byArgument`, a template may name its instances' account by their argument (`user = ${INSTANCE}`): each instance's is checked on the host. */
function checkAccount(value: string, ctx: KeyContext, set: (name: string) => void, byArgument = false): void {
  const checked = byArgument && isTemplateName(ctx.def.name) ? withSampleArgument(value) : value;
  if (ACCOUNT.test(checked) && checked.length <= 32) set(value);
  else ctx.error(`'${value}' is not a valid user or group name or number`);
}

/** Why a key does not apply to a type, in words a user can act on. */
export function notApplicable(key: string, spec: KeySpec, type: ServiceType): string {
  const reason: Partial<Record<ServiceType, string>> = {
    bundle: "a bundle only names other services (use 'contents')",
    task: "a task runs to completion and is never up",
  };
  const why = reason[type] ? `: ${reason[type]}` : "";
  return `'${key}' does not apply to a ${type}${why}; it applies to ${spec.types.join(", ")}`;
}
