// systemd units (.service, .timer, .socket) into tend service files, a note per
// directive: what it became, or why it was dropped. docs/compatibility.md is the same
// table for people; the reasons here are its words.

import { basename, dirname, join, resolve } from "node:path";
import { calendarToCron, parseTimespan, tendDuration } from "./durations.js";
import { sequence, splitExec, tendCommand, type ExecLine } from "./exec.js";
import { exitStatusNumber } from "./exit-status.js";
import { parseDirectoryMode, parseSignal } from "../config/values.js";
import { INSTANCE_TEXT, replaceSpecifiers, type UnitIdentity } from "./specifiers.js";
import { UNIT_HEADER } from "../config/parse.js";
import { lastOf, listOf, parseUnit, type Assignment, type UnitFile } from "./unit-file.js";
import { ACCEPT_WHY, acceptsEach, translateSocketSection } from "./socket.js";
import type { Note, Outcome, TranslateInput, TranslateResult, Translator, UnitFiles } from "./types.js";

const SANDBOXING = "sandboxing: tend sets up no namespaces, capabilities, seccomp filters or mount restrictions; the service runs with its user's rights";
const RESOURCES = "resource control: tend sets no cgroup limits, priorities or scheduling (only the rlimits of limit-*)";
const NO_EFFECT = "describes the unit; changes nothing about how it runs";

/** Directives dropped as a family, by prefix or name, with the reason. */
const FAMILIES: [RegExp, string, Outcome][] = [
  [/^(Protect|Private|Restrict|ReadWrite|ReadOnly|Inaccessible|ExecPaths|NoExecPaths|Bind|Temporary|System?Call|Capability|Ambient|Secure|Lock|MemoryDeny|Device|IPAddress|IPAccounting|Root|Mount|Keyring|Personality|RemoveIPC|DynamicUser|SELinux|AppArmor|SmackProcess|Network?Namespace|Ipc)/, SANDBOXING, "dropped"],
  [/^(CPU|Memory|IO|Tasks|Slice|Delegate|OOM|Nice|BlockIO|StartupCPU|StartupIO|AllowedCPUs|AllowedMemory|ManagedOOM|ControlGroup|Startup)/, RESOURCES, "dropped"],
  [/^(Condition|Assert)/, "tend checks no conditions before a start: the service starts whenever it is wanted", "dropped"],
  [/^(Documentation|SourcePath|DefaultDependencies|Syslog[A-Za-z]*|LogLevelMax|LogExtraFields|LogRateLimit|LogNamespace|IgnoreOnIsolate|AllowIsolate|CollectMode)$/, NO_EFFECT, "ignored"],
  [/^(Alias|Also)$/, "tend has no aliases: a service has one name", "dropped"],
  [/^(Watchdog|Notify|FileDescriptorStore|NonBlocking|GuessMainPID|RuntimeMaxSec|RuntimeRandomizedExtraSec|TimeoutAbortSec|TimeoutStartFailureMode|TimeoutStopFailureMode|OnFailure|OnSuccess|Job|FailureAction|SuccessAction|StartLimitAction|RebootArgument|StopWhenUnneeded|RefuseManual|OnFailureJobMode)/, "tend has no equivalent", "dropped"],
];

/** Targets that stand for the boot as a whole: a unit they want is enabled. */
const BOOT_TARGETS: ReadonlySet<string> = new Set(["multi-user.target", "default.target", "graphical.target", "timers.target"]);
/** What enables a .socket: its service then runs from the first connection (unless it is enabled itself). */
const SOCKET_TARGETS: ReadonlySet<string> = new Set(["sockets.target"]);

interface Unit {
  file: UnitFile;
  path: string;
  identity: UnitIdentity;
  /** The tend name it becomes. */
  name: string;
}

/** systemd's unit kinds other than those tend imports. */
const OTHER_KINDS = /\.(target|slice|mount|automount|swap|path|device|scope)$/;

/** `foo@.service` → prefix foo, a template; `foo.timer` → foo. */
function identify(path: string): { prefix: string; suffix: string; template: boolean } | null {
  const name = basename(path);
  // Units of other kinds are not services: a directory's are passed over, one named alone is said to be no unit tend can take.
  if (OTHER_KINDS.test(name)) return null;
  // A unit copied under another name (what 'tend check' points at) is taken for a .service.
  const m = /^([A-Za-z0-9][A-Za-z0-9._-]{0,99}?)(@)?\.(service|timer|socket)$/.exec(/\.(service|timer|socket)$/.test(name) ? name : `${name}.service`);
  return m === null ? null : { prefix: m[1]!, template: m[2] === "@", suffix: m[3]! };
}

const tendNameOf = (id: { prefix: string; template: boolean }): string => (id.template ? `${id.prefix}@` : id.prefix);

/** The translation in progress: the lines written, the notes. */
interface Writer {
  readonly lines: string[];
  readonly notes: Note[];
  note(a: Assignment, outcome: Outcome, to?: string, why?: string): void;
  /** Writes `key = value`; returns the line. */
  set(key: string, value: string): string;
}

function writer(): Writer {
  const lines: string[] = [];
  const notes: Note[] = [];
  return {
    lines,
    notes,
    note: (a, outcome, to, why) => void notes.push({ directive: a.key, file: a.file, line: a.line, outcome, ...(to !== undefined ? { to } : {}), ...(why !== undefined ? { why } : {}) }),
    set: (key, value) => {
      const line = `${key} = ${value}`;
      lines.push(line);
      return line;
    },
  };
}

function readUnit(input: TranslateInput, path: string, text: string): { unit: Unit } | { error: string } {
  const id = identify(path);
  if (id === null) return { error: `${path}: not a .service, .timer or .socket unit name tend can take (a name, '@' for a template)` };
  const dir = join(dirname(path), `${basename(path)}.d`);
  const dropIns = input.files
    .list(dir)
    .filter((n) => n.endsWith(".conf"))
    .flatMap((n) => {
      const t = input.files.read(join(dir, n));
      return t === null ? [] : [{ file: join(dir, n), text: t }];
    });
  const parsed = parseUnit(path, text, dropIns);
  if (!parsed.ok) return { error: parsed.error };
  const userLine = lastOf((parsed.unit.sections.get("Service") ?? []).filter((a) => a.key === "User"));
  return { unit: { file: parsed.unit, path, name: tendNameOf(id), identity: { ...id, user: userLine?.value ?? null } } };
}

/** A section's assignments by directive, in first-seen order. */
function byKey(assignments: readonly Assignment[]): Map<string, Assignment[]> {
  const map = new Map<string, Assignment[]>();
  for (const a of assignments) map.set(a.key, [...(map.get(a.key) ?? []), a]);
  return map;
}

interface Translation {
  readonly w: Writer;
  readonly unit: Unit;
  /** Names to enable. */
  readonly enable: string[];
  /** The file names of the .socket units whose sockets it gets (`foo.socket`). */
  readonly ownSockets: ReadonlySet<string>;
  text(a: Assignment, value?: string, instanceOk?: boolean): string | null;
  exec(assignments: readonly Assignment[]): ExecLine[] | null;
  commands(assignments: readonly Assignment[] | undefined, key: string | null, why?: string): string | null;
  dependencies(assignments: readonly Assignment[] | undefined, key: string): void;
}

/** One unit's translation: the helpers its sections share. */
function translation(unit: Unit, known: ReadonlySet<string>, ownSockets: ReadonlySet<string> = new Set()): Translation {
  const w = writer();
  const t: Translation = {
    w,
    unit,
    ownSockets,
    enable: [],
    /** A value with its specifiers replaced, or null (noted as dropped). */
    text(a: Assignment, value = a.value, instanceOk = true): string | null {
      const r = replaceSpecifiers(value, unit.identity);
      if ("unsupported" in r) {
        w.note(a, "dropped", undefined, `${r.unsupported} has no fixed value tend could write (it depends on the machine or an account at run time)`);
        return null;
      }
      if (!instanceOk && r.text.includes(INSTANCE_TEXT)) {
        w.note(a, "dropped", undefined, `tend does not put a template's argument into this key: it is the same for every instance`);
        return null;
      }
      return r.text;
    },

    exec(assignments: readonly Assignment[]): ExecLine[] | null {
      const lines: ExecLine[] = [];
      for (const a of listOf(assignments)) {
        const value = t.text(a);
        if (value === null) return null;
        const line = splitExec(value);
        if (typeof line === "string") {
          w.note(a, "dropped", undefined, `cannot read its command: ${line}`);
          return null;
        }
        lines.push(line);
      }
      return lines;
    },

    /** Exec directives into one tend key (null key: there is none for them). */
    commands(assignments: readonly Assignment[] | undefined, key: string | null, why?: string): string | null {
      if (assignments === undefined || assignments.length === 0) return null;
      const lines = t.exec(assignments);
      if (lines === null) return null;
      const live = listOf(assignments);
      if (key === null) {
        for (const a of live) w.note(a, "dropped", undefined, why);
        return null;
      }
      const command = sequence(lines);
      if (command === null) return null;
      const line = w.set(key, command);
      const approx = lines.some((l) => l.privileged || l.argv0);
      for (const a of live) w.note(a, approx ? "approximated" : "translated", line, approx ? "tend runs every command as the service's user, and cannot set argv[0] ('+', '!', '@' prefixes)" : undefined);
      return command;
    },

    /** A dependency list: the names tend will know kept, the others dropped with why. */
    dependencies(assignments: readonly Assignment[] | undefined, key: string): void {
      for (const a of listOf(assignments ?? [])) {
        const value = t.text(a, a.value, false);
        if (value === null) continue;
        const kept: string[] = [];
        const dropped: string[] = [];
        const own = value.split(/\s+/).filter((u) => ownSockets.has(u));
        for (const unitName of value.split(/\s+/).filter((u) => !ownSockets.has(u))) {
          // A service by its name; a target when the destination has a service or bundle of its name (`network`).
          const name = /^(.+)\.(service|target)$/.exec(unitName)?.[1];
          if (name !== undefined && known.has(name)) kept.push(name);
          else dropped.push(unitName);
        }
        const why = dropped.length > 0 ? `no tend service for ${dropped.join(", ")} in the destination nor in this import (targets and other kinds of unit are not services)` : undefined;
        // A dependency on its own .socket is kept by its listen lines: the keeper opens them before it starts.
        if (kept.length === 0 && dropped.length === 0) w.note(a, "translated", `its listen lines (${own.join(", ")})`);
        else if (kept.length === 0) w.note(a, "dropped", undefined, why);
        else w.note(a, dropped.length > 0 ? "approximated" : "translated", w.set(key, kept.join(" ")), why);
      }
    },
  };
  return t;
}

const SINGLE_MAP: Record<string, { key: string; instanceOk: boolean }> = {
  User: { key: "user", instanceOk: true },
  Group: { key: "group", instanceOk: true },
  WorkingDirectory: { key: "cwd", instanceOk: true },
  UMask: { key: "umask", instanceOk: false },
  KillSignal: { key: "stop-signal", instanceOk: false },
  ReloadSignal: { key: "reload-signal", instanceOk: false },
};

const DIRECTORY_MAP: Record<string, string> = {
  RuntimeDirectory: "runtime-directory",
  StateDirectory: "state-directory",
  CacheDirectory: "cache-directory",
  LogsDirectory: "logs-directory",
};

const LIMIT_MAP: Record<string, string> = {
  LimitAS: "limit-as", LimitCORE: "limit-core", LimitCPU: "limit-cpu", LimitDATA: "limit-data", LimitFSIZE: "limit-fsize",
  LimitMEMLOCK: "limit-memlock", LimitNOFILE: "limit-nofile", LimitNPROC: "limit-nproc", LimitRSS: "limit-rss", LimitSTACK: "limit-stack",
};

const RESTART_MAP: Record<string, [string, Outcome, string?]> = {
  no: ["never", "translated"],
  always: ["always", "translated"],
  "on-failure": ["on-failure", "translated"],
  "on-abnormal": ["on-failure", "approximated", "tend restarts on any failure, an exit code too"],
  "on-abort": ["on-failure", "approximated", "tend restarts on any failure, an exit code too"],
  "on-watchdog": ["on-failure", "approximated", "tend has no watchdog: it restarts on any failure"],
  "on-success": ["never", "approximated", "tend cannot restart only after a clean exit"],
};

/** The [Service] of a unit (or a timer's service) into tend lines; returns the tend type. */
function translateService(t: Translation, service: Map<string, Assignment[]>, asTask: boolean): string {
  const w = t.w;
  const { take, dropRest } = handling(w, service);
  const typeA = lastOf(take("Type") ?? []);
  const systemdType = typeA?.value ?? (service.has("BusName") ? "dbus" : service.has("ExecStart") ? "simple" : "oneshot");
  const remain = lastOf(take("RemainAfterExit") ?? []);
  const remains = remain !== null && /^(yes|true|on|1)$/i.test(remain.value);
  const pidA = lastOf(take("PIDFile") ?? []);
  const pidFile = pidA !== null ? t.text(pidA) : null;
  // Forking without a PIDFile but RemainAfterExit=yes: up once ExecStart has exited, a process left or not (rc-local): a oneshot.
  const remainsForked = systemdType === "forking" && pidFile === null && remains;
  const kind = asTask ? "task" : systemdType === "oneshot" || remainsForked ? (remains ? "oneshot" : "task") : "longrun";
  w.set("type", kind);
  if (typeA !== null) {
    const how: Record<string, [Outcome, string?]> = {
      simple: ["translated"],
      exec: ["translated"],
      idle: ["approximated", "tend does not wait for other jobs to finish first"],
      notify: ["translated"],
      "notify-reload": ["translated"],
      dbus: ["approximated", "tend cannot watch the bus for the name: up as soon as it is spawned"],
      forking: remainsForked ? ["approximated", "RemainAfterExit=yes without a PIDFile: up once its ExecStart has exited, whether a daemon is left or not; what it leaves lives in the service's tree, unsupervised"] : ["translated"],
      oneshot: ["translated"],
    };
    const [outcome, why] = how[systemdType] ?? ["dropped", `unknown Type=${systemdType}: taken as simple`];
    // Without a PIDFile, systemd guesses the main: the one process left once ExecStart has exited; so does `forking = yes`.
    const guessed = kind === "longrun" && systemdType === "forking" && pidFile === null;
    w.note(typeA, outcome, `type = ${kind}${guessed ? `; ${w.set("forking", "yes")}` : ""}`, why);
  }
  if (remain !== null) w.note(remain, systemdType === "oneshot" || asTask || remainsForked ? "translated" : "ignored", `type = ${kind}`, systemdType === "oneshot" || remainsForked ? undefined : "only means something for Type=oneshot (and a Type=forking without PIDFile)");

  for (const a of listOf(take("Sockets") ?? [])) {
    const mine = a.value.split(/\s+/).every((u) => t.ownSockets.has(u));
    w.note(a, mine ? "translated" : "dropped", mine ? "its listen lines" : undefined, mine ? undefined : "tend gives a service the sockets of the .socket units beside it of its name or naming it (Service=), no others");
  }
  const pre = take("ExecStartPre");
  const start = take("ExecStart");
  const post = take("ExecStartPost");
  const stop = take("ExecStop");
  const stopPost = take("ExecStopPost");
  const reload = take("ExecReload");
  // systemd lets a oneshot have no ExecStart= (only ExecStartPost=, ExecStop=, or nothing with RemainAfterExit=yes): tend's needs a command.
  const noStart = (lines: (Assignment[] | undefined)[], key: string): void => {
    if (lines.some((l) => listOf(l ?? []).length > 0)) return;
    const absent: Assignment = { key: "ExecStart", value: "", file: t.unit.path, line: 0 };
    w.note(absent, "approximated", w.set(key, "/bin/true"), `a Type=oneshot without ExecStart=: tend's ${kind} needs a command; /bin/true does nothing, so the service is ${kind === "oneshot" ? "up (and its down runs at the stop)" : "done"} at once, as in systemd`);
  };
  if (kind === "oneshot") {
    t.commands([...(pre ?? []), ...(start ?? []), ...(post ?? [])], "up");
    noStart([pre, start, post], "up");
    t.commands([...(stop ?? []), ...(stopPost ?? [])], "down");
    t.commands(reload, null, "a oneshot has no process to reload");
  } else {
    t.commands(pre, "pre-start");
    if (kind === "task") {
      t.commands([...(start ?? []), ...(post ?? [])], "command");
      noStart([start, post], "command");
    }
    else {
      const lines = listOf(start ?? []);
      if (lines.length > 1) for (const a of lines.slice(1)) w.note(a, "dropped", undefined, "only a oneshot may have more than one ExecStart");
      // The main process itself, never under a sh: its '-' cannot be kept.
      const main = t.exec(lines.slice(0, 1))?.[0];
      if (main !== undefined && main.ignoreFailure) w.note(lines[0]!, "approximated", w.set("command", tendCommand(main)), "'-': tend counts a failing exit of the main process as a failure all the same");
      else if (main !== undefined) t.commands(lines.slice(0, 1), "command");
      // As ExecStartPre: several lines are one sh -c, in order.
      t.commands(post, "post-start");
    }
    if (kind === "longrun") t.commands(stop, "stop");
    else t.commands(stop, null, "a task is stopped by its stop-signal: tend has no stop command for one");
    t.commands(stopPost, "post-stop");
    if (kind === "longrun") {
      const lines = listOf(reload ?? []);
      const hup = lines.length === 1 ? /^(\/usr)?(\/bin\/)?kill -(HUP|SIGHUP|USR1|USR2|SIGUSR1|SIGUSR2) \$MAINPID$/.exec(lines[0]!.value) : null;
      if (hup !== null) w.note(lines[0]!, "translated", w.set("reload-signal", hup[3]!.replace(/^SIG/, "")));
      else t.commands(reload, "reload");
    } else t.commands(reload, null, "only a longrun can be reloaded");
  }
  if (kind === "longrun" && (systemdType === "notify" || systemdType === "notify-reload")) w.set("ready", "notify");
  if (systemdType === "notify-reload" && !service.has("ReloadSignal") && !service.has("ExecReload")) w.set("reload-signal", "HUP");
  if (pidA !== null) {
    if (kind === "longrun" && systemdType === "forking" && pidFile !== null) w.note(pidA, "translated", w.set("pid-file", pidFile));
    else if (pidFile !== null) w.note(pidA, "ignored", undefined, "tend follows a pid file only for a forking daemon; this one's main process is known without it");
  }

  for (const [key, spec] of Object.entries(SINGLE_MAP)) {
    const a = lastOf(take(key) ?? []);
    if (a === null) continue;
    const v = t.text(a, a.value.replace(/^-/, ""), spec.instanceOk);
    if (v === null) continue;
    if (key === "WorkingDirectory" && v.startsWith("~")) w.note(a, "dropped", undefined, "tend's cwd is an absolute path; the home directory is not known when compiling");
    else if ((key === "KillSignal" || key === "ReloadSignal") && kind === "oneshot") w.note(a, "dropped", undefined, "a oneshot has no process to signal");
    else w.note(a, "translated", w.set(spec.key, v));
  }
  const groups = take("SupplementaryGroups");
  for (const a of listOf(groups ?? [])) w.note(a, "dropped", undefined, "tend gives the service its user's groups (from getent), no others");

  for (const a of listOf(take("Environment") ?? [])) {
    const v = t.text(a);
    if (v === null) continue;
    const words = splitExec(`x ${v}`);
    if (typeof words === "string") {
      w.note(a, "dropped", undefined, `cannot read it: ${words}`);
      continue;
    }
    const set = words.words.slice(1).filter((x) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(x));
    w.note(a, "translated", set.map((x) => w.set("env", x)).join("; "));
  }
  for (const a of listOf(take("EnvironmentFile") ?? [])) {
    const v = t.text(a);
    if (v !== null) w.note(a, "translated", w.set("env-file", v));
  }
  for (const a of listOf(take("PassEnvironment") ?? [])) w.note(a, "translated", w.set("pass-env", a.value));

  for (const [key, tendKey] of Object.entries(LIMIT_MAP)) {
    const a = lastOf(take(key) ?? []);
    if (a === null) continue;
    w.note(a, "translated", w.set(tendKey, a.value.replace(/infinity/g, "unlimited")));
  }
  for (const [key, tendKey] of Object.entries(DIRECTORY_MAP)) {
    for (const a of listOf(take(key) ?? [])) {
      const v = t.text(a);
      if (v !== null) w.note(a, "translated", w.set(tendKey, v));
    }
    const mode = lastOf(take(`${key}Mode`) ?? []);
    if (mode !== null) directoryMode(w, mode, `${tendKey}-mode`);
  }
  const nnp = lastOf(take("NoNewPrivileges") ?? []);
  if (nnp !== null) w.note(nnp, "translated", w.set("no-new-privileges", /^(yes|true|on|1)$/i.test(nnp.value) ? "yes" : "no"));

  if (kind === "longrun") {
    const restart = lastOf(take("Restart") ?? []);
    const [policy, outcome, why] = RESTART_MAP[restart?.value ?? "no"] ?? ["never", "dropped", `unknown Restart=${restart?.value}`];
    // systemd's default is no: written, since tend's is on-failure.
    const line = w.set("restart", policy);
    if (restart !== null) w.note(restart, outcome, line, why);
    const sec = lastOf(take("RestartSec") ?? []);
    const ms = sec === null ? undefined : parseTimespan(sec.value);
    if (sec !== null && (ms === undefined || ms === null)) w.note(sec, "dropped", undefined, `'${sec.value}' is not a time span tend can read`);
    else if (sec !== null && typeof ms === "number") {
      // systemd waits the same each time: tend's back-off is kept from growing.
      const d = tendDuration(ms);
      w.note(sec, "translated", `${w.set("restart-delay", d)}; ${w.set("restart-delay-max", d)}`);
    }
  } else {
    for (const key of ["Restart", "RestartSec"]) for (const a of take(key) ?? []) w.note(a, "dropped", undefined, "only a longrun is restarted");
  }
  successExit(w, listOf(take("SuccessExitStatus") ?? []));

  const timeout = (a: Assignment | null, keys: string[]): void => {
    if (a === null) return;
    const ms = parseTimespan(a.value);
    if (ms === undefined) return w.note(a, "dropped", undefined, `'${a.value}' is not a time span tend can read`);
    const value = ms === null || ms === 0 ? "infinity" : tendDuration(ms);
    w.note(a, "translated", keys.map((k) => w.set(k, value)).join("; "));
  };
  const both = lastOf(take("TimeoutSec") ?? []);
  const startT = lastOf(take("TimeoutStartSec") ?? []);
  const stopT = lastOf(take("TimeoutStopSec") ?? []);
  timeout(both, [...(startT === null ? ["start-timeout"] : []), ...(stopT === null ? ["stop-timeout"] : [])]);
  timeout(startT, ["start-timeout"]);
  timeout(stopT, ["stop-timeout"]);

  const killMode = lastOf(take("KillMode") ?? []);
  if (killMode !== null) {
    const [outcome, why]: [Outcome, string?] =
      killMode.value === "control-group" ? ["translated"] : killMode.value === "none" ? ["dropped", "tend always stops what a service left"] : ["approximated", "tend signals the process group, then kills the whole tree after stop-timeout"];
    w.note(killMode, outcome, outcome === "dropped" ? undefined : "(tend's way: the tree)", why);
  }
  for (const key of ["StandardOutput", "StandardError", "StandardInput"]) {
    for (const a of take(key) ?? []) {
      const plain = /^(journal|syslog|kmsg|inherit|null|journal\+console|syslog\+console|kmsg\+console|tty)?$/.test(a.value);
      w.note(a, plain ? "ignored" : "dropped", undefined, plain ? "tend writes the output to the service's log" : "tend writes the output to the service's log, not to a file or socket");
    }
  }
  dropRest();
  return kind;
}

/** `…DirectoryMode=`: systemd's octal mode (`02755`) as it is; a set-user-id bit, meaningless on a directory, left out. */
function directoryMode(w: Writer, a: Assignment, key: string): void {
  const parsed = parseDirectoryMode(a.value);
  if (parsed.ok) return w.note(a, "translated", w.set(key, a.value));
  const mode = /^0?[0-7]{3,4}$/.test(a.value) ? parseInt(a.value, 8) : null;
  if (mode === null) return w.note(a, "dropped", undefined, `'${a.value}' is not an octal mode tend can read`);
  w.note(a, "approximated", w.set(key, (mode & 0o3777).toString(8).padStart(4, "0")), "set-user-id (4000) means nothing on a directory: left out");
}

/**
 * `SuccessExitStatus=`: every line's words (systemd adds them up; an empty line resets,
 * done by listOf) as one `success-exit`, a status name (DATAERR) as its number, a
 * signal as tend names it; a word that is neither is dropped, said on its line.
 */
function successExit(w: Writer, lines: readonly Assignment[]): void {
  if (lines.length === 0) return;
  const words: string[] = [];
  const unknown = new Map<Assignment, string[]>();
  const named = new Set<Assignment>();
  for (const a of lines) {
    for (const word of a.value.split(/\s+/).filter((x) => x !== "")) {
      const number = /^\d+$/.test(word) && Number(word) <= 255 ? Number(word) : exitStatusNumber(word);
      const signal = number === undefined && !/^\d+$/.test(word) ? parseSignal(word) : null;
      if (number !== undefined) words.push(String(number));
      else if (signal?.ok === true) words.push(signal.value);
      else unknown.set(a, [...(unknown.get(a) ?? []), word]);
      if (number !== undefined && !/^\d+$/.test(word)) named.add(a);
    }
  }
  const line = words.length > 0 ? w.set("success-exit", [...new Set(words)].join(" ")) : undefined;
  for (const a of lines) {
    const bad = unknown.get(a);
    const why = bad !== undefined ? `${bad.map((b) => `'${b}'`).join(", ")}: neither an exit status (0–255, or a name of systemd's: SUCCESS, DATAERR, …) nor a signal; left out` : undefined;
    const outcome: Outcome = bad === undefined ? "translated" : line === undefined || bad.length === a.value.split(/\s+/).filter((x) => x !== "").length ? "dropped" : "approximated";
    w.note(a, outcome, outcome === "dropped" ? undefined : named.has(a) ? `${line} (a status name as its number)` : line, why);
  }
}

/** A section's directives as they are handled: `take` marks one handled, `dropRest` notes every other by its family. */
function handling(w: Writer, section: Map<string, Assignment[]>): { take: (key: string) => Assignment[] | undefined; dropRest: () => void } {
  const done = new Set<string>();
  return {
    take: (key) => {
      done.add(key);
      return section.get(key);
    },
    dropRest: () => {
      for (const [key, list] of section) if (!done.has(key)) for (const a of list) dropFamily(w, a);
    },
  };
}

function dropFamily(w: Writer, a: Assignment): void {
  const family = FAMILIES.find(([re]) => re.test(a.key));
  if (family !== undefined) w.note(a, family[2], undefined, family[1]);
  else w.note(a, "dropped", undefined, "tend has no equivalent");
}

function translateUnitSection(t: Translation, section: Map<string, Assignment[]>): void {
  const w = t.w;
  const { take, dropRest } = handling(w, section);
  const description = lastOf(take("Description") ?? []);
  if (description !== null) {
    const v = t.text(description);
    if (v !== null) w.note(description, "translated", w.set("description", v));
  }
  t.dependencies(take("Requires"), "requires");
  t.dependencies(take("BindsTo"), "requires");
  t.dependencies(take("Wants"), "wants");
  t.dependencies(take("After"), "after");
  t.dependencies(take("Before"), "before");
  for (const [key, why] of [
    ["Conflicts", "tend has no conflicts: nothing stops a service because another starts"],
    ["PartOf", "tend has no stop or restart propagated without a requirement"],
    ["Requisite", "tend has no requirement that is never started"],
    ["ReloadPropagatedFrom", "tend propagates no reload"],
    ["PropagatesReloadTo", "tend propagates no reload"],
    ["JoinsNamespaceOf", SANDBOXING],
    ["RequiresMountsFor", "tend does not order services after mounts"],
    ["Upholds", "tend has no equivalent"],
  ] as const) {
    for (const a of take(key) ?? []) w.note(a, "dropped", undefined, why);
  }
  const burst = lastOf(take("StartLimitBurst") ?? []);
  const oldName = take("StartLimitInterval");
  const interval = lastOf(take("StartLimitIntervalSec") ?? oldName ?? []);
  if (burst !== null || interval !== null) {
    const ms = interval === null ? 10_000 : parseTimespan(interval.value);
    const line = ms === 0 || ms === null ? w.set("restart-limit", "none") : ms === undefined ? null : w.set("restart-limit", `${burst?.value ?? 5} in ${tendDuration(ms)}`);
    for (const a of [burst, interval]) if (a !== null) w.note(a, line === null ? "dropped" : "translated", line ?? undefined, line === null ? "not a time span tend can read" : undefined);
  }
  dropRest();
}

/** [Install]: a unit wanted by one of `targets` is enabled (its name, or its DefaultInstance, into t.enable). */
function translateInstall(t: Translation, section: Map<string, Assignment[]>, targets = BOOT_TARGETS): void {
  const w = t.w;
  const defaultInstance = lastOf(section.get("DefaultInstance") ?? []);
  const enableAs = t.unit.identity.template ? (defaultInstance === null ? null : `${t.unit.name}${defaultInstance.value}`) : t.unit.name;
  for (const [key, list] of section) {
    for (const a of listOf(list)) {
      if (key === "WantedBy" || key === "RequiredBy") {
        const boot = a.value.split(/\s+/).some((u) => targets.has(u));
        if (!boot) w.note(a, "dropped", undefined, `tend enables only into what boots (${[...targets].join(", ")})`);
        else if (enableAs === null) w.note(a, "dropped", undefined, "a template without DefaultInstance: enable its instances by name ('tend enable NAME@ARG')");
        else {
          if (!t.enable.includes(enableAs)) t.enable.push(enableAs);
          w.note(a, "translated", `enabled: '${enableAs}' in the 'default' bundle`);
        }
      } else if (key === "DefaultInstance") w.note(a, enableAs === null ? "ignored" : "translated", `enabled as ${enableAs}`);
      else dropFamily(w, a);
    }
  }
}

function translateTimer(t: Translation, timer: Map<string, Assignment[]>): void {
  const w = t.w;
  const schedules: string[] = [];
  const done = new Set(["OnCalendar", "OnUnitActiveSec", "OnUnitInactiveSec", "OnBootSec", "OnStartupSec", "OnActiveSec", "Persistent", "Unit"]);
  for (const a of listOf(timer.get("OnCalendar") ?? [])) {
    const cron = calendarToCron(a.value);
    if (cron === null) w.note(a, "dropped", undefined, `'${a.value}' has no cron form (a year, a time zone, '~' or a form tend cannot read)`);
    else {
      schedules.push(cron);
      w.note(a, schedules.length === 1 ? "translated" : "dropped", schedules.length === 1 ? `schedule = ${cron}` : undefined, schedules.length === 1 ? undefined : "tend takes one schedule a task");
    }
  }
  // OnBootSec= and an interval make one schedule (`every 1d from 15m after boot`); a calendar wins over both.
  const spans = (keys: string[]) => keys.flatMap((key) => listOf(timer.get(key) ?? []));
  const timeSpan = (a: Assignment, least: number): number | null => {
    const ms = parseTimespan(a.value);
    if (typeof ms === "number" && ms >= least) return ms;
    w.note(a, "dropped", undefined, least > 0 ? "not a time span of at least 1s" : "not a time span tend can read");
    return null;
  };
  let interval: { a: Assignment; ms: number } | null = null;
  let boot: { a: Assignment; ms: number } | null = null;
  for (const a of spans(["OnUnitActiveSec", "OnUnitInactiveSec"])) {
    const ms = timeSpan(a, 1000);
    if (ms === null) continue;
    if (schedules.length > 0 || interval !== null) w.note(a, "dropped", undefined, "tend takes one schedule a task");
    else interval = { a, ms };
  }
  for (const a of spans(["OnBootSec", "OnStartupSec", "OnActiveSec"])) {
    const ms = timeSpan(a, 0);
    if (ms === null) continue;
    if (schedules.length > 0 || boot !== null) w.note(a, "dropped", undefined, "tend takes one schedule a task");
    else boot = { a, ms };
  }
  if (boot !== null) {
    const schedule = `${interval === null ? "" : `every ${tendDuration(interval.ms)} from `}${tendDuration(boot.ms)} after boot`;
    schedules.push(schedule);
    const from = boot.a.key === "OnBootSec" ? undefined : boot.a.key === "OnStartupSec" ? "counted from the boot of the machine (or container), not from the server's start: the same when tend starts at boot" : "counted from the boot, not from when the timer was started";
    w.note(boot.a, from === undefined ? "translated" : "approximated", `schedule = ${schedule}`, from);
  }
  if (interval !== null) {
    if (boot === null) schedules.push(`every ${tendDuration(interval.ms)}`);
    w.note(interval.a, "approximated", `schedule = ${schedules[0]}`, "measured from when the previous run fell due, not from when it started or ended");
  }
  const schedule = schedules[0];
  if (schedule !== undefined) w.set("schedule", schedule);
  const persistent = lastOf(timer.get("Persistent") ?? []);
  if (persistent !== null) w.note(persistent, "translated", w.set("catch-up", /^(yes|true|on|1)$/i.test(persistent.value) ? "yes" : "no"));
  for (const a of timer.get("Unit") ?? []) w.note(a, "translated", `the task '${t.unit.name}'`);
  for (const [key, list] of timer) {
    if (done.has(key)) continue;
    for (const a of list) w.note(a, "dropped", undefined, /^(RandomizedDelaySec|AccuracySec|FixedRandomDelay)$/.test(key) ? "tend runs a schedule when it falls due, with no random delay or coalescing" : "tend has no equivalent");
  }
}

/** A .timer's or .socket's own section, and the directive in it that names its service. */
const COMPANION: Record<string, { section: string; key: string }> = { timer: { section: "Timer", key: "Unit" }, socket: { section: "Socket", key: "Service" } };

/** The service a .timer (Unit=) or a .socket (Service=) stands for: that one, or the .service of its name beside it. */
function companionService(path: string, text: string): string {
  const c = COMPANION[identify(path)?.suffix ?? ""];
  const parsed = parseUnit(path, text);
  const named = c === undefined || !parsed.ok ? undefined : lastOf((parsed.unit.sections.get(c.section) ?? []).filter((a) => a.key === c.key))?.value;
  return join(dirname(path), named ?? basename(path).replace(/\.(timer|socket)$/, ".service"));
}

const acceptsText = (path: string, text: string): boolean => {
  const parsed = parseUnit(path, text);
  return parsed.ok && acceptsEach(parsed.unit.sections.get("Socket") ?? []);
};

/**
 * The .socket units beside a service that stand for it (of its name, or naming it in
 * Service=), Accept=yes ones left out, sorted: whichever of the service and its sockets
 * is imported, the service gets all of them.
 */
function socketsOf(files: UnitFiles, servicePath: string): string[] {
  const dir = dirname(servicePath);
  return files
    .list(dir)
    .filter((n) => n.endsWith(".socket"))
    .map((n) => join(dir, n))
    .filter((p) => {
      const text = files.read(p);
      return text !== null && resolve(companionService(p, text)) === resolve(servicePath) && !acceptsText(p, text);
    });
}

/** A unit read beside the one imported (a timer's or socket's service, a service's socket), or the error. */
function readBeside(input: TranslateInput, path: string, of: string): { unit: Unit } | { error: string } {
  const text = input.files.read(path);
  return text === null ? { error: `${input.path}: its ${of} ${path} cannot be read${of === "service" ? " (another unit's Alias=? import that unit)" : ""}` } : readUnit(input, path, text);
}

/**
 * A .timer's or .socket's [Unit] and [Install] beside its service's: the [Unit] is its
 * own ordering (dropped), its enabling (into `targets`) is its service's. Returns
 * whether it is enabled; its notes join the service's.
 */
function companionRest(t: Translation, c: Translation, targets: ReadonlySet<string>, extraInstall: Assignment[] = []): boolean {
  const install = byKey(c.unit.file.sections.get("Install") ?? []);
  if (extraInstall.length > 0) install.set("WantedBy", [...(install.get("WantedBy") ?? []), ...extraInstall]);
  translateInstall(c, install, targets);
  for (const a of c.unit.file.sections.get("Unit") ?? []) {
    if (a.key === "Description") c.w.note(a, "ignored", undefined, "the service's description is kept");
    else if (/^(Before|After|Requires|Wants|BindsTo|PartOf|Conflicts|Requisite)$/.test(a.key)) c.w.note(a, "dropped", undefined, `the ${c.unit.identity.suffix}'s own ordering: tend orders services only`);
    else dropFamily(c.w, a);
  }
  const own = COMPANION[c.unit.identity.suffix]!.section;
  for (const [name, list] of c.unit.file.sections) if (!["Unit", own, "Install"].includes(name)) for (const a of list) c.w.note(a, "dropped", undefined, `a [${name}] section has no meaning in a .${c.unit.identity.suffix}`);
  t.w.notes.push(...c.w.notes);
  return c.enable.length > 0;
}

/** A socket's [Socket] into the service's listen lines; enabled, it starts its service on demand (unless the service is enabled itself). */
function translateSocket(t: Translation, socket: Unit, input: TranslateInput, longrun: boolean): void {
  const s = translation(socket, input.known);
  const section = byKey(socket.file.sections.get("Socket") ?? []);
  const written = translateSocketSection({ note: s.w.note, text: (a) => s.text(a), set: t.w.set }, section, basename(socket.path), longrun);
  for (const a of section.get("Service") ?? []) s.w.note(a, "translated", `the service '${t.unit.name}'`);
  // Debian enables some sockets statically: a link in sockets.target.wants beside the unit.
  const link = join(dirname(socket.path), "sockets.target.wants", basename(socket.path));
  const linked: Assignment[] = input.files.read(link) !== null ? [{ key: "WantedBy", value: "sockets.target", file: link, line: 0 }] : [];
  const enabled = companionRest(t, s, SOCKET_TARGETS, linked);
  fromLink(s.w.notes, link);
  if (!enabled || t.enable.includes(t.unit.name)) return;
  const enabling = s.w.notes.filter((n) => n.directive === "WantedBy" && n.outcome === "translated");
  if (written === 0 || t.unit.identity.template) {
    for (const n of enabling) {
      n.outcome = "dropped";
      n.why = written === 0 ? "none of its sockets could be translated: nothing would start its service" : "a template's instances are started by name";
      delete n.to;
    }
    return;
  }
  const line = t.w.set("start-on", `connection SERVICE=${t.unit.name}`);
  t.enable.push(t.unit.name);
  for (const n of enabling) n.to = `${line} (on demand: its service is not enabled itself); ${n.to}`;
}

/** Says where an enabling without a WantedBy= line came from. */
function fromLink(notes: Note[], link: string): void {
  for (const n of notes) if (n.file === link) n.to = `(a link in sockets.target.wants) ${n.to ?? ""}`.trimEnd();
}

function translate(input: TranslateInput): TranslateResult {
  const read = readUnit(input, input.path, input.text);
  if ("error" in read) return { ok: false, error: read.error };
  const { unit } = read;
  const suffix = unit.identity.suffix;
  if (suffix === "socket" && acceptsEach(unit.file.sections.get("Socket") ?? [])) {
    const t = translation(unit, input.known);
    for (const [, list] of unit.file.sections) for (const a of list) t.w.note(a, "dropped", undefined, a.key === "Accept" ? ACCEPT_WHY : "the unit is not imported: Accept=yes");
    return { ok: true, translation: { source: unit.path, files: [], enable: [], notes: t.w.notes } };
  }
  let service = unit;
  let timer: Unit | null = null;
  if (suffix !== "service") {
    const r = readBeside(input, companionService(input.path, input.text), "service");
    if ("error" in r) return { ok: false, error: r.error };
    // A timer's task is named as the timer; a socket's service keeps its name.
    service = suffix === "timer" ? { ...r.unit, name: unit.name } : r.unit;
    if (suffix === "timer") timer = unit;
  }
  const sockets: Unit[] = [];
  if (timer === null) {
    const paths = socketsOf(input.files, service.path);
    if (suffix === "socket" && !paths.some((p) => resolve(p) === resolve(unit.path))) paths.push(unit.path);
    for (const path of paths) {
      const r = resolve(path) === resolve(unit.path) ? read : readBeside(input, path, "socket");
      if ("error" in r) return { ok: false, error: r.error };
      sockets.push(r.unit);
    }
  }
  const t = translation(service, input.known, new Set(sockets.map((u) => basename(u.path))));
  const companions = [...(timer !== null ? [timer] : []), ...sockets].map((u) => ` and ${u.path}`).join("");
  t.w.lines.push(`# Imported by tend import from ${service.path}${companions}.`);
  const sections = (u: Unit, name: string): Map<string, Assignment[]> => byKey(u.file.sections.get(name) ?? []);
  translateUnitSection(t, sections(service, "Unit"));
  const kind = translateService(t, sections(service, "Service"), timer !== null);
  translateInstall(t, timer !== null ? new Map() : sections(service, "Install"));
  if (timer !== null) {
    translateTimer(t, sections(timer, "Timer"));
    if (companionRest(t, translation(timer, input.known), BOOT_TARGETS)) t.enable.push(t.unit.name);
  }
  for (const socket of sockets) translateSocket(t, socket, input, kind === "longrun");
  for (const [name, list] of service.file.sections) if (!["Unit", "Service", "Install"].includes(name)) for (const a of list) t.w.note(a, "dropped", undefined, `a [${name}] section has no meaning in a .service`);
  const order = (file: string): string => (file === service.path ? "" : file);
  const notes = [...t.w.notes].sort((a, b) => order(a.file).localeCompare(order(b.file)) || a.line - b.line);
  return { ok: true, translation: { source: input.path, files: [{ name: service.name, text: `${t.w.lines.join("\n")}\n` }], enable: [...new Set(t.enable)], notes } };
}

export const systemdTranslator: Translator = {
  kind: "systemd unit",
  recognises: (path, text) => identify(path) !== null && UNIT_HEADER.test(text),
  names: (path, text) => {
    const id = identify(path);
    if (id?.suffix !== "socket") return id === null ? [] : [tendNameOf(id)];
    const service = identify(companionService(path, text));
    return service === null || acceptsText(path, text) ? [] : [tendNameOf(service)];
  },
  // A timer or socket and its service are one translation; of a service's sockets, the first imported makes it.
  covers: (path, text, files) => {
    const suffix = identify(path)?.suffix;
    if (suffix === "timer") return [companionService(path, text)];
    if (suffix !== "socket" || acceptsText(path, text)) return [];
    const service = companionService(path, text);
    return [service, ...socketsOf(files, service).filter((p) => p > path)];
  },
  translate,
};
