// Users and groups, looked up with getent so that NSS sources (LDAP, sssd) count too.

import { execFileSync } from "node:child_process";
import { userInfo } from "node:os";

export interface Account {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** The user the server runs as. */
export function currentAccount(): Account {
  const me = userInfo();
  return { name: me.username, uid: me.uid, gid: me.gid, home: me.homedir };
}

/** A user by name or number, or null when this machine does not know it. */
export function lookupUser(user: string): Account | null {
  const fields = getent("passwd", user);
  if (fields === null) return /^\d+$/.test(user) ? { name: user, uid: Number(user), gid: Number(user), home: "/" } : null;
  return { name: fields[0]!, uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5] || "/" };
}

export function lookupGroup(group: string): number | null {
  const fields = getent("group", group);
  if (fields === null) return /^\d+$/.test(group) ? Number(group) : null;
  return Number(fields[2]);
}

/**
 * The groups a process of `account` belongs to, as initgroups(3) sets them: its own
 * group and every group that lists it. `getent initgroups` asks NSS as initgroups
 * does; `id -G` is for a getent without it (musl's).
 */
export function groupsOf(account: Account): number[] {
  const listed = run("getent", ["initgroups", account.name])?.trim().split(/\s+/).slice(1) ?? run("id", ["-G", "--", account.name])?.trim().split(/\s+/) ?? [];
  return [...new Set([account.gid, ...listed.filter((g) => /^\d+$/.test(g)).map(Number)])];
}

function getent(database: "passwd" | "group", key: string): string[] | null {
  return run("getent", [database, key])?.trim().split(":") ?? null;
}

/**
 * How long one lookup may take. The server waits for it (a start needs the ids), so
 * an NSS source that never answers (a dead LDAP server) must not hold it for good.
 */
export const LOOKUP_TIMEOUT_MS = 5_000;

/** A lookup that did not finish in time: the start fails with this message. */
export class LookupTimeout extends Error {}

/** The program's output, or null when it fails or is not installed; throws LookupTimeout when it hangs. */
function run(program: string, args: string[]): string | null {
  try {
    return execFileSync(program, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: LOOKUP_TIMEOUT_MS, killSignal: "SIGKILL" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ETIMEDOUT") {
      throw new LookupTimeout(`'${program} ${args.join(" ")}' did not answer within ${LOOKUP_TIMEOUT_MS / 1000}s (is the user database, NSS or LDAP, answering?)`);
    }
    return null;
  }
}
