// The peers as managers the workloads can drive (see Manager in managers.ts): each runs
// as its own instance in a scratch directory, on the same service program as tend (a
// copy of it, so that its processes are found by their path), and is stopped by its own
// shutdown command at the end of a round; whatever fails (or on Ctrl-C), the bench kills
// by pid the manager, every process whose working directory is in the scratch directory
// (s6 and runit: the scanner, the supervisors and the services run there), and every
// process of the manager's copy of the service program. Nothing here ever names
// /etc/service, /etc/sv, /run/service or the machine's supervisord configuration: every
// path is absolute inside the scratch directory, or `./NAME` with the scratch directory
// as the working directory (runit's `sv` resolves a bare NAME against /etc/service).
//
//   s6           s6-svscan -c N SCANDIR; each service directory: `run` (a link to the
//                program, built to write its readiness newline on fd 3 at once),
//                `notification-fd` = 3, `down` (so that the supervisors start with their
//                service down). start: write `u` to every supervise/control, then wait
//                until every supervisor reports up *and ready*; stop: write `d`.
//   runit        runsvdir SVDIR; each service directory: `run` (a link to the program,
//                which just waits: runit has no readiness protocol), `down`. start:
//                `sv up ./s0000 …`, then wait until every runsv reports it running;
//                stop: `sv down ./s0000 …`.
//   supervisord  supervisord -n -c CONF; one [program:…] per service (command = the
//                program, autostart = false, startsecs = 0: up once spawned, as it has
//                no readiness protocol), all in one [group:BUNDLE]. start:
//                `supervisorctl start BUNDLE:*` (returns once all are RUNNING); stop:
//                `supervisorctl stop BUNDLE:*`.
//   pm2          the daemon with PM2_HOME in the scratch directory (`pm2 ping` starts
//                it); an ecosystem file with one app per service (script = the program,
//                interpreter = none; pm2 knows no readiness for a non-Node program). start:
//                `pm2 start ecosystem.json` (returns once all are online); stop: `pm2 stop
//                all`; at the end `pm2 kill`.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { adopt, refreshAdopted } from "./machine.js";
import { COMMAND_TIMEOUT_MS, forceStop, launch, LAUNCH_TIMEOUT_MS, SHUTDOWN_TIMEOUT_MS, tail, type Launched, type Manager } from "./managers.js";
import { cleanEnv, timeProcess, type Command } from "./proc.js";
import { alive, childrenOf, killEach, killProgram, memoryOf, processesIn, processesOf, sleepSync, waitUntil } from "./processes.js";
import type { Pm2Tools, RunitTools, S6Tools, SupervisordTools } from "./peers.js";
import type { ServiceSet } from "./service-sets.js";
import { onCleanup } from "./tmp.js";

/** The peers have no dependencies: a set with any is refused (W2 leaves them out). */
function independent(set: ServiceSet, who: string): void {
  const dependent = set.services.find((s) => s.requires.length > 0);
  if (dependent !== undefined) throw new Error(`${who} has no dependencies between services (${dependent.name} requires ${dependent.requires.join(", ")})`);
}

/** The one bundle of a flat set, holding every service. */
function onlyBundle(set: ServiceSet, who: string): string {
  const names = Object.keys(set.bundles);
  if (names.length !== 1 || set.bundles[names[0]!]!.length !== set.services.length) {
    throw new Error(`${who}: the bench writes one set per size, with one bundle of all its services (got ${names.join(", ")})`);
  }
  return names[0]!;
}

/** Kills every process working in `dir` (a scanner, its supervisors, their services). */
function killIn(dir: string): number {
  const pids = processesIn(dir);
  killEach(pids, "SIGKILL");
  return pids.length;
}

/** After a shutdown: nothing of the manager may be left. */
function leftovers(who: string, dir: string, program: string): void {
  sleepSync(1);
  const inDir = killIn(dir);
  const services = killProgram(program);
  if (inDir + services > 0) throw new Error(`${who} shutdown left ${inDir} process(es) in its directory and ${services} service process(es) running (killed now)`);
}

// ---------------------------------------------------------------------------------------
// s6 and runit: a scanner, one supervisor per service directory

export interface ServiceDirs {
  /** The scratch directory: the scanner, the supervisors and the services all work inside it. */
  dir: string;
  /** The scan directory (s6) or the runsvdir directory (runit). */
  scan: string;
  names: string[];
  program: string;
  helper: string;
}

function writeServiceDirs(dir: string, set: ServiceSet, program: string, helper: string, files: Record<string, string>): ServiceDirs {
  independent(set, "this peer");
  onlyBundle(set, "this peer");
  const scan = join(dir, "services");
  mkdirSync(scan, { recursive: true });
  for (const s of set.services) {
    const sd = join(scan, s.name);
    mkdirSync(sd);
    symlinkSync(program, join(sd, "run"));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(sd, name), text);
  }
  return { dir, scan, names: set.services.map((s) => s.name), program, helper };
}

/** Fresh supervisors each round: the state the last round's left is removed. */
function clearState(d: ServiceDirs, scannerState: string | null): void {
  for (const name of d.names) {
    rmSync(join(d.scan, name, "supervise"), { recursive: true, force: true });
    rmSync(join(d.scan, name, "event"), { recursive: true, force: true });
  }
  if (scannerState !== null) rmSync(join(d.scan, scannerState), { recursive: true, force: true });
}

/** Waits until every service directory's supervisor has written its status (it runs and listens). */
function waitSupervisors(l: Launched, d: ServiceDirs, who: string): void {
  let next = 0;
  const ready = (): boolean => {
    while (next < d.names.length && existsSync(join(d.scan, d.names[next]!, "supervise", "status"))) next++;
    return next === d.names.length;
  };
  if (!waitUntil(() => !alive(l.pid) || ready(), LAUNCH_TIMEOUT_MS, 10) || !alive(l.pid)) {
    forceStop(l, d.program, () => killIn(d.dir));
    throw new Error(`${who}: ${d.names.length - next} of ${d.names.length} supervisors did not start:\n${tail(l.log)}`);
  }
}

/** The scanner and its supervisors (its children), without the services. */
function supervisionMemory(scanner: number, program: string): ReturnType<typeof memoryOf> {
  const services = new Set(processesOf(program));
  return memoryOf([scanner, ...childrenOf(scanner).filter((pid) => !services.has(pid))]);
}

const relative = (d: ServiceDirs): string[] => d.names.map((n) => `./${n}`);

export function prepareS6(dir: string, set: ServiceSet, program: string, helper: string): ServiceDirs {
  const late = set.services.find((s) => s.readyMs !== 0);
  if (late !== undefined) throw new Error(`s6: the bench's s6 run file is ready at once, not after ${late.readyMs} ms`);
  return writeServiceDirs(dir, set, program, helper, { "notification-fd": "3\n", down: "" });
}

export function launchS6(tools: S6Tools, d: ServiceDirs): Manager {
  clearState(d, ".s6-svscan");
  const log = join(d.dir, "s6-svscan.log");
  // -c: s6-svscan supervises at most 500 service directories by default (s6 2.11).
  const l = launch(tools.svscan, ["-c", String(Math.max(d.names.length, 500)), d.scan], log, d.program, cleanEnv(), () => killIn(d.dir), d.dir);
  waitSupervisors(l, d, "s6-svscan");
  const names = relative(d);
  const at = (label: string, file: string, args: string[], okStatus?: number[]): Command => ({
    label,
    file,
    args,
    cwd: d.scan,
    timeoutMs: COMMAND_TIMEOUT_MS,
    ...(okStatus ? { okStatus } : {}),
  });
  return {
    subject: "s6",
    pid: l.pid,
    program: d.program,
    memory: () => supervisionMemory(l.pid, d.program),
    start: () => [at("s6: u to every supervisor", d.helper, ["ctl", "u", ...names]), at("s6: wait until all up and ready", d.helper, ["wait-up", "s6", String(COMMAND_TIMEOUT_MS), ...names])],
    stop: () => [at("s6: d to every supervisor", d.helper, ["ctl", "d", ...names])],
    status: () => at("s6-svstat", tools.svstat, [names[0]!]),
    statusScope: "one service: s6 has no command that lists every service (s6-rc has)",
    checkStarted() {
      // bench-sv wait-up exits 0 only once every supervisor reported its service up and ready.
    },
    afterStart() {
      const t = timeProcess(at("s6-svwait -U -a", tools.svwait, ["-U", "-a", "-t", "60000", ...names]));
      return { s6svwaitMs: Math.round(t.ms * 10) / 10 };
    },
    shutdown() {
      try {
        timeProcess({ ...at("s6-svscanctl -t", tools.svscanctl, ["-t", d.scan]), timeoutMs: SHUTDOWN_TIMEOUT_MS });
        if (!waitUntil(() => !alive(l.pid), SHUTDOWN_TIMEOUT_MS, 5)) throw new Error("s6-svscan did not exit after 's6-svscanctl -t'");
        if (!waitUntil(() => processesIn(d.dir).length === 0, SHUTDOWN_TIMEOUT_MS, 5)) throw new Error("s6-supervise processes were left after 's6-svscanctl -t'");
        l.release();
      } catch (e) {
        const left = forceStop(l, d.program, () => killIn(d.dir));
        throw new Error(`s6 shutdown failed (killed${left > 0 ? `, ${left} service processes killed` : ""}): ${(e as Error).message}\n${tail(log)}`);
      }
      leftovers("s6", d.dir, d.program);
    },
    logTail: () => tail(log),
  };
}

export function prepareRunit(dir: string, set: ServiceSet, program: string, helper: string): ServiceDirs {
  return writeServiceDirs(dir, set, program, helper, { down: "" });
}

export function launchRunit(tools: RunitTools, d: ServiceDirs): Manager {
  clearState(d, null);
  const log = join(d.dir, "runsvdir.log");
  const env = { ...cleanEnv(), SVDIR: d.scan };
  const l = launch(tools.runsvdir, [d.scan], log, d.program, env, () => killIn(d.dir), d.dir);
  waitSupervisors(l, d, "runsvdir");
  const names = relative(d);
  const at = (label: string, file: string, args: string[]): Command => ({ label, file, args, cwd: d.scan, env: { SVDIR: d.scan }, timeoutMs: COMMAND_TIMEOUT_MS });
  return {
    subject: "runit",
    pid: l.pid,
    program: d.program,
    memory: () => supervisionMemory(l.pid, d.program),
    start: () => [at("sv up", tools.sv, ["up", ...names]), at("runit: wait until all run", d.helper, ["wait-up", "runit", String(COMMAND_TIMEOUT_MS), ...names])],
    stop: () => [at("sv down", tools.sv, ["down", ...names])],
    status: () => at("sv status", tools.sv, ["status", ...names]),
    checkStarted() {
      // bench-sv wait-up exits 0 only once every runsv reported its service running.
    },
    shutdown() {
      try {
        // runsvdir on SIGHUP sends each runsv a TERM and exits; each runsv exits once its service is down.
        killEach([l.pid], "SIGHUP");
        if (!waitUntil(() => !alive(l.pid), SHUTDOWN_TIMEOUT_MS, 5)) throw new Error("runsvdir did not exit on SIGHUP");
        if (!waitUntil(() => processesIn(d.dir).length === 0, SHUTDOWN_TIMEOUT_MS, 5)) throw new Error("runsv processes were left after runsvdir's SIGHUP");
        l.release();
      } catch (e) {
        const left = forceStop(l, d.program, () => killIn(d.dir));
        throw new Error(`runit shutdown failed (killed${left > 0 ? `, ${left} service processes killed` : ""}): ${(e as Error).message}\n${tail(log)}`);
      }
      leftovers("runit", d.dir, d.program);
    },
    logTail: () => tail(log),
  };
}

// ---------------------------------------------------------------------------------------
// supervisord

export interface SupervisordDir {
  dir: string;
  conf: string;
  group: string;
  program: string;
}

export function prepareSupervisord(dir: string, set: ServiceSet, program: string): SupervisordDir {
  independent(set, "supervisord");
  const group = onlyBundle(set, "supervisord");
  mkdirSync(join(dir, "logs"), { recursive: true });
  const n = set.services.length;
  const lines = [
    "; written by the tend bench (bench/lib/peer-managers.ts)",
    "[unix_http_server]",
    `file = ${join(dir, "supervisor.sock")}`,
    "",
    "[supervisord]",
    "nodaemon = true",
    `logfile = ${join(dir, "supervisord.log")}`,
    `pidfile = ${join(dir, "supervisord.pid")}`,
    `childlogdir = ${join(dir, "logs")}`,
    // Each program holds a few descriptors in supervisord (its pipes, its log files).
    `minfds = ${Math.max(1024, 8 * n + 64)}`,
    "",
    "[rpcinterface:supervisor]",
    "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
    "",
    "[supervisorctl]",
    `serverurl = unix://${join(dir, "supervisor.sock")}`,
    "",
  ];
  for (const s of set.services) lines.push(`[program:${s.name}]`, `command = ${program}`, "autostart = false", "startsecs = 0", "");
  lines.push(`[group:${group}]`, `programs = ${set.services.map((s) => s.name).join(",")}`, "");
  const conf = join(dir, "supervisord.conf");
  writeFileSync(conf, lines.join("\n"));
  return { dir, conf, group, program };
}

export function launchSupervisord(tools: SupervisordTools, d: SupervisordDir): Manager {
  const log = join(d.dir, "supervisord.out");
  rmSync(join(d.dir, "supervisor.sock"), { force: true });
  const l = launch(tools.supervisord, ["-n", "-c", d.conf], log, d.program, cleanEnv(), () => {}, d.dir);
  const ctl = (label: string, args: string[]): Command => ({ label, file: tools.supervisorctl, args: ["-c", d.conf, ...args], cwd: d.dir, timeoutMs: COMMAND_TIMEOUT_MS });
  const answers = (): boolean => {
    if (!existsSync(join(d.dir, "supervisor.sock"))) return false;
    try {
      timeProcess(ctl("supervisorctl pid", ["pid"]));
      return true;
    } catch {
      return false;
    }
  };
  if (!waitUntil(() => !alive(l.pid) || answers(), LAUNCH_TIMEOUT_MS, 20) || !alive(l.pid)) {
    forceStop(l, d.program);
    throw new Error(`supervisord did not start accepting commands:\n${tail(log)}\n${tail(join(d.dir, "supervisord.log"))}`);
  }
  return {
    subject: "supervisord",
    pid: l.pid,
    program: d.program,
    memory: () => memoryOf([l.pid]),
    start: (name) => [ctl(`supervisorctl start ${name}:*`, ["start", `${name}:*`])],
    stop: (name) => [ctl(`supervisorctl stop ${name}:*`, ["stop", `${name}:*`])],
    status: () => ctl("supervisorctl status", ["status"]),
    checkStarted(stdout, count) {
      const started = stdout.split("\n").filter((line) => /: started$/.test(line)).length;
      if (started !== count) throw new Error(`supervisorctl start: ${started} of ${count} started\n${stdout.split("\n").filter((x) => !/: started$/.test(x)).slice(0, 10).join("\n")}`);
    },
    shutdown() {
      try {
        timeProcess({ ...ctl("supervisorctl shutdown", ["shutdown"]), timeoutMs: SHUTDOWN_TIMEOUT_MS });
        if (!waitUntil(() => !alive(l.pid), SHUTDOWN_TIMEOUT_MS, 5)) throw new Error("supervisord did not exit after 'supervisorctl shutdown'");
        l.release();
      } catch (e) {
        const left = forceStop(l, d.program);
        throw new Error(`supervisord shutdown failed (killed${left > 0 ? `, ${left} service processes killed` : ""}): ${(e as Error).message}\n${tail(log)}`);
      }
      leftovers("supervisord", d.dir, d.program);
    },
    logTail: () => `${tail(log)}\n${tail(join(d.dir, "supervisord.log"))}`,
  };
}

// ---------------------------------------------------------------------------------------
// pm2

export interface Pm2Dir {
  dir: string;
  home: string;
  ecosystem: string;
  program: string;
}

export function preparePm2(dir: string, set: ServiceSet, program: string): Pm2Dir {
  independent(set, "pm2");
  onlyBundle(set, "pm2");
  mkdirSync(dir, { recursive: true });
  const ecosystem = join(dir, "ecosystem.json");
  writeFileSync(ecosystem, `${JSON.stringify({ apps: set.services.map((s) => ({ name: s.name, script: program, interpreter: "none" })) }, null, 1)}\n`);
  return { dir, home: join(dir, "home"), ecosystem, program };
}

export function launchPm2(tools: Pm2Tools, d: Pm2Dir): Manager {
  // A fresh PM2_HOME each round: nothing of the last round's daemon (its dump, its logs) is reused.
  rmSync(d.home, { recursive: true, force: true });
  mkdirSync(d.home, { recursive: true });
  const env = { PM2_HOME: d.home };
  const cli = (label: string, args: string[]): Command => ({ label, file: process.execPath, args: [tools.cli, ...args], cwd: d.dir, env, timeoutMs: COMMAND_TIMEOUT_MS });
  const pidFile = join(d.home, "pm2.pid");
  const daemonPid = (): number | null => {
    try {
      const pid = Number(readFileSync(pidFile, "utf8").trim());
      return Number.isInteger(pid) && pid > 0 ? pid : null;
    } catch {
      return null;
    }
  };
  // The daemon is started by the pm2 CLI (detached, its own session): the emergency
  // clean-up reads its pid from PM2_HOME/pm2.pid.
  const release = onCleanup(() => {
    const pid = daemonPid();
    if (pid !== null) killEach([pid], "SIGKILL");
    killProgram(d.program);
  });
  let pid: number | null = null;
  try {
    timeProcess({ ...cli("pm2 ping", ["ping"]), timeoutMs: LAUNCH_TIMEOUT_MS });
    waitUntil(() => (pid = daemonPid()) !== null && alive(pid), LAUNCH_TIMEOUT_MS, 10);
    if (pid === null || !alive(pid)) throw new Error(`pm2 ping left no daemon (no ${pidFile})`);
  } catch (e) {
    const p = daemonPid();
    if (p !== null) killEach([p], "SIGKILL");
    killProgram(d.program);
    release();
    throw new Error(`pm2's daemon did not start: ${(e as Error).message}\n${tail(join(d.home, "pm2.log"))}`);
  }
  const daemon: number = pid;
  adopt(daemon, false);
  return {
    subject: "pm2",
    pid: daemon,
    program: d.program,
    memory: () => memoryOf([daemon]),
    start: () => [cli("pm2 start ecosystem.json", ["start", d.ecosystem])],
    stop: () => [cli("pm2 stop all", ["stop", "all"])],
    status: () => cli("pm2 ls", ["ls"]),
    checkStarted(_stdout, count) {
      const list = JSON.parse(execFileSync(process.execPath, [tools.cli, "jlist"], { cwd: d.dir, env: { ...cleanEnv(), ...env }, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 })) as { pm2_env?: { status?: string } }[];
      const online = list.filter((p) => p.pm2_env?.status === "online").length;
      if (online !== count) throw new Error(`pm2 start: ${online} of ${count} apps online`);
    },
    shutdown() {
      try {
        refreshAdopted();
        timeProcess({ ...cli("pm2 kill", ["kill"]), timeoutMs: SHUTDOWN_TIMEOUT_MS });
        if (!waitUntil(() => (refreshAdopted(), !alive(daemon)), SHUTDOWN_TIMEOUT_MS, 5)) throw new Error("pm2's daemon did not exit after 'pm2 kill'");
        release();
      } catch (e) {
        killEach([daemon], "SIGKILL");
        const left = killProgram(d.program);
        release();
        throw new Error(`pm2 shutdown failed (daemon killed${left > 0 ? `, ${left} service processes killed` : ""}): ${(e as Error).message}\n${tail(join(d.home, "pm2.log"))}`);
      }
      leftovers("pm2", d.dir, d.program);
    },
    logTail: () => tail(join(d.home, "pm2.log")),
  };
}
