// The supervisor carries out the engine's actions on the real machine: it spawns
// processes with exactly the environment, credentials, limits and fds their service
// file asks for, watches readiness, sends signals to process groups and arms timers.
// Whatever happens comes back to the engine as a fact through `emit`.

import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import type { Readable } from "node:stream";
import { join } from "node:path";
import { DEFAULT_CWD, type ServiceDef } from "../config/service.js";
import type { Action, Fact, Role } from "../engine/types.js";
import { currentAccount, lookupGroup, lookupUser, type Account } from "./accounts.js";
import { serviceEnvironment } from "./environment.js";
import { invocation, type Credentials } from "./exec-chain.js";
import { fileNameOf } from "../places.js";
import { fileLog, nullLog, stdoutLog, type LogSink } from "./logs.js";
import { watchFd } from "./readiness/fd.js";
import { notifySocket } from "./readiness/notify.js";
import { watchConnect, watchProbe } from "./readiness/poll.js";
import type { Watch } from "./readiness/watch.js";

export interface SupervisorOptions {
  /** Where per-service log directories go. */
  logDir: string;
  /** Where per-service notify sockets go. */
  runDir: string;
  emit(fact: Fact): void;
  /** Lines from tend about services, for the server's own output. */
  report(service: string, text: string): void;
}

interface Running {
  child: ChildProcess;
  role: Role;
  watches: Watch[];
}

export interface Supervisor {
  /** Carry out a spawn, signal or arm action for the service `def` describes. */
  perform(action: Extract<Action, { kind: "spawn" | "signal" | "arm" }>, def: ServiceDef): void;
  logOf(service: string, def: ServiceDef): LogSink;
  /** The last STATUS= an sd_notify service sent. */
  statusText(service: string): string | undefined;
  /** The pids of every process still running (for shutdown checks and tests). */
  livePids(): number[];
  /** Close logs, sockets and timers of services that are no longer in the database. */
  forget(service: string): void;
  close(): void;
}

export function createSupervisor(options: SupervisorOptions): Supervisor {
  const running = new Map<string, Running>();
  const timers = new Map<string, NodeJS.Timeout>();
  const logs = new Map<string, LogSink>();
  const statusTexts = new Map<string, string>();
  /** Main processes tend has sent a stop signal to: once one is gone, the rest of its group is killed. */
  const stopping = new Set<number>();
  /** Output pipes still open: a process that outlived its service may hold them. */
  const pipes = new Set<Readable>();
  const self = currentAccount();

  const logOf = (service: string, def: ServiceDef): LogSink => {
    let sink = logs.get(service);
    if (sink === undefined) {
      sink =
        def.log === "none"
          ? nullLog
          : def.log === "stdout"
            ? stdoutLog(service)
            : fileLog({ dir: join(options.logDir, fileNameOf(service)), maxBytes: def.logMaxBytes, keep: def.logKeep });
      logs.set(service, sink);
    }
    return sink;
  };

  const fail = (service: string, error: string): void => {
    options.report(service, error);
    options.emit({ kind: "spawn-failed", service, error });
  };

  function start(service: string, role: Role, def: ServiceDef, eventEnv: Record<string, string> | null): void {
    const argv = commandFor(def, role);
    if (argv === null) return fail(service, `no command for ${role}`);
    const who = credentialsFor(def, self);
    if (typeof who === "string") return fail(service, who);

    const readiness = role === "main" && def.type === "longrun" ? def.ready : { kind: "none" as const };
    const extraEnv: Record<string, string> = {};
    const notifyPath = join(options.runDir, "notify", `${fileNameOf(service)}.sock`);
    if (readiness.kind === "notify") extraEnv.NOTIFY_SOCKET = notifyPath;
    const env = serviceEnvironment(def, who.account, eventEnv ?? {}, extraEnv);
    if (!env.ok) return fail(service, env.error);

    let exec;
    try {
      exec = invocation(def, argv, who.credentials);
    } catch (e) {
      return fail(service, (e as Error).message);
    }
    const log = logOf(service, def);
    const stdio: StdioOptions = ["ignore", def.log === "none" ? "ignore" : "pipe", def.log === "none" ? "ignore" : "pipe"];
    if (readiness.kind === "fd") {
      while (stdio.length < readiness.fd) stdio.push("ignore");
      stdio.push("pipe");
    }

    const watches: Watch[] = [];
    const ready = (): void => {
      const r = running.get(service);
      if (r !== undefined && r.role === "main") options.emit({ kind: "ready", service, pid: r.child.pid! });
    };
    if (readiness.kind === "notify") {
      try {
        watches.push(
          notifySocket(notifyPath, {
            onReady: ready,
            onStatus: (text) => statusTexts.set(service, text),
            onError: (message) => options.report(service, message),
          }, who.credentials),
        );
      } catch (e) {
        return fail(service, `cannot create the notify socket: ${(e as Error).message}`);
      }
    }

    const previousUmask = process.umask(def.umask ?? 0o022);
    let child: ChildProcess;
    try {
      child = spawn(exec.file, exec.args, { cwd: def.cwd ?? DEFAULT_CWD, env: env.env, stdio, detached: true });
    } catch (e) {
      for (const w of watches) w.cancel();
      return fail(service, (e as Error).message);
    } finally {
      process.umask(previousUmask);
    }
    if (child.pid === undefined) {
      for (const w of watches) w.cancel();
      child.once("error", (e) => fail(service, `${argv[0]}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such program" : e.message}`));
      return;
    }
    const pid = child.pid;
    for (const pipe of [child.stdout, child.stderr]) {
      if (pipe === null) continue;
      pipes.add(pipe);
      pipe.on("data", (chunk: Buffer) => log.write(chunk));
      pipe.once("close", () => pipes.delete(pipe));
    }
    if (readiness.kind === "fd") watches.push(watchFd(child.stdio[readiness.fd] as Readable, ready));
    if (readiness.kind === "tcp") watches.push(watchConnect({ host: readiness.host, port: readiness.port }, ready));
    if (readiness.kind === "unix") watches.push(watchConnect({ path: readiness.path }, ready));
    if (readiness.kind === "exec") {
      try {
        const probe = invocation(def, readiness.argv, who.credentials);
        watches.push(watchProbe(probe.file, probe.args, { cwd: def.cwd ?? DEFAULT_CWD, env: env.env }, ready));
      } catch (e) {
        options.report(service, (e as Error).message);
      }
    }
    running.set(service, { child, role, watches });
    child.once("exit", (code, signal) => {
      for (const w of watches) w.cancel();
      if (running.get(service)?.child === child) running.delete(service);
      // Stopped, or a daemon that ended: nothing of its process group stays behind (a
      // child that ignored the stop signal, or one it forked) to hold its output pipes
      // or its port when it is started again.
      const daemonEnded = role === "main" && def.type === "longrun";
      if (stopping.delete(pid) || daemonEnded) signalGroup(pid, "SIGKILL");
      if (daemonEnded) statusTexts.delete(service); // what it said with STATUS= ended with it
      options.emit({ kind: "exited", service, pid, status: { code, signal } });
    });
    options.emit({ kind: "spawned", service, pid });
  }

  return {
    perform(action, def) {
      switch (action.kind) {
        case "spawn":
          return start(action.service, action.role, def, action.env);
        case "signal":
          if (running.get(action.service)?.child.pid === action.pid) stopping.add(action.pid);
          return signalGroup(action.pid, action.signal);
        case "arm": {
          clearTimeout(timers.get(action.service));
          const timer = setTimeout(() => {
            timers.delete(action.service);
            options.emit({ kind: "timer", service: action.service, token: action.token });
          }, action.ms);
          timers.set(action.service, timer);
          return;
        }
      }
    },
    logOf,
    statusText: (service) => statusTexts.get(service),
    livePids: () => [...running.values()].map((r) => r.child.pid!),
    forget(service) {
      clearTimeout(timers.get(service));
      timers.delete(service);
      logs.get(service)?.close();
      logs.delete(service);
      statusTexts.delete(service);
    },
    close() {
      for (const t of timers.values()) clearTimeout(t);
      for (const l of logs.values()) l.close();
      for (const r of running.values()) for (const w of r.watches) w.cancel();
      for (const pipe of pipes) pipe.destroy();
    },
  };
}

function signalGroup(pid: number, signal: string): void {
  try {
    process.kill(-pid, signal as NodeJS.Signals);
  } catch {
    // already gone: its exit is on its way
  }
}

function commandFor(def: ServiceDef, role: Role): string[] | null {
  switch (role) {
    case "main":
      return def.command;
    case "pre-start":
      return def.preStart;
    case "post-stop":
      return def.postStop;
    case "up":
      return def.up;
    case "down":
      return def.down;
  }
}

/** Who the process runs as, or why it cannot. */
function credentialsFor(def: ServiceDef, self: Account): { account: Account; credentials: Credentials | null } | string {
  if (def.user === null && def.group === null) return { account: self, credentials: null };
  const account = def.user === null ? self : lookupUser(def.user);
  if (account === null) return `no such user '${def.user}'`;
  const gid = def.group === null ? account.gid : lookupGroup(def.group);
  if (gid === null) return `no such group '${def.group}'`;
  if (account.uid === self.uid && gid === self.gid) return { account, credentials: null };
  if (self.uid !== 0) return `switching to user '${def.user ?? self.name}' needs a server running as root`;
  return { account, credentials: { uid: account.uid, gid, initGroups: def.user !== null } };
}
