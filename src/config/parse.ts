// Parses one service file into a ServiceDef, reporting every problem it finds.

import { closest, type Location, type Report } from "./diagnostics.js";
import { KEYS, notApplicable, type KeyContext } from "./keys.js";
import { lex, preview } from "./lexer.js";
import { own } from "../records.js";
import { DIRECTORY_KINDS, SERVICE_TYPES, defaultService, type Reference, type ServiceDef, type ServiceType } from "./service.js";
import { isTemplateDef, usesArgument } from "./template.js";

export interface ParsedService {
  def: ServiceDef;
  /** Services that `start-on`, `stop-on` and `schedule` name. */
  conditionRefs: Reference[];
  /** Where each key's (first) value starts, for checks made after parsing. */
  keyAt: ReadonlyMap<string, Location>;
}

/** A systemd section header line (`[Service]`): what tells a unit from a tend service file. */
export const UNIT_HEADER = /^[ \t]*\[(Unit|Service|Install|Timer|Socket|Mount|Path|Slice|Scope)\][ \t]*\r?$/m;

/** Returns null only when the file's type cannot be known; other errors still yield a def. */
export function parseServiceFile(file: string, name: string, bytes: Uint8Array, sourceDir: string, report: Report): ParsedService | null {
  // A systemd unit copied in would give an error a line; one says what it is instead.
  const text = new TextDecoder().decode(bytes);
  const header = UNIT_HEADER.exec(text);
  if (header !== null) {
    const line = text.slice(0, header.index).split("\n").length;
    report("error", { file, line, col: 1 }, `this is a systemd unit ('[${header[1]}]'), not a tend service file: translate it with 'tend import ${file}'`);
    return null;
  }
  const entries = lex(file, bytes, report);
  if (entries.length === 0) return null;

  const typeEntries = entries.filter((e) => e.key === "type");
  if (typeEntries.length === 0) {
    report("error", { file, line: 0, col: 0 }, `missing 'type': say 'type = longrun', 'oneshot', 'task' or 'bundle'`);
  }
  let type: ServiceType | null = null;
  for (const e of typeEntries) {
    if (e !== typeEntries[0]) continue; // duplicates are reported below with every other key
    if ((SERVICE_TYPES as readonly string[]).includes(e.value)) type = e.value as ServiceType;
    else {
      const guess = closest(e.value, SERVICE_TYPES);
      report("error", e.at(0), `'${preview(e.value)}' is not a service type; use longrun, oneshot, task or bundle${guess ? ` (did you mean '${guess}'?)` : ""}`);
    }
  }

  // With an unknown type, values are still checked (against a longrun) so that one run shows every error.
  const def = defaultService(name, file, type ?? "longrun");
  const conditionRefs: Reference[] = [];
  const firstSeen = new Map<string, Location>();
  for (const entry of entries) {
    const spec = own(KEYS, entry.key);
    if (spec === undefined) {
      const guess = closest(entry.key, Object.keys(KEYS));
      report("error", entry.keyAt, `unknown key '${entry.key}'${guess ? ` (did you mean '${guess}'?)` : ""}`);
      continue;
    }
    const earlier = firstSeen.get(entry.key);
    if (earlier !== undefined && !spec.list) {
      report("error", entry.keyAt, `'${entry.key}' is already set on line ${earlier.line}; it may appear once`);
      continue;
    }
    if (earlier === undefined) firstSeen.set(entry.key, entry.at(0));
    if (type !== null && !spec.types.includes(type)) {
      report("error", entry.keyAt, notApplicable(entry.key, spec, type));
      continue;
    }
    if (entry.value === "" && entry.key !== "description") {
      report("error", entry.keyAt, `'${entry.key}' needs a value`);
      continue;
    }
    const start = entry.at(0);
    const ctx: KeyContext = {
      def,
      sourceDir,
      line: start.line,
      col: start.col,
      locate: (offset) => {
        const { line, col } = entry.at(offset);
        return { line, col };
      },
      error: (message, offset = 0) => report("error", entry.at(offset), message),
      warn: (message, offset = 0) => report("warning", entry.at(offset), message),
      conditionRefs,
    };
    if (entry.key !== "type") spec.apply(entry.value, ctx);
  }
  if (type === null) return null;

  checkCombinations(def, firstSeen, (line, message, severity = "error") => report(severity, { file, line, col: 0 }, message));
  if (def.pidFile !== null) def.forking = true; // a pid file is a forking daemon's
  return { def, conditionRefs, keyAt: firstSeen };
}

/** Rules that involve more than one key. */
function checkCombinations(
  def: ServiceDef,
  keyAt: ReadonlyMap<string, Location>,
  problem: (line: number, message: string, severity?: "error" | "warning") => void,
): void {
  const at = (key: string): number => keyAt.get(key)?.line ?? 0;
  // A key that is present but whose value was bad has been reported already.
  if ((def.type === "longrun" || def.type === "task") && def.command === null && !keyAt.has("command")) {
    problem(0, `a ${def.type} needs 'command': the program to run${def.type === "longrun" ? " in the foreground" : ""}`);
  }
  if (def.type === "oneshot" && def.up === null && !keyAt.has("up")) problem(0, "a oneshot needs 'up': the command that brings it up");
  if (def.type === "bundle" && def.contents.length === 0 && !keyAt.has("contents")) {
    problem(0, "a bundle needs 'contents': the services it stands for", "warning");
  }
  // A pid file is a forking daemon's: it says so by itself (parseService sets `forking`).
  if (def.pidFile !== null && keyAt.has("forking") && !def.forking) problem(at("forking"), "'forking = no' with a 'pid-file': a pid file is a forking daemon's; leave one of them out");
  const forking = def.forking || def.pidFile !== null;
  // A forking daemon's launcher exits: a readiness pipe or a notify socket it was given is no way to say the daemon is ready.
  if (forking && def.ready.kind === "fd") {
    problem(at("ready"), "'ready = fd' cannot tell when a forking daemon is ready: the pipe is its launcher's; leave it out (ready once its main is known) or use tcp:, unix: or exec:");
  }
  if (forking && def.ready.kind === "notify") {
    problem(at("ready"), `a daemon that speaks sd_notify names its main process itself (MAINPID=): leave out '${def.pidFile !== null ? "pid-file" : "forking"}'`);
  }
  // The listening sockets are fds 3 … 2 + N of the main process: a readiness pipe goes above them.
  if (def.listen.length > 0 && def.ready.kind === "fd" && def.ready.fd < 3 + def.listen.length) {
    problem(at("ready"), `the readiness fd ${def.ready.fd} is one of the listening sockets' (3 to ${2 + def.listen.length}): use 'ready = fd:${3 + def.listen.length}' or above`);
  }
  if (def.restartDelayMs > def.restartDelayMaxMs) {
    problem(at("restart-delay"), "'restart-delay' is longer than 'restart-delay-max'");
  }
  if (keyAt.has("reload") && keyAt.has("reload-signal")) {
    problem(at("reload-signal"), `'reload' (line ${at("reload")}) and 'reload-signal' (line ${at("reload-signal")}) both say how to reload: keep one`);
  }
  if (keyAt.has("reload-timeout") && !keyAt.has("reload") && !keyAt.has("reload-signal")) {
    problem(at("reload-timeout"), "'reload-timeout' applies to a 'reload' or 'reload-signal', and there is neither", "warning");
  }
  if (def.catchUp && def.schedule === null) problem(at("catch-up"), "'catch-up' needs a 'schedule' whose missed runs it catches up");
  if (def.catchUp && (def.schedule?.kind === "after" || def.schedule?.kind === "boot")) {
    const what = def.schedule.kind === "boot" ? "a schedule after the boot, which runs at once when its time has passed" : "a delay after an event";
    problem(at("catch-up"), `'catch-up' applies to clock schedules ('every …' or cron), not to ${what}`);
  }
  if (def.instance !== null && def.startOn === null && def.schedule?.kind !== "after") {
    problem(at("instance"), `'instance = ${def.instance}' needs a 'start-on' event that carries ${def.instance}`);
  }
  if (isTemplateDef(def)) checkTemplate(def, at, problem);
  if (def.group !== null && def.user === null && keyAt.has("group")) {
    problem(at("group"), "'group' without 'user' runs the service as the server's user with only its group changed", "warning");
  }
  // Directories in one order whatever the file's (a database compares services as JSON); a mode alone names none.
  const directories: ServiceDef["directories"] = {};
  for (const kind of DIRECTORY_KINDS) {
    const d = def.directories[kind];
    if (d === undefined) continue;
    if (d.names.length > 0) directories[kind] = d;
    else if (!keyAt.has(`${kind}-directory`)) problem(at(`${kind}-directory-mode`), `'${kind}-directory-mode' without '${kind}-directory' applies to nothing`, "warning");
  }
  def.directories = directories;
  const wanted = new Set(def.wants.map((w) => w.name));
  for (const r of def.requires) {
    if (wanted.has(r.name)) problem(r.line, `'${r.name}' is both required and wanted; 'requires' is enough`, "warning");
  }
}

/** A template never runs itself: what would start it must say which instance (see template.ts). */
function checkTemplate(def: ServiceDef, at: (key: string) => number, problem: (line: number, message: string, severity?: "error" | "warning") => void): void {
  if (def.type === "bundle") problem(0, `a bundle cannot be a template: name '${def.name}' without the '@', and its members in 'contents'`);
  if (def.schedule !== null && def.schedule.kind !== "after") {
    problem(at("schedule"), "a template takes no clock schedule: its instances run when something names them, or when the event of 'start-on' with 'instance = KEY' comes");
  } else if ((def.startOn !== null || def.schedule !== null) && def.instance === null) {
    const key = def.startOn !== null ? "start-on" : "schedule";
    problem(at(key), `a template's '${key}' must say which instance it starts: add 'instance = KEY', the key of the event whose value is the instance's argument`);
  }
  if (usesArgument(def.user) && def.allow.length > 0) {
    problem(at("allow"), `'allow' lets whom it names start an instance for any argument, and so run it as any user ('user = ${def.user}'); each instance's own user may control it without 'allow'`, "warning");
  }
}
