// The peers tend is measured against, found or installed the way a user would:
//   s6, runit, supervisord   Debian's packages: `apt-get install -y s6 runit supervisor`
//                            (as root, when one is missing; `apt-get update` first when
//                            apt has no package lists, or once more when the install fails)
//   pm2                      `npm install pm2@PM2_VERSION` into a scratch directory under
//                            os.tmpdir() (kept between runs as a cache: tend-bench-peers/)
// Asked once per bench run; a peer that cannot be had is skipped with the reason, and
// never costs tend's rows. Nothing here touches the machine's own services: the bench
// runs every peer as its own instance in a scratch directory (bench/lib/peer-managers.ts).

import { execFileSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** The pm2 the bench installs (the latest release when this was written). */
export const PM2_VERSION = "7.0.4";

export type PeerName = "s6" | "runit" | "supervisord" | "pm2";
export const PEERS: readonly PeerName[] = ["s6", "runit", "supervisord", "pm2"];

export interface S6Tools {
  svscan: string;
  svscanctl: string;
  svwait: string;
  svstat: string;
  version: string;
}
export interface RunitTools {
  runsvdir: string;
  sv: string;
  version: string;
}
export interface SupervisordTools {
  supervisord: string;
  supervisorctl: string;
  version: string;
}
export interface Pm2Tools {
  /** pm2's CLI script, run as `node CLI …` with the bench's own node. */
  cli: string;
  version: string;
}

export interface PeerTools {
  s6: S6Tools;
  runit: RunitTools;
  supervisord: SupervisordTools;
  pm2: Pm2Tools;
}

export type Found<T> = { ok: true; tools: T; installed: boolean } | { ok: false; why: string };

const SEARCH_DIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

export function findExecutable(name: string): string | null {
  for (const dir of [...(process.env.PATH ?? "").split(":").filter((d) => d.startsWith("/")), ...SEARCH_DIRS]) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return null;
}

function dpkgVersion(pkg: string): string {
  try {
    return execFileSync("dpkg-query", ["-W", "-f", "${Version}", pkg], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 }).trim() || "?";
  } catch {
    return "?";
  }
}

function lookS6(): S6Tools | null {
  const [svscan, svscanctl, svwait, svstat] = ["s6-svscan", "s6-svscanctl", "s6-svwait", "s6-svstat"].map(findExecutable);
  if (!svscan || !svscanctl || !svwait || !svstat) return null;
  return { svscan, svscanctl, svwait, svstat, version: `s6 ${dpkgVersion("s6")}` };
}
function lookRunit(): RunitTools | null {
  const [runsvdir, sv] = ["runsvdir", "sv"].map(findExecutable);
  if (!runsvdir || !sv) return null;
  return { runsvdir, sv, version: `runit ${dpkgVersion("runit")}` };
}
function lookSupervisord(): SupervisordTools | null {
  const [supervisord, supervisorctl] = ["supervisord", "supervisorctl"].map(findExecutable);
  if (!supervisord || !supervisorctl) return null;
  let version = dpkgVersion("supervisor");
  try {
    version = execFileSync(supervisord, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 }).trim();
  } catch {
    // the package's version will do
  }
  return { supervisord, supervisorctl, version: `supervisord ${version}` };
}

const APT_PACKAGES: Record<Exclude<PeerName, "pm2">, { pkg: string; look: () => unknown }> = {
  s6: { pkg: "s6", look: lookS6 },
  runit: { pkg: "runit", look: lookRunit },
  supervisord: { pkg: "supervisor", look: lookSupervisord },
};

/** Has apt never been updated on this machine (no package lists at all)? */
function aptListsEmpty(): boolean {
  try {
    return !readdirSync("/var/lib/apt/lists").some((f) => f.endsWith("_Packages") || f.includes("_Packages."));
  } catch {
    return true;
  }
}

/** Pids of running supervisord processes (to tell one that Debian's package started from ours). */
function supervisordPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (/supervisord/.test(cmdline) && !/tend-bench/.test(cmdline)) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

let aptDone: { notes: string[]; error: string | null } | null = null;

/**
 * apt-get install -y s6 runit supervisor, for those missing (once per bench run). Only as
 * root and only where apt-get exists; otherwise the caller says why the peer is skipped.
 */
function aptInstall(log: (message: string) => void): { notes: string[]; error: string | null } {
  if (aptDone !== null) return aptDone;
  const missing = Object.values(APT_PACKAGES).filter((p) => p.look() === null).map((p) => p.pkg);
  if (missing.length === 0) return (aptDone = { notes: [], error: null });
  if (process.getuid?.() !== 0) return (aptDone = { notes: [], error: `not root: install them with 'apt-get install ${missing.join(" ")}'` });
  const aptGet = findExecutable("apt-get");
  if (aptGet === null) return (aptDone = { notes: [], error: "this machine has no apt-get" });
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const run = (args: string[], timeout: number): string => execFileSync(aptGet, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout, env });
  const notes: string[] = [];
  const before = new Set(supervisordPids());
  // --no-install-recommends: runit recommends runit-run, which would make runit run the machine's /etc/service.
  const install = ["install", "-y", "--no-install-recommends", ...missing];
  try {
    if (aptListsEmpty()) {
      log("peers: apt has no package lists yet: apt-get update");
      run(["update"], 300_000);
    }
    log(`peers: installing Debian's ${missing.join(", ")} (apt-get ${install.join(" ")})`);
    try {
      run(install, 600_000);
    } catch {
      log("peers: apt-get install failed: apt-get update, then once more");
      run(["update"], 300_000);
      run(install, 600_000);
    }
  } catch (e) {
    const err = e as Error & { stderr?: string };
    const why = String(err.stderr ?? err.message).trim().split("\n").slice(-1)[0] ?? "";
    return (aptDone = { notes, error: `apt-get could not install ${missing.join(", ")}: ${why}` });
  }
  const started = supervisordPids().filter((pid) => !before.has(pid));
  if (started.length > 0) {
    notes.push(
      `peers: Debian's supervisor package started the machine's own supervisord (pid ${started.join(", ")}) when it was installed; ` +
        "the bench leaves the machine's services alone (stop it with 'service supervisor stop' if it is not wanted)",
    );
  }
  notes.push(`peers: installed ${missing.join(", ")} from Debian's packages`);
  return (aptDone = { notes, error: null });
}

function aptPeer<T>(name: Exclude<PeerName, "pm2">, look: () => T | null, log: (message: string) => void, notes: string[]): Found<T> {
  const tools = look();
  if (tools !== null) return { ok: true, tools, installed: false };
  const result = aptInstall(log);
  notes.push(...result.notes.filter((n) => !notes.includes(n)));
  if (result.error !== null) return { ok: false, why: `${APT_PACKAGES[name].pkg} is not installed (${result.error})` };
  const installed = look();
  return installed === null ? { ok: false, why: `apt-get installed ${APT_PACKAGES[name].pkg}, but its programs are not on the PATH` } : { ok: true, tools: installed, installed: true };
}

/** npm, next to the running node or on the PATH. */
function findNpm(): string | null {
  const beside = join(dirname(process.execPath), "npm");
  if (existsSync(beside)) return beside;
  return findExecutable("npm");
}

function pm2Peer(log: (message: string) => void): Found<Pm2Tools> {
  const dir = join(tmpdir(), "tend-bench-peers", `pm2-${PM2_VERSION}`);
  const cli = join(dir, "node_modules", "pm2", "bin", "pm2");
  const versionOf = (): string | null => {
    try {
      return (JSON.parse(readFileSync(join(dir, "node_modules", "pm2", "package.json"), "utf8")) as { version: string }).version;
    } catch {
      return null;
    }
  };
  if (existsSync(cli) && versionOf() === PM2_VERSION) return { ok: true, tools: { cli, version: `pm2 ${PM2_VERSION}` }, installed: false };
  const npm = findNpm();
  if (npm === null) return { ok: false, why: "pm2: there is no npm to install it with" };
  mkdirSync(dir, { recursive: true });
  if (!existsSync(join(dir, "package.json"))) writeFileSync(join(dir, "package.json"), `${JSON.stringify({ name: "tend-bench-pm2", private: true }, null, 2)}\n`);
  log(`peers: installing pm2 ${PM2_VERSION} (npm install pm2@${PM2_VERSION} in ${dir})`);
  try {
    // npm itself is not measured: it keeps the environment as it is (proxies, certificates).
    execFileSync(npm, ["install", "--no-audit", "--no-fund", "--loglevel=error", `pm2@${PM2_VERSION}`], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 600_000 });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    return { ok: false, why: `npm install pm2@${PM2_VERSION} failed: ${String(err.stderr ?? err.message).trim().split("\n").slice(-1)[0]}` };
  }
  if (!existsSync(cli) || versionOf() !== PM2_VERSION) return { ok: false, why: `npm install pm2@${PM2_VERSION} left no ${cli}` };
  return { ok: true, tools: { cli, version: `pm2 ${PM2_VERSION}` }, installed: true };
}

const cache = new Map<PeerName, Found<unknown>>();
const installNotes: string[] = [];

/** The peer's tools, found or installed (once per bench run), or why it is skipped. */
export function findPeer<P extends PeerName>(name: P, log: (message: string) => void): Found<PeerTools[P]> {
  const cached = cache.get(name);
  if (cached !== undefined) return cached as Found<PeerTools[P]>;
  let found: Found<unknown>;
  switch (name) {
    case "s6":
      found = aptPeer("s6", lookS6, log, installNotes);
      break;
    case "runit":
      found = aptPeer("runit", lookRunit, log, installNotes);
      break;
    case "supervisord":
      found = aptPeer("supervisord", lookSupervisord, log, installNotes);
      break;
    default:
      found = pm2Peer(log);
  }
  cache.set(name, found);
  return found as Found<PeerTools[P]>;
}

/** Notes about installations (printed once under the table). */
export function peerInstallNotes(): string[] {
  return [...installNotes];
}

/** Versions of the peers found this run, for the results. */
export function peerVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, found] of cache) out[name] = found.ok ? (found.tools as { version: string }).version : `skipped: ${found.why}`;
  return out;
}

