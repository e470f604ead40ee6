// The server (`tend daemon`, `tend boot`): owns the engine and the supervisor, turns
// everything that happens into facts, carries out the engine's actions, and answers
// the control sockets. Once it runs, no error may end it: each is reported and the
// rest keeps going.

import type { Server as NetServer, Socket } from "node:net";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { BOOT_BUNDLE, compile } from "../compile/compile.js";
import { installDatabase, loadDatabase, readDatabase, type Database } from "../compile/database.js";
import { staleSources } from "../compile/freshness.js";
import { formatDiagnostic } from "../config/diagnostics.js";
import { parseSignal } from "../config/values.js";
import { bootServices, checkExitWith, readiness, servicesOf } from "../engine/boot.js";
import { createEngine, defOf, isActive, step, type Engine } from "../engine/engine.js";
import { replay, restoreEngine, snapshotOf } from "../engine/snapshot.js";
import { planApply } from "../engine/apply.js";
import { members } from "../engine/topology.js";
import type { Action, Fact, TimedFact } from "../engine/types.js";
import { fileNameOf, PLACE_MODES, type Places } from "../places.js";
import { own } from "../records.js";
import { openSupervisor, type Supervisor } from "../supervisor/supervisor.js";
import { ensureDirectory } from "../system/files.js";
import { describeMove, writablePlaces, type WritablePlaces } from "../system/writable.js";
import { closeInheritedFds } from "../system/processes.js";
import { lookupGroup } from "../supervisor/accounts.js";
import { authorise, type Policy } from "./access.js";
import { listenControl, type Connection } from "./control-socket.js";
import { openDirectory } from "./directory.js";
import { readServerConfig } from "./tend-conf.js";
import { lockRoot } from "./lock.js";
import { loadPersistent, savePersistent, type Persistent } from "./persist.js";
import { CONTROL_SOCKET, STATUS_SOCKET, type ApplyPlan, type Request } from "./protocol.js";
import { serviceStatus } from "./status.js";
import { explain } from "../engine/explain.js";
import { createWaiters } from "./waiters.js";
import { createHistory, historyEntry, HISTORY_CAPACITY, type HistoryEntry } from "./history.js";
import { loadLevels, saveLevels } from "./persist.js";
import { createScheduler } from "./scheduler.js";
import { followLog, tailLog } from "./logs.js";
import { openRuntimeState } from "./runtime-state.js";
import { mergeRunSettings, type GivenSettings, type RunSettings } from "./run-settings.js";

/** A log follower with more than this much unread is sent no more lines until it catches up. */
const MAX_FOLLOW_BACKLOG = 256 * 1024;

export interface ServerOptions {
  places: Places;
  /** Bring up `default` (and what is enabled) at start. */
  boot: boolean;
  /** The run settings the flags gave; tend.conf and the defaults give the rest. With `compile`, the source directory is compiled and installed before it boots (a rejected set: it does not start). */
  settings: GivenSettings;
  /** The server's own log: one line per event worth knowing. */
  log(line: string): void;
  /** Called once the control sockets accept connections. */
  onListening?: () => void;
}



/** Runs until shut down; resolves with the exit status. */
export async function runServer(options: ServerOptions): Promise<number> {
  const { log } = options;
  let writable: WritablePlaces;
  try {
    writable = writablePlaces(options.places);
    for (const place of ["state", "run", "log"] as const) ensureDirectory(writable.places[place], PLACE_MODES[place]);
  } catch (e) {
    log(`cannot start: ${(e as Error).message}`);
    return 1;
  }
  const { places, moved } = writable;
  if (moved.length > 0) log(moved.map(describeMove).join("; "));
  const lock = lockRoot(places.run);
  if (!lock.ok) {
    log(`another tend server (pid ${lock.pid}) is already running for ${places.run}; stop it first ('tend shutdown')`);
    return 1;
  }
  const unlock = lock.release;
  if (options.settings.compile === true && !compileFirst(places, log)) {
    unlock();
    return 1;
  }
  const loaded = loadDatabase(places.state);
  if (!loaded.ok) {
    unlock();
    log(loaded.message);
    return 1;
  }
  /** What went wrong with what the server keeps (a database or a state file it could not read): in `tend status` until it exits. */
  const warnings: string[] = [];
  const warn = (line: string): void => {
    warnings.push(line);
    log(`WARNING: ${line}`);
  };
  if (loaded.warning !== null) warn(loaded.warning);
  const { sources, source, generation } = loaded.database;
  const stale = sources === undefined || options.settings.compile === true ? null : staleSources(source, sources, generation);
  if (stale !== null) warn(stale);
  closeInheritedFds();
  const settings = serverSettings(places, options.settings);
  for (const problem of settings.problems) warn(`${problem} (running with the defaults: no control group)`);
  const { run } = settings;
  const exitWith = run.exitWith === null ? null : checkExitWith(loaded.database, run.exitWith);
  if (exitWith !== null) {
    unlock();
    log(`cannot boot: ${exitWith}`);
    return 2;
  }

  // The engine's clock is ms since the epoch, but monotonic within a server: the times
  // in a snapshot stay meaningful to the server that restores it.
  const now = (): number => performance.timeOrigin + performance.now();
  const installed = loaded.database;
  const runtime = openRuntimeState(places.run, () => ({ snapshot: snapshotOf(engine), timers: supervisor.armed(), booted }), log);
  let engine: Engine = createEngine(loaded.database, now());
  let persistent: Persistent = loadPersistent(places.state, warn);
  /** Facts to step, each with the request to tell what its command concerns (the step's `affected` action). */
  const queue: { fact: TimedFact; told?: (affected: string[]) => void }[] = [];
  let draining = false;
  /** Facts that come while the server starts (the keeper's `terminate`) wait until it serves. */
  let serving = false;
  let booted = false;
  let finished: (end: { code: number; reason: string }) => void = () => {};
  const done = new Promise<{ code: number; reason: string }>((resolve) => (finished = resolve));

  const emit = (fact: Fact, told?: (affected: string[]) => void): void => {
    queue.push({ fact: { ...fact, now: now() } as TimedFact, told });
    if (serving && !draining) drain();
  };
  /**
   * What the keeper reports comes in bursts (500 exits in one read): the facts of one
   * turn are handled together, once the turn is over, so that the journal, the waiters
   * and the acknowledgements are dealt with once for all of them. A request's facts,
   * whose outcome its reply names, go through `emit` and are handled at once.
   */
  let drainQueued = false;
  const post = (fact: Fact): void => {
    queue.push({ fact: { ...fact, now: now() } as TimedFact });
    if (drainQueued) return;
    drainQueued = true;
    queueMicrotask(() => {
      drainQueued = false;
      if (serving && !draining) drain();
    });
  };
  const scheduler = createScheduler({ stateDir: places.state, emit, now: () => Date.now(), log, warn });
  let supervisor: Supervisor;
  /** Whether facts are journaled yet: not before the engine is settled (see `readopt`). */
  let journaling = false;
  const sockets: NetServer[] = [];
  const clients = new Set<Socket>();
  try {
    supervisor = await openSupervisor({
      logDir: places.log,
      runDir: places.run,
      tracking: process.env.TEND_TRACKING === "fallback" ? "fallback" : "auto",
      emit: post,
      report: (service, text) => log(`${service}: ${text}`),
      log,
      terminate: (signal) => {
        log(`the keeper got ${signal}: stopping everything`);
        emit({ kind: "shutdown", reason: `the keeper got ${signal}` });
      },
      hangup: () => reload("the keeper got SIGHUP"),
      lost: (why) => keeperLost(why),
      now,
      console: { serviceLogs: run.serviceLogs, format: run.logFormat, stopGraceMs: run.stopGraceMs },
    });
  } catch (e) {
    unlock();
    log(`cannot start: ${(e as Error).message}`);
    return 1;
  }
  const restored = readopt();
  runtime.checkpoint(true); // the base the journal of this server's facts builds on
  journaling = true;
  const waiters = createWaiters(() => engine);
  const history = createHistory();
  let persistedLevels = loadLevels(places.state, warn);
  /** The history entry of the event or level change just handled (facts are drained at once). */
  let lastOccurrence: HistoryEntry | null = null;
  /** `tend logs -f` clients: each is sent its final reply when the server exits. */
  const followers = new Set<() => void>();

  function drain(): void {
    draining = true;
    try {
      while (queue.length > 0) {
        const { fact, told } = queue.shift()!;
        const defs = engine.defs;
        const booting = engine.boot !== null && engine.boot.completeAt === null;
        const endBefore = engine.end;
        try {
          if (journaling) runtime.record(fact);
          const actions = step(engine, fact);
          if (endBefore === null && engine.end !== null && fact.kind !== "shutdown") log(`${engine.end.reason}: stopping everything (the server will exit with status ${engine.end.code})`);
          if (booting && engine.boot!.completeAt !== null && engine.boot!.services.size > 0) log(`boot complete: all ${engine.boot!.services.size} services of the boot have been up`);
          // Written ahead: what the keeper is asked to do is in the journal first.
          if (actions.some((a) => a.kind === "spawn" || a.kind === "signal")) runtime.flush();
          // An action is carried out even when one before it could not be: each is reported.
          for (const action of actions) {
            try {
              if (action.kind === "affected") told?.(action.services);
              else perform(action, defs);
            } catch (e) {
              log(`internal error carrying out ${action.kind}: ${(e as Error).stack ?? e}`);
            }
          }
        } catch (e) {
          log(`internal error handling ${fact.kind}: ${(e as Error).stack ?? e}`);
        }
      }
      if (journaling) {
        runtime.flush();
        supervisor.acknowledge(); // every exit reported so far is journaled now
        runtime.checkpoint();
      }
      waiters.check();
      if (engine.shuttingDown && engine.topo.names.every((n) => !isActive(engine.services.get(n)!.phase))) finishShutdown();
    } finally {
      draining = false;
    }
  }

  /**
   * A keeper that outlived the previous server still runs its services: rebuild the
   * engine from the state that server saved, and tell it what the keeper's table says
   * about each service (the engine's `adopted` fact reconciles the two). Returns whether
   * a previous server's state was taken over.
   */
  function readopt(): boolean {
    const { procs, exits } = supervisor.table;
    let taken = false;
    const previous = runtime.previous;
    if (previous !== null) {
      const e = restoreEngine(previous.checkpoint.snapshot, installed, now());
      if (typeof e === "string") log(`not taking over the previous server's state: ${e}`);
      else {
        engine = e;
        booted = previous.checkpoint.booted;
        taken = true;
        // Its timers go on where they were: a start timeout keeps its deadline.
        for (const t of replay(engine, previous.facts, previous.checkpoint.timers)) {
          supervisor.perform({ kind: "arm", ...t, ms: Math.max(0, t.due - now()) }, defOf(engine, t.service));
        }
      }
    }
    const procOf = new Map(procs.map((p) => [p.service, p]));
    const exitOf = new Map(exits.map((x) => [x.service, x]));
    const names = new Set([...procOf.keys(), ...exitOf.keys()]);
    for (const [name, s] of engine.services) if (s.pid !== null || s.role !== null) names.add(name);
    let adopted = 0;
    for (const name of names) {
      const live = procOf.get(name) ?? null;
      if (!engine.services.has(name)) {
        // Not in this database (an instance forgotten, a service removed): nobody wants it.
        if (live !== null) log(`${name}: pid ${live.pid} runs under the keeper but is not in the database: killing it`);
        supervisor.signal(name, "SIGKILL");
        continue;
      }
      const last = exitOf.get(name);
      const exit = last !== undefined && last.pid !== live?.pid ? last : null;
      if (live !== null) {
        supervisor.adopt(name, defOf(engine, name), live.pid, live.role);
        adopted++;
      }
      emit({
        kind: "adopted",
        service: name,
        process: live === null ? null : { pid: live.pid, role: live.role, ready: live.ready },
        exit: exit === null ? null : { pid: exit.pid, status: { code: exit.code, signal: exit.signal } },
      });
    }
    if (taken || adopted > 0) log(`took over ${adopted} running process${adopted === 1 ? "" : "es"}${taken ? " and the previous server's state" : " without the previous server's state"}`);
    return taken;
  }

  /** The keeper died: what it ran is killed (see the supervisor), and the server goes, saying so. */
  function keeperLost(why: string): void {
    log(`LOST THE KEEPER: ${why}. Every service it ran was killed; start tend again`);
    for (const server of sockets) server.close();
    for (const client of clients) client.destroy();
    scheduler.close();
    journaling = false;
    runtime.remove();
    // The keeper may be lost while the supervisor is being opened, before it is assigned.
    void ((supervisor as Supervisor | undefined)?.close() ?? Promise.resolve()).then(() => {
      unlock();
      finished({ code: 1, reason: "lost the keeper" });
    });
  }

  /**
   * Carry out one action of a step but `affected`, which answers the request of the
   * step's fact. `defs` are the definitions the step began with: a service an apply
   * removed is found there.
   */
  function perform(action: Exclude<Action, { kind: "affected" }>, defs: Engine["defs"]): void {
    switch (action.kind) {
      case "changed": {
        const line = `${action.phase}${action.reason ? `: ${action.reason}` : ""}`;
        log(`${action.service}: ${line}`);
        const def = engine.defs.get(action.service) ?? defs.get(action.service);
        if (def !== undefined) supervisor.note(action.service, def, line);
        waiters.progress(action.service, action.phase, action.reason);
        return;
      }
      case "occurred": {
        // Every start and stop is a job event: only those that set something off are history.
        const effect = action.started.length + action.stopped.length + action.skipped.length > 0;
        if (action.what.kind === "job" && !effect) return;
        const entry = historyEntry(action, Date.now());
        history.add(entry);
        if (entry.kind === "event" || entry.kind === "level") lastOccurrence = entry;
        return;
      }
      case "delay":
        return scheduler.delay(action.service, action.ms, action.env);
      case "switched":
        // What the supervisor keeps for a service removed or changed belongs to the old definition.
        for (const name of [...action.removed, ...action.changed]) supervisor.forget(name);
        scheduler.load(action.db, new Set(persistent.disabled));
        return log(`database generation ${action.db.generation} applied`);
      default:
        return supervisor.perform(action, defOf(engine, action.service));
    }
  }

  /** The names boot brings up: `default` and what is enabled (the engine leaves out what is disabled). */
  const bootNames = (): string[] => [BOOT_BUNDLE, ...persistent.enabled];

  const unknownNames = (names: string[]): string | null => {
    const unknown = names.filter((n) => members(engine.topo, n).length === 0 && !Object.hasOwn(engine.db.services, n));
    return unknown.length === 0 ? null : `unknown service${unknown.length > 1 ? "s" : ""}: ${unknown.join(", ")}`;
  };

  const policy: Policy = {
    ownerUid: process.getuid?.() ?? 0,
    controlGroup: settings.controlGroup,
    definition: (name) => engine.defs.get(name) ?? (Object.hasOwn(engine.db.services, name) ? engine.db.services[name] : undefined),
    ...openDirectory(),
  };

  function handle(request: Request, connection: Connection): void {
    const reply = (result: unknown): void => void connection.send({ id: request.id, ok: true, result });
    const refuse = (error: string): void => void connection.send({ id: request.id, ok: false, error });
    const denied = authorise(connection.peer, connection.socket === "control", request, policy);
    if (denied !== null) return refuse(denied);
    switch (request.cmd) {
      case "ping":
        return reply({ pid: process.pid, generation: engine.db.generation });
      case "status": {
        const names = request.names ?? engine.topo.names;
        const problem = unknownNames(names);
        if (problem !== null) return refuse(problem);
        const expanded = [...new Set(names.flatMap((n) => members(engine.topo, n)))];
        return reply({
          generation: engine.db.generation,
          shuttingDown: engine.shuttingDown,
          tracking: supervisor.tracking,
          settings: { file: places.config, controlGroup: settings.controlGroup?.name ?? null, ...run, places: { state: places.state, log: places.log, moved } },
          boot: engine.boot === null ? null : { completeAt: engine.boot.completeAt, waiting: [...engine.boot.waiting] },
          end: engine.end,
          warnings,
          services: expanded.map((n) => serviceStatus(engine, n, { statusText: supervisor.statusText(n), nextRun: scheduler.nextRuns().get(n) })),
        });
      }
      case "list":
        return reply(
          Object.values(engine.db.services).map((d) => ({ name: d.name, type: d.type, description: d.description, members: own(engine.topo.bundles, d.name) ?? null })),
        );
      case "why": {
        if (!engine.topo.requires.has(request.name)) return refuse(unknownNames([request.name]) ?? `'${request.name}' is a bundle: ask about its members`);
        return reply(explain(engine, request.name));
      }
      case "start":
      case "stop":
      case "restart": {
        const problem = unknownNames(request.names);
        if (problem !== null) return refuse(problem);
        if (engine.shuttingDown) return refuse("the server is shutting down");
        const named = request.names.flatMap((n) => members(engine.topo, n));
        const widen = request.wait === false ? null : waiters.add({ id: request.id, connection, kind: request.cmd, services: request.cmd === "stop" ? [] : named, since: now(), progress: request.progress !== false });
        // The step names everything the command concerns (what a stop takes down with it,
        // what a restart bounces) before the progress lines of its changes.
        emit({ kind: request.cmd, names: request.names }, (affected) => {
          if (widen === null) return reply({ affected });
          connection.send({ id: request.id, affected });
          widen(affected);
        });
        return;
      }
      case "enable":
      case "disable": {
        const problem = unknownNames(request.names);
        if (problem !== null) return refuse(problem);
        const names = new Set(request.names);
        const enabled = persistent.enabled.filter((n) => !names.has(n));
        const disabled = persistent.disabled.filter((n) => !names.has(n));
        if (request.cmd === "enable") enabled.push(...names);
        else disabled.push(...names);
        persistent = { enabled, disabled };
        try {
          savePersistent(places.state, persistent);
        } catch (e) {
          return refuse(`cannot save ${places.state}: ${(e as Error).message}`);
        }
        if (booted) emit(request.cmd === "enable" ? { kind: "start", names: request.names } : { kind: "unwant", names: request.names });
        return reply({ ...persistent, booted });
      }
      case "signal": {
        const signal = parseSignal(request.signal);
        if (!signal.ok) return refuse(signal.message);
        const s = engine.services.get(request.name);
        if (s === undefined) return refuse(unknownNames([request.name]) ?? `'${request.name}' is a bundle`);
        if (s.pid === null) return refuse(`${request.name} has no running process (it is ${s.phase})`);
        emit({ kind: "signal", service: request.name, signal: signal.value });
        return reply({ pid: s.pid, signal: signal.value });
      }
      case "logs":
        return sendLogs(request, connection);
      case "apply":
        return apply(request, connection);
      case "emit":
        emit({ kind: "event", name: request.name, values: request.values });
        return reply(lastOccurrence);
      case "set":
      case "unset": {
        const value = request.cmd === "set" ? request.value : null;
        // A level is persisted when set with --persist, and stays so until unset or set with --no-persist.
        const persist = request.cmd === "set" && (request.persist ?? persistedLevels.has(request.name));
        const next = new Map(persistedLevels);
        if (persist) next.set(request.name, value!);
        else next.delete(request.name);
        if (next.size !== persistedLevels.size || (persist && persistedLevels.get(request.name) !== value)) {
          try {
            saveLevels(places.state, next);
          } catch (e) {
            return refuse(`cannot save the level in ${places.state}: ${(e as Error).message}`);
          }
          persistedLevels = next;
        }
        emit({ kind: "level", name: request.name, value });
        return reply(lastOccurrence);
      }
      case "events":
        return reply(history.recent(Math.max(1, Math.min(request.count ?? 50, HISTORY_CAPACITY))));
      case "levels":
        return reply(Object.fromEntries([...engine.levels].map(([name, value]) => [name, { value, persisted: persistedLevels.has(name) }])));
      case "shutdown":
        waiters.add({ id: request.id, connection, kind: "shutdown", services: engine.topo.names, since: now() })([]);
        emit({ kind: "shutdown", reason: "tend shutdown" });
        return;
      case "ready": {
        const problem = request.names === undefined ? null : unknownNames(request.names);
        if (problem !== null) return refuse(problem);
        // Asked again at each check: an apply may change what the names stand for.
        const query = () =>
          readiness(engine, request.names === undefined ? bootServices(engine, bootNames(), engine.boot?.exitWith ?? null) : servicesOf(engine, request.names));
        if (request.waitMs === undefined) return reply(query());
        waiters.ready({ id: request.id, connection, query, ms: request.waitMs });
        return waiters.check();
      }
    }
  }

  function sendLogs(request: Extract<Request, { cmd: "logs" }>, connection: Connection): void {
    const def = engine.defs.get(request.name);
    if (def === undefined || def.type === "bundle") return void connection.send({ id: request.id, ok: false, error: unknownNames([request.name]) ?? `'${request.name}' is a bundle` });
    if (def.log !== "file") return void connection.send({ id: request.id, ok: false, error: `${request.name} logs to ${def.log === "stdout" ? "the console (the keeper's stdout)" : "nowhere"} ('log = ${def.log}')` });
    if (supervisor.serviceLogs === "console") return void connection.send({ id: request.id, ok: false, error: `${request.name} logs to the console (the keeper's stdout): this server runs with service logs on the console only` });
    const dir = join(places.log, fileNameOf(request.name));
    const tail = tailLog(dir, request.lines ?? 20);
    for (const line of tail.lines) connection.send({ id: request.id, line });
    if (!request.follow) return void connection.send({ id: request.id, ok: true, result: null });
    let dropped = 0;
    const stop = followLog(dir, tail.end, (line) => {
      // A follower that does not keep up loses lines, and is told how many: never our memory.
      if (connection.backlog() > MAX_FOLLOW_BACKLOG) return void dropped++;
      connection.send({ id: request.id, line: dropped > 0 ? `[tend] ${dropped} lines dropped (reader too slow)\n${line}` : line });
      dropped = 0;
    });
    // Following ends with the server, after the last lines written.
    const end = (): void => {
      stop();
      connection.send({ id: request.id, ok: true, result: null });
    };
    followers.add(end);
    connection.onClose(() => {
      stop();
      followers.delete(end);
    });
  }

  function apply(request: Extract<Request, { cmd: "apply" }>, connection: Connection): void {
    const next = readDatabase(request.from ?? places.state);
    if (!next.ok) return void connection.send({ id: request.id, ok: false, error: next.message });
    // The boot's end must stay possible: the `exit-with` service stays a longrun or a task.
    const exitWith = engine.boot?.exitWith ?? null;
    const kept = exitWith === null ? null : checkExitWith(next.database, exitWith);
    if (kept !== null) return void connection.send({ id: request.id, ok: false, error: `the server runs with ${kept}: this database cannot be applied` });
    // A staged database has a generation of its own; installed, it would be the next one.
    const plan = applyPlan(engine, next.database, request.from === undefined ? next.database.generation : engine.db.generation + 1);
    if (request.from !== undefined) return void connection.send({ id: request.id, ok: true, result: { ...plan, applied: false } });
    if (next.database.digest === engine.db.digest) {
      return void connection.send({ id: request.id, ok: true, result: { ...plan, applied: false, note: "the server runs this generation already" } });
    }
    if (request.wait !== false) waiters.add({ id: request.id, connection, kind: "apply", services: [...plan.added, ...plan.changed], since: now(), result: plan })([]);
    install(next.database);
    if (request.wait === false) connection.send({ id: request.id, ok: true, result: { ...plan, applied: true } });
  }


  /** The scheduler follows once the engine switches (the `switched` action). */
  function install(db: Database): void {
    emit({ kind: "apply", db });
  }

  /** SIGHUP (to the server, or to the keeper that runs it): the installed database, when it changed, as `tend apply` would. */
  function reload(why: string): void {
    const next = readDatabase(places.state);
    if (!next.ok) return log(`${why}: not applying: ${next.message}`);
    if (next.database.digest === engine.db.digest) return log(`${why}: the installed database is the one running (generation ${engine.db.generation})`);
    if (engine.shuttingDown) return log(`${why}: not applying: the server is shutting down`);
    log(`${why}: applying the installed database`);
    install(next.database);
  }

  let finishing = false;
  function finishShutdown(): void {
    if (!engine.shuttingDown || finishing) return;
    finishing = true;
    waiters.check();
    for (const server of sockets) server.close();
    scheduler.close();
    journaling = false;
    runtime.remove(); // a clean end: nothing for a next server to take over
    // Once the keeper is gone, every line it had to write is in the logs: followers get them all.
    void supervisor.close().then(() => {
      for (const end of followers) end();
      // Clients still connected get what was sent, then the end: nothing keeps the server alive.
      for (const client of clients) {
        client.end();
        setTimeout(() => client.destroy(), 1000).unref();
      }
      unlock();
      finished(engine.end ?? { code: 0, reason: "shut down" });
    });
  }

  try {
    // The control group's members reach control.sock by its mode; every request is still checked by its peer.
    const group = settings.controlGroup?.gid ?? null;
    sockets.push(await listenControl({ path: join(places.run, CONTROL_SOCKET), mode: group === null ? 0o600 : 0o660, gid: group, name: "control", handle, log }));
    sockets.push(await listenControl({ path: join(places.run, STATUS_SOCKET), mode: 0o666, gid: null, name: "status", handle, log }));
    for (const server of sockets) {
      server.on("connection", (client: Socket) => {
        clients.add(client);
        client.once("close", () => clients.delete(client));
      });
    }
  } catch (e) {
    log(`cannot listen on ${places.run}: ${(e as Error).message}`);
    for (const server of sockets) server.close();
    await supervisor.close();
    unlock();
    return 1;
  }
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      log(`${signal}: stopping everything`);
      emit({ kind: "shutdown", reason: signal });
    });
  }
  process.on("SIGHUP", () => reload("SIGHUP"));
  serving = true;
  drain();
  // A server that took over keeps the levels it found; a new one starts from the persisted ones.
  if (!restored) for (const [name, value] of persistedLevels) emit({ kind: "level", name, value });
  scheduler.load(engine.db, new Set(persistent.disabled));
  options.onListening?.();
  log(`tend server ${process.pid}: database generation ${engine.db.generation} (${engine.topo.names.length} services), sockets in ${places.run}`);
  // A server that took over keeps the policy of the boot it found (the snapshot has it).
  if (!restored) {
    booted = options.boot;
    if (booted && persistent.disabled.length > 0) emit({ kind: "unwant", names: persistent.disabled });
    emit({ kind: "boot", names: booted ? bootNames() : [], policy: { exitWith: run.exitWith, onBootFailure: run.onBootFailure } });
  }
  const end = await done;
  log(`all services are down; exiting with status ${end.code}: ${end.reason}`);
  return end.code;
}

/**
 * `--compile`: the source directory compiled as `tend compile` does (strict modes as
 * root), every diagnostic logged, the result installed. False when it is rejected or
 * cannot be installed: the server does not boot a database its sources no longer make.
 */
function compileFirst(places: Places, log: (line: string) => void): boolean {
  const result = compile({ sourceDir: places.sources, hostChecks: true });
  for (const d of result.diagnostics) log(formatDiagnostic(d));
  const errors = result.diagnostics.filter((d) => d.severity === "error").length;
  if (result.compiled === null) {
    log(`cannot start: ${places.sources} is rejected (${errors} error${errors === 1 ? "" : "s"}); the installed database is unchanged`);
    return false;
  }
  try {
    const installed = installDatabase(places.state, result.compiled);
    const { generation } = installed.database;
    log(`compiled ${places.sources}: ${installed.changed ? `installed generation ${generation}` : `generation ${generation} is this configuration already`}`);
    return true;
  } catch (e) {
    log(`cannot start: cannot install the database in ${places.state}: ${(e as Error).message}`);
    return false;
  }
}

interface Settings {
  controlGroup: { name: string; gid: number } | null;
  /** The flags over tend.conf over the defaults. */
  run: RunSettings;
  /** What was wrong with tend.conf (then it is not used): `tend status` repeats it. */
  problems: string[];
}

/** tend.conf, its control group resolved, under the flags; a problem is logged and leaves the safe defaults (no group). */
function serverSettings(places: Places, flags: GivenSettings): Settings {
  const { config, problems } = readServerConfig(places.config, process.getuid?.() ?? 0);
  let controlGroup: Settings["controlGroup"] = null;
  if (config.controlGroup !== null) {
    const gid = lookupGroup(config.controlGroup);
    if (gid === null) problems.push(`${places.config}: error: control-group '${config.controlGroup}': no such group on this machine; ignored`);
    else controlGroup = { name: config.controlGroup, gid };
  }
  // A file with an error is not used at all: its run settings neither.
  return { controlGroup, run: mergeRunSettings(flags, problems.length === 0 ? config.run : {}), problems };
}

export type { ApplyPlan };

/** What installing `next` into the running server would do. */
export function applyPlan(engine: Engine, next: Database, generation: number): ApplyPlan {
  const { added, removed, changed, bounced } = planApply(engine, next);
  return { generation: { from: engine.db.generation, to: generation }, added, removed, changed, bounced };
}
