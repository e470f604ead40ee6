// The service managers the supervision workloads drive: tend (`tend daemon` on a
// scratch root), dinit (a user-mode instance in a scratch directory) and, in
// bench/lib/peer-managers.ts, s6, runit, supervisord and pm2. Each is started fresh for
// a measured round, as at boot, and stopped again by its own shutdown command; whatever
// fails, the bench kills the manager (by its pid) and every process of the bench's own
// service program (by its path), so nothing is left behind.
//
// The managers are started detached (their own session), so that a Ctrl-C on the
// bench reaches the bench, which then stops them itself.

import { execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CONTROL_SOCKET, STATUS_SOCKET } from "../../src/server/protocol.js";
import { adopt } from "./machine.js";
import { findExecutable } from "./peers.js";
import { cleanEnv, timeProcess, type Command } from "./proc.js";
import { alive, killEach, killProgram, memoryOf, sleepSync, waitUntil, type Memory } from "./processes.js";
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
  /** The manager's memory: its own processes (for s6 and runit the scanner and every supervisor), not the services. */
  memory(): Memory | null;
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
}

/** `tend daemon --root ROOT`, once it accepts commands. */
export function launchTend(ctx: BenchContext, t: TendRoot, options: TendLaunchOptions = {}): Manager {
  const node = process.execPath;
  const log = join(t.root, "daemon.log");
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
  const l = launch(node, args, log, t.program);
  const listening = new RegExp(`tend server ${l.pid}\\b`);
  const ready = (): boolean => listening.test(readFileSync(log, "utf8")) || sockets.every((socket) => existsSync(socket));
  if (!waitUntil(() => !alive(l.pid) || ready(), LAUNCH_TIMEOUT_MS, 5) || !alive(l.pid)) {
    forceStop(l, t.program);
    throw new Error(`tend daemon did not start accepting commands:\n${tail(log)}`);
  }
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
    memory: () => memoryOf([l.pid]),
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
      try {
        timeProcess({ ...cli("tend shutdown", ["shutdown"]), timeoutMs: SHUTDOWN_TIMEOUT_MS });
        if (!waitUntil(() => !alive(l.pid), SHUTDOWN_TIMEOUT_MS, 5)) throw new Error("the daemon did not exit after 'tend shutdown'");
        l.release();
      } catch (e) {
        const left = forceStop(l, t.program);
        throw new Error(`tend shutdown failed (daemon killed${left > 0 ? `, ${left} service processes killed` : ""}): ${(e as Error).message}\n${tail(log)}`);
      }
      const left = killProgram(t.program);
      if (left > 0) throw new Error(`tend shutdown left ${left} service processes running (killed now)`);
    },
    logTail: () => tail(log),
  };
}

// ---------------------------------------------------------------------------------------
// dinit, the peer

export interface DinitTools {
  dinit: string;
  dinitctl: string;
  version: string;
}

export type PeerLookup = { ok: true; tools: DinitTools; installed: boolean } | { ok: false; why: string };

let dinitLookup: PeerLookup | null = null;

function found(): DinitTools | null {
  const dinit = findExecutable("dinit");
  const dinitctl = findExecutable("dinitctl");
  if (dinit === null || dinitctl === null) return null;
  let version = "?";
  try {
    version = execFileSync(dinit, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 5000 }).split("\n")[0]!.trim();
  } catch {
    // an old dinit without --version: it still runs
  }
  return { dinit, dinitctl, version };
}

/** Has apt never been updated on this machine (no package lists at all)? */
function aptListsEmpty(): boolean {
  try {
    return !readdirSync("/var/lib/apt/lists").some((f) => f.endsWith("_Packages") || f.includes("_Packages."));
  } catch {
    return true;
  }
}

/**
 * dinit, installed from Debian's package when it is missing and the bench runs as root;
 * otherwise the reason it is skipped. Asked once per bench run.
 */
export function findDinit(log: (message: string) => void): PeerLookup {
  if (dinitLookup !== null) return dinitLookup;
  const tools = found();
  if (tools !== null) return (dinitLookup = { ok: true, tools, installed: false });
  if (process.getuid?.() !== 0) return (dinitLookup = { ok: false, why: "dinit is not installed, and the bench is not root (install it with 'apt-get install dinit')" });
  if (findExecutable("apt-get") === null) return (dinitLookup = { ok: false, why: "dinit is not installed, and this machine has no apt-get" });
  const apt = (args: string[], timeout: number): string =>
    execFileSync(findExecutable(args[0]!)!, args.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  try {
    if (aptListsEmpty()) {
      log("dinit: apt has no package lists yet: apt-get update");
      apt(["apt-get", "update"], 300_000);
    }
    const candidate = /^\s*Candidate:\s*(\S+)/m.exec(apt(["apt-cache", "policy", "dinit"], 60_000))?.[1];
    if (candidate === undefined || candidate === "(none)") {
      return (dinitLookup = { ok: false, why: "dinit is not installed, and this machine's Debian has no dinit package ('apt-cache policy dinit' finds none)" });
    }
    log(`dinit: installing Debian's dinit ${candidate} (apt-get install -y dinit)`);
    apt(["apt-get", "install", "-y", "--no-install-recommends", "dinit"], 600_000);
  } catch (e) {
    return (dinitLookup = { ok: false, why: `dinit could not be installed: ${(e as Error).message.split("\n")[0]}` });
  }
  const installed = found();
  return (dinitLookup = installed === null ? { ok: false, why: "apt-get installed dinit, but no dinit and dinitctl are on the PATH" } : { ok: true, tools: installed, installed: true });
}

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
