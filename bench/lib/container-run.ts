// One container run without an engine, as `docker run` makes it: the image's layers
// under a writable layer of the run's own (overlayfs), a PID namespace whose PID 1 is
// the image's entry point, a mount namespace with that namespace's /proc, the image's
// environment only:
//
//   unshare --pid --fork --kill-child --mount --propagation private \
//     sh -c 'mount -t overlay … MERGED && mount -t proc proc MERGED/proc && exec chroot MERGED CMD…'
//
// The shell is PID 1 until it execs chroot, which execs CMD: PID 1 keeps its pid
// throughout. Every mount lives in the run's mount namespace and goes with it; the
// writable layer is removed after the run. From outside, the container's files are
// reached through /proc/PID1/root (its sockets too). `--kill-child`: should the bench
// die, unshare's death kills PID 1, and with it the whole PID namespace; the bench's
// own clean-up (Ctrl-C, an error) SIGKILLs PID 1 by its pid.

import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CONTAINER_ENV } from "./container-rootfs.js";
import { adopt } from "./machine.js";
import { alive, childPids, killEach, waitUntil } from "./processes.js";
import { onCleanup } from "./tmp.js";

/** How long unshare may take to fork PID 1. */
const FORK_TIMEOUT_MS = 10_000;

export interface Container {
  /** PID 1 of the container, as the machine numbers it. */
  pid1: number;
  /** When unshare was spawned (performance.now()). */
  startedAt: number;
  /** The container's root, seen from outside: /proc/PID1/root. */
  root: string;
  /** PID 1's output (the container's log). */
  log: string;
  /** PID 1's exit status, once it exited (unshare hands it on). */
  exit: Promise<number | null>;
  /** Kills PID 1 (and so the whole namespace), waits for unshare to end, and unregisters the clean-up. */
  kill(): Promise<void>;
  /** Unregisters the emergency clean-up once PID 1 exited by itself. */
  release(): void;
}

/** Starts `command` as PID 1 over `layers` (the topmost first), its writable layer in `dir` (made here). */
export function startContainer(layers: readonly string[], dir: string, command: readonly string[]): Container {
  const upper = join(dir, "upper");
  const work = join(dir, "work");
  const merged = join(dir, "merged");
  for (const d of [upper, work, merged]) mkdirSync(d, { recursive: true });
  const log = join(dir, "pid1.log");
  const script = 'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4" && mount -t proc proc "$4/proc" && dir="$4" && shift 4 && exec chroot "$dir" "$@"';
  const fd = openSync(log, "a");
  const startedAt = performance.now();
  let child;
  try {
    child = spawn("unshare", ["--pid", "--fork", "--kill-child", "--mount", "--propagation", "private", "sh", "-c", script, "sh", layers.join(":"), upper, work, merged, ...command], {
      detached: true,
      stdio: ["ignore", fd, fd],
      env: CONTAINER_ENV,
    });
  } finally {
    closeSync(fd);
  }
  const unsharePid = child.pid;
  if (unsharePid === undefined) throw new Error("cannot run unshare");
  adopt(unsharePid, true);
  const exit = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", () => resolve(null));
  });
  let pid1 = 0;
  const release = onCleanup(() => killEach(pid1 > 0 ? [pid1, unsharePid] : [unsharePid], "SIGKILL"));
  if (!waitUntil(() => (pid1 = childPids(unsharePid)[0] ?? 0) > 0 || !alive(unsharePid), FORK_TIMEOUT_MS, 1) || pid1 === 0) {
    killEach([unsharePid], "SIGKILL");
    release();
    throw new Error(`unshare did not fork PID 1:\n${readFileSync(log, "utf8")}`);
  }
  return {
    pid1,
    startedAt,
    root: `/proc/${pid1}/root`,
    log,
    exit,
    async kill() {
      killEach([pid1, unsharePid], "SIGKILL");
      await exit;
      release();
    },
    release,
  };
}

/** Every descendant of `pid` (children first, then theirs). */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  for (let i = -1; i < out.length; i++) out.push(...childPids(i < 0 ? pid : out[i]!));
  return out;
}

/** A process's command line as its words ([] once it is gone). */
export function argvOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((w) => w !== "");
  } catch {
    return [];
  }
}
