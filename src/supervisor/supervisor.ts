// The supervisor carries out the engine's actions on the real machine. The keeper (a
// small native program, docs/keeper-protocol.md) is the parent of every service: the
// supervisor tells it what to spawn — exactly the environment, credentials, limits and
// fds the service file asks for — and what to signal, and turns what it reports back
// into facts through `emit`. Timers and the tcp/unix/exec readiness probes run here.
// It is the only module that talks to the keeper.

import { readdirSync, rmdirSync, writeFileSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";
import { expandArgv } from "../config/argv.js";
import { keeperSocket } from "../config/listen.js";
import { DEFAULT_CWD, type ServiceDef } from "../config/service.js";
import { type Action, type Fact, isBeside, type Role, type SignalTarget, type SpawnRole } from "../engine/types.js";
import { openKeeper, KEEPER_SOCKET, type Exited, type Keeper, type Proc } from "../keeper/keeper.js";
import { EncodeError, type KeeperMessage, type ServerMessage } from "../keeper/protocol.js";
import type { ArmedTimer } from "../engine/snapshot.js";
import { PLACE_MODES, SYSLOG_LOG_DIR } from "../places.js";
import { ensureDirectory } from "../system/files.js";
import { directoryEnvironment, makeDirectories, removeRuntimeDirectories, type DirectoryBases } from "../system/service-directories.js";
import { after, type Timer } from "../system/timers.js";
import { currentAccount, lookupGroup, lookupUser } from "./accounts.js";
import { serviceEnvironment } from "./environment.js";
import { credentialsFor, fileLog, logSettings, spawnMessage, type Switch } from "./spawn-message.js";
import { removePidFile, watchPidFile } from "./pid-file.js";
import { watchTreeMain } from "./tree-main.js";
import { watchListener } from "./readiness/listener.js";
import { watchProbe } from "./readiness/poll.js";
import type { Watch } from "./readiness/watch.js";

export interface SupervisorOptions {
  /** Where per-service log directories go. */
  logDir: string;
  /** The run directory: the keeper's socket, per-service notify sockets. */
  runDir: string;
  /** Where services' own directories go (`runtime-directory` & co.). */
  directories: DirectoryBases;
  /** tend.env's variables as they are now: every service starts from them. */
  defaults(): Readonly<Record<string, string>>;
  /** `fallback`: a keeper started now does not use cgroups. */
  tracking: "auto" | "fallback";
  /** The engine's clock (ms since the epoch), for the deadlines of armed timers. */
  now(): number;
  emit(fact: Fact): void;
  /** Lines from tend about services, for the server's own output. */
  report(service: string, text: string): void;
  /** What `tend status` shows of a service changed outside the engine: its STATUS=, why its readiness is held back. */
  shown(): void;
  /** The server's own log. */
  log(line: string): void;
  /** Something the admin should see in `tend status` too. */
  warn(line: string): void;
  /** Where the keeper listens for syslog(3) messages (`tend boot --syslog`), or null: nowhere. */
  syslog: string | null;
  /** The keeper was sent SIGTERM or SIGINT: the server should shut down. */
  terminate(signal: string): void;
  /** The keeper was sent SIGHUP: the server should load the installed database. */
  hangup(): void;
  /** The keeper died; what it ran has been killed. */
  lost(why: string): void;
  console: ConsoleSettings;
}

/** The keeper's console (its stdout: the container's when it is PID 1), and how a stop by signal ends. */
export interface ConsoleSettings {
  /**
   * Where the lines of `log = file` services go: their files, the console instead, or
   * both; `auto` is both when the keeper is PID 1 (a container: `docker logs` and
   * `tend logs` both work), else files.
   */
  serviceLogs: "auto" | "files" | "console" | "both";
  format: "text" | "json";
  /** From the SIGTERM the keeper gets to SIGKILL for what still runs. */
  stopGraceMs: number;
}

export interface Supervisor {
  /** How the keeper tracks process trees, for `tend status`. */
  tracking: Tracking;
  /** Where the lines of `log = file` services go (`auto` resolved). */
  serviceLogs: "files" | "console" | "both";
  /** What the keeper ran when this server connected: processes, and exits no server acknowledged. */
  table: { procs: Proc[]; exits: Exited[] };
  /** Carry out a spawn, signal, kill, arm or find-main action for the service `def` describes. */
  perform(action: Extract<Action, { kind: "spawn" | "signal" | "kill" | "arm" | "find-main" }>, def: ServiceDef): void;
  /**
   * A process of the table, now the engine's again (see the engine's `adopted` fact):
   * watched as a spawn of this server would be, its readiness probe run again (the
   * engine takes a `ready` only while the service is starting).
   */
  adopt(service: string, def: ServiceDef, pid: number, role: Role): void;
  /** A reload command of the table, now the engine's again. */
  adoptReload(service: string, pid: number): void;
  /** The timers armed now, for the state a next server restores. */
  armed(): ArmedTimer[];
  /** Tell the keeper that the exits reported so far are handled and journaled: it may forget them. */
  acknowledge(): void;
  /** A line from tend about the service (starting, up, exited …) for its log. */
  note(service: string, def: ServiceDef, text: string): void;
  /** Send a signal (`SIGHUP`) to the service's process group (as `to` says). */
  signal(service: string, signal: string, to?: SignalTarget): void;
  /** The last STATUS= an sd_notify service sent. */
  statusText(service: string): string | undefined;
  /** The service is down (or failed) and stays so for now: what lives only while it runs goes (its runtime directories). */
  stopped(service: string, def: ServiceDef): void;
  /** Why a starting service is not ready yet, where tend knows: its tcp/unix listener is another process's. */
  notReadyBecause(service: string): string | undefined;
  /**
   * The service was removed, or changed into `next`: what the keeper keeps for it (log, notify
   * socket, cgroup) goes, and its sockets unless `next` has some (`listen` then keeps those of
   * both sets, with what waits in their backlogs).
   */
  forget(service: string, next?: ServiceDef): void;
  /** Has the keeper open (or keep, those it holds already) the listening sockets of each service that has `listen`: from boot, or from an apply, on. */
  listen(defs: Iterable<ServiceDef>): void;
  /**
   * The processes of the service's tree now, as the keeper tracks it (its cgroup, or by
   * session, group, descent and marker): its main process first. None once the keeper
   * is gone.
   */
  processesOf(service: string): Promise<ProcessList>;
  /** Stops timers and probes, and the keeper; resolves once the keeper is gone (or given up on). */
  close(): Promise<void>;
}

/** Up to MAX_PROCS_LISTED pids of a tree (the keeper's frame is bounded); `total` counts them all. */
export interface ProcessList {
  pids: number[];
  total: number;
}

/** A process asked for and not yet reported ended. */
interface Running {
  /** null until the keeper reports the spawn. */
  pid: number | null;
  /** A longrun's main: what it said with STATUS= ends with it. */
  main: boolean;
  /** The tcp/unix/exec probe to start once the process runs. */
  probe: ((ready: () => void) => Watch) | null;
  watch: Watch | null;
  /** A forking daemon's main: its pid file, removed once it ends. */
  pidFile: string | null;
}

/** A forking daemon's pid file being watched, once its launcher exited. */
interface Finding {
  /** The pid file read; null: the tree is looked at (tree-main.ts). */
  path: string | null;
  def: ServiceDef;
  watch: Watch;
  /** The pid the keeper was asked to take, its answer awaited. */
  asked: number | null;
}

const SIGNALS = constants.signals as Record<string, number>;
/** The syslog log rotates as a service's does by default. */
const SYSLOG_LOG_BYTES = 1024 * 1024;
const SYSLOG_LOG_KEEP = 5;
/** How long the keeper may take to exit once every service is down. */
const KEEPER_EXIT_MS = 5_000;

/** Connects to the keeper (starting one if none runs); throws with a message for the server's log. */
export async function openSupervisor(options: SupervisorOptions): Promise<Supervisor> {
  // The keeper makes each service's log directory and notify socket; their parents are ours.
  // Both are walked by services that run as other users: to their own log directory and notify socket.
  ensureDirectory(options.logDir, PLACE_MODES.log);
  ensureDirectory(join(options.runDir, "notify"), 0o755);
  // The keeper may be lost before the supervisor exists: then there is nothing of ours to kill.
  let supervisor: ReturnType<typeof createSupervisor> | null = null;
  const lost = (why: string): void => {
    supervisor?.killOrphans();
    options.lost(why);
  };
  const { format, stopGraceMs } = options.console;
  const settings = { type: "settings", stopGraceMs, console: format } as const;
  const keeper = await openKeeper({ socket: join(options.runDir, KEEPER_SOCKET), tracking: options.tracking, settings, log: options.log, lost });
  options.log(
    `keeper ${keeper.pid} (${keeper.reached === "started" ? "started" : keeper.reached === "found" ? "already running" : "running this server"}): ${keeper.tracking === "cgroup" ? `one cgroup per service under ${keeper.cgroup}` : "no cgroups: process groups and sessions"}`,
  );
  supervisor = createSupervisor(keeper, options);
  keeper.onMessage(supervisor.receive);
  supervisor.listenSyslog();
  return supervisor;
}

export interface Tracking {
  kind: "cgroup" | "fallback";
  /** The keeper's cgroup, with cgroups. */
  cgroup: string | null;
}

/** Does the keeper hold sockets for the service from its database's install on (`listen`)? A template never runs itself. */
function holdsSockets(def: ServiceDef): boolean {
  return def.listen.length > 0 && def.type === "longrun" && !def.name.endsWith("@");
}

function createSupervisor(keeper: Keeper, options: SupervisorOptions): Supervisor & { receive(message: KeeperMessage): void; killOrphans(): void; listenSyslog(): void } {
  const running = new Map<string, Running>();
  /** Commands beside (reload or stop) asked for and not yet reported ended, with their pid once reported. */
  const reloads = new Map<string, number | null>();
  const timers = new Map<string, { timer: Timer; armed: ArmedTimer }>();
  const statusTexts = new Map<string, string>();
  /** Why a service's readiness waits, said by its probe (a listener that is another process's). */
  const heldBack = new Map<string, string>();
  const finding = new Map<string, Finding>();
  /** When each forking daemon's launcher was last spawned: a pid file older than that is stale. */
  const launched = new Map<string, number>();
  /** Services the keeper was told about since they were last forgotten. */
  const known = new Set<string>([...keeper.procs, ...keeper.exits].map((m) => m.service));
  /** Who waits for a `procs` answer, by service, in the order they asked: the keeper answers in that order. */
  const askedProcs = new Map<string, ((list: ProcessList) => void)[]>();
  const answerAllProcs = (): void => {
    for (const waiting of askedProcs.values()) for (const answer of waiting) answer({ pids: [], total: 0 });
    askedProcs.clear();
  };
  /** Exits handled, to acknowledge once the server's state covering them is saved. */
  const handled: number[] = keeper.exits.map((e) => e.seq);
  const self = currentAccount();

  const fail = (service: string, error: string, role: SpawnRole = "main"): void => {
    if (isBeside(role)) {
      options.report(service, `cannot start its ${role} command: ${error}`);
      return options.emit({ kind: "reload-spawn-failed", service, error });
    }
    options.report(service, error);
    options.emit({ kind: "spawn-failed", service, error });
  };
  /** A message about `service` that may not fit a frame (a NUL in an instance's name): reported, not thrown. */
  const send = (service: string, message: ServerMessage): void => {
    try {
      keeper.send(message);
    } catch (e) {
      if (!(e instanceof EncodeError)) throw e;
      options.report(service, `cannot tell the keeper (${message.type}): ${e.message}`);
    }
  };

  const serviceLogs = options.console.serviceLogs === "auto" ? (keeper.pid === 1 ? "both" : "files") : options.console.serviceLogs;
  const places = { runDir: options.runDir, logDir: options.logDir, serviceLogs, self, directories: options.directories, defaults: options.defaults };

  /** Why the keeper could not open a service's sockets, said once until it changes. */
  const listenTrouble = new Map<string, string>();

  /** Asks the keeper for the service's sockets (those it holds already are kept as they are, backlog and all). */
  function openSockets(service: string, def: ServiceDef): void {
    const ids = def.listen.some((l) => l.kind === "unix" && (l.user !== null || l.group !== null));
    const sockets = def.listen.map((l) => {
      if (l.kind !== "unix" || !ids) return keeperSocket(l);
      const user = l.user === null ? null : lookupUser(l.user);
      const gid = l.group !== null ? lookupGroup(l.group) : (user?.gid ?? null);
      return keeperSocket(l, user?.uid ?? -1, gid ?? -1);
    });
    // A service started by an event is watched while it has no process: a connection to it is the `connection` event (start-on = connection SERVICE=NAME).
    send(service, { type: "listen", service, sockets, watch: def.startOn !== null });
    known.add(service);
  }

  function openSocketsOrSay(def: ServiceDef): void {
    try {
      openSockets(def.name, def);
    } catch (e) {
      options.report(def.name, `cannot listen: ${(e as Error).message}`); // a user lookup that timed out: tried again at its start
    }
  }

  function start(service: string, role: SpawnRole, def: ServiceDef, eventEnv: Record<string, string> | null): void {
    const spawn = spawnMessage(service, role, def, eventEnv ?? {}, places);
    if (typeof spawn === "string") return fail(service, spawn, role);
    // Asked again before each run: sockets that could not be opened (a port in use) are tried again, and the keeper refuses the spawn while they are not all there.
    if ((role === "main" || role === "launcher") && def.listen.length > 0) {
      openSockets(service, def);
      spawn.message.listen = def.listen.length;
    }
    // Before each process of the start (not of the stop: `down` and `post-stop` find them as they were).
    if (role === "pre-start" || role === "main" || role === "up") {
      const problem = makeDirectories(def, options.directories, spawn.owner);
      if (problem !== null) return fail(service, problem);
    }
    try {
      if (!keeper.send(spawn.message)) return fail(service, "the keeper is gone", role);
    } catch (e) {
      if (e instanceof EncodeError) return fail(service, e.message, role);
      throw e;
    }
    known.add(service);
    if (isBeside(role)) return void reloads.set(service, null);
    running.set(service, { pid: null, main: spawn.main, probe: probeFor(service, def, spawn.readiness, spawn.message.cwd, spawn.env, spawn.ids), watch: null, pidFile: null });
    if (role === "launcher") launched.set(service, Date.now());
  }

  /** A process of the keeper's (from its table, or a main it took) watched as a spawn of this server would be, its readiness probe run. */
  function track(service: string, def: ServiceDef, pid: number, role: Role): void {
    const main = role === "main" && def.type === "longrun";
    const who = credentialsFor(def, self);
    const env = serviceEnvironment(def, typeof who === "string" ? self : who.account, {
      server: process.env,
      defaults: options.defaults(),
      extra: directoryEnvironment(def, options.directories),
    });
    const probe = main && env.ok ? probeFor(service, def, def.ready, def.cwd ?? DEFAULT_CWD, env.env, typeof who === "string" ? null : who.switch) : null;
    const r: Running = { pid, main, probe, watch: null, pidFile: main ? def.pidFile : null };
    running.set(service, r);
    known.add(service);
    watchReadiness(service, r, pid);
  }

  /**
   * The launcher exited 0: the pid file is read until it names a running process (without
   * one, the tree is looked at until one process is left in it), which the keeper is
   * asked to take.
   */
  function findMain(service: string, def: ServiceDef): void {
    const path = def.pidFile;
    if (!def.forking) return options.log(`asked to find the main of ${service}, which is not a forking daemon; ignored`);
    stopFinding(service);
    const ask = (pid: number): void => {
      f.asked = pid;
      send(service, { type: "main", service, pid });
    };
    const note = (text: string): void => options.report(service, text);
    const f: Finding = {
      path,
      def,
      asked: null,
      watch:
        path !== null
          ? watchPidFile(path, launched.get(service) ?? 0, ask, note)
          : watchTreeMain(() => processesOf(service).then((l) => l.pids), ask, () => {
              stopFinding(service);
              options.emit({ kind: "main-pid-refused", service, pid: 0, reason: "its launcher left no process running: its daemon ended, or was never started" });
            }, note),
    };
    finding.set(service, f);
  }

  const stopFinding = (service: string): void => {
    finding.get(service)?.watch.cancel();
    finding.delete(service);
  };

  /** The keeper took a main, or would not: for the pid file this server read, or for MAINPID=. */
  function mainAnswer(m: Extract<KeeperMessage, { type: "main" | "main-refused" }>): void {
    const f = finding.get(m.service);
    const byFile = f !== undefined && f.asked === m.pid;
    if (byFile) stopFinding(m.service);
    if (m.type === "main-refused") {
      const reason = byFile && f.path === null ? `the one process left in its tree, ${m.pid}, ${m.error}` : `${byFile ? `pid file ${f.path}` : "sd_notify MAINPID="} names ${m.pid}, which ${m.error}`;
      if (!byFile) options.report(m.service, `${reason}: ignored`); // a pid file's fails the start, which the engine says
      return options.emit({ kind: "main-pid-refused", service: m.service, pid: m.pid, reason });
    }
    const r = running.get(m.service);
    if (byFile) track(m.service, f.def, m.pid, "main");
    else if (r !== undefined) {
      // MAINPID=: the readiness probe is about the new main.
      r.watch?.cancel();
      r.pid = m.pid;
      watchReadiness(m.service, r, m.pid);
    }
    options.emit({ kind: "main-pid", service: m.service, pid: m.pid });
  }

  /** What the keeper says about a reload command. */
  function receiveReload(m: Extract<KeeperMessage, { type: "spawned" | "spawn-failed" | "exited" }>): void {
    const asked = reloads.has(m.service);
    switch (m.type) {
      case "spawned":
        if (!asked || reloads.get(m.service) !== null) return options.log(`the keeper reported a reload command of ${m.service} (pid ${m.pid}) that was not asked for; ignored`);
        reloads.set(m.service, m.pid);
        return options.emit({ kind: "reload-spawned", service: m.service, pid: m.pid });
      case "spawn-failed":
        if (!asked || reloads.get(m.service) !== null) return options.log(`the keeper reported a failed reload command of ${m.service} that was not asked for: ${m.error}`);
        reloads.delete(m.service);
        return fail(m.service, m.error, "reload");
      case "exited":
        if (reloads.get(m.service) === m.pid) reloads.delete(m.service);
        handled.push(m.seq);
        return options.emit({ kind: "reload-exited", service: m.service, pid: m.pid, status: { code: m.code, signal: m.signal } });
    }
  }

  /** The tcp/unix/exec probe of a longrun's main (`readiness` is none for other processes), run once its process runs. */
  function probeFor(service: string, def: ServiceDef, readiness: ServiceDef["ready"], cwd: string, env: Record<string, string>, ids: Switch | null): Running["probe"] {
    let probe: Running["probe"] = null;
    if (readiness.kind === "tcp" || readiness.kind === "unix" || readiness.kind === "unix-dgram") {
      probe = (ready) => watchListener(readiness, { service, processes: () => processesOf(service), onReady: ready, notOurs: (text) => notOurs(service, def, text) });
    }
    if (readiness.kind === "exec") {
      const as = ids === null ? {} : { uid: ids.uid, gid: ids.gid };
      const [file, ...args] = expandArgv(readiness.argv, env);
      probe = (ready) => watchProbe(file!, args, { cwd, env, ...as }, ready);
    }
    return probe;
  }

  const watchReadiness = (service: string, r: Running, pid: number): void => {
    heldBack.delete(service);
    r.watch =
      r.probe?.(() => {
        heldBack.delete(service);
        options.emit({ kind: "ready", service, pid });
      }) ?? null;
  };

  /** Said once a holder: in the server's log, the service's, and its status until it is ready. */
  function notOurs(service: string, def: ServiceDef, text: string): void {
    heldBack.set(service, text);
    options.shown();
    options.report(service, text);
    note(service, def, text);
  }

  function note(service: string, def: ServiceDef, text: string): void {
    if (def.log === "none") return;
    // A note may come before the first spawn ("starting"): it says where the log goes.
    send(service, { type: "note", service, text, ...logSettings(service, def, places) });
    known.add(service);
  }

  function processesOf(service: string): Promise<ProcessList> {
    return new Promise((resolve) => {
      let sent = false;
      try {
        sent = keeper.send({ type: "procs", service });
      } catch (e) {
        if (!(e instanceof EncodeError)) throw e; // a name no frame can carry: nothing the keeper runs
      }
      if (!sent) return resolve({ pids: [], total: 0 });
      const waiting = askedProcs.get(service);
      if (waiting === undefined) askedProcs.set(service, [resolve]);
      else waiting.push(resolve);
    });
  }

  /** What the keeper says, as facts for the engine. */
  function receive(m: KeeperMessage): void {
    if ((m.type === "spawned" || m.type === "spawn-failed" || m.type === "exited") && m.reload) return receiveReload(m);
    switch (m.type) {
      case "spawned": {
        const r = running.get(m.service);
        if (r === undefined || r.pid !== null) return options.log(`the keeper reported a spawn of ${m.service} (pid ${m.pid}) that was not asked for; ignored`);
        r.pid = m.pid;
        watchReadiness(m.service, r, m.pid);
        return options.emit({ kind: "spawned", service: m.service, pid: m.pid });
      }
      case "spawn-failed": {
        const r = running.get(m.service);
        if (r === undefined || r.pid !== null) return options.log(`the keeper reported a failed spawn of ${m.service} that was not asked for: ${m.error}`);
        running.delete(m.service);
        return fail(m.service, m.error);
      }
      case "ready":
        return options.emit({ kind: "ready", service: m.service, pid: m.pid });
      case "main":
      case "main-refused":
        return mainAnswer(m);
      case "notify":
        if (m.status !== undefined) {
          statusTexts.set(m.service, m.status);
          options.shown();
        }
        // In the order they were said: a READY=1 that ends a reload follows its RELOADING=1.
        if (m.reloading) options.emit({ kind: "reloading", service: m.service, pid: m.pid });
        if (m.reloaded) options.emit({ kind: "reloaded", service: m.service, pid: m.pid });
        return;
      case "exited": {
        const r = running.get(m.service);
        if (r !== undefined && r.pid === m.pid) {
          r.watch?.cancel();
          heldBack.delete(m.service);
          running.delete(m.service);
          if (r.main) statusTexts.delete(m.service);
          if (r.pidFile !== null) removePidFile(r.pidFile, m.pid);
        }
        handled.push(m.seq); // acknowledged once the fact is in the server's journal
        options.emit({ kind: "exited", service: m.service, pid: m.pid, status: { code: m.code, signal: m.signal } });
        return;
      }
      case "log-trouble":
        return options.report(m.service, `cannot write its log: ${m.error}`);
      case "procs": {
        const waiting = askedProcs.get(m.service);
        const answer = waiting?.shift();
        if (waiting?.length === 0) askedProcs.delete(m.service);
        if (answer === undefined) return options.log(`the keeper answered a 'procs' of ${m.service} that was not asked for; ignored`);
        return answer({ pids: m.pids, total: m.total });
      }
      case "terminate":
        return options.terminate(m.signal);
      case "hangup":
        return options.hangup();
      case "syslog":
        if (m.error !== null) return options.warn(`not listening for syslog messages: ${m.error}`);
        if (m.path !== null) options.log(`listening for syslog messages on ${m.path}: each goes to the log of the service that sent it, the rest to 'tend logs syslog'`);
        return;
      case "connection":
        return options.emit({ kind: "event", name: "connection", values: { SERVICE: m.service } });
      case "listening":
        if (m.error === null) return void listenTrouble.delete(m.service);
        if (listenTrouble.get(m.service) !== m.error) options.report(m.service, `cannot listen: ${m.error}`);
        return void listenTrouble.set(m.service, m.error);
      case "error":
        return options.log(`the keeper refused a message: ${m.message}`);
      default:
        return options.log(`the keeper sent '${m.type}' outside its table; ignored`);
    }
  }

  const sendSignal = (service: string, name: string, to: SignalTarget = "group"): void => {
    const signal = SIGNALS[name];
    if (signal === undefined) return options.report(service, `no signal ${name} on this system`);
    send(service, { type: "signal", service, signal, ...(to === "group" ? {} : { to }) });
  };

  return {
    receive,
    tracking: { kind: keeper.tracking, cgroup: keeper.cgroup },
    serviceLogs,
    table: { procs: keeper.procs, exits: keeper.exits },
    adopt: track,
    adoptReload(service, pid) {
      reloads.set(service, pid);
      known.add(service);
    },
    armed: () => [...timers.values()].map((t) => t.armed),
    /**
     * The keeper died: its services live on, unsupervised, their output pipes broken.
     * Nothing can adopt them (they are no one's children now), so they are killed: by
     * their cgroups, which outlive the keeper, and by process group.
     */
    killOrphans() {
      answerAllProcs();
      for (const r of running.values()) {
        r.watch?.cancel();
        if (r.pid !== null) killGroup(r.pid);
      }
      for (const pid of reloads.values()) if (pid !== null) killGroup(pid);
      if (keeper.cgroup !== null) killCgroups(keeper.cgroup, options.log);
    },
    acknowledge() {
      for (const seq of handled.splice(0)) keeper.send({ type: "ack", seq });
    },
    /**
     * Asked before any spawn, so that a daemon's first messages are placed too; asked
     * also when off: a keeper that outlived a server that listened stops listening.
     */
    listenSyslog() {
      const log = fileLog(SYSLOG_LOG_DIR, SYSLOG_LOG_BYTES, SYSLOG_LOG_KEEP, places);
      keeper.send(options.syslog === null ? { type: "syslog" } : { type: "syslog", path: options.syslog, ...log });
    },
    perform(action, def) {
      // A spawn or a kill ends the search for a forking daemon's main (its start failed, or was given up).
      if (action.kind === "spawn" || action.kind === "kill") stopFinding(action.service);
      switch (action.kind) {
        case "find-main":
          return findMain(action.service, def);
        case "spawn":
          // Whatever goes wrong while a start is prepared, the engine hears of it: a
          // start that is never reported either way leaves the service starting with no
          // process, and a shutdown waiting for it for good.
          try {
            return start(action.service, action.role, def, action.env);
          } catch (e) {
            options.log(`preparing the start of ${action.service} failed: ${(e as Error).stack ?? e}`);
            return fail(action.service, `cannot prepare the start: ${(e as Error).message ?? e}`, action.role);
          }
        case "signal":
          return sendSignal(action.service, action.signal, action.to);
        case "kill": // the keeper's SIGKILL of a service takes its whole tree, process or not
          return sendSignal(action.service, "SIGKILL");
        case "arm": {
          timers.get(action.service)?.timer.cancel();
          // `after`, not setTimeout: the delay comes from a service file (a stop-timeout of
          // 30d, a restart-delay), and Node fires a timer longer than 24.8 days at once.
          const timer = after(action.ms, () => {
            timers.delete(action.service);
            options.emit({ kind: "timer", service: action.service, token: action.token });
          });
          timers.set(action.service, { timer, armed: { service: action.service, token: action.token, due: options.now() + action.ms, purpose: action.purpose } });
          return;
        }
      }
    },
    note,
    signal: sendSignal,
    stopped(service, def) {
      for (const problem of removeRuntimeDirectories(def, options.directories)) options.report(service, problem);
      if (def.listen.length > 0 && def.startOn !== null) openSocketsOrSay(def); // watched again: the next connection starts it again
    },
    statusText: (service) => statusTexts.get(service),
    notReadyBecause: (service) => heldBack.get(service),
    forget(service, next) {
      statusTexts.delete(service);
      heldBack.delete(service);
      stopFinding(service);
      launched.delete(service);
      listenTrouble.delete(service);
      if (known.delete(service)) send(service, { type: "forget", service, keepSockets: next !== undefined && holdsSockets(next) });
    },
    listen(defs) {
      for (const def of defs) if (holdsSockets(def)) openSocketsOrSay(def);
    },
    processesOf,
    async close() {
      for (const t of timers.values()) t.timer.cancel();
      timers.clear();
      for (const r of running.values()) r.watch?.cancel();
      for (const service of [...finding.keys()]) stopFinding(service);
      if (!(await keeper.shutdown(KEEPER_EXIT_MS))) options.log(`the keeper (pid ${keeper.pid}) did not exit within ${KEEPER_EXIT_MS / 1000}s of the shutdown`);
      answerAllProcs();
    },
  };
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // gone already
  }
}

/** Kills every service cgroup under the keeper's, and removes them once empty. */
function killCgroups(base: string, log: (line: string) => void): void {
  let entries: string[];
  try {
    entries = readdirSync(base, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(base, d.name));
  } catch {
    return;
  }
  for (const dir of entries) {
    try {
      writeFileSync(join(dir, "cgroup.kill"), "1");
    } catch (e) {
      log(`cannot kill what is left in ${dir}: ${(e as Error).message}`);
    }
  }
  // The kernel empties them asynchronously: the keeper that comes next removes what is left (see tree.c).
  for (const dir of [...entries, base]) {
    try {
      rmdirSync(dir);
    } catch {
      // not empty yet
    }
  }
}
