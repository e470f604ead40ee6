// The engine's vocabulary: the facts it is told, the actions it asks for, and the
// state it keeps per service. Plain data, so that a simulation can drive it and a
// status reply can show it.

import type { Database } from "../compile/database.js";
import type { Latches, Occurrence } from "../events/conditions.js";

/** What first pulled a wanted service in: a name an admin, the boot or `enable` gave (a bundle's, for a member), its event, or another wanted service over an edge. */
export type Pull = { by: "name"; root: string } | { by: "trigger" } | { by: "requires" | "wants"; from: string };

/** What a service is doing. Tasks use `running` instead of starting/up. */
export type Phase = "down" | "starting" | "up" | "running" | "stopping" | "failed";
/** Every phase, in the order a run goes through them (`tend status --state` takes these). */
export const PHASES: readonly Phase[] = ["down", "starting", "up", "running", "stopping", "failed"];

/**
 * The process a service has at a time: each service runs at most one. A forking daemon
 * (`pid-file`) first runs its `command` as a `launcher`; the process its pid file names
 * is then its `main`.
 */
export type Role = "pre-start" | "launcher" | "main" | "up" | "down" | "post-stop";

/**
 * What a spawn is for: the service's process (a role), or a command beside its main
 * process: its post-start (post-start.ts), reload (reload.ts) or stop command
 * (stop-command.ts). They share the keeper's one place for a command beside, and its
 * news (the reload-* facts): the post-start runs only while starting, the reload only
 * while up, the stop command only while stopping.
 */
export type SpawnRole = Role | BesideRole;
export type BesideRole = "post-start" | "reload" | "stop";

/** A command that runs beside the service's process, not as it. */
export const isBeside = (role: SpawnRole): role is BesideRole => role === "reload" || role === "stop" || role === "post-start";

/** A post-start command under way (post-start.ts): its process, once its spawn is reported. */
export interface PostStart {
  pid: number | null;
}

/** A stop command under way (stop-command.ts). */
export interface StopCommand {
  /** Its process, once its spawn is reported. */
  pid: number | null;
  /** The main process ended while it ran: the stop goes on once it has ended too. */
  mainEnded: boolean;
}

/** Whom a signal is for: the process group of the service's process, its main process alone, or its reload command's group. */
export type SignalTarget = "group" | "main" | "reload";

/** A reload under way (`tend reload`, or a notify service that said RELOADING=1): see reload.ts. */
export interface Reload {
  /** Its command runs: asked for, and not ended yet. */
  command: boolean;
  /** The command's process, once its spawn is reported. */
  pid: number | null;
  /** Whether it waits for the main process's READY=1: not (`none`), yes (`awaited`: it said RELOADING=1, or its signal asks for it), or it came. */
  ready: "none" | "awaited" | "came";
  /** The token of its reload-timeout (0: none): the service's one timer while it is up. */
  token: number;
}

/**
 * Where a service goes once its process has ended (after a post-stop hook, if any):
 * down or failed (held: not started again automatically), or back to starting.
 */
export type Outcome =
  | { to: "down" | "failed"; reason: string | null; held: boolean }
  | { to: "restart"; delayMs: number };

export interface ExitStatus {
  code: number | null;
  signal: string | null;
}

export interface ServiceState {
  phase: Phase;
  /** When the phase last changed (ms, on the clock the facts carry). */
  since: number;
  /** The running process and what it is for. */
  pid: number | null;
  role: Role | null;
  /** Starting: waiting for the restart delay (no process yet). */
  delayed: boolean;
  /** Starting: a forking daemon's launcher exited 0, and its pid file is awaited (no process tracked meanwhile). */
  findingMain: boolean;
  /** Where the service goes once its current process has ended, when that is decided already. */
  outcome: Outcome | null;
  /** Why the service is failed or down, in words for `tend status`. */
  reason: string | null;
  /** Not started again automatically until an admin starts it (it failed, or exited on its own, or a task ran). */
  held: boolean;
  /** A stop signal was escalated to SIGKILL. */
  killed: boolean;
  lastExit: ExitStatus | null;
  /** Times of automatic restarts inside the restart-limit window. */
  restarts: number[];
  /** The next restart delay (grows to restart-delay-max). */
  backoffMs: number;
  /** The token of the one timer the service may have armed; stale timers carry older tokens. */
  timer: number;
  /** When the service last became up (for the back-off reset). */
  upSince: number | null;
  /** Completed runs (tasks and oneshots count each `up`). */
  runs: number;
  /** The environment the event that started it brought (KEY=VALUE pairs, TEND_EVENT). */
  env: Record<string, string> | null;
  /** Edge events seen by its `start-on`, `stop-on` and `after` schedule since they last fired. */
  startLatches: Latches;
  stopLatches: Latches;
  scheduleLatches: Latches;
  /** For a `start-on` over levels only: whether it held at the last level change. */
  levelsHeld: boolean;
  /** Tasks run on `starting`/`stopping` this service that its transition waits for. */
  hooks: string[];
  /** The `stopping` job event of the current stop was emitted (its hooks ran). */
  announced: boolean;
  /** Triggers that came while a run was still going (a task never overlaps itself). */
  skipped: number;
  /** A reload under way; only while the service is up. */
  reload: Reload | null;
  /** A post-start command under way; only while starting. */
  postStart: PostStart | null;
  /**
   * A post-start cut short before its spawn was told: its news is still to come (it is
   * killed then), and the keeper's place beside is its until it has ended, so the
   * service does not start again before (post-start.ts `leftPostStartFact`).
   */
  postStartLeft: boolean;
  /** A stop command under way; only while stopping. */
  stopCommand: StopCommand | null;
  /** How the last reload ended (error null: reloaded), and when: what `tend reload` answers. */
  reloaded: { at: number; error: string | null } | null;
}

/** What ends a boot, besides a shutdown asked for (`tend boot --exit-with`, `--on-boot-failure`). */
export interface BootPolicy {
  /** A longrun or task whose run, ending on its own, ends the boot with its exit status; started by the boot. */
  exitWith: string | null;
  /** `stop`: a service the boot waits for that fails before the boot completed ends it, with status 1. */
  onBootFailure: "report" | "stop";
}

/** A boot under way, or done. */
export interface Boot extends BootPolicy {
  /** The services the boot waits for: what its names stand for, and what they require (see boot.ts). */
  services: Set<string>;
  /** Those of them that have not been up once yet (a task: whose run has not ended well yet). */
  waiting: Set<string>;
  /** When the last of them had been up once (ms): from then on, `onBootFailure` no longer applies. */
  completeAt: number | null;
}

/** How the server ends: the status it exits with, and why. The first end recorded is the one. */
export interface End {
  code: number;
  reason: string;
}

export type Fact =
  /** The server's start (`tend boot`, or `tend daemon` with no names): start `names`, and end as `policy` says. */
  | { kind: "boot"; names: string[]; policy: BootPolicy }
  | { kind: "start"; names: string[] }
  | { kind: "stop"; names: string[] }
  | { kind: "restart"; names: string[] }
  /** No longer wanted for itself, nor as a member of a started bundle (it may still be required): `disable`. */
  | { kind: "unwant"; names: string[] }
  /** Stop everything, then the server; `reason` (SIGTERM, `tend shutdown`) is the end's, with status 0. */
  | { kind: "shutdown"; reason?: string }
  /** Replace the database: what is removed or changed stops first (dependents before it), then the new one applies. */
  | { kind: "apply"; db: Database }
  | { kind: "spawned"; service: string; pid: number }
  | { kind: "spawn-failed"; service: string; error: string }
  | { kind: "ready"; service: string; pid: number }
  | { kind: "exited"; service: string; pid: number; status: ExitStatus }
  | { kind: "timer"; service: string; token: number }
  /** The keeper took `pid` as the service's main process: its pid file named it, or sd_notify MAINPID= did. */
  | { kind: "main-pid"; service: string; pid: number }
  /** The keeper would not take `pid` as the service's main (it is not running, or not a process of the service): `reason` says so in words. */
  | { kind: "main-pid-refused"; service: string; pid: number; reason: string }
  /**
   * A restarted server's word on one service, from the keeper's table: the process it
   * runs now, and the exit the previous server did not see (the engine was restored
   * from a snapshot that may be a little behind: the keeper is the truth about processes).
   * `reload`: the pid of the reload command it runs beside (absent: none).
   */
  | { kind: "adopted"; service: string; process: AdoptedProcess | null; exit: { pid: number; status: ExitStatus } | null; reload?: number }
  /** An edge event (`tend emit NAME KEY=VALUE…`). */
  | { kind: "event"; name: string; values: Record<string, string> }
  /** A level changed (`tend set NAME VALUE`), or was removed (value null). */
  | { kind: "level"; name: string; value: string | null }
  /** A task's clock schedule (or the delay after its event) fell due. */
  | { kind: "scheduled"; service: string; env: Record<string, string> }
  /** An admin's signal (`tend signal NAME SIG`): sent to the service's process group, if it has a process; `main`: to its main process alone (`--main`). */
  | { kind: "signal"; service: string; signal: string; to: "group" | "main" }
  /** An admin's reload (`tend reload NAME…`): each up service runs its reload command, or its main process is sent its reload signal. */
  | { kind: "reload"; names: string[] }
  /** The command beside the service's process runs (`spawned`), could not be started, or ended: its reload command, its post-start while it starts, or its stop command while it stops. */
  | { kind: "reload-spawned"; service: string; pid: number }
  | { kind: "reload-spawn-failed"; service: string; error: string }
  | { kind: "reload-exited"; service: string; pid: number; status: ExitStatus }
  /** The main process of a notify service said RELOADING=1, or READY=1 after it (its reload is done). */
  | { kind: "reloading"; service: string; pid: number }
  | { kind: "reloaded"; service: string; pid: number }

/** The commands whose step begins with an `affected` action. */
export type Command = "start" | "stop" | "restart";

export interface AdoptedProcess {
  pid: number;
  role: Role;
  /** It said it was ready (fd or sd_notify) while no server was there to hear it. */
  ready: boolean;
}

export type TimerPurpose = "start-timeout" | "stop-timeout" | "restart-delay" | "hook-timeout" | "reload-timeout";

export type Action =
  /**
   * Start the service's process for `role`; answer with `spawned` or `spawn-failed`, then `exited` (and `ready` for a longrun's main).
   * A `reload` process runs beside it: answered with `reload-spawned` or `reload-spawn-failed`, then `reload-exited`.
   */
  | { kind: "spawn"; service: string; role: SpawnRole; env: Record<string, string> | null }
  /**
   * A forking daemon's launcher exited 0: watch its pid file, and ask the keeper to take
   * the process it names as the main; answer with `main-pid` or `main-pid-refused`.
   * Given up on at the service's next spawn or kill.
   */
  | { kind: "find-main"; service: string }
  /** Send a signal to `pid` (the service's process, or its reload command's), as `to` says. */
  | { kind: "signal"; service: string; pid: number; signal: string; to: SignalTarget }
  /** Kill whatever is left of the service's processes: a oneshot's `up` may leave children, which go with the oneshot. */
  | { kind: "kill"; service: string }
  /** Answer with `timer` after `ms`; replaces any timer the service had. */
  | { kind: "arm"; service: string; token: number; ms: number; purpose: TimerPurpose }
  /** A state change worth a line in the server's log and in the job-event stream. */
  | { kind: "changed"; service: string; phase: Phase; reason: string | null }
  /** Answer with `scheduled` after `ms`: an `after` schedule's event occurred. */
  | { kind: "delay"; service: string; ms: number; env: Record<string, string> }
  /** The first action of a start, stop or restart: every service the command concerns (what a stop takes down, what a restart bounces). */
  | { kind: "affected"; command: Command; services: string[] }
  /** An apply switched to `db`: what the old database ran under the `removed` and `changed` names (instances included) is gone. */
  | { kind: "switched"; db: Database; removed: string[]; changed: string[] }
  /** An event, level change, job event or schedule happened, and what it started, stopped or skipped. */
  | { kind: "occurred"; what: Occurrence | { kind: "level"; name: string; value: string | null } | { kind: "schedule"; service: string }; started: string[]; stopped: string[]; skipped: string[] };

/** Timestamped: the shell passes the clock in, the engine never reads one. */
export type TimedFact = Fact & { now: number };
