// How a service's program is executed. Most services are spawned directly; a service
// that asks for resource limits, a user with supplementary groups, or no-new-privs is
// chain-loaded through util-linux's prlimit and setpriv (s6 style: each program sets
// one thing and execs the next), paying ~1 ms per wrapper only when it is used.

import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import { CLEAN_PATH, type ServiceDef } from "../config/service.js";
import type { ResourceLimit } from "../config/values.js";

export interface Invocation {
  file: string;
  args: string[];
}

export interface Credentials {
  uid: number;
  gid: number;
  /** Load the user's supplementary groups (Node's own uid/gid switch drops them). */
  initGroups: boolean;
}

const toolCache = new Map<string, string | null>();

/** The absolute path of a tool in the clean PATH, or null when it is not installed. */
export function findTool(name: string): string | null {
  if (!toolCache.has(name)) {
    let found: string | null = null;
    for (const dir of CLEAN_PATH.split(":")) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        found = join(dir, name);
        break;
      } catch {
        // not in this directory
      }
    }
    toolCache.set(name, found);
  }
  return toolCache.get(name)!;
}

const limitValue = (n: number | null): string => (n === null ? "unlimited" : String(n));

/** Wrap `argv` in what the service needs; throws a user-facing message when a tool is missing. */
export function invocation(def: ServiceDef, argv: readonly string[], credentials: Credentials | null): Invocation {
  let chain = [...argv];
  if (credentials !== null || def.noNewPrivileges) {
    const setpriv = requireTool("setpriv", "'user', 'group' and 'no-new-privileges'");
    const options: string[] = [];
    if (credentials !== null) {
      options.push(`--reuid=${credentials.uid}`, `--regid=${credentials.gid}`, credentials.initGroups ? "--init-groups" : "--clear-groups");
    }
    if (def.noNewPrivileges) options.push("--no-new-privs");
    chain = [setpriv, ...options, "--", ...chain];
  }
  const limits = Object.entries(def.limits) as [string, ResourceLimit][];
  if (limits.length > 0) {
    const prlimit = requireTool("prlimit", "'limit-*'");
    chain = [prlimit, ...limits.map(([name, l]) => `--${name}=${limitValue(l.soft)}:${limitValue(l.hard)}`), "--", ...chain];
  }
  return { file: chain[0]!, args: chain.slice(1) };
}

function requireTool(name: string, forWhat: string): string {
  const path = findTool(name);
  if (path === null) throw new Error(`${forWhat} need util-linux's ${name}, which is not installed`);
  return path;
}
