// The driver of the rule cases: an engine over a few services compiled from their
// files' text, a clock, and a fake world that is told nothing by itself. Each method
// steps one fact and returns the actions that came, one line each, so that a case
// reads as the sequence of facts and the exact answer to each:
//
//   spawn web main                 a spawn, with `{K=V …}` when it carries an environment
//   signal web SIGTERM             to the process group of the process the world gave web
//                                  last (else `pid=N`); `signal web main SIGHUP` to its
//                                  main process alone, `signal web reload SIGKILL` to its
//                                  reload command (the one the world gave it last, else `pid=N`)
//   kill web                       what is left of web's processes
//   find-main web                  a forking daemon's pid file to be watched for its main
//   arm web start-timeout 60s      a timer (its token is checked to be new, not shown)
//   delay t 5s {K=V}               a `scheduled` asked for
//   web → failed: why              a phase change, with its reason
//   job starting web ▸ started t   an occurrence (job event, `event NAME K=V`, `level N=V`,
//                                  `level N unset`, `schedule t`), and what it started,
//                                  stopped and skipped
//   affected stop web db           what a start, stop or restart concerns
//   switched to generation 2, removed x, changed y    an apply's switch (to the database
//                                  `apply` gave, checked), and what left the old one
//
// Every field of an action is in its line (but the timer token and the database,
// checked instead), so equal lines are equal actions, and a failing case shows what
// came instead.

import assert from "node:assert/strict";
import type { Database } from "../../../src/compile/database.js";
import { createEngine, defOf, step, type Engine } from "../../../src/engine/engine.js";
import { type Action, type BootPolicy, type Fact, isBeside, type ServiceState, type SpawnRole } from "../../../src/engine/types.js";
import { compiledDatabase } from "../../helpers.js";

/** A service file's text: `type = TYPE`, a command (or a oneshot's `up`), then `lines`. */
const file = (type: string, lines: string[]): string =>
  [`type = ${type}`, type === "oneshot" ? "up = /bin/true" : "command = /bin/true", ...lines, ""].join("\n");
export const longrun = (...lines: string[]): string => file("longrun", lines);
export const oneshot = (...lines: string[]): string => file("oneshot", lines);
export const task = (...lines: string[]): string => file("task", lines);
export const bundle = (...contents: string[]): string => `type = bundle\ncontents = ${contents.join(" ")}\n`;

const duration = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);
const pairs = (values: Readonly<Record<string, string>>): string =>
  Object.entries(values)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");

export class Rig {
  readonly e: Engine;
  /** The engine's clock: facts carry it; `later` and `fire` move it. */
  now = 0;
  private nextPid = 100;
  private lastToken = 0;
  /** The process the world gave each service last, and each service's armed timer. */
  private readonly pids = new Map<string, number>();
  private readonly reloadPids = new Map<string, number>();
  private readonly timers = new Map<string, { token: number; due: number }>();
  /** The databases `apply` gave the engine, by generation: what a switch may switch to. */
  private readonly applied = new Map<number, Database>();

  constructor(files: Record<string, string>) {
    this.e = createEngine(compiledDatabase(files), 0);
  }

  /** Step `fact` at the current time; the actions, one line each. */
  step(fact: Fact): string[] {
    return step(this.e, { ...fact, now: this.now }).map((a) => this.print(a));
  }

  // ---- What an admin, the boot or the server says ----
  start = (...names: string[]): string[] => this.step({ kind: "start", names });
  stop = (...names: string[]): string[] => this.step({ kind: "stop", names });
  restart = (...names: string[]): string[] => this.step({ kind: "restart", names });
  unwant = (...names: string[]): string[] => this.step({ kind: "unwant", names });
  shutdown = (reason?: string): string[] => this.step(reason === undefined ? { kind: "shutdown" } : { kind: "shutdown", reason });
  boot = (names: string[], policy: Partial<BootPolicy> = {}): string[] =>
    this.step({ kind: "boot", names, policy: { exitWith: null, onBootFailure: "report", ...policy } });
  /** Replace the database with `files` compiled: the next generation. */
  apply(files: Record<string, string>): string[] {
    const db: Database = { ...compiledDatabase(files), generation: this.applied.size + 2 };
    this.applied.set(db.generation, db);
    return this.step({ kind: "apply", db });
  }
  emit = (name: string, values: Record<string, string> = {}): string[] => this.step({ kind: "event", name, values });
  set = (level: string, value: string | null): string[] => this.step({ kind: "level", name: level, value });
  scheduled = (service: string, env: Record<string, string> = {}): string[] => this.step({ kind: "scheduled", service, env });
  reload = (...names: string[]): string[] => this.step({ kind: "reload", names });
  signal = (service: string, signal: string, to: "group" | "main" = "group"): string[] => this.step({ kind: "signal", service, signal, to });

  // ---- What the world says about processes and timers ----
  /** The process the engine asked for runs: the world gives it the next pid. */
  spawned(service: string): string[] {
    const pid = this.nextPid++;
    this.pids.set(service, pid);
    return this.step({ kind: "spawned", service, pid });
  }
  spawnFailed = (service: string, error: string): string[] => this.step({ kind: "spawn-failed", service, error });
  /** The keeper took a main process for the service (its pid file named it, or MAINPID=): the world gives it the next pid. */
  mainPid(service: string): string[] {
    const pid = this.nextPid++;
    this.pids.set(service, pid);
    return this.step({ kind: "main-pid", service, pid });
  }
  mainRefused = (service: string, pid: number, reason: string): string[] => this.step({ kind: "main-pid-refused", service, pid, reason });
  ready = (service: string): string[] => this.step({ kind: "ready", service, pid: this.pid(service) });
  /** The service's process ends: with an exit code, or killed by a signal named. */
  exits(service: string, how: number | string): string[] {
    const status = typeof how === "number" ? { code: how, signal: null } : { code: null, signal: how };
    return this.step({ kind: "exited", service, pid: this.pid(service), status });
  }
  /** The reload command the engine asked for runs: the world gives it the next pid. */
  reloadSpawned(service: string): string[] {
    const pid = this.nextPid++;
    this.reloadPids.set(service, pid);
    return this.step({ kind: "reload-spawned", service, pid });
  }
  reloadSpawnFailed = (service: string, error: string): string[] => this.step({ kind: "reload-spawn-failed", service, error });
  /** The reload command the world gave the service last ends. */
  reloadExits(service: string, how: number | string): string[] {
    const pid = this.reloadPids.get(service);
    assert.ok(pid !== undefined, `${service} was given no reload command`);
    const status = typeof how === "number" ? { code: how, signal: null } : { code: null, signal: how };
    return this.step({ kind: "reload-exited", service, pid, status });
  }
  /** The service's main process says RELOADING=1, or READY=1 after it. */
  reloading = (service: string): string[] => this.step({ kind: "reloading", service, pid: this.pid(service) });
  reloaded = (service: string): string[] => this.step({ kind: "reloaded", service, pid: this.pid(service) });

  /** The service's timer falls due: the clock moves to then. */
  fire(service: string): string[] {
    const timer = this.timers.get(service);
    assert.ok(timer !== undefined, `${service} has armed no timer`);
    this.now = Math.max(this.now, timer.due);
    return this.step({ kind: "timer", service, token: timer.token });
  }
  /** Time passes. */
  later(ms: number): this {
    this.now += ms;
    return this;
  }

  /**
   * Answer everything, as a world where all goes well: each spawn runs and (with
   * `ready =`) becomes ready, a oneshot's or a hook's process, a launcher and a task's
   * run exit 0, a forking daemon's pid file names its main, a signalled process exits
   * by its signal, a command beside exits 0. For bringing services to where a case begins.
   */
  settle(lines: string[]): void {
    for (const line of lines) {
      const spawn = /^spawn (\S+) (\S+)/.exec(line);
      const signal = /^signal (\S+) (SIG\w+)$/.exec(line);
      const find = /^find-main (\S+)$/.exec(line);
      if (find !== null) {
        const service = find[1] ?? "";
        this.settle(this.mainPid(service));
        if (defOf(this.e, service).ready.kind !== "none") this.settle(this.ready(service));
      } else if (spawn !== null) {
        const [, service = "", role = ""] = spawn;
        // A command beside (a post-start, a reload or stop command) runs and exits 0.
        if (isBeside(role as SpawnRole)) {
          this.settle(this.reloadSpawned(service));
          this.settle(this.reloadExits(service, 0));
          continue;
        }
        this.settle(this.spawned(service));
        const def = defOf(this.e, service);
        if (role === "main" && def.type === "longrun" && def.ready.kind !== "none") this.settle(this.ready(service));
        else if (role !== "main" || def.type === "task") this.settle(this.exits(service, 0));
      } else if (signal !== null) this.settle(this.exits(signal[1] ?? "", signal[2] ?? ""));
    }
  }

  /** How the last reload of `name` ended: `reloaded`, the error, or `reloading` while one is under way (what `tend reload` waits for). */
  lastReload(name: string): string {
    const s = this.state(name);
    if (s.reload !== null) return "reloading";
    return s.reloaded === null ? "never" : (s.reloaded.error ?? "reloaded");
  }

  /** `name phase` for each of `names`: the state a case checks besides the actions. */
  phases = (...names: string[]): string[] => names.map((n) => `${n} ${this.state(n).phase}`);

  private state(name: string): ServiceState {
    const s = this.e.services.get(name);
    assert.ok(s !== undefined, `no service '${name}'`);
    return s;
  }

  private pid(service: string): number {
    const pid = this.state(service).pid;
    assert.ok(pid !== null, `${service} has no process`);
    return pid;
  }

  private print(a: Action): string {
    switch (a.kind) {
      case "spawn":
        return `spawn ${a.service} ${a.role}${a.env === null ? "" : ` {${pairs(a.env)}}`}`;
      case "signal": {
        const known = (a.to === "reload" ? this.reloadPids : this.pids).get(a.service) === a.pid;
        return `signal ${a.service}${a.to === "group" ? "" : ` ${a.to}`}${known ? "" : ` pid=${a.pid}`} ${a.signal}`;
      }
      case "kill":
        return `kill ${a.service}`;
      case "find-main":
        return `find-main ${a.service}`;
      case "arm":
        assert.ok(a.token > this.lastToken, `timer token ${a.token} reused`);
        this.lastToken = a.token;
        this.timers.set(a.service, { token: a.token, due: this.now + a.ms });
        return `arm ${a.service} ${a.purpose} ${duration(a.ms)}`;
      case "delay":
        return `delay ${a.service} ${duration(a.ms)} {${pairs(a.env)}}`;
      case "changed":
        return `${a.service} → ${a.phase}${a.reason === null ? "" : `: ${a.reason}`}`;
      case "affected":
        return ["affected", a.command, ...a.services].join(" ");
      case "switched": {
        assert.equal(a.db, this.applied.get(a.db.generation), "a switch to a database `apply` did not give");
        const left = (["removed", "changed"] as const).filter((k) => a[k].length > 0).map((k) => `, ${k} ${a[k].join(" ")}`);
        return `switched to generation ${a.db.generation}${left.join("")}`;
      }
      case "occurred": {
        const w = a.what;
        const what =
          w.kind === "event"
            ? `event ${[w.name, pairs(w.values)].filter(Boolean).join(" ")}`
            : w.kind === "job"
              ? `job ${w.verb} ${w.service}${jobValues(w.service, w.values)}`
              : w.kind === "level"
                ? `level ${w.name}${w.value === null ? " unset" : `=${w.value}`}`
                : `schedule ${w.service}`;
        const effects = (["started", "stopped", "skipped"] as const).filter((k) => a[k].length > 0).map((k) => `${k} ${a[k].join(" ")}`);
        return effects.length === 0 ? what : `${what} ▸ ${effects.join(", ")}`;
      }
      default: {
        const unknown: never = a;
        throw new Error(`an action the driver cannot print: ${JSON.stringify(unknown)}`);
      }
    }
  }
}

/** A job event's values but JOB when it is the service's own name (it always is, but for instances' templates). */
function jobValues(service: string, values: Readonly<Record<string, string>>): string {
  const { JOB, ...rest } = values;
  const shown = JOB === service ? rest : values;
  return Object.keys(shown).length === 0 ? "" : ` ${pairs(shown)}`;
}

export const rig = (files: Record<string, string>): Rig => new Rig(files);
