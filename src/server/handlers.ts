// The request handlers: one per command of the protocol's table, each answering only
// with its command's result. A request reaches its handler once it is well formed
// (control-socket.ts) and its peer may make it (access.ts); what it asks for becomes
// facts for the loop, and the reply says what came of them.

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { readDatabase, type Database } from "../compile/database.js";
import { MAX_FILE_BYTES } from "../config/lexer.js";
import { isTemplateName } from "../config/template.js";
import { parseSignal } from "../config/values.js";
import { bootServices, checkExitWith, readiness, servicesOf } from "../engine/boot.js";
import { planApply } from "../engine/apply.js";
import { preview } from "../engine/preview.js";
import { cannotReload } from "../engine/reload.js";
import type { Engine } from "../engine/engine.js";
import { explain } from "../engine/explain.js";
import { canMakeByName, definitionOf, roomProblem } from "../engine/instances.js";
import { edgesOf, members } from "../engine/topology.js";
import { layOut } from "../cli/status-table.js";
import { fileNameOf, SYSLOG_LOG_DIR } from "../places.js";
import { own } from "../records.js";
import { readRegularFile } from "../system/bounded-read.js";
import { authorise, type Policy } from "./access.js";
import { bootNames, bootNamesOf, type ServerContext, type ServerCore } from "./context.js";
import { MAX_STREAM_BACKLOG, type Connection } from "./control-socket.js";
import { openDirectory } from "./directory.js";
import { HISTORY_CAPACITY } from "./history.js";
import { followLog, MAX_MERGED_LINES, mergeLogs, namesSyslogLog } from "./logs.js";
import { nameProblem } from "./names.js";
import { enablementAfter, saveLevels, savePersistent } from "./persist.js";
import { readOnly, type ApplyPlan, type Command, type Request, type RequestOf, type ResultOf, type ServiceDetail, type TableResult } from "./protocol.js";
import { enablements, notMadeDetail, notMadeStatus, serviceDetail, serviceStatus, type ShellFacts } from "./status.js";

/** How a handler answers its request: with its command's result, or a refusal. */
interface Answer<C extends Command> {
  reply(result: ResultOf<C>): void;
  refuse(error: string): void;
}

type Handler<C extends Command> = (server: ServerContext, request: RequestOf<C>, answer: Answer<C>, connection: Connection) => void;

/** Answers each request on the control sockets, once its peer is found to be allowed it. */
export function createHandler(server: ServerContext): (request: Request, connection: Connection) => void {
  const policy: Policy = {
    ownerUid: process.getuid?.() ?? 0,
    controlGroup: server.settings.controlGroup,
    definition: (name) => definitionOf(server.engine, name) ?? own(server.engine.db.services, name),
    ...openDirectory(),
  };
  return (request, connection) => {
    const denied = authorise(connection.peer, connection.socket === "control", request, policy);
    if (denied !== null) return void connection.send({ id: request.id, ok: false, error: denied });
    // What a command did is in the status file before its final reply goes, whoever sends it (its handler, a waiter): the `tend status` that follows reads it.
    const flushing: Connection = {
      ...connection,
      send(reply) {
        if ("ok" in reply) server.statusFile.flush();
        return connection.send(reply);
      },
    };
    if (!readOnly(request.cmd)) server.statusFile.changed();
    dispatch(server, request.cmd, request, flushing);
  };
}

/** `cmd` is the request's: its handler, and the answer its result type allows. */
function dispatch<C extends Command>(server: ServerContext, cmd: C, request: RequestOf<C>, connection: Connection): void {
  const handler: Handler<C> = HANDLERS[cmd];
  const answer: Answer<C> = {
    reply: (result) => void connection.send({ id: request.id, ok: true, result }),
    refuse: (error) => void connection.send({ id: request.id, ok: false, error }),
  };
  handler(server, request, answer, connection);
}

/** What the shell knows about a service besides the engine's state. */
const shellFacts = ({ supervisor, scheduler }: ServerContext, name: string): ShellFacts => ({
  statusText: supervisor.statusText(name),
  nextRun: scheduler.nextRuns().get(name),
  notReady: supervisor.notReadyBecause(name),
});

/** What the server could not read or use: when it started, and in tend.env now. */
const warningsOf = ({ warnings, environment }: ServerContext): string[] => [...warnings, ...environment.problems()];

/** What the next boot does with each service and bundle, from the persisted sets. */
const enablementsOf = (server: ServerContext) => enablements(server.engine, bootNames(server), server.persistent.disabled);
/** The services `status` and `table` list when no name is given: every one but the templates. */
const listed = (engine: ServerContext["engine"]): string[] => engine.topo.names.filter((n) => !isTemplateName(n));
/** Services, bundles as their members (each once), and instances by name not made yet as themselves. */
const expandNamed = (engine: ServerContext["engine"], names: readonly string[]): string[] =>
  [...new Set(names.flatMap((n) => (canMakeByName(engine, n) ? [n] : members(engine.topo, n))))];
/** What `status` and `table` say of the server itself. */
function aboutServer(server: ServerContext): Omit<TableResult, "table"> {
  const { engine, supervisor, places, settings, moved } = server;
  return {
    generation: engine.db.generation,
    shuttingDown: engine.shuttingDown,
    tracking: supervisor.tracking,
    settings: { file: places.config, controlGroup: settings.controlGroup?.name ?? null, ...settings.run, places: { state: places.state, log: places.log, moved } },
    boot: engine.boot === null ? null : { completeAt: engine.boot.completeAt, waiting: [...engine.boot.waiting] },
    end: engine.end,
    warnings: warningsOf(server),
    bootFailures: server.timings.bootFailures(),
  };
}

/** The `table` reply, and what the status file holds (status-file.ts). */
export function tableOf(server: ServerContext): TableResult {
  const { engine } = server;
  const services = listed(engine).map((n) => serviceStatus(engine, n, shellFacts(server, n)));
  return { ...aboutServer(server), table: layOut(services, new Set(enablementsOf(server).disabled)) };
}

const HANDLERS: { [C in Command]: Handler<C> } = {
  ping: ({ engine }, _request, { reply }) => reply({ pid: process.pid, generation: engine.db.generation }),
  timings({ timings, engine, now }, _request, { reply }) {
    const { topo } = engine;
    const services = Object.fromEntries(topo.names.map((n) => [n, { requires: [...edgesOf(topo, "requires", n)], wants: [...edgesOf(topo, "wants", n)], after: [...edgesOf(topo, "after", n)] }]));
    reply({ ...timings.timeline(), graph: { services, bundles: { ...topo.bundles } as Record<string, string[]> }, now: now() });
  },
  status(server, request, { reply, refuse }) {
    const { engine } = server;
    const names = request.names ?? listed(engine);
    const problem = nameProblem(engine, names);
    if (problem !== null) return refuse(problem);
    return reply({
      ...aboutServer(server),
      disabled: enablementsOf(server).disabled,
      services: expandNamed(engine, names).map((n) => (engine.services.has(n) ? serviceStatus(engine, n, shellFacts(server, n)) : notMadeStatus(definitionOf(engine, n)!, server.now()))),
    });
  },
  table: (server, _request, { reply }) => reply(tableOf(server)),
  inspect(server, request, { reply, refuse }) {
    const { engine, supervisor } = server;
    const problem = nameProblem(engine, request.names);
    if (problem !== null) return refuse(problem);
    const expanded = expandNamed(engine, request.names);
    const cgroupBase = supervisor.tracking.kind === "cgroup" ? supervisor.tracking.cgroup : null;
    // The keeper answers with each tree's pids; the rest is read once they are all in, so every service is described as of the same moment.
    void Promise.all(expanded.map((n) => supervisor.processesOf(n))).then((trees) => {
      const enablement = enablementsOf(server);
      const detail = (n: string, i: number): ServiceDetail | undefined => {
        if (engine.services.has(n)) return serviceDetail(engine, n, shellFacts(server, n), { ...trees[i]!, cgroupBase }, enablement.of(n));
        const def = definitionOf(engine, n); // an apply may have removed it meanwhile
        return def === undefined ? undefined : notMadeDetail(def, server.now(), enablement.of(n));
      };
      reply({ services: expanded.map(detail).filter((d) => d !== undefined), warnings: warningsOf(server) });
    }).catch((e: unknown) => refuse(`internal error: ${(e as Error).message}`));
  },
  "is-enabled"(server, request, { reply, refuse }) {
    const problem = nameProblem(server.engine, request.names, "refuse");
    if (problem !== null) return refuse(problem);
    const enablement = enablementsOf(server);
    return reply(request.names.map((name) => ({ name, enablement: enablement.of(name) })));
  },
  show({ engine }, request, { reply, refuse }) {
    const definition = engine.defs.get(request.name) ?? own(engine.db.services, request.name);
    if (definition === undefined) return refuse(nameProblem(engine, [request.name], "refuse") ?? `unknown service: ${request.name}`);
    return reply({ generation: engine.db.generation, definition });
  },
  cat({ engine }, request, { reply, refuse }) {
    const def = engine.defs.get(request.name) ?? own(engine.db.services, request.name);
    if (def === undefined) return refuse(nameProblem(engine, [request.name], "refuse") ?? `unknown service: ${request.name}`);
    let bytes: Buffer;
    try {
      bytes = readRegularFile(def.file, MAX_FILE_BYTES);
    } catch (e) {
      return refuse(`cannot read ${def.file}, which ${request.name} was compiled from: ${(e as Error).message}`);
    }
    const compiled = engine.db.sources === undefined ? undefined : own(engine.db.sources, basename(def.file));
    const changed = compiled === undefined ? null : createHash("sha256").update(bytes).digest("hex") !== compiled;
    return reply({ path: def.file, text: bytes.toString("utf8"), changed });
  },
  list: ({ engine }, _request, { reply }) =>
    reply(Object.values(engine.db.services).map((d) => ({ name: d.name, type: d.type, description: d.description, members: own(engine.topo.bundles, d.name) ?? null }))),
  why({ engine }, request, { reply, refuse }) {
    const problem = nameProblem(engine, [request.name], "refuse");
    if (problem !== null) return refuse(problem);
    if (!engine.topo.requires.has(request.name)) return refuse(`'${request.name}' is a bundle: ask about its members`);
    return reply(explain(engine, request.name));
  },
  start: change,
  stop: change,
  restart: change,
  enable: enablement,
  disable: enablement,
  signal({ engine, emit }, request, { reply, refuse }) {
    const signal = parseSignal(request.signal);
    if (!signal.ok) return refuse(signal.message);
    const problem = nameProblem(engine, [request.name]);
    if (problem !== null) return refuse(problem);
    const s = engine.services.get(request.name);
    if (s === undefined && canMakeByName(engine, request.name)) return refuse(`${request.name} has no running process (it is down)`);
    if (s === undefined) return refuse(`'${request.name}' is a bundle`);
    if (s.pid === null) return refuse(`${request.name} has no running process (it is ${s.phase})`);
    if (request.main && s.role !== "main") return refuse(`${request.name} has no main process now (its ${s.role} runs)`);
    emit({ kind: "signal", service: request.name, signal: signal.value, to: request.main ? "main" : "group" });
    return reply({ pid: s.pid, signal: signal.value });
  },
  reload: reloadServices,
  logs: sendLogs,
  apply,
  emit(server, request, { reply }) {
    server.emit({ kind: "event", name: request.name, values: request.values });
    return reply(server.lastOccurrence);
  },
  set: level,
  unset: level,
  events: ({ history }, request, { reply }) => reply(history.recent(Math.max(1, Math.min(request.count ?? 50, HISTORY_CAPACITY)))),
  monitor(server, request, { reply, refuse }, connection) {
    const { engine, monitors, followers } = server;
    const problem = request.names === undefined ? null : nameProblem(engine, request.names);
    if (problem !== null) return refuse(problem);
    const unsubscribe = monitors.add(request.id, connection, request.names ?? null);
    // The subscription ends with the server, after the last changes.
    const end = (): void => {
      unsubscribe();
      reply(null);
    };
    followers.add(end);
    connection.onClose(() => followers.delete(end));
  },
  levels: ({ engine, persistedLevels }, _request, { reply }) =>
    reply(Object.fromEntries([...engine.levels].map(([name, value]) => [name, { value, persisted: persistedLevels.has(name) }]))),
  shutdown({ engine, waiters, emit, now }, request, _answer, connection) {
    waiters.add({ id: request.id, connection, kind: "shutdown", services: engine.topo.names, since: now() })([]);
    emit({ kind: "shutdown", reason: "tend shutdown" });
  },
  ready(server, request, { reply, refuse }, connection) {
    const { engine, waiters } = server;
    const problem = request.names === undefined ? null : nameProblem(engine, request.names, "refuse");
    if (problem !== null) return refuse(problem);
    // Asked again at each check: an apply may change what the names stand for.
    const query = () =>
      readiness(engine, request.names === undefined ? bootServices(engine, bootNames(server), engine.boot?.exitWith ?? null) : servicesOf(engine, request.names));
    if (request.waitMs === undefined) return reply(query());
    waiters.ready({ id: request.id, connection, query, ms: request.waitMs });
    return waiters.check();
  },
};

const firstOf = (problems: (string | null)[]): string | null => problems.find((p) => p !== null) ?? null;

/** start, stop, restart: the facts, then what they concern, then (waited for) the outcome. */
function change({ engine, waiters, emit, now }: ServerContext, request: RequestOf<"start" | "stop" | "restart">, { reply, refuse }: Answer<"start" | "stop" | "restart">, connection: Connection): void {
  const problem = nameProblem(engine, request.names) ?? (request.cmd === "stop" ? null : firstOf(request.names.map((n) => roomProblem(engine, n))));
  if (problem !== null) return refuse(problem);
  if (engine.shuttingDown) return refuse("the server is shutting down");
  if (request.dryRun === true) return reply({ dryRun: true, ...preview(engine, { kind: request.cmd, names: request.names, now: now() }), enablement: [] });
  const named = request.names.flatMap((n) => members(engine.topo, n));
  const widen = request.wait === false ? null : waiters.add({ id: request.id, connection, kind: request.cmd, services: request.cmd === "stop" ? [] : named, since: now(), progress: request.progress !== false });
  // The step names everything the command concerns (what a stop takes down with it,
  // what a restart bounces) before the progress lines of its changes.
  emit({ kind: request.cmd, names: request.names }, (affected) => {
    if (widen === null) return reply({ affected });
    connection.send({ id: request.id, affected });
    widen(affected);
  });
}

/** reload: each service named (bundles expanded) must be up and have a way to reload; then, waited for, how each reload ended. */
function reloadServices({ engine, waiters, emit, now }: ServerContext, request: RequestOf<"reload">, { reply, refuse }: Answer<"reload">, connection: Connection): void {
  const problem = nameProblem(engine, request.names, "refuse");
  if (problem !== null) return refuse(problem);
  if (engine.shuttingDown) return refuse("the server is shutting down");
  const services = [...new Set(request.names.flatMap((n) => members(engine.topo, n)))];
  const refused = services.map((n) => cannotReload(engine, n)).find((why) => why !== null);
  if (refused !== undefined) return refuse(refused);
  if (request.wait !== false) waiters.reload({ id: request.id, connection, services, since: now() });
  emit({ kind: "reload", names: services });
  if (request.wait === false) reply({ reloading: services });
}

/** enable, disable: persisted first; a booted server then starts or lets go of them. With `dryRun`, what would change. */
function enablement(server: ServerContext, request: RequestOf<"enable" | "disable">, { reply, refuse }: Answer<"enable" | "disable">): void {
  const { engine, places, emit, now } = server;
  const problem = nameProblem(engine, request.names) ?? (request.cmd === "enable" && server.booted ? firstOf(request.names.map((n) => roomProblem(engine, n))) : null);
  if (problem !== null) return refuse(problem);
  const next = enablementAfter(server.persistent, request.cmd, request.names);
  const fact = { kind: request.cmd === "enable" ? "start" : "unwant", names: request.names, now: now() } as const;
  if (request.dryRun === true) {
    const [before, after] = [enablementsOf(server), enablements(engine, bootNamesOf(next), next.disabled)];
    const changes = [...new Set(request.names)].map((name) => ({ name, from: before.of(name), to: after.of(name) })).filter((c) => c.from !== c.to);
    return reply({ dryRun: true, ...(server.booted ? preview(engine, fact) : { start: [], stop: [], restart: [] }), enablement: changes });
  }
  server.persistent = next;
  try {
    savePersistent(places.state, server.persistent);
  } catch (e) {
    return refuse(`cannot save ${places.state}: ${(e as Error).message}`);
  }
  if (server.booted) emit({ kind: fact.kind, names: fact.names });
  return reply({ ...server.persistent, booted: server.booted });
}

/** set, unset: the level, persisted when asked (or when it was), then the fact. */
function level(server: ServerContext, request: RequestOf<"set" | "unset">, { reply, refuse }: Answer<"set" | "unset">): void {
  const { places, persistedLevels } = server;
  const value = request.cmd === "set" ? request.value : null;
  // A level is persisted when set with --persist, and stays so until unset or set with --no-persist.
  const persist = request.cmd === "set" && (request.persist ?? persistedLevels.has(request.name));
  const next = new Map(persistedLevels);
  if (persist && value !== null) next.set(request.name, value);
  else next.delete(request.name);
  if (next.size !== persistedLevels.size || (persist && persistedLevels.get(request.name) !== value)) {
    try {
      saveLevels(places.state, next);
    } catch (e) {
      return refuse(`cannot save the level in ${places.state}: ${(e as Error).message}`);
    }
    server.persistedLevels = next;
  }
  server.emit({ kind: "level", name: request.name, value });
  return reply(server.lastOccurrence);
}

/**
 * The logs a `logs` request names, each with the name its lines carry, or why one has
 * none: a service's, a bundle's members' that log to a file, the syslog log; with no
 * name, every service's that logs to a file, and the syslog log when there is one.
 */
function logSources({ engine, supervisor, places, settings }: ServerContext, asked: string[] | null): { logs: { service: string; dir: string }[] } | { problem: string } {
  const onConsole = supervisor.serviceLogs === "console";
  const toFile = (n: string): boolean => engine.defs.get(n)?.log === "file";
  const logOf = (service: string) => ({ service, dir: join(places.log, fileNameOf(service)) });
  const syslogDir = join(places.log, SYSLOG_LOG_DIR);
  const isSyslog = (name: string): boolean => namesSyslogLog(name, (n) => engine.defs.has(n));
  if (asked === null) {
    if (onConsole) return { problem: "every service logs to the console (the keeper's stdout): this server runs with service logs on the console only" };
    const syslog = existsSync(syslogDir) ? [{ service: engine.defs.has("syslog") ? SYSLOG_LOG_DIR : "syslog", dir: syslogDir }] : [];
    return { logs: [...[...engine.defs.keys()].sort().filter(toFile).map(logOf), ...syslog] };
  }
  const unknown = nameProblem(engine, asked.filter((n) => !isSyslog(n)));
  if (unknown !== null) return { problem: unknown };
  const logs = new Map<string, string>();
  for (const name of asked) {
    if (isSyslog(name)) {
      if (settings.run.syslog === "off" && !existsSync(syslogDir)) return { problem: "there is no syslog log: this server does not listen for syslog messages (see 'tend boot --syslog')" };
      if (onConsole) return { problem: "the syslog log goes to the console (the keeper's stdout): this server runs with service logs on the console only" };
      logs.set(name, syslogDir);
      continue;
    }
    // An instance by name not made (yet, or since the server started): its logs are where its last run left them.
    const def = definitionOf(engine, name);
    if (def !== undefined && def.log !== "file") return { problem: `${name} logs to ${def.log === "stdout" ? "the console (the keeper's stdout)" : "nowhere"} ('log = ${def.log}')` };
    if (onConsole) return { problem: `${name} logs to the console (the keeper's stdout): this server runs with service logs on the console only` };
    if (def !== undefined && def.type !== "bundle" && !engine.defs.has(name)) logs.set(name, logOf(name).dir);
    for (const m of members(engine.topo, name).filter(toFile)) logs.set(m, logOf(m).dir);
  }
  return { logs: [...logs].map(([service, dir]) => ({ service, dir })) };
}

/**
 * logs: the lines of a range (the last 20 when no count nor time is given), merged in
 * time order when several logs are asked for; then, when following, every new line of each.
 */
function sendLogs(server: ServerContext, request: RequestOf<"logs">, { reply, refuse }: Answer<"logs">, connection: Connection): void {
  const { followers } = server;
  if (request.name !== undefined && request.names !== undefined) return refuse("give 'name' or 'names', not both");
  if (request.follow === true && request.until !== undefined) return refuse("'until' ends the lines, and 'follow' never does: not both");
  const sources = logSources(server, request.names ?? (request.name === undefined ? null : [request.name]));
  if ("problem" in sources) return refuse(sources.problem);
  const { logs } = sources;
  const timed = request.since !== undefined || request.until !== undefined;
  const read = mergeLogs(logs, { count: request.lines ?? (timed ? undefined : 20), since: request.since, until: request.until });
  if (read.bounded) connection.send({ id: request.id, line: `[tend] older lines left out: at most ${MAX_MERGED_LINES} lines at once (narrow it with --since or -n)` });
  for (const { service, line } of read.lines) connection.send({ id: request.id, line, service });
  if (!request.follow) return reply(null);
  let dropped = 0;
  const stops = logs.map(({ service, dir }, i) =>
    followLog(dir, read.ends[i] ?? null, (line) => {
      // A follower that does not keep up loses lines, and is told how many: never our memory.
      if (connection.backlog() > MAX_STREAM_BACKLOG) return void dropped++;
      if (dropped > 0) connection.send({ id: request.id, line: `[tend] ${dropped} lines dropped (reader too slow)` });
      connection.send({ id: request.id, line, service });
      dropped = 0;
    }),
  );
  const stop = (): void => {
    for (const s of stops) s();
  };
  // Following ends with the server, after the last lines written.
  const end = (): void => {
    stop();
    reply(null);
  };
  followers.add(end);
  connection.onClose(() => {
    stop();
    followers.delete(end);
  });
}

function apply(server: ServerContext, request: RequestOf<"apply">, { reply, refuse }: Answer<"apply">, connection: Connection): void {
  const { engine, places, waiters, now } = server;
  const next = readDatabase(request.from ?? places.state);
  if (!next.ok) return refuse(next.message);
  // The boot's end must stay possible: the `exit-with` service stays a longrun or a task.
  const exitWith = engine.boot?.exitWith ?? null;
  const kept = exitWith === null ? null : checkExitWith(next.database, exitWith);
  if (kept !== null) return refuse(`the server runs with ${kept}: this database cannot be applied`);
  // A staged database has a generation of its own; installed, it would be the next one.
  const plan = applyPlan(engine, next.database, request.from === undefined ? next.database.generation : engine.db.generation + 1);
  if (request.from !== undefined) return reply({ ...plan, applied: false });
  if (next.database.digest === engine.db.digest) {
    return reply({ ...plan, applied: false, note: "the server runs this generation already" });
  }
  if (request.wait !== false) waiters.add({ id: request.id, connection, kind: "apply", services: [...plan.added, ...plan.changed], since: now(), result: plan })([]);
  install(server, next.database);
  if (request.wait === false) reply({ ...plan, applied: true });
}

/** The scheduler follows once the engine switches (the `switched` action). */
function install({ emit }: ServerCore, db: Database): void {
  emit({ kind: "apply", db });
}

/** SIGHUP (to the server, or to the keeper that runs it): the installed database, when it changed, as `tend apply` would. */
export function reload(server: ServerCore, why: string): void {
  const { places, log, engine } = server;
  const next = readDatabase(places.state);
  if (!next.ok) return log(`${why}: not applying: ${next.message}`);
  if (next.database.digest === engine.db.digest) return log(`${why}: the installed database is the one running (generation ${engine.db.generation})`);
  if (engine.shuttingDown) return log(`${why}: not applying: the server is shutting down`);
  log(`${why}: applying the installed database`);
  install(server, next.database);
}

/** What installing `next` into the running server would do. */
export function applyPlan(engine: Engine, next: Database, generation: number): ApplyPlan {
  const { added, removed, changed, bounced } = planApply(engine, next);
  return { generation: { from: engine.db.generation, to: generation }, added, removed, changed, bounced };
}
