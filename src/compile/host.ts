// Checks against this machine: do the programs exist and are they executable, do the
// users and groups exist. Skipped with `tend check --portable`, for a source set
// checked on another machine than the one it will boot.

import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import type { Report } from "../config/diagnostics.js";
import type { ParsedService } from "../config/parse.js";
import { CLEAN_PATH, DEFAULT_CWD } from "../config/service.js";

export interface HostFacts {
  users: ReadonlySet<string>;
  groups: ReadonlySet<string>;
  /** Whether the server may switch users (it runs as root). */
  canSwitchUser: boolean;
}

/** Programs already looked up in one compilation (thousands of services share a few), with the answer. */
export type ProgramCache = Map<string, string | null>;

export function readHostFacts(): HostFacts {
  const names = (file: string): Set<string> => new Set(readAccountIds(file).keys());
  return { users: names("/etc/passwd"), groups: names("/etc/group"), canSwitchUser: process.getuid?.() === 0 };
}

/** Names to ids in an /etc/passwd or /etc/group file (`name:x:id:…`); empty when it cannot be read. */
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

export function checkHost({ def, keyAt }: ParsedService, facts: HostFacts, report: Report, programs: ProgramCache = new Map()): void {
  const whole = { file: def.file, line: 0, col: 0 };
  const at = (key: string) => keyAt.get(key) ?? whole;
  const commands: [string, string[] | null][] = [
    ["command", def.command],
    ["up", def.up],
    ["down", def.down],
    ["pre-start", def.preStart],
    ["post-stop", def.postStop],
    ["ready", def.ready.kind === "exec" ? def.ready.argv : null],
  ];
  const path = def.env.PATH ?? CLEAN_PATH;
  const cwd = def.cwd ?? DEFAULT_CWD;
  for (const [key, argv] of commands) {
    if (argv === null) continue;
    const lookup = `${argv[0]}\0${path}\0${cwd}`;
    if (!programs.has(lookup)) programs.set(lookup, findProgram(argv[0]!, path, cwd));
    const problem = programs.get(lookup)!;
    if (problem !== null) report("error", at(key), `'${key}': ${problem}`);
  }
  for (const [key, name, known] of [
    ["user", def.user, facts.users],
    ["group", def.group, facts.groups],
  ] as const) {
    if (name === null || /^\d+$/.test(name)) continue;
    if (!known.has(name)) report("error", at(key), `'${key} = ${name}': no such ${key} on this machine`);
  }
  if ((def.user !== null || def.group !== null) && !facts.canSwitchUser) {
    report("warning", at(def.user !== null ? "user" : "group"), "'user'/'group' take effect only when the server runs as root; as another user the start will fail");
  }
  if (def.cwd !== null && !isDirectory(def.cwd)) {
    report("warning", at("cwd"), `'cwd = ${def.cwd}' does not exist (yet): the start will fail unless something creates it first`);
  }
  for (const envFile of def.envFiles) {
    if (!envFile.optional && !isReadable(envFile.path)) {
      report("warning", at("env-file"), `'env-file = ${envFile.path}' cannot be read (yet); write '-${envFile.path}' if it is optional`);
    }
  }
}

/** Null when `program` resolves to an executable file, else what is wrong. */
function findProgram(program: string, path: string, cwd: string): string | null {
  if (program.includes("/")) {
    const full = isAbsolute(program) ? program : resolve(cwd, program);
    return isExecutable(full) ? null : `'${full}' ${describeMissing(full)}`;
  }
  for (const dir of path.split(":")) {
    if (dir !== "" && isExecutable(join(dir, program))) return null;
  }
  return `'${program}' is not found in PATH (${path}); give an absolute path or set PATH with 'env'`;
}

function describeMissing(file: string): string {
  try {
    return statSync(file).isFile() ? "is not executable" : "is not a file";
  } catch {
    return "does not exist";
  }
}

function isExecutable(file: string): boolean {
  if (statSync(file, { throwIfNoEntry: false })?.isFile() !== true) return false;
  try {
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
