// The whole shape of a database read from disk, checked before anything uses it: a
// file edited by hand, damaged, or written by another program must be refused with
// where it is wrong, never run (a string `command` would run as the program `s`).
// The rules are those of src/config/service.ts and src/compile/graph.ts. Every record
// keyed by a name a user chose is rebuilt without a prototype: `constructor` is a name.

import { isCommand, isTemplate, literalOf, literalTemplate, type Argv } from "../config/argv.js";
import { RESOURCE_LIMITS } from "../config/keys.js";
import { isIP } from "node:net";
import { JOB_VERBS } from "../config/condition.js";
import { LISTEN_NAME } from "../config/listen.js";
import { DIRECTORY_KINDS, SERVICE_TYPES, defaultService } from "../config/service.js";
import { isCompiledName, TEMPLATE_NAME } from "../config/template.js";
import { ENV_NAME, PASS_ENV_NAME, SERVICE_NAME, parseDirectoryName } from "../config/values.js";

/** Where the shape is wrong: a path into the file (`services.web.command`) and what it should be. */
class ShapeError extends Error {}

type Json = unknown;
type Dict = Record<string, Json>;

const fail = (at: string, what: string): never => {
  throw new ShapeError(`${at} ${what}`);
};

const isObject = (v: Json): v is Dict => typeof v === "object" && v !== null && !Array.isArray(v);

function object(v: Json, at: string): Dict {
  return isObject(v) ? v : fail(at, "must be an object");
}

function array(v: Json, at: string): Json[] {
  return Array.isArray(v) ? v : fail(at, "must be a list");
}

function string(v: Json, at: string): string {
  return typeof v === "string" ? v : fail(at, "must be a string");
}

const sha256 = (v: Json, at: string): string => (typeof v === "string" && /^[0-9a-f]{64}$/.test(v) ? v : fail(at, "must be a sha256 in hex"));

function boolean(v: Json, at: string): boolean {
  return typeof v === "boolean" ? v : fail(at, "must be true or false");
}

function integer(v: Json, at: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  return Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max ? (v as number) : fail(at, `must be a whole number from ${min} to ${max}`);
}

function oneOf<T extends string>(v: Json, at: string, values: readonly T[]): T {
  return values.includes(v as T) ? (v as T) : fail(at, `must be one of ${values.join(", ")}`);
}

const nullable = <T>(check: (v: Json, at: string) => T) => (v: Json, at: string): T | null => (v === null ? null : check(v, at));

/** A record keyed by names a user chose, rebuilt without a prototype. */
function dictionary<T>(v: Json, at: string, key: Pick<RegExp, "test">, value: (v: Json, at: string) => T): Record<string, T> {
  const out = Object.create(null) as Record<string, T>;
  for (const [k, x] of Object.entries(object(v, at))) {
    if (!key.test(k)) fail(`${at}[${JSON.stringify(k)}]`, "is not a valid name");
    out[k] = value(x, `${at}.${k}`);
  }
  return out;
}

/** Command words are templates (src/config/argv.ts), the program's a literal one. */
function program(v: Json, at: string): Argv {
  const list = array(v, at).map((x, i) => (isTemplate(string(x, `${at}[${i}]`)) ? (x as string) : fail(`${at}[${i}]`, "must be a word as the compiler writes it ($$, ${NAME} or a lone $NAME)")));
  const name = list.length > 0 ? literalOf(list[0]!) : null;
  return isCommand(list) && name !== null && name !== "" ? list : fail(at, "must name a program, not a variable");
}
const argv = nullable(program);

const references = (v: Json, at: string): Json[] =>
  array(v, at).map((r, i) => {
    const o = object(r, `${at}[${i}]`);
    string(o.name, `${at}[${i}].name`);
    integer(o.line, `${at}[${i}].line`, 0);
    integer(o.col, `${at}[${i}].col`, 0);
    return o;
  });

const duration = (v: Json, at: string): number => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : fail(at, "must be a duration in ms"));

function ready(v: Json, at: string): void {
  const o = object(v, at);
  switch (oneOf(o.kind, `${at}.kind`, ["none", "fd", "notify", "tcp", "unix", "unix-dgram", "exec"] as const)) {
    case "fd":
      return void integer(o.fd, `${at}.fd`, 3, 1023);
    case "tcp":
      string(o.host, `${at}.host`);
      return void integer(o.port, `${at}.port`, 1, 65535);
    case "unix":
    case "unix-dgram":
      return void string(o.path, `${at}.path`);
    case "exec":
      return void program(o.argv, `${at}.argv`);
    default:
      return;
  }
}

const matches = (v: Json, at: string): Record<string, string> => dictionary(v, at, /^[A-Za-z_][A-Za-z0-9_]*$/, string);

/** A start-on/stop-on condition, walked with a stack of its own: its depth is the file's to choose. */
function condition(v: Json, at: string): void {
  const stack: [Json, string][] = [[v, at]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [c, where] = top;
    const o = object(c, where);
    switch (oneOf(o.kind, `${where}.kind`, ["or", "and", "level", "event", "job"] as const)) {
      case "or":
      case "and":
        array(o.of, `${where}.of`).forEach((x, i) => stack.push([x, `${where}.of[${i}]`]));
        break;
      case "level":
        string(o.name, `${where}.name`);
        string(o.value, `${where}.value`);
        break;
      case "event":
        string(o.name, `${where}.name`);
        o.match = matches(o.match, `${where}.match`);
        break;
      case "job":
        oneOf(o.verb, `${where}.verb`, JOB_VERBS);
        string(o.service, `${where}.service`);
        o.match = matches(o.match, `${where}.match`);
        break;
    }
  }
}

function schedule(v: Json, at: string): void {
  const o = object(v, at);
  switch (oneOf(o.kind, `${at}.kind`, ["every", "cron", "after", "boot"] as const)) {
    case "every":
      return void integer(o.intervalMs, `${at}.intervalMs`, 1000);
    case "cron":
      return void string(o.expression, `${at}.expression`);
    case "after":
      duration(o.delayMs, `${at}.delayMs`);
      return condition(o.event, `${at}.event`);
    case "boot":
      duration(o.delayMs, `${at}.delayMs`);
      return void nullable((x, where) => integer(x, where, 1000))(o.intervalMs, `${at}.intervalMs`);
  }
}

function limit(v: Json, at: string): Json {
  const o = object(v, at);
  const value = nullable((x, where) => integer(x, where, 0));
  const soft = value(o.soft, `${at}.soft`);
  const hard = value(o.hard, `${at}.hard`);
  if (hard !== null && (soft === null || soft > hard)) fail(at, "has a soft limit above its hard limit");
  return o;
}

/** A `listen` socket: its fields, checked as the config's parser would have made them. */
function listenSocket(v: Json, at: string): Json {
  const o = object(v, at);
  if (typeof o.name !== "string" || !LISTEN_NAME.test(o.name)) fail(`${at}.name`, "must be a socket name (no ':')");
  switch (oneOf(o.kind, `${at}.kind`, ["tcp", "udp", "unix"] as const)) {
    case "tcp":
    case "udp":
      if (typeof o.host !== "string" || isIP(o.host) === 0) fail(`${at}.host`, "must be an IP address");
      integer(o.port, `${at}.port`, 1, 65535);
      return { name: o.name, kind: o.kind, host: o.host, port: o.port };
    case "unix":
      if (typeof o.path !== "string" || !o.path.startsWith("/")) fail(`${at}.path`, "must be an absolute path");
      integer(o.mode, `${at}.mode`, 0, 0o777);
      for (const key of ["user", "group"]) nullable(string)(o[key], `${at}.${key}`);
      return { name: o.name, kind: o.kind, path: o.path, mode: o.mode, user: o.user, group: o.group };
  }
}

/** Services, templates and the instances the files name (config/template.ts). */
const COMPILED_NAME = { test: isCompiledName };
/** The source files: services and templates. */
const FILE_NAME = { test: (name: string) => SERVICE_NAME.test(name) || TEMPLATE_NAME.test(name) };

const LIMIT_NAME = new RegExp(`^(?:${Object.keys(RESOURCE_LIMITS).join("|")})$`);
/** A service's fields in the order the compiler writes them. */
const FIELDS = Object.keys(defaultService("x", "x", "longrun"));

/**
 * A database compiled before commands had variables (it has no `directories`) holds
 * its words as they were meant, literally: each `$` in them is one, as a template says.
 */
function fromBeforeVariables(d: Dict): void {
  if (d.directories !== undefined) return;
  d.directories = {};
  const literal = (words: Json): Json => (Array.isArray(words) ? words.map((w) => (typeof w === "string" ? literalTemplate(w) : w)) : words);
  for (const key of ["command", "up", "down", "preStart", "postStop"]) d[key] = literal(d[key]);
  if (isObject(d.ready) && d.ready.kind === "exec") d.ready = { ...d.ready, argv: literal(d.ready.argv) };
}

/** `directories`: known kinds only, in their order, each with names the compiler accepts and a mode. */
function directories(v: Json, at: string): Dict {
  const o = object(v, at);
  for (const key of Object.keys(o)) if (!(DIRECTORY_KINDS as readonly string[]).includes(key)) fail(`${at}.${key}`, `is not one of ${DIRECTORY_KINDS.join(", ")}`);
  const out: Dict = {};
  for (const kind of DIRECTORY_KINDS) {
    if (o[kind] === undefined) continue;
    const d = object(o[kind], `${at}.${kind}`);
    const names = array(d.names, `${at}.${kind}.names`).map((n, i) => (parseDirectoryName(string(n, `${at}.${kind}.names[${i}]`)).ok ? n : fail(`${at}.${kind}.names[${i}]`, "must be a relative path under the base")));
    if (names.length === 0) fail(`${at}.${kind}.names`, "must name a directory");
    out[kind] = { names, mode: integer(d.mode, `${at}.${kind}.mode`, 0, 0o7777) };
  }
  return out;
}

function service(v: Json, at: string, name: string): Dict {
  const d = object(v, at);
  fromBeforeVariables(d);
  if (d.name !== name) fail(`${at}.name`, `must be ${JSON.stringify(name)}, the name it is filed under`);
  oneOf(d.type, `${at}.type`, SERVICE_TYPES);
  string(d.file, `${at}.file`);
  string(d.description, `${at}.description`);
  // A missing field fails as the wrong type: `undefined` is neither null nor a value.
  // A database compiled before `reload` existed has none of its keys: its services cannot be reloaded.
  if (d.reload === undefined && d.reloadSignal === undefined && d.reloadTimeoutMs === undefined) Object.assign(d, { reload: null, reloadSignal: null, reloadTimeoutMs: 60_000 });
  // A database compiled before `stop` existed has no stop commands.
  if (d.stop === undefined) d.stop = null;
  // Nor, before `post-start`, post-start commands.
  if (d.postStart === undefined) d.postStart = null;
  for (const key of ["command", "up", "down", "preStart", "postStart", "postStop", "stop", "reload"]) argv(d[key], `${at}.${key}`);
  for (const key of ["requires", "wants", "after", "before", "contents"]) references(d[key], `${at}.${key}`);
  ready(d.ready, `${at}.ready`);
  // A database compiled before `pid-file` existed has no forking daemons.
  if (d.pidFile === undefined) d.pidFile = null;
  nullable(string)(d.pidFile, `${at}.pidFile`);
  if (typeof d.pidFile === "string" && !d.pidFile.startsWith("/")) fail(`${at}.pidFile`, "must be an absolute path");
  // A database compiled before `forking` existed: its forking daemons are those with a pid file.
  if (d.forking === undefined) d.forking = d.pidFile !== null;
  boolean(d.forking, `${at}.forking`);
  if (d.pidFile !== null && d.forking !== true) fail(`${at}.forking`, "must be true with a pidFile");
  // A database compiled before `listen` existed holds no sockets.
  if (d.listen === undefined) d.listen = [];
  d.listen = array(d.listen, `${at}.listen`).map((x, i) => listenSocket(x, `${at}.listen[${i}]`));
  for (const key of ["startTimeoutMs", "stopTimeoutMs", "reloadTimeoutMs"]) nullable(duration)(d[key], `${at}.${key}`);
  oneOf(d.restart, `${at}.restart`, ["always", "on-failure", "never"] as const);
  duration(d.restartDelayMs, `${at}.restartDelayMs`);
  duration(d.restartDelayMaxMs, `${at}.restartDelayMaxMs`);
  if (d.restartLimit !== null) {
    const l = object(d.restartLimit, `${at}.restartLimit`);
    integer(l.count, `${at}.restartLimit.count`, 1);
    if (duration(l.windowMs, `${at}.restartLimit.windowMs`) === 0) fail(`${at}.restartLimit.windowMs`, "must be longer than 0");
  }
  array(d.successExit, `${at}.successExit`).forEach((x, i) => (typeof x === "string" ? x : integer(x, `${at}.successExit[${i}]`, 0, 255)));
  string(d.stopSignal, `${at}.stopSignal`);
  nullable(string)(d.reloadSignal, `${at}.reloadSignal`);
  for (const key of ["user", "group", "cwd", "instance"]) nullable(string)(d[key], `${at}.${key}`);
  // A database compiled before templates has no instances: none is made from one.
  if (d.template === undefined) d.template = null;
  if (nullable(string)(d.template, `${at}.template`) !== null && !TEMPLATE_NAME.test(d.template as string)) fail(`${at}.template`, "must be the name of a template (NAME@)");
  // A database compiled before `allow` existed has none: it boots, and nobody else is allowed.
  if (d.allow === undefined) d.allow = [];
  array(d.allow, `${at}.allow`).forEach((x, i) => string(x, `${at}.allow[${i}]`));
  if (typeof d.cwd === "string" && !d.cwd.startsWith("/")) fail(`${at}.cwd`, "must be an absolute path");
  d.env = dictionary(d.env, `${at}.env`, ENV_NAME, string);
  array(d.envFiles, `${at}.envFiles`).forEach((f, i) => {
    const o = object(f, `${at}.envFiles[${i}]`);
    string(o.path, `${at}.envFiles[${i}].path`);
    boolean(o.optional, `${at}.envFiles[${i}].optional`);
  });
  // A database compiled before `pass-env` existed passes nothing, as its services had nothing passed.
  if (d.passEnv === undefined) d.passEnv = [];
  array(d.passEnv, `${at}.passEnv`).forEach((x, i) => {
    if (!PASS_ENV_NAME.test(string(x, `${at}.passEnv[${i}]`))) fail(`${at}.passEnv[${i}]`, "must be a variable name, PREFIX* or *");
  });
  nullable((x, where) => integer(x, where, 0, 0o777))(d.umask, `${at}.umask`);
  d.limits = dictionary(d.limits, `${at}.limits`, LIMIT_NAME, limit);
  boolean(d.noNewPrivileges, `${at}.noNewPrivileges`);
  d.directories = directories(d.directories, `${at}.directories`);
  oneOf(d.log, `${at}.log`, ["file", "stdout", "none"] as const);
  integer(d.logMaxBytes, `${at}.logMaxBytes`, 1);
  integer(d.logKeep, `${at}.logKeep`, 0, 1000);
  oneOf(d.stderr, `${at}.stderr`, ["with-stdout", "apart"] as const);
  for (const key of ["startOn", "stopOn"]) if (d[key] !== null) condition(d[key], `${at}.${key}`);
  if (d.schedule !== null) schedule(d.schedule, `${at}.schedule`);
  boolean(d.catchUp, `${at}.catchUp`);
  // In today's order, with a field an older database lacked (defaulted above) where the
  // compiler puts it: the same service must mean the same, and src/engine/diff.ts
  // compares records as JSON, so an apply after an upgrade restarts nothing.
  return Object.fromEntries(FIELDS.map((key) => [key, d[key]]));
}

/** Each name of the graph must be a service of the database that is not a bundle. */
function names(v: Json, at: string, known: (name: string) => boolean): string[] {
  return array(v, at).map((n, i) => (typeof n === "string" && known(n) ? n : fail(`${at}[${i}]`, "must name a service of the database that is not a bundle")));
}

/**
 * Checks `data` (parsed JSON) against the database's shape, with its records rebuilt
 * without prototypes. Returns null when it fits, or what is wrong and where.
 */
export function checkDatabaseShape(data: Dict): string | null {
  try {
    integer(data.generation, "generation", 1);
    string(data.compiledAt, "compiledAt");
    string(data.source, "source");
    string(data.digest, "digest");
    const services = dictionary(data.services, "services", COMPILED_NAME, (v, at) => service(v, at, at.slice("services.".length)));
    const runnable = (n: string): boolean => Object.hasOwn(services, n) && services[n]!.type !== "bundle";
    const graph = object(data.graph, "graph");
    const edges = dictionary(graph.services, "graph.services", COMPILED_NAME, (v, at) => {
      const e = object(v, at);
      for (const key of ["requires", "wants", "after"]) names(e[key], `${at}.${key}`, runnable);
      return e;
    });
    for (const n of Object.keys(services)) {
      if (runnable(n) !== Object.hasOwn(edges, n)) fail(`graph.services`, runnable(n) ? `has no edges for ${n}` : `has edges for ${n}, which is not a service that runs`);
    }
    const bundles = dictionary(graph.bundles, "graph.bundles", COMPILED_NAME, (v, at) => names(v, at, runnable));
    for (const [n, def] of Object.entries(services)) {
      if ((def.type === "bundle") !== Object.hasOwn(bundles, n)) fail("graph.bundles", `does not match the bundles of services (${n})`);
    }
    const boot = array(data.boot, "boot").map((wave, i) => names(wave, `boot[${i}]`, runnable));
    // A database compiled before tend recorded its sources has none: its freshness is not checked.
    if (data.sources !== undefined) data.sources = dictionary(data.sources, "sources", FILE_NAME, sha256);
    Object.assign(data, { services, graph: { ...graph, services: edges, bundles }, boot });
    return null;
  } catch (e) {
    if (e instanceof ShapeError) return e.message;
    throw e;
  }
}
