// What the keeper is told to spawn for a service's role: the command, who it runs as,
// its clean environment, its output and limits (docs/keeper-protocol.md, `spawn`); or
// why it cannot be spawned, as the `spawn-failed` the engine is told.

import { join } from "node:path";
import { expandArgv, type Argv } from "../config/argv.js";
import { DEFAULT_CWD, type ServiceDef } from "../config/service.js";
import { isBeside, type SpawnRole } from "../engine/types.js";
import type { LogSettings, SpawnMessage } from "../keeper/protocol.js";
import { fileNameOf } from "../places.js";
import { directoryEnvironment, type DirectoryBases, type Owner } from "../system/service-directories.js";
import { groupsOf, lookupGroup, lookupUser, LookupTimeout, type Account } from "./accounts.js";
import { serviceEnvironment } from "./environment.js";

/** Where a spawn's files go, and who the server runs as. */
export interface SpawnPlaces {
  runDir: string;
  logDir: string;
  /** Where file logs go: files only, the console only (then `log = file` means the keeper's stdout), or both. */
  serviceLogs: "files" | "console" | "both";
  self: Account;
  /** Where services' own directories go (`runtime-directory` & co.). */
  directories: DirectoryBases;
  /** tend.env's variables as they are now. */
  defaults(): Readonly<Record<string, string>>;
}

/** Switching users: the ids, and the supplementary groups (`user =` brings its own; `group =` alone, none). */
export type Switch = { uid: number; gid: number; groups: number[] };

export interface Spawn {
  message: SpawnMessage;
  /** A longrun's main: the process whose readiness makes the service up. */
  main: boolean;
  readiness: ServiceDef["ready"];
  /** The environment the process gets (a probe runs with it too). */
  env: Record<string, string>;
  ids: Switch | null;
  /** Who the service's directories belong to: who the process runs as. */
  owner: Owner;
}

export function spawnMessage(service: string, role: SpawnRole, def: ServiceDef, eventEnv: Record<string, string>, places: SpawnPlaces): Spawn | string {
  const argv = commandFor(def, role);
  if (argv === null) return `no command for ${role}`;
  const who = credentialsFor(def, places.self);
  if (typeof who === "string") return who;
  const main = role === "main" && def.type === "longrun";
  const readiness = main ? def.ready : { kind: "none" as const };
  const notifyPath = join(places.runDir, "notify", `${fileNameOf(service)}.sock`);
  const notify: Record<string, string> = readiness.kind === "notify" ? { NOTIFY_SOCKET: notifyPath } : {};
  const env = serviceEnvironment(def, who.account, {
    server: process.env,
    defaults: places.defaults(),
    event: eventEnv,
    extra: { ...directoryEnvironment(def, places.directories), ...notify },
  });
  if (!env.ok) return env.error;
  // The program word is literal (the compiler refuses a variable there): it stays the first word.
  const args = expandArgv(argv, env.env);
  const message: SpawnMessage = {
    type: "spawn",
    service,
    // The keeper has one place for a command beside the service's process, its reload command's: a stop or post-start command runs there.
    role: isBeside(role) ? "reload" : role,
    file: args[0]!,
    args,
    env: Object.entries(env.env).map(([name, value]) => `${name}=${value}`),
    cwd: def.cwd ?? DEFAULT_CWD,
    umask: def.umask ?? 0o022,
    ...logSettings(service, def, places),
    ...(def.log === "file" && who.switch !== null ? { logGroup: who.switch.gid } : {}),
    ...(def.stderr === "apart" ? { stderr: "apart" as const } : {}),
    ...(who.switch ?? {}),
    nnp: def.noNewPrivileges,
    limits: Object.entries(def.limits).map(([name, l]) => ({ name, soft: l.soft, hard: l.hard })),
    cgroup: cgroupName(service),
    // A oneshot's `up` may leave daemons behind that live until the oneshot stops; a
    // reload or stop command's end is not its service's; a launcher leaves the daemon that is the service.
    killRest: !(def.type === "oneshot" && role === "up") && !isBeside(role) && role !== "launcher",
  };
  if (readiness.kind === "fd") message.readyFd = readiness.fd;
  if (readiness.kind === "notify") message.notify = notifyPath;
  const owner = { uid: who.switch?.uid ?? places.self.uid, gid: who.switch?.gid ?? places.self.gid };
  return { message, main, readiness, env: env.env, ids: who.switch, owner };
}

/** A service's cgroup, a directory under the keeper's (with cgroups): what `tend status NAME` reads its memory from too. */
export const cgroupName = (service: string): string => `${fileNameOf(service)}.service`;

/** Where the keeper writes the output of a service's processes, and its notes. */
export function logSettings(service: string, def: ServiceDef, places: SpawnPlaces): LogSettings {
  if (def.log !== "file") return { log: def.log };
  return fileLog(fileNameOf(service), def.logMaxBytes, def.logKeep, places);
}

/** A log in LOG/DIR, rotated at `size` bytes keeping `keep` files: in the file, on the console instead, or both, as the server's service logs go. */
export function fileLog(dir: string, size: number, keep: number, places: Pick<SpawnPlaces, "logDir" | "serviceLogs">): LogSettings {
  if (places.serviceLogs === "console") return { log: "stdout" };
  return { log: "file", logDir: join(places.logDir, dir), logSize: size, logKeep: keep, logConsole: places.serviceLogs === "both" };
}

function commandFor(def: ServiceDef, role: SpawnRole): Argv | null {
  switch (role) {
    case "main":
    case "launcher":
      return def.command;
    case "pre-start":
      return def.preStart;
    case "post-stop":
      return def.postStop;
    case "up":
      return def.up;
    case "down":
      return def.down;
    case "post-start":
      return def.postStart;
    case "stop":
      return def.stop;
    case "reload":
      return def.reload;
  }
}

/** Who the process runs as, or why it cannot. */
export function credentialsFor(def: ServiceDef, self: Account): { account: Account; switch: Switch | null } | string {
  if (def.user === null && def.group === null) return { account: self, switch: null };
  try {
    const account = def.user === null ? self : lookupUser(def.user);
    if (account === null) return `no such user '${def.user}'`;
    const gid = def.group === null ? account.gid : lookupGroup(def.group);
    if (gid === null) return `no such group '${def.group}'`;
    if (account.uid === self.uid && gid === self.gid) return { account, switch: null };
    if (self.uid !== 0) return `switching to user '${def.user ?? self.name}' needs a server running as root`;
    return { account, switch: { uid: account.uid, gid, groups: def.user === null ? [] : groupsOf(account) } };
  } catch (e) {
    if (e instanceof LookupTimeout) return `cannot look up its user or group: ${e.message}`;
    throw e;
  }
}

