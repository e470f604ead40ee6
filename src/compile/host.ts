// Checks against this machine: do the programs exist and are they executable, do the
// users and groups exist, and (as root) may anyone but root change what runs as root
// (strict.ts). Skipped with `tend check --portable`, for a source set checked on
// another machine than the one it will boot.

import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { literalOf, type Argv } from "../config/argv.js";
import type { Location, Report } from "../config/diagnostics.js";
import type { ParsedService } from "../config/parse.js";
import { CLEAN_PATH, DEFAULT_CWD, type ServiceDef } from "../config/service.js";
import { usesArgument } from "../config/template.js";
import { strictModes, untrustedMessage, type StrictModes } from "./strict.js";

export interface HostFacts {
  users: ReadonlySet<string>;
  groups: ReadonlySet<string>;
  /** Whether the server may switch users (it runs as root). */
  canSwitchUser: boolean;
  /** Present when the compiler runs as root: strict modes apply, with the users' ids. */
  strict?: { uids: ReadonlyMap<string, number> };
}

/** A program resolved: its path, or what is wrong. */
type Resolved = { path: string } | { problem: string };

/** What one compilation has looked up already (thousands of services share a few programs and directories). */
export interface HostCache {
  programs: Map<string, Resolved>;
  strict: StrictModes | null;
  /** Untrusted paths already reported: one error each, where it is first met. */
  untrusted: Set<string>;
}

export function readHostFacts(): HostFacts {
  const uids = readAccountIds("/etc/passwd");
  const facts: HostFacts = { users: new Set(uids.keys()), groups: new Set(readAccountIds("/etc/group").keys()), canSwitchUser: process.getuid?.() === 0 };
  if (process.geteuid?.() === 0) facts.strict = { uids: new Map([...uids].filter(([, uid]) => uid >= 0)) };
  return facts;
}

/** Names to ids in an /etc/passwd or /etc/group file (`name:x:id:…`), -1 for an id that is not a number; empty when it cannot be read. */
export function readAccountIds(file: string): Map<string, number> {
  const ids = new Map<string, number>();
  try {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const [name, , id] = line.split(":");
      if (name) ids.set(name, /^\d+$/.test(id ?? "") ? Number(id) : -1);
    }
  } catch {
    // no such file: no names
  }
  return ids;
}

export function hostCache(facts: HostFacts): HostCache {
  const strict = facts.strict;
  const names = new Map([...(strict?.uids ?? [])].map(([name, uid]) => [uid, name]));
  return { programs: new Map(), strict: strict === undefined ? null : strictModes((uid) => names.get(uid)), untrusted: new Set() };
}

/** In strict mode, the source directory and those above it must be root's alone. */
export function checkSourceDirectory(dir: string, report: Report, cache: HostCache): void {
  checkTrusted(cache, report, { file: dir, line: 0, col: 0 }, "the source directory: ", dir, [0], "root");
}

/** In strict mode, reports the first path on the way to `path` that others than `owners` may change: once per compilation. */
function checkTrusted(cache: HostCache, report: Report, where: Location, what: string, path: string, owners: readonly number[], ownerNames: string): void {
  const problem = cache.strict?.check(path, owners) ?? null;
  if (problem === null || cache.untrusted.has(problem.path)) return;
  cache.untrusted.add(problem.path);
  report("error", where, `${what}${untrustedMessage(problem, ownerNames)}`);
}

export function checkHost({ def, keyAt }: ParsedService, facts: HostFacts, report: Report, cache: HostCache = hostCache(facts)): void {
  const whole = { file: def.file, line: 0, col: 0 };
  const trust = trusted(def, facts, cache, report);
  trust(whole, "", def.file, false);
  const at = (key: string) => keyAt.get(key) ?? whole;
  const commands: [string, Argv | null][] = [
    ["command", def.command],
    ["up", def.up],
    ["down", def.down],
    ["pre-start", def.preStart],
    ["post-stop", def.postStop],
    ["post-start", def.postStart],
    ["stop", def.stop],
    ["reload", def.reload],
    ["ready", def.ready.kind === "exec" ? def.ready.argv : null],
  ];
  const path = def.env.PATH ?? CLEAN_PATH;
  const cwd = def.cwd ?? DEFAULT_CWD;
  for (const [key, argv] of commands) {
    // The program word is literal (parseCommand refuses a variable there), as a template: `$$` for a `$`.
    const name = argv === null ? null : literalOf(argv[0]);
    if (name === null) continue;
    const lookup = `${name}\0${path}\0${cwd}`;
    let program = cache.programs.get(lookup);
    if (program === undefined) cache.programs.set(lookup, (program = findProgram(name, path, cwd)));
    if ("problem" in program) report("error", at(key), `'${key}': ${program.problem}`);
    else trust(at(key), `'${key}': `, program.path, true);
  }
  for (const [key, name, known] of [
    ["user", def.user, facts.users],
    ["group", def.group, facts.groups],
  ] as const) {
    if (name === null || /^\d+$/.test(name) || usesArgument(name)) continue; // a template's `${INSTANCE}`: each instance's is checked
    if (!known.has(name)) report("error", at(key), `'${key} = ${name}': no such ${key} on this machine`);
  }
  if ((def.user !== null || def.group !== null) && !facts.canSwitchUser) {
    report("warning", at(def.user !== null ? "user" : "group"), "'user'/'group' take effect only when the server runs as root; as another user the start will fail");
  }
  if (def.cwd !== null && !usesArgument(def.cwd) && !isDirectory(def.cwd)) {
    report("warning", at("cwd"), `'cwd = ${def.cwd}' does not exist (yet): the start will fail unless something creates it first`);
  }
  for (const envFile of def.envFiles) {
    if (usesArgument(envFile.path)) continue;
    if (!envFile.optional && !isReadable(envFile.path)) {
      report("warning", at("env-file"), `'env-file = ${envFile.path}' cannot be read (yet); write '-${envFile.path}' if it is optional`);
    }
    trust(at("env-file"), "'env-file': ", envFile.path, true);
  }
}

/**
 * The strict-mode check of a service file, or of an env-file or program of `def`: root's,
 * or (for what runs as the service's own user) that user's.
 */
function trusted(def: ServiceDef, facts: HostFacts, cache: HostCache, report: Report) {
  const uid = def.user === null ? undefined : /^\d+$/.test(def.user) ? Number(def.user) : facts.strict?.uids.get(def.user);
  return (where: Location, what: string, path: string, runsAsUser: boolean): void =>
    runsAsUser && uid !== undefined && uid !== 0
      ? checkTrusted(cache, report, where, what, path, [0, uid], `root or ${def.user}`)
      : checkTrusted(cache, report, where, what, path, [0], "root");
}

/** Where `program` resolves to (an executable file), else what is wrong: the one place a program is looked up. */
function findProgram(program: string, path: string, cwd: string): Resolved {
  if (program.includes("/")) {
    const full = isAbsolute(program) ? program : resolve(cwd, program);
    return isExecutable(full) ? { path: full } : { problem: `'${full}' ${describeMissing(full)}` };
  }
  for (const dir of path.split(":")) {
    if (dir !== "" && isExecutable(join(dir, program))) return { path: join(dir, program) };
  }
  return { problem: `'${program}' is not found in PATH (${path}); give an absolute path or set PATH with 'env'` };
}

function describeMissing(file: string): string {
  try {
    return statSync(file).isFile() ? "is not executable" : "is not a file";
  } catch {
    return "does not exist";
  }
}

function isExecutable(file: string): boolean {
  // Any error (a name too long, a loop of links, no permission) is "not a program here".
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

function isReadable(file: string): boolean {
  try {
    accessSync(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
