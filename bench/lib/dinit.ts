// dinit, the one peer with dependencies between services (W1, W2, W3). Debian 12 has no
// dinit package, so when no `dinit` and `dinitctl` are on the PATH the bench builds them
// from the public source release kept beside the repository,
//   ../shared/peers/dinit-<version>.tar.gz      (relative to the repository root)
// with the machine's make and g++, once, into a cache outside the source tree,
//   bench/.cache/dinit-<version>/{dinit,dinitctl,SOURCE,build.log}   (git-ignored)
// which later runs reuse (SOURCE records the tarball's sha256: a different tarball is
// built again). The source is unpacked and compiled in a temporary directory that is
// removed afterwards: none of dinit's code lands in the repository, only the two
// programs built from it, in the ignored cache.
//
// Build: `make mconfig`, `make -C build all`, `make -C src dinit dinitctl` (dinit's own
// `make` would also build the man pages, which needs m4; the bench needs only the two
// programs). About 20 s on 2 CPUs. Every process of the build runs in its own process
// group, killed by the bench should it be interrupted. A build that fails, or a machine
// without make or g++, is a note under the table (no dinit rows), never a crash.

import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, openSync, closeSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, relative, resolve } from "node:path";
import { findExecutable } from "./peers.js";
import { makeTempDir, onCleanup, removeTempDir } from "./tmp.js";

export interface DinitTools {
  dinit: string;
  dinitctl: string;
  version: string;
}

export type DinitLookup = { ok: true; tools: DinitTools; installed: boolean } | { ok: false; why: string };

/** Where the source releases are, relative to the repository root. */
export const PEER_SOURCES = join("..", "shared", "peers");
/** The build cache, relative to the repository root (bench/.gitignore ignores it). */
export const DINIT_CACHE = join("bench", ".cache");
/** One step of the build may take this long. */
const STEP_TIMEOUT_MS = 600_000;

let lookup: Promise<DinitLookup> | null = null;
const notes: string[] = [];

function versionOf(dinit: string): string {
  try {
    // "Dinit version 0.23.0pre."
    const first = execFileSync(dinit, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 5000 }).split("\n")[0]!.trim();
    return first.replace(/^Dinit version\s+/i, "dinit ").replace(/\.$/, "");
  } catch {
    return "dinit ?"; // an old dinit without --version: it still runs
  }
}

function onPath(): DinitTools | null {
  const dinit = findExecutable("dinit");
  const dinitctl = findExecutable("dinitctl");
  if (dinit === null || dinitctl === null) return null;
  return { dinit, dinitctl, version: versionOf(dinit) };
}

/** The newest ../shared/peers/dinit-*.tar.gz, or null. */
function tarball(root: string): { file: string; version: string } | null {
  const dir = resolve(root, PEER_SOURCES);
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => /^dinit-[A-Za-z0-9._-]+\.tar\.gz$/.test(f)).sort();
  } catch {
    return null;
  }
  const name = names[names.length - 1];
  if (name === undefined) return null;
  return { file: join(dir, name), version: name.slice("dinit-".length, -".tar.gz".length) };
}

const sha256 = (file: string): string => createHash("sha256").update(readFileSync(file)).digest("hex");

/** Runs one build step in its own process group (killed by pid should the bench be interrupted); rejects with the log's tail. */
function step(file: string, args: string[], cwd: string, log: string): Promise<void> {
  return new Promise((done, fail) => {
    const fd = openSync(log, "a");
    let child;
    try {
      child = spawn(file, args, { cwd, detached: true, stdio: ["ignore", fd, fd], env: { ...process.env, LC_ALL: "C", MAKEFLAGS: "" } });
    } finally {
      closeSync(fd);
    }
    const pid = child.pid;
    const killGroup = (): void => {
      if (pid === undefined) return;
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // gone
      }
    };
    const release = onCleanup(killGroup);
    const timer = setTimeout(() => {
      killGroup();
      fail(new Error(`${[file, ...args].join(" ")}: no end within ${STEP_TIMEOUT_MS / 1000} s (killed)`));
    }, STEP_TIMEOUT_MS);
    child.on("error", (e) => {
      clearTimeout(timer);
      release();
      fail(new Error(`${file}: ${e.message}`));
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      killGroup(); // anything the step left in its group
      release();
      if (code === 0) return done();
      const tail = readFileSync(log, "utf8").trim().split("\n").slice(-3).join(" / ");
      fail(new Error(`'${[file.split("/").pop(), ...args].join(" ")}' ${code === null ? `killed by ${signal}` : `exit status ${code}`}: ${tail}`));
    });
  });
}

/** Builds dinit from `source` into `cache`; resolves with its tools, rejects with why not. */
async function build(root: string, source: { file: string; version: string }, digest: string, cache: string, log: (message: string) => void): Promise<DinitTools> {
  const make = findExecutable("make");
  const cxx = findExecutable("g++");
  const tar = findExecutable("tar");
  const missing = [make === null ? "make" : null, cxx === null ? "g++" : null, tar === null ? "tar" : null].filter((x) => x !== null);
  if (missing.length > 0) throw new Error(`building it needs ${missing.join(" and ")}, which this machine lacks (apt-get install make g++)`);
  const shown = relative(root, cache);
  log(`dinit: not on the PATH: building it from ${relative(root, source.file)} into ${shown} (make; about 20 s, once)`);
  const t = performance.now();
  const tmp = makeTempDir("dinit-build");
  const buildLog = join(tmp, "build.log");
  writeFileSync(buildLog, "");
  try {
    await step(tar!, ["-xzf", source.file, "-C", tmp], tmp, buildLog);
    const top = readdirSync(tmp, { withFileTypes: true }).find((e) => e.isDirectory());
    if (top === undefined) throw new Error(`${source.file} holds no directory`);
    const src = join(tmp, top.name);
    const jobs = `-j${Math.max(1, availableParallelism())}`;
    await step(make!, ["mconfig"], src, buildLog);
    await step(make!, [jobs, "-C", "build", "all"], src, buildLog);
    await step(make!, [jobs, "-C", "src", "dinit", "dinitctl"], src, buildLog);
    for (const p of ["dinit", "dinitctl"]) if (!existsSync(join(src, "src", p))) throw new Error(`make left no src/${p}`);
    // Into the cache: a staging directory renamed into place, so that a half-copied cache is never used.
    mkdirSync(resolve(cache, ".."), { recursive: true });
    const staging = `${cache}.tmp-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging);
    for (const p of ["dinit", "dinitctl"]) {
      copyFileSync(join(src, "src", p), join(staging, p));
      chmodSync(join(staging, p), 0o755);
    }
    copyFileSync(buildLog, join(staging, "build.log"));
    const seconds = (performance.now() - t) / 1000;
    writeFileSync(join(staging, "SOURCE"), `${JSON.stringify({ tarball: source.file, sha256: digest, builtAt: new Date().toISOString(), seconds: Math.round(seconds) }, null, 2)}\n`);
    rmSync(cache, { recursive: true, force: true });
    try {
      renameSync(staging, cache);
    } catch (e) {
      // Another bench run built it meanwhile: use that one.
      rmSync(staging, { recursive: true, force: true });
      if (!existsSync(join(cache, "dinit")) || !existsSync(join(cache, "dinitctl"))) throw e;
    }
    const tools = { dinit: join(cache, "dinit"), dinitctl: join(cache, "dinitctl"), version: `${versionOf(join(cache, "dinit"))} (git ${source.version}, built by the bench)` };
    notes.push(`peers: dinit built from ${relative(root, source.file)} into ${shown} in ${seconds.toFixed(0)} s (reused by later runs)`);
    log(`dinit: built in ${seconds.toFixed(0)} s`);
    return tools;
  } catch (e) {
    // Keep the log of a failed build beside the cache, for a look.
    try {
      mkdirSync(resolve(cache, ".."), { recursive: true });
      copyFileSync(buildLog, `${cache}.failed.log`);
    } catch {
      // no log then
    }
    throw new Error(`the build from ${relative(root, source.file)} failed (log: ${relative(root, `${cache}.failed.log`)}): ${(e as Error).message}`);
  } finally {
    removeTempDir(tmp);
  }
}

async function find(root: string, log: (message: string) => void): Promise<DinitLookup> {
  const tools = onPath();
  if (tools !== null) return { ok: true, tools, installed: false };
  const source = tarball(root);
  if (source === null) return { ok: false, why: `no dinit and dinitctl on the PATH (Debian 12 has no dinit package), and no ${join(PEER_SOURCES, "dinit-*.tar.gz")} to build them from` };
  const cache = resolve(root, DINIT_CACHE, `dinit-${source.version}`);
  let digest: string;
  try {
    digest = sha256(source.file);
  } catch (e) {
    return { ok: false, why: `cannot read ${source.file}: ${(e as Error).message}` };
  }
  try {
    const stamp = JSON.parse(readFileSync(join(cache, "SOURCE"), "utf8")) as { sha256?: string };
    if (stamp.sha256 === digest && existsSync(join(cache, "dinit")) && existsSync(join(cache, "dinitctl"))) {
      return { ok: true, tools: { dinit: join(cache, "dinit"), dinitctl: join(cache, "dinitctl"), version: `${versionOf(join(cache, "dinit"))} (git ${source.version}, built by the bench)` }, installed: false };
    }
  } catch {
    // not built yet (or from another tarball): build it
  }
  try {
    return { ok: true, tools: await build(root, source, digest, cache, log), installed: true };
  } catch (e) {
    const why = `no dinit on the PATH, and ${(e as Error).message}`;
    log(`dinit: ${why}`);
    return { ok: false, why };
  }
}

/**
 * dinit's programs: on the PATH, or built from ../shared/peers/dinit-*.tar.gz (once,
 * cached); otherwise why dinit is skipped. Asked once per bench run; never throws.
 */
export function findDinit(ctx: { root: string; log: (message: string) => void }): Promise<DinitLookup> {
  lookup ??= find(ctx.root, ctx.log).catch((e: unknown) => ({ ok: false, why: `dinit: ${e instanceof Error ? e.message : String(e)}` }) as DinitLookup);
  return lookup;
}

/** Notes about building dinit (printed once under the table). */
export function dinitNotes(): string[] {
  return [...notes];
}

/** dinit's version for the results, or why it was skipped; null when no workload asked for it. */
export async function dinitVersion(): Promise<string | null> {
  if (lookup === null) return null;
  const found = await lookup;
  return found.ok ? found.tools.version : `skipped: ${found.why}`;
}
