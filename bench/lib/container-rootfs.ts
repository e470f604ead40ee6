// A container image without a container engine: a root file system laid out as
// contrib/container/Containerfile lays out the image, so that
//
//   unshare --pid --fork --mount --mount-proc=ROOTFS/proc chroot ROOTFS tend boot
//
// behaves as `docker run IMAGE` does (tend as PID 1 of a PID namespace, in its own file
// system; see docs/containers.md). Two layers, as in the image:
//
//   the base      Debian bookworm, `debootstrap --variant=minbase`, with python3-minimal
//                 (the example set's notifier is a Python program) and s6 (the baseline
//                 the container workload measures tend against), less what
//                 debian:bookworm-slim leaves out (documentation, manuals, translations,
//                 apt's lists), and this machine's node copied to /usr/local/bin/node
//                 (where node:20-bookworm-slim has it) with any library `ldd` names that
//                 the base lacks. Built once (a minute or two) and cached in
//                 os.tmpdir()/tend-bench-rootfs/base-SUITE-KEY/, KEY a digest of what goes
//                 into it (the node binary among them): it is 190 MiB, and nothing of it
//                 is committed.
//   tend          a copy of the base with this tree's build installed in /opt/tend
//                 (package.json, bin/, dist/bin/, the keeper and the peercred addon),
//                 /usr/local/bin/tend linked to it, the example set in /etc/tend, and
//                 `tend compile` run inside (`RUN tend compile` of the Containerfile).
//
// The CLI bundle holds its one dependency (croner), so no node_modules is installed
// (test/docs/containerfile.test.ts runs tend from these files alone, and checks that the
// Containerfile installs the same). Root only: debootstrap, chroot and the device nodes
// of the base need it.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { findExecutable } from "./peers.js";

export const SUITE = "bookworm";
export const MIRROR = "http://deb.debian.org/debian";
/** Beyond minbase: the example notifier's interpreter, and the s6 baseline. */
export const EXTRA_PACKAGES = ["python3-minimal", "s6"] as const;
/**
 * What debian:bookworm-slim (the base of node:20-bookworm-slim) leaves out, removed from
 * the base once debootstrap is done: documentation but its copyright files, manuals,
 * translations, and apt's package lists (about 100 MB of a minbase).
 */
const SLIM: readonly { dir: string; keep?: string }[] = [
  { dir: "usr/share/doc", keep: "copyright" },
  { dir: "usr/share/man" },
  { dir: "usr/share/info" },
  { dir: "usr/share/groff" },
  { dir: "usr/share/lintian" },
  { dir: "usr/share/locale" },
  { dir: "var/lib/apt/lists" },
];
/** Where the bases are cached, between bench runs. */
export const ROOTFS_CACHE = join(tmpdir(), "tend-bench-rootfs");

/** The image's layout, as the Containerfile makes it. */
export const LAYOUT = {
  node: "/usr/local/bin/node",
  tend: "/opt/tend",
  link: "/usr/local/bin/tend",
  services: "/etc/tend",
} as const;

/**
 * The image's two entry points (the Containerfile's default target and its
 * `keeper-entry` target): `tend boot` (bin/tend, run as PID 1, execs the keeper), or the
 * keeper binary itself, `tend-keeper boot`, for an image without a shell. Either way
 * PID 1 is the keeper and the Node server its child.
 */
export const ENTRY_POINTS = {
  tend: ["tend", "boot"],
  keeper: [join(LAYOUT.tend, "dist", "keeper", "tend-keeper"), "boot"],
} as const;

/** What PID 1 of a container gets: the image's PATH and a HOME, nothing of the bench's own environment. */
export const CONTAINER_ENV: NodeJS.ProcessEnv = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root" };

/** The files of tend's build an installation needs (package.json: bin/tend and dist/ are ES modules by its "type"). */
export const INSTALLED = ["package.json", "bin", join("dist", "bin"), join("dist", "keeper", "tend-keeper"), join("dist", "native", "peercred.node")];

function run(file: string, args: string[], timeoutMs: number): string {
  try {
    return execFileSync(file, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs, env: { ...CONTAINER_ENV, LC_ALL: "C" } });
  } catch (e) {
    const err = e as Error & { stderr?: string; stdout?: string };
    const output = `${err.stdout ?? ""}${err.stderr ?? ""}`.trim().split("\n").slice(-15).join("\n");
    throw new Error(`${[file, ...args].join(" ")} failed: ${output || err.message}`);
  }
}

/** Why this machine cannot build a root file system, or null. */
export function rootfsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "building a root file system needs root (debootstrap, chroot, device nodes)";
  if (findExecutable("chroot") === null || findExecutable("unshare") === null) return "this machine has no chroot or unshare";
  return null;
}

/** debootstrap, installed from Debian's packages when it is missing. */
function debootstrap(log: (message: string) => void): string {
  const found = findExecutable("debootstrap");
  if (found !== null) return found;
  const aptGet = findExecutable("apt-get");
  if (aptGet === null) throw new Error("there is no debootstrap, and no apt-get to install it with");
  log("rootfs: installing debootstrap (apt-get install -y --no-install-recommends debootstrap)");
  execFileSync(aptGet, ["install", "-y", "--no-install-recommends", "debootstrap"], { stdio: ["ignore", "pipe", "pipe"], timeout: 600_000, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  const installed = findExecutable("debootstrap");
  if (installed === null) throw new Error("apt-get installed debootstrap, but it is not on the PATH");
  return installed;
}

/** The digest naming a base: the suite, the packages, and the node binary copied in. */
function baseKey(node: string): string {
  const s = statSync(node);
  return createHash("sha256").update(JSON.stringify([SUITE, MIRROR, EXTRA_PACKAGES, SLIM, process.version, s.size, s.mtimeMs])).digest("hex").slice(0, 12);
}

/** Empties the SLIM directories of `dir` (a file named `keep` in each subdirectory stays). */
function slim(dir: string): void {
  for (const { dir: sub, keep } of SLIM) {
    const top = join(dir, sub);
    if (!existsSync(top)) continue;
    for (const entry of readdirSync(top, { withFileTypes: true })) {
      const path = join(top, entry.name);
      if (keep === undefined || !entry.isDirectory()) {
        rmSync(path, { recursive: true, force: true });
        continue;
      }
      for (const inner of readdirSync(path)) if (inner !== keep) rmSync(join(path, inner), { recursive: true, force: true });
    }
  }
}

/** Copies node into `dir` with the libraries it needs that `dir` lacks, and checks that it runs there. */
function installNode(dir: string, node: string): void {
  copyFileSync(node, join(dir, LAYOUT.node));
  for (const line of run("ldd", [node], 10_000).split("\n")) {
    const lib = /=>\s+(\/\S+)|^\s*(\/\S+)\s+\(/.exec(line);
    const path = lib?.[1] ?? lib?.[2];
    if (path === undefined || existsSync(join(dir, path))) continue;
    mkdirSync(join(dir, dirname(path)), { recursive: true });
    copyFileSync(path, join(dir, path));
  }
  run("chroot", [dir, LAYOUT.node, "-e", "0"], 30_000);
}

/**
 * The cached base, built first when it is missing: debootstrap into a directory of its
 * own, renamed into place once complete (an interrupted build leaves no base that looks
 * whole; the next build removes its leftovers, and any older base).
 */
export function baseRootfs(log: (message: string) => void): string {
  const why = rootfsUnavailable();
  if (why !== null) throw new Error(why);
  const node = process.execPath;
  const dir = join(ROOTFS_CACHE, `base-${SUITE}-${baseKey(node)}`);
  if (existsSync(dir)) return dir;
  mkdirSync(ROOTFS_CACHE, { recursive: true, mode: 0o700 });
  // One base is kept: an older one (another node, another recipe) and an interrupted build's leftovers go.
  for (const entry of readdirSync(ROOTFS_CACHE)) rmSync(join(ROOTFS_CACHE, entry), { recursive: true, force: true });
  const partial = `${dir}.partial-${process.pid}`;
  const tool = debootstrap(log);
  log(`rootfs: debootstrap --variant=minbase --include=${EXTRA_PACKAGES.join(",")} ${SUITE} (a minute or two, once; cached in ${ROOTFS_CACHE})`);
  try {
    run(tool, ["--variant=minbase", `--include=${EXTRA_PACKAGES.join(",")}`, SUITE, partial, MIRROR], 1_200_000);
    // What debootstrap fetched is not part of an image (node:*-slim keeps no .debs either).
    run("chroot", [partial, "apt-get", "clean"], 60_000);
    slim(partial);
    installNode(partial, node);
    renameSync(partial, dir);
  } catch (e) {
    rmSync(partial, { recursive: true, force: true });
    throw e;
  }
  return dir;
}

export interface ImageSizes {
  /** The whole root file system, bytes (apparent sizes: what an image's layers hold). */
  rootfs: number;
  /** /opt/tend alone. */
  tend: number;
  /** The node binary, and what the base holds without tend. */
  node: number;
  base: number;
}

/** Apparent size of a tree, in bytes (`du -sb`). */
export function treeBytes(path: string): number {
  return Number(run("du", ["-sb", path], 120_000).split(/\s/)[0]);
}

/**
 * The image as a directory: `into` (which must not exist) becomes a copy of the base
 * with tend from `repo` (a built tree) installed and the example set compiled.
 */
export function containerRootfs(repo: string, into: string, log: (message: string) => void): ImageSizes {
  const base = baseRootfs(log);
  // cp -a: the base has device nodes, which fs.cpSync does not copy.
  run("cp", ["-a", "--reflink=auto", base, into], 300_000);
  const opt = join(into, LAYOUT.tend);
  for (const item of INSTALLED) cpSync(join(repo, item), join(opt, item), { recursive: true });
  symlinkSync(join(LAYOUT.tend, "bin", "tend"), join(into, LAYOUT.link));
  cpSync(join(repo, "examples"), join(into, LAYOUT.services), { recursive: true });
  const compiled = run("chroot", [into, "tend", "compile"], 60_000);
  if (!/installed generation/.test(compiled)) throw new Error(`tend compile in the image did not install the example set:\n${compiled}`);
  const rootfs = treeBytes(into);
  return { rootfs, tend: treeBytes(opt), node: statSync(join(into, LAYOUT.node)).size, base: treeBytes(base) };
}
