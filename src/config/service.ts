// What one service file means: the ServiceDef type, with every key's default.
// The compiled database stores exactly these records.

import type { Argv } from "./argv.js";
import type { Condition } from "./condition.js";
import type { ListenSocket } from "./listen.js";
import type { Schedule } from "./schedule.js";
import { nameRecord } from "../records.js";
import type { ReadySpec, ResourceLimit, RestartLimit } from "./values.js";

export type ServiceType = "longrun" | "oneshot" | "task" | "bundle";
export const SERVICE_TYPES: readonly ServiceType[] = ["longrun", "oneshot", "task", "bundle"];

export type RestartPolicy = "always" | "on-failure" | "never";
export type LogMode = "file" | "stdout" | "none";
/** `apart`: stderr on a pipe of its own, its lines marked in the log (or on tend's stderr with `log = stdout`). */
export type StderrMode = "with-stdout" | "apart";

export interface EnvFile {
  path: string;
  /** A missing optional file (written `-/path`) is skipped instead of failing the start. */
  optional: boolean;
}

/**
 * The directories the server makes for a service before it starts (systemd's
 * RuntimeDirectory= and co.): under /run, /var/lib, /var/cache and /var/log in root
 * mode (src/places.ts has every mode's bases), owned by the service's user.
 */
export type DirectoryKind = "runtime" | "state" | "cache" | "logs";
export const DIRECTORY_KINDS: readonly DirectoryKind[] = ["runtime", "state", "cache", "logs"];
/** The mode a service's directories get when the file gives none. */
export const DEFAULT_DIRECTORY_MODE = 0o755;

export interface Directories {
  /** Relative paths under the kind's base, checked when compiling (no `..`, no empty part). */
  names: string[];
  mode: number;
}

/** A reference to another service, with where the file says it (for graph errors). */
export interface Reference {
  name: string;
  line: number;
  col: number;
}

export interface ServiceDef {
  name: string;
  /** For an instance, the template it is made from (`getty@` for `getty@tty1`, `mount` for `mount@/dev/sdb1`; see template.ts). */
  template: string | null;
  type: ServiceType;
  /** The source file, as given to the compiler. */
  file: string;
  description: string;

  command: Argv | null;
  up: Argv | null;
  down: Argv | null;
  preStart: Argv | null;
  postStop: Argv | null;

  requires: Reference[];
  wants: Reference[];
  after: Reference[];
  before: Reference[];
  contents: Reference[];

  ready: ReadySpec;
  /**
   * A forking daemon's pid file (absolute): `command` is a launcher that daemonizes, and
   * the process this file names, once the launcher has exited 0, is the service's main.
   */
  pidFile: string | null;
  /**
   * A forking daemon (`forking = yes`, or a `pid-file`): `command` is its launcher. Without
   * a pid file its main is the one process left in the service's tree once the launcher
   * has exited 0 (systemd's Type=forking with GuessMainPID).
   */
  forking: boolean;
  /** Sockets held for the service's whole life and passed to its main command as fds 3… (socket activation). */
  listen: ListenSocket[];
  /** null: no limit. */
  startTimeoutMs: number | null;
  stopTimeoutMs: number | null;

  restart: RestartPolicy;
  restartDelayMs: number;
  restartDelayMaxMs: number;
  restartLimit: RestartLimit | null;
  /** Exit codes and signal names that count as a clean exit. */
  successExit: (number | string)[];
  stopSignal: string;
  /** A longrun's post-start: a command run beside its main process (with MAINPID) once it has started (spawned, or ready); up once it exits 0 (systemd's ExecStartPost). */
  postStart: Argv | null;
  /** A longrun's stop: a command run beside its main process (with MAINPID) before the stop signal (systemd's ExecStop, an init script's `stop`). */
  stop: Argv | null;
  /** `tend reload`: a command run beside the service (with MAINPID), or a signal to its main process; at most one of the two. */
  reload: Argv | null;
  reloadSignal: string | null;
  /** How long a reload may take (its command, or the READY=1 of a notify service); null: no limit. */
  reloadTimeoutMs: number | null;

  user: string | null;
  group: string | null;
  /** Who besides root and the control group may start, stop, restart, reload it and read its logs: user names, `@group`s, numbers. */
  allow: string[];
  /** Prototype-free (see records.ts), as every record keyed by a user's names. */
  env: Record<string, string>;
  envFiles: EnvFile[];
  /** Variables of the server's own environment passed in: names, `PREFIX*` patterns, `*` (see `pass-env`). */
  passEnv: string[];
  /** Absolute: a relative `cwd` is resolved against the source directory at compile time. */
  cwd: string | null;
  umask: number | null;
  limits: Record<string, ResourceLimit>;
  noNewPrivileges: boolean;
  /** Only the kinds the file names, in DIRECTORY_KINDS order. */
  directories: Partial<Record<DirectoryKind, Directories>>;

  log: LogMode;
  logMaxBytes: number;
  logKeep: number;
  stderr: StderrMode;

  startOn: Condition | null;
  stopOn: Condition | null;
  schedule: Schedule | null;
  catchUp: boolean;
  /** Event key whose distinct values each get their own instance. */
  instance: string | null;
}

export function defaultService(name: string, file: string, type: ServiceType): ServiceDef {
  return {
    name,
    template: null,
    type,
    file,
    description: "",
    command: null,
    up: null,
    down: null,
    preStart: null,
    postStop: null,
    requires: [],
    wants: [],
    after: [],
    before: [],
    contents: [],
    ready: { kind: "none" },
    pidFile: null,
    forking: false,
    listen: [],
    startTimeoutMs: type === "task" ? null : 60_000,
    stopTimeoutMs: 10_000,
    restart: type === "longrun" ? "on-failure" : "never",
    restartDelayMs: 200,
    restartDelayMaxMs: 30_000,
    restartLimit: { count: 5, windowMs: 60_000 },
    successExit: [0],
    stopSignal: "SIGTERM",
    postStart: null,
    stop: null,
    reload: null,
    reloadSignal: null,
    reloadTimeoutMs: 60_000,
    user: null,
    group: null,
    allow: [],
    env: nameRecord(),
    envFiles: [],
    passEnv: [],
    cwd: null,
    umask: null,
    limits: nameRecord(),
    noNewPrivileges: false,
    directories: {},
    log: "file",
    logMaxBytes: 1024 * 1024,
    logKeep: 5,
    stderr: "with-stdout",
    startOn: null,
    stopOn: null,
    schedule: null,
    catchUp: false,
    instance: null,
  };
}

/** The PATH every service starts with unless its file sets one: never the caller's. */
export const CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** Where a service runs when its file sets no `cwd`. */
export const DEFAULT_CWD = "/";

/**
 * A service that an event or a clock starts (`start-on`, `schedule`): being a member
 * of a started bundle, or wanted by another service, does not start it; naming it does.
 */
export const waitsForTrigger = (def: ServiceDef): boolean => def.startOn !== null || def.schedule !== null;
