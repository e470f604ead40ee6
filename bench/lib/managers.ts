// The service managers the supervision workloads drive: tend (`tend daemon` on a
// scratch root), dinit (a user-mode instance in a scratch directory) and, in
// bench/lib/peer-managers.ts, s6, runit, supervisord and pm2. Each is started fresh for
// a measured round, as at boot, and stopped again by its own shutdown command; whatever
// fails, the bench kills the manager (by its pid) and every process of the bench's own
// service program (by its path), so nothing is left behind.
//
// The managers are started detached (their own session), so that a Ctrl-C on the
// bench reaches the bench, which then stops them itself.

import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CONTROL_SOCKET, STATUS_SOCKET } from "../../src/server/protocol.js";
import { adopt } from "./machine.js";
import type { DinitTools } from "./dinit.js";
import { cleanEnv, timeProcess, type Command } from "./proc.js";
import { alive, isKeeper, keepersNaming, keepersUnder, killEach, killProgram, memoryOf, sleepSync, waitUntil, type Memory } from "./processes.js";
import { writeDinitSet, writeTendSet, type ServiceSet } from "./service-sets.js";
import { onCleanup } from "./tmp.js";
import type { BenchContext } from "./workload.js";

/** How long a manager may take to accept commands, and to stop everything at the end. */
export const LAUNCH_TIMEOUT_MS = 60_000;
export const SHUTDOWN_TIMEOUT_MS = 180_000;
/** How long one start or stop may take before the workload gives up. */
export const COMMAND_TIMEOUT_MS = 240_000;

export type Subject = "tend" | "dinit" | "s6" | "runit" | "supervisord" | "pm2";

export interface Manager {
  subject: Subject;
  /** The manager's main process (the daemon, the scanner). */
  pid: number;
  /** The service program its services run (the bench finds them by this path). */
  program: string;
  /**
   * The manager's memory: its own processes, not the services — for s6 and runit the
   * scanner and every supervisor, for tend the server and its keeper (when there is one).
   */
  memory(): Memory | null;
  /** tend: the keeper's memory alone; null while no keeper process runs under the server. */
  keeperMemory?(): Memory | null;
  /** tend: the keeper processes under the server now (none before the keeper lands). */
  keepers?(): number[];
  /**
   * tend: SIGKILL the server process alone, as a crash would (W6), and wait until it is
   * gone and reaped (the event loop turns meanwhile: Node reaps its children there; a
   * zombie server still holds tend's lock for a next server); its keeper and the
   * services carry on. The server's own emergency clean-up is released (its pid, given
   * out again later, is never killed); another one covers its keepers and the services
   * until `release()` (once a next server took them over and was shut down) or
   * `killLeft()` (no next server: the keepers and every service process are killed;
   * returns how many service processes were).
   */
  killServer?(): Promise<Orphans>;
  /** Bring `name` (a bundle: every service of the set) up: the steps return once all of it is up. */
  start(name: string): Command[];
  /** Take `name` down; the workloads then wait until every service process is gone. */
  stop(name: string): Command[];
  /** One status query from the manager's CLI over the whole service set. */
  status(): Command;
  /** What status() covers, when it is less than the whole set (s6: one service). */
  statusScope?: string;
  /** Checks a start's output: throws unless everything named is up. */
  checkStarted(stdout: string, count: number): void;
  /** An untimed check once everything is up (s6: `s6-svwait -U -a`); returns what it measured. */
  afterStart?(): Record<string, number>;
  /** Stops every service and the manager, and waits for it to exit. */
  shutdown(): void;
  /** The last lines of the manager's own log, for error messages. */
  logTail(): string;
}

/** What a killed tend server left running: its keepers and their services (see Manager.killServer). */
export interface Orphans {
  /** The keepers the server had when it was killed. */
  keepers: number[];
  killLeft(): number;
  release(): void;
}

export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export interface Launched {
  pid: number;
  log: string;
  /** Unregisters the emergency clean-up once the manager stopped by itself. */
  release: () => void;
}

/**
 * Starts `file args` detached, its output into `log`, with an emergency clean-up
 * registered (the manager's pid, every process of `program`, and `extra` when given).
 */
export function launch(file: string, args: string[], log: string, program: string, env: NodeJS.ProcessEnv = cleanEnv(), extra: () => void = () => {}, cwd?: string): Launched {
  const fd = openSync(log, "a");
  let child;
  try {
    child = spawn(file, args, { detached: true, stdio: ["ignore", fd, fd], env, ...(cwd === undefined ? {} : { cwd }) });
  } finally {
    closeSync(fd);
  }
  child.on("error", () => {}); // a failed exec shows as a pid that is not alive
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${file}`);
  adopt(pid, true);
  const release = onCleanup(() => {
    killEach([pid], "SIGKILL");
    extra();
    killProgram(program);
  });
  return { pid, log, release };
}

/** Stops a manager that did not stop by itself: the manager first, then `extra`, then every service process left. */
export function forceStop(l: Launched, program: string, extra: () => void = () => {}): number {
  killEach([l.pid], "SIGKILL");
  waitUntil(() => !alive(l.pid), 5000);
  extra();
  const left = killProgram(program);
  l.release();
  return left;
}

// ---------------------------------------------------------------------------------------
// tend

export interface TendRoot {
  root: string;
  program: string;
}

/**
 * A scratch root for `set`: its service files in ROOT/etc/tend, compiled and installed
 * with `tend compile`, and the log directories made, as on a machine that booted before.
 */
export function prepareTend(ctx: BenchContext, root: string, set: ServiceSet, program: string): TendRoot {
  writeTendSet(join(root, "etc", "tend"), set, program);
  const compiled = timeProcess({ label: "tend compile", file: process.execPath, args: [ctx.tend, "compile", "--root", root], timeoutMs: COMMAND_TIMEOUT_MS });
  if (!/installed generation/.test(compiled.stdout)) throw new Error(`tend compile did not install the set:\n${compiled.stdout}${compiled.stderr}`);
  for (const s of set.services) mkdirSync(join(root, "var", "log", "tend", s.name), { recursive: true });
  return { root, program };
}

export interface TendLaunchOptions {
  /** Run the daemon under `node --cpu-prof`, writing the profile into this directory when it exits. */
  profileDir?: string;
  /**
   * false: return as soon as the daemon is spawned, without waiting for it to accept
   * commands (W6 times that itself, and fails the round when it never does; the
   * Manager's shutdown() then kills what is left). Default true.
   */
  wait?: boolean;
}

/** tend's keeper binary in this tree (it may not exist yet), as /proc/PID/exe names it. */
export function keeperBinary(ctx: BenchContext): string {
  const path = join(ctx.root, "dist", "keeper", "tend-keeper");
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** How long a keeper may take to exit once its server did (it exits once its services are gone). */
const KEEPER_EXIT_MS = 15_000;

/**
 * `tend daemon --root ROOT`, once it accepts commands. tend's processes are the server
 * and, once the keeper lands, the keeper (`dist/keeper/tend-keeper`, the server's child
 * and the parent of every service): memory() adds up both; the keeper is found among the
 * server's descendants by its program (or its name), never a service. Every keeper seen
 * is killed by its pid should the bench end early, and one that outlived its server is
 * found by its command line (it names the scratch root).
 */
export function launchTend(ctx: BenchContext, t: TendRoot, options: TendLaunchOptions = {}): Manager {
  const node = process.execPath;
  const log = join(t.root, "daemon.log");
  const keeperExe = keeperBinary(ctx);
  // Profiled, the daemon runs from tsc's per-module output (dist/src), so that the
  // profile names src/ modules instead of the bundle's chunks.
  const args =
    options.profileDir === undefined
      ? [ctx.tend, "daemon", "--root", t.root]
      : ["--cpu-prof", "--cpu-prof-interval", "250", "--cpu-prof-dir", options.profileDir, join(ctx.root, "dist", "src", "cli", "main.js"), "daemon", "--root", t.root];
  // The server says so in its log once both sockets listen; the sockets themselves are
  // the fallback should that line change (stale ones from the last round are removed first).
  const sockets = [CONTROL_SOCKET, STATUS_SOCKET].map((name) => join(t.root, "run", "tend", name));
  for (const socket of sockets) rmSync(socket, { force: true });
  const seen = new Set<number>();
  let serverPid = 0;
  const keepers = (): number[] => {
    const found = serverPid > 0 && alive(serverPid) ? keepersUnder(serverPid, keeperExe) : [];
    for (const k of found) {
      if (!seen.has(k)) adopt(k, true); // its CPU is the bench's own work, not other work
      seen.add(k);
    }
    return found;
  };
  /** Every keeper of this server: those seen, and any that names the scratch root. */
  const allKeepers = (): number[] => [...new Set([...seen, ...keepersNaming(t.root, keeperExe)])].filter((pid) => alive(pid) && isKeeper(pid, keeperExe));
  const killKeepers = (): void => killEach(allKeepers(), "SIGKILL");
  const l = launch(node, args, log, t.program, cleanEnv(), killKeepers);
  serverPid = l.pid;
  const listening = new RegExp(`tend server ${l.pid}\\b`);
  const ready = (): boolean => listening.test(readFileSync(log, "utf8")) || sockets.every((socket) => existsSync(socket));
  const stopHard = (): number => {
    keepers(); // while the server is there: its keepers are its descendants
    return forceStop(l, t.program, killKeepers);
  };
  if (options.wait !== false && (!waitUntil(() => !alive(l.pid) || ready(), LAUNCH_TIMEOUT_MS, 5) || !alive(l.pid))) {
    stopHard();
    throw new Error(`tend daemon did not start accepting commands:\n${tail(log)}`);
  }
  keepers();
  const cli = (label: string, args: string[], okStatus?: number[]): Command => ({
    label,
    file: node,
    args: [ctx.tend, "--root", t.root, ...args],
    timeoutMs: COMMAND_TIMEOUT_MS,
    ...(okStatus ? { okStatus } : {}),
  });
  return {
    subject: "tend",
    pid: l.pid,
    program: t.program,
    memory: () => memoryOf([l.pid, ...keepers()]),
    keeperMemory: () => {
      const k = keepers();
      return k.length === 0 ? null : memoryOf(k);
    },
    keepers,
    async killServer() {
      const had = keepers(); // while the server is there: its keepers are its children
      const killLeft = (): number => {
        killKeepers();
        return killProgram(t.program);
      };
      const release = onCleanup(killLeft);
      killEach([l.pid], "SIGKILL");
      // Gone from /proc: dead and reaped, which Node does when its event loop turns.
      const deadline = performance.now() + 10_000;
      while (existsSync(`/proc/${l.pid}`) && performance.now() < deadline) await new Promise((done) => setTimeout(done, 1));
      if (existsSync(`/proc/${l.pid}`)) {
        killLeft();
        release();
        throw new Error(`the tend server ${l.pid} was still there (or not reaped) 10 s after SIGKILL (its keeper and the services are killed now)`);
      }
      l.release();
      return {
        keepers: had,
        killLeft() {
          const left = killLeft();
          release();
          return left;
        },
        release,
      };
    },
    start: (name) => [cli(`tend start ${name}`, ["--json", "start", name])],
    stop: (name) => [cli(`tend stop ${name}`, ["--json", "stop", name])],
    status: () => cli("tend status", ["status"]),
    checkStarted(stdout, count) {
      const result = JSON.parse(stdout) as { services: { name: string; phase: string; reason: string | null }[]; failed: string[] };
      const up = result.services.filter((s) => s.phase === "up").length;
      if (up !== count || result.failed.length > 0) {
        const odd = result.services.find((s) => s.phase !== "up");
        throw new Error(`tend start: ${up} of ${count} services up${odd ? ` (${odd.name}: ${odd.phase}${odd.reason ? `, ${odd.reason}` : ""})` : ""}\n${tail(log)}`);
      }
    },
    shutdown() {
      keepers();
      try {
        timeProcess({ ...cli("tend shutdown", ["shutdown"]), timeoutMs: SHUTDOWN_TIMEOUT_MS });
        if (!waitUntil(() => !alive(l.pid), SHUTDOWN_TIMEOUT_MS, 5)) throw new Error("the daemon did not exit after 'tend shutdown'");
      } catch (e) {
        const left = stopHard();
        throw new Error(`tend shutdown failed (daemon${seen.size > 0 ? " and keeper" : ""} killed${left > 0 ? `, ${left} service processes killed` : ""}): ${(e as Error).message}\n${tail(log)}`);
      }
      // The keeper exits once its services are gone; one that stays is killed and is an error.
      if (!waitUntil(() => allKeepers().length === 0, KEEPER_EXIT_MS, 20)) {
        const stuck = allKeepers();
        killKeepers();
        l.release();
        killProgram(t.program);
        throw new Error(`tend shutdown left the keeper running (pid ${stuck.join(", ")}; killed now)\n${tail(log)}`);
      }
      l.release();
      const left = killProgram(t.program);
      if (left > 0) throw new Error(`tend shutdown left ${left} service processes running (killed now)`);
    },
    logTail: () => tail(log),
  };
}

// ---------------------------------------------------------------------------------------
// dinit, the peer (found or built by bench/lib/dinit.ts)

export interface DinitDir {
  dir: string;
  services: string;
  program: string;
}

/** A scratch directory with `set` written as dinit service descriptions. */
export function prepareDinit(dir: string, set: ServiceSet, program: string): DinitDir {
  const services = join(dir, "dinit.d");
  writeDinitSet(services, set, program);
  return { dir, services, program };
}

/**
 * A user-mode dinit (`dinit -u -q -d SERVICES -p SOCKET`) once its control socket
 * answers; `preload` names services whose descriptions it loads before anything is
 * timed (dinit loads descriptions when first named; tend's are compiled ahead of time).
 */
export function launchDinit(tools: DinitTools, d: DinitDir, preload: readonly string[] = []): Manager {
  const socket = join(d.dir, "dinitctl.sock");
  const log = join(d.dir, "dinit.log");
  const env: NodeJS.ProcessEnv = { ...cleanEnv(), HOME: d.dir };
  delete env.XDG_RUNTIME_DIR;
  delete env.XDG_CONFIG_HOME;
  const l = launch(tools.dinit, ["-u", "-q", "-d", d.services, "-p", socket], log, d.program, env);
  const ctl = (label: string, args: string[], okStatus?: number[]): Command => ({
    label,
    file: tools.dinitctl,
    args: ["-p", socket, ...args],
    timeoutMs: COMMAND_TIMEOUT_MS,
    ...(okStatus ? { okStatus } : {}),
  });
  const answers = (): boolean => {
    if (!existsSync(socket)) return false;
    try {
      timeProcess(ctl("dinitctl list", ["list"]));
      return true;
    } catch {
      return false;
    }
  };
  if (!waitUntil(() => !alive(l.pid) || answers(), LAUNCH_TIMEOUT_MS, 10) || !alive(l.pid)) {
    forceStop(l, d.program);
    throw new Error(`dinit did not start accepting commands:\n${tail(log)}`);
  }
  try {
    for (const name of preload) timeProcess(ctl(`dinitctl status ${name}`, ["status", name], [0, 1, 2, 3, 4]));
  } catch (e) {
    forceStop(l, d.program);
    throw e;
  }
  return {
    subject: "dinit",
    pid: l.pid,
    program: d.program,
    memory: () => memoryOf([l.pid]),
    start: (name) => [ctl(`dinitctl start ${name}`, ["start", name])],
    stop: (name) => [ctl(`dinitctl stop ${name}`, ["stop", name])],
    status: () => ctl("dinitctl list", ["list"]),
    checkStarted(stdout) {
      if (/fail|error/i.test(stdout)) throw new Error(`dinitctl start: ${stdout.trim()}\n${tail(log)}`);
    },
    shutdown() {
      try {
        timeProcess({ ...ctl("dinitctl shutdown", ["shutdown"], [0, 1]), timeoutMs: SHUTDOWN_TIMEOUT_MS });
        if (!waitUntil(() => !alive(l.pid), SHUTDOWN_TIMEOUT_MS, 5)) throw new Error("dinit did not exit after 'dinitctl shutdown'");
        l.release();
      } catch (e) {
        const left = forceStop(l, d.program);
        throw new Error(`dinit shutdown failed (dinit killed${left > 0 ? `, ${left} service processes killed` : ""}): ${(e as Error).message}\n${tail(log)}`);
      }
      sleepSync(1);
      const left = killProgram(d.program);
      if (left > 0) throw new Error(`dinit shutdown left ${left} service processes running (killed now)`);
    },
    logTail: () => tail(log),
  };
}
