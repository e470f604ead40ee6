// The server (`tend daemon`, `tend boot`), its start-up: the places, the lock, the
// database, the settings, the keeper, taking over from a previous server, the sockets
// and the signals, and the end. It builds the context the loop (loop.ts) and the
// request handlers (handlers.ts) share. Once it runs, no error may end it: each is
// reported and the rest keeps going.

import type { Server as NetServer, Socket } from "node:net";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { compile } from "../compile/compile.js";
import { installDatabase, loadDatabase, type Database } from "../compile/database.js";
import { staleSources } from "../compile/freshness.js";
import { formatDiagnostic } from "../config/diagnostics.js";
import { checkExitWith } from "../engine/boot.js";
import { createEngine, defOf } from "../engine/engine.js";
import { replay, restoreEngine, snapshotOf } from "../engine/snapshot.js";
import { isBeside } from "../engine/types.js";
import { PLACE_MODES, type Places } from "../places.js";
import { lookupGroup } from "../supervisor/accounts.js";
import { defaultEnvironment } from "../supervisor/default-environment.js";
import { openSupervisor, type Supervisor } from "../supervisor/supervisor.js";
import { ensureDirectory } from "../system/files.js";
import { bootedAt, closeInheritedFds } from "../system/processes.js";
import { describeMove, writablePlaces, type WritablePlaces } from "../system/writable.js";
import { bootNames, type ServerContext, type ServerCore, type Settings } from "./context.js";
import { listenControl } from "./control-socket.js";
import { createHandler, reload, tableOf } from "./handlers.js";
import { createHistory } from "./history.js";
import { lockRoot } from "./lock.js";
import { createLoop } from "./loop.js";
import { loadLevels, loadPersistent } from "./persist.js";
import { CONTROL_SOCKET, STATUS_SOCKET } from "./protocol.js";
import { mergeRunSettings, syslogSocket, type GivenSettings } from "./run-settings.js";
import { openRuntimeState, type RuntimeState } from "./runtime-state.js";
import { createScheduler } from "./scheduler.js";
import { keepStatusFile } from "./status-file.js";
import { readServerConfig } from "./tend-conf.js";
import { createMonitors } from "./monitors.js";
import { openTimings } from "./timings.js";
import { createWaiters } from "./waiters.js";

export { applyPlan } from "./handlers.js";
export type { ApplyPlan } from "./protocol.js";

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
  const environment = defaultEnvironment(places.environment, process.getuid?.() ?? 0, (line) => log(`WARNING: ${line}`));
  environment.current(); // its problems are known (logged, in `tend status`) before any start
  const exitWith = run.exitWith === null ? null : checkExitWith(loaded.database, run.exitWith);
  if (exitWith !== null) {
    unlock();
    log(`cannot boot: ${exitWith}`);
    return 2;
  }

  // The engine's clock is ms since the epoch, but monotonic within a server: the times
  // in a snapshot stay meaningful to the server that restores it.
  const now = (): number => performance.timeOrigin + performance.now();
  const runtime = openRuntimeState(places.run, () => ({ snapshot: snapshotOf(core.engine), timers: supervisor.armed(), booted: core.booted }), log);
  let finished: (end: { code: number; reason: string }) => void = () => {};
  const done = new Promise<{ code: number; reason: string }>((resolve) => (finished = resolve));
  const timings = openTimings(places.state, warn, log, now);
  const loop = createLoop({ now, log, runtime, timings, finishShutdown });
  const core: ServerCore = {
    places,
    moved,
    settings,
    environment,
    warnings,
    log,
    now,
    engine: createEngine(loaded.database, now()),
    persistent: loadPersistent(places.state, warn),
    booted: false,
    scheduler: createScheduler({ stateDir: places.state, emit: loop.emit, now: () => Date.now(), bootedAt: () => bootedAt(Date.now()), log, warn }),
    timings,
    statusFile: keepStatusFile(places.run, log),
    emit: loop.emit,
  };
  let supervisor: Supervisor;
  const sockets: NetServer[] = [];
  const clients = new Set<Socket>();
  try {
    supervisor = await openSupervisor({
      logDir: places.log,
      runDir: places.run,
      directories: places.directories,
      defaults: () => environment.current(),
      tracking: process.env.TEND_TRACKING === "fallback" ? "fallback" : "auto",
      emit: loop.post,
      report: (service, text) => log(`${service}: ${text}`),
      shown: () => core.statusFile.changed(),
      log,
      warn,
      syslog: syslogSocket(run.syslog, places),
      terminate: (signal) => {
        log(`the keeper got ${signal}: stopping everything`);
        loop.emit({ kind: "shutdown", reason: `the keeper got ${signal}` });
      },
      hangup: () => reload(core, "the keeper got SIGHUP"),
      lost: (why) => keeperLost(why),
      now,
      console: { serviceLogs: run.serviceLogs, format: run.logFormat, stopGraceMs: run.stopGraceMs },
    });
  } catch (e) {
    unlock();
    log(`cannot start: ${(e as Error).message}`);
    return 1;
  }
  // Open from boot, whether the service runs yet or not (a keeper that outlived a server keeps them as they are).
  supervisor.listen(Object.values(loaded.database.services));
  const restored = readopt(core, supervisor, runtime, loaded.database);
  runtime.checkpoint(true); // the base the journal of this server's facts builds on
  loop.journaling = true;
  const server: ServerContext = Object.assign(core, {
    supervisor,
    waiters: createWaiters(() => core.engine),
    history: createHistory(),
    monitors: createMonitors(() => core.engine),
    persistedLevels: loadLevels(places.state, warn),
    lastOccurrence: null,
    followers: new Set<() => void>(),
  });

  /** The keeper died: what it ran is killed (see the supervisor), and the server goes, saying so. */
  function keeperLost(why: string): void {
    log(`LOST THE KEEPER: ${why}. Every service it ran was killed; start tend again`);
    for (const listener of sockets) listener.close();
    for (const client of clients) client.destroy();
    core.scheduler.close();
    core.statusFile.close();
    loop.journaling = false;
    runtime.remove();
    timings.save();
    // The keeper may be lost while the supervisor is being opened, before it is assigned.
    void ((supervisor as Supervisor | undefined)?.close() ?? Promise.resolve()).then(() => {
      unlock();
      finished({ code: 1, reason: "lost the keeper" });
    });
  }

  let finishing = false;
  function finishShutdown(): void {
    const { engine, waiters, scheduler, followers } = server;
    if (!engine.shuttingDown || finishing) return;
    finishing = true;
    waiters.check();
    for (const listener of sockets) listener.close();
    scheduler.close();
    server.statusFile.close();
    loop.journaling = false;
    runtime.remove(); // a clean end: nothing for a next server to take over
    timings.save();
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

  const handle = createHandler(server);
  try {
    // The control group's members reach control.sock by its mode; every request is still checked by its peer.
    const group = settings.controlGroup?.gid ?? null;
    sockets.push(await listenControl({ path: join(places.run, CONTROL_SOCKET), mode: group === null ? 0o600 : 0o660, gid: group, name: "control", handle, log }));
    sockets.push(await listenControl({ path: join(places.run, STATUS_SOCKET), mode: 0o666, gid: null, name: "status", handle, log }));
    for (const listener of sockets) {
      listener.on("connection", (client: Socket) => {
        clients.add(client);
        client.once("close", () => clients.delete(client));
      });
    }
  } catch (e) {
    log(`cannot listen on ${places.run}: ${(e as Error).message}`);
    for (const listener of sockets) listener.close();
    core.statusFile.close();
    await supervisor.close();
    unlock();
    return 1;
  }
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      log(`${signal}: stopping everything`);
      server.emit({ kind: "shutdown", reason: signal });
    });
  }
  process.on("SIGHUP", () => reload(server, "SIGHUP"));
  loop.serve(server);
  server.statusFile.serve(() => tableOf(server));
  // A server that took over keeps the levels it found; a new one starts from the persisted ones.
  if (!restored) for (const [name, value] of server.persistedLevels) server.emit({ kind: "level", name, value });
  server.scheduler.load(server.engine.db, new Set(server.persistent.disabled));
  options.onListening?.();
  log(`tend server ${process.pid}: database generation ${server.engine.db.generation} (${server.engine.topo.names.length} services), sockets in ${places.run}`);
  // A server that took over keeps the policy of the boot it found (the snapshot has it).
  if (!restored) {
    server.booted = options.boot;
    if (server.booted && server.persistent.disabled.length > 0) server.emit({ kind: "unwant", names: server.persistent.disabled });
    server.emit({ kind: "boot", names: server.booted ? bootNames(server) : [], policy: { exitWith: run.exitWith, onBootFailure: run.onBootFailure } });
  }
  const end = await done;
  log(`all services are down; exiting with status ${end.code}: ${end.reason}`);
  return end.code;
}

/**
 * A keeper that outlived the previous server still runs its services: rebuild the
 * engine from the state that server saved, and tell it what the keeper's table says
 * about each service (the engine's `adopted` fact reconciles the two). Returns whether
 * a previous server's state was taken over.
 */
function readopt(server: ServerCore, supervisor: Supervisor, runtime: RuntimeState, installed: Database): boolean {
  const { log, now, emit } = server;
  const { procs, exits } = supervisor.table;
  let taken = false;
  const previous = runtime.previous;
  if (previous !== null) {
    const e = restoreEngine(previous.checkpoint.snapshot, installed, now());
    if (typeof e === "string") log(`not taking over the previous server's state: ${e}`);
    else {
      server.engine = e;
      server.booted = previous.checkpoint.booted;
      taken = true;
      // Its timers go on where they were: a start timeout keeps its deadline.
      for (const t of replay(e, previous.facts, previous.checkpoint.timers)) {
        supervisor.perform({ kind: "arm", ...t, ms: Math.max(0, t.due - now()) }, defOf(e, t.service));
      }
    }
  }
  const { engine } = server;
  // The keeper's command beside a service (`role=reload`) is its reload or its stop command: the engine knows which.
  const procOf = new Map(procs.flatMap((p) => (isBeside(p.role) ? [] : [[p.service, { ...p, role: p.role }] as const])));
  const reloadOf = new Map(procs.flatMap((p) => (isBeside(p.role) ? [[p.service, p.pid] as const] : [])));
  const exitOf = new Map(exits.map((x) => [x.service, x]));
  const names = new Set([...procOf.keys(), ...exitOf.keys(), ...reloadOf.keys()]);
  for (const [name, s] of engine.services) if (s.pid !== null || s.role !== null || s.findingMain) names.add(name);
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
    const reload = reloadOf.get(name);
    if (reload !== undefined) supervisor.adoptReload(name, reload);
    emit({
      kind: "adopted",
      service: name,
      process: live === null ? null : { pid: live.pid, role: live.role, ready: live.ready },
      exit: exit === null ? null : { pid: exit.pid, status: { code: exit.code, signal: exit.signal } },
      ...(reload === undefined ? {} : { reload }),
    });
  }
  if (taken || adopted > 0) log(`took over ${adopted} running process${adopted === 1 ? "" : "es"}${taken ? " and the previous server's state" : " without the previous server's state"}`);
  return taken;
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
