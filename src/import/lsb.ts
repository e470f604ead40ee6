// LSB init scripts (/etc/init.d/NAME with a `### BEGIN INIT INFO` header) into tend
// service files. The script stays what runs: `command = SCRIPT start`, `stop = SCRIPT
// stop`, `reload = SCRIPT reload` when it has one. A script that names its daemon's pid
// file (a literal `--pidfile`/`-p` argument or `PIDFILE=` assignment, resolved through
// the script's plain assignments) is a forking daemon (`pid-file`), supervised through
// that process. One that starts a daemon without naming a pid file (start-stop-daemon
// --start, or a command put in the background with `&`) is a forking daemon without one
// (`forking = yes`): its main is the one process its start leaves in the service's tree
// (its cgroup, or the keeper's fallback tracking), whose end is the service's. One that
// starts nothing that stays (it sets the clock, loads settings) is a oneshot whose `up`
// is its start. The header's facilities
// (`$network`, …) are services or bundles of the same name without the `$` (see
// docs/compatibility.md), kept when the destination has them, dropped otherwise.
// Pure: the text in, the translation out.

import { basename } from "node:path";
import type { Note, TranslateInput, TranslateResult, Translator } from "./types.js";

const BEGIN = /^###\s*BEGIN INIT INFO\s*$/m;

export interface LsbField {
  name: string;
  value: string;
  line: number;
}

/** The header's fields, in order (a field continued on `#<TAB>` or `#  ` lines joined), or why there is none. */
export function parseLsbHeader(text: string): { ok: true; fields: LsbField[] } | { ok: false; error: string } {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => /^###\s*BEGIN INIT INFO\s*$/.test(l));
  if (start < 0) return { ok: false, error: "no '### BEGIN INIT INFO' header: not an LSB init script" };
  const fields: LsbField[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^###\s*END INIT INFO\s*$/.test(line)) return { ok: true, fields };
    const field = /^#\s*([A-Za-z][A-Za-z0-9-]*):\s*(.*?)\s*$/.exec(line);
    const more = /^#(?:\t|\s{2,})\s*(\S.*?)\s*$/.exec(line);
    if (field !== null) fields.push({ name: field[1]!, value: field[2]!, line: i + 1 });
    else if (more !== null && fields.length > 0) fields.at(-1)!.value += ` ${more[1]}`;
    else if (!/^#?\s*$/.test(line)) return { ok: false, error: `line ${i + 1}: '${line.slice(0, 60)}' is not a header field ('# Name: value') before '### END INIT INFO'` };
  }
  return { ok: false, error: `line ${start + 1}: '### BEGIN INIT INFO' has no '### END INIT INFO'` };
}

/** LSB's facilities and the tend name each stands for: a bundle (or service) the destination may have. */
export const FACILITIES: Readonly<Record<string, string>> = {
  $local_fs: "local-fs",
  $remote_fs: "remote-fs",
  $network: "network",
  $named: "named",
  $portmap: "portmap",
  $syslog: "syslog",
  $time: "time",
};

/** Runlevels in which a service of a multi-user boot runs: any of them in Default-Start enables it. */
const MULTI_USER = new Set(["2", "3", "4", "5"]);

/** The plain assignments of a script (`NAME=value`, no command substitution), each variable's values in order. */
function assignments(text: string): Map<string, string[]> {
  const vars = new Map<string, string[]>();
  for (const m of text.matchAll(/^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)=("[^"\n]*"|'[^'\n]*'|[^\s;&|]*)/gm)) {
    const list = vars.get(m[1]!) ?? [];
    list.push(m[2]!);
    vars.set(m[1]!, list);
  }
  return vars;
}

/** A word of the script with `$VAR`/`${VAR}` replaced by the one literal value the script gives it; null when that is not known. */
function resolve(word: string, vars: Map<string, string[]>, depth = 0): { value: string; guessed: boolean } | null {
  const unquoted = word.replace(/^(["'])(.*)\1$/, "$2");
  if (unquoted.includes("$(") || unquoted.includes("`") || depth > 8) return null;
  let guessed = false;
  let failed = false;
  const value = unquoted.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, name: string) => {
    const known = (vars.get(name) ?? []).map((v) => resolve(v, vars, depth + 1)).filter((v) => v !== null);
    const distinct = new Set(known.map((v) => v.value));
    if (distinct.size !== 1) {
      failed = true;
      return "";
    }
    if (known.some((v) => v.guessed) || known.length !== (vars.get(name) ?? []).length) guessed = true;
    return [...distinct][0]!;
  });
  return failed ? null : { value, guessed };
}

/** The daemon's pid file, as the script names it: a `--pidfile`/`-p` argument, else a PIDFILE= assignment; `guessed` when the script also computes it at run time. */
export function pidFileOf(text: string): { path: string; guessed: boolean; line: number } | null {
  const vars = assignments(text);
  const lines = text.split("\n");
  const candidates: { word: string; line: number }[] = [];
  lines.forEach((l, i) => {
    if (/^\s*#/.test(l)) return;
    for (const m of l.matchAll(/(?:--pidfile[= ]|\s-p\s+)("[^"]*"|\S+)/g)) candidates.push({ word: m[1]!, line: i + 1 });
  });
  lines.forEach((l, i) => {
    const m = /^\s*PIDFILE=(\S+)/.exec(l);
    if (m !== null) candidates.push({ word: m[1]!, line: i + 1 });
  });
  for (const c of candidates) {
    const r = resolve(c.word, vars);
    if (r !== null && r.value.startsWith("/") && !r.value.includes("$")) return { path: r.value, guessed: r.guessed, line: c.line };
  }
  return null;
}

/** Whether the script's case handles `reload` (Debian's `reload|force-reload)`). */
/** Whether the script's start leaves a daemon running: start-stop-daemon --start, or a command put in the background. */
const startsDaemon = (text: string): boolean => /start-stop-daemon\b[^\n]*(?:--start|\s-S\b)/.test(text) || /(?:^|[^&|>])&[ \t]*(?:;;|#.*)?$/m.test(text);

const hasReload = (text: string): boolean => /^\s*(?:[\w-]+\|)*reload(?:\|[\w-]+)*\)/m.test(text);

/** A word of a service file's command, quoted when it needs to be. */
const quoted = (word: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`);

export function translateLsb(input: TranslateInput): TranslateResult {
  const header = parseLsbHeader(input.text);
  if (!header.ok) return { ok: false, error: `${input.path}: ${header.error}` };
  const name = serviceName(input.path);
  const notes: Note[] = [];
  const note = (f: LsbField, outcome: Note["outcome"], to?: string, why?: string): void =>
    void notes.push({ directive: f.name, file: input.path, line: f.line, outcome, ...(to === undefined ? {} : { to }), ...(why === undefined ? {} : { why }) });
  const script = quoted(input.path);
  const pid = pidFileOf(input.text);
  const lines: string[] = [`# Translated by tend import from ${input.path} (an LSB init script).`];
  const keys: string[] = [];
  let description: string | null = null;
  const requires: string[] = [];
  const after: string[] = [];
  const before: string[] = [];
  let enable = false;
  const byName = new Map(header.fields.map((f) => [f.name.toLowerCase(), f]));

  /** A header's names into the `key` list as tend names: facilities mapped, those the destination lacks left out, said in the note. */
  const addNames = (f: LsbField, key: string, into: string[]): void => {
    const kept: string[] = [];
    const dropped: string[] = [];
    for (const word of f.value.split(/\s+/).filter((w) => w !== "")) {
      if (word === "$all") {
        dropped.push("$all (tend has no 'after everything'; order it by names)");
        continue;
      }
      const tendName = word.startsWith("$") ? FACILITIES[word] : word;
      if (tendName === undefined) dropped.push(`${word} (not an LSB facility)`);
      else if (tendName === name) continue;
      else if (input.known.has(tendName)) kept.push(tendName);
      else dropped.push(`${word} (no service or bundle '${tendName}' in the destination)`);
    }
    into.push(...kept);
    const to = kept.length > 0 ? `${key} = ${kept.join(" ")}` : undefined;
    if (dropped.length > 0) note(f, kept.length > 0 ? "approximated" : "dropped", to, `left out: ${dropped.join(", ")}`);
    else if (to !== undefined) note(f, "translated", to);
  };

  for (const f of header.fields) {
    switch (f.name.toLowerCase()) {
      case "provides": {
        const others = f.value.split(/\s+/).filter((w) => w !== "" && w !== name);
        if (others.length === 0) note(f, "translated", `the service's name, ${name}`);
        else note(f, "approximated", `the service's name, ${name}`, `a tend service has one name: ${others.join(" ")} not provided`);
        break;
      }
      case "required-start":
        addNames(f, "requires", requires);
        break;
      case "should-start":
        addNames(f, "after", after);
        break;
      case "required-stop":
      case "should-stop": {
        // tend stops in the reverse order of the start: a stop order that is the start's says nothing more.
        const start = byName.get(f.name.toLowerCase().replace("stop", "start"));
        const same = start !== undefined && start.value.split(/\s+/).sort().join(" ") === f.value.split(/\s+/).sort().join(" ");
        if (same || f.value === "") note(f, "translated", "the reverse of the start order");
        else note(f, "approximated", "the reverse of the start order", "tend stops in the reverse order of the start; a different stop order is not kept");
        break;
      }
      case "x-start-before":
        addNames(f, "before", before);
        break;
      case "x-stop-after":
        note(f, "translated", "the reverse of X-Start-Before");
        break;
      case "default-start": {
        const levels = f.value.split(/\s+/).filter((w) => w !== "");
        enable = levels.some((l) => MULTI_USER.has(l));
        note(f, "translated", enable ? "enabled: in the 'default' bundle" : "not enabled", levels.includes("S") ? "runlevel S (early boot) is not distinct in tend: the boot starts it with the rest" : undefined);
        break;
      }
      case "default-stop":
        note(f, "ignored", undefined, "tend stops every service at shutdown; runlevels 0, 1 and 6 are that");
        break;
      case "short-description":
        description = f.value;
        note(f, "translated", "description");
        break;
      case "description":
        if (!byName.has("short-description")) description = f.value;
        note(f, byName.has("short-description") ? "ignored" : "translated", byName.has("short-description") ? undefined : "description");
        break;
      case "x-interactive":
        note(f, "dropped", undefined, "a service gets no terminal: a script that asks for a passphrase cannot run under tend");
        break;
      default:
        note(f, "dropped", undefined, "not a field tend knows");
    }
  }
  if (description !== null) lines.push(`description = ${description.replace(/\n/g, " ")}`);
  if (pid !== null) {
    keys.push("type = longrun", `command = ${script} start`, `pid-file = ${pid.path}`, `stop = ${script} stop`);
    if (hasReload(input.text)) keys.push(`reload = ${script} reload`);
    notes.push({
      directive: "pid file",
      file: input.path,
      line: pid.line,
      outcome: pid.guessed ? "approximated" : "translated",
      to: `pid-file = ${pid.path}: its daemon supervised through it`,
      ...(pid.guessed ? { why: "the script may compute another path at run time" } : {}),
    });
  } else if (startsDaemon(input.text)) {
    keys.push("type = longrun", `command = ${script} start`, "forking = yes", `stop = ${script} stop`);
    if (hasReload(input.text)) keys.push(`reload = ${script} reload`);
    notes.push({
      directive: "pid file",
      file: input.path,
      line: 1,
      outcome: "approximated",
      to: "forking = yes: its daemon is the one process its start leaves in the service's tree, supervised as its main",
      why: "no pid file named in the script: a start that leaves more than one process of their own (not one daemon and its children) is waited on until start-timeout (add pid-file = PATH if it writes one)",
    });
  } else {
    keys.push("type = oneshot", `up = ${script} start`, `down = ${script} stop`);
    notes.push({
      directive: "pid file",
      file: input.path,
      line: 1,
      outcome: "translated",
      to: "a oneshot: its start runs no daemon (no start-stop-daemon --start, nothing put in the background); up once it has run",
    });
    if (hasReload(input.text)) notes.push({ directive: "reload", file: input.path, line: 1, outcome: "dropped", why: "a oneshot has no reload: 'tend restart' it" });
  }
  lines.push(...keys);
  if (requires.length > 0) lines.push(`requires = ${requires.join(" ")}`);
  const ordered = after.filter((n) => !requires.includes(n));
  if (ordered.length > 0) lines.push(`after = ${ordered.join(" ")}`);
  if (before.length > 0) lines.push(`before = ${before.join(" ")}`);
  return { ok: true, translation: { source: input.path, files: [{ name, text: `${lines.join("\n")}\n` }], enable: enable ? [name] : [], notes } };
}

/** The service's name: the script's file name (`cron`, `hwclock.sh` → `hwclock`). */
export const serviceName = (path: string): string => basename(path).replace(/\.sh$/, "");

export const lsbTranslator: Translator = {
  kind: "LSB init script",
  recognises: (_path, text) => BEGIN.test(text),
  names: (path) => [serviceName(path)],
  translate: translateLsb,
};
