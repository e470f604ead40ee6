// A container without a container engine: `tend boot` as PID 1 of a new PID namespace
// (`unshare --pid --fork --mount-proc`), run through bin/tend as an image's ENTRYPOINT
// runs it. Needs root (or the right to make namespaces); CONTAINER_SKIP says why not.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { childEnv, REPO } from "../helpers.js";
import { BIN, DEADLINE_MS, waitFor, type TestRoot } from "../server/harness.js";

/** Why these tests cannot run here, or null. */
export const CONTAINER_SKIP: string | null = ((): string | null => {
  if (process.getuid?.() !== 0) return "needs root: a PID namespace of its own (unshare --pid)";
  const probe = spawnSync("unshare", ["--pid", "--fork", "--mount-proc", "true"], { encoding: "utf8" });
  if (probe.error !== undefined || probe.status !== 0) return `unshare --pid --fork --mount-proc is not permitted here: ${probe.error?.message ?? probe.stderr.trim()}`;
  return null;
})();

export interface Container {
  /** The namespace's PID 1 (the keeper), by its pid outside. */
  init: number;
  /** What PID 1 wrote to stdout so far (the container's log), and to stderr. */
  stdout(): string;
  stderr(): string;
  /** Waits for a line of stdout matching `pattern`, and returns it. */
  line(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** How `unshare` ended: it exits with PID 1's status. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  /** Pids (outside) of the processes in the namespace, and which of them are zombies. */
  members(): { pid: number; zombie: boolean }[];
  /** Stop reading PID 1's stdout (its pipe fills, as a paused terminal's would), and read it again. */
  pauseStdout(): void;
  resumeStdout(): void;
}

export interface ContainerOptions {
  /** Arguments after `tend --root ROOT boot`. */
  args?: string[];
  env?: Record<string, string>;
  /** A command PID 1 runs under: `unshare … WRAP… bin/tend …` (setpriv to be another user). */
  wrap?: string[];
  /** Extra `unshare` options (`--mount` is implied by --mount-proc). */
  unshare?: string[];
  /** What runs in the namespace instead of bin/tend (a shell that mounts first, then execs it). */
  command?: string[];
}

/**
 * Boots ROOT's compiled database in a new PID namespace and runs `body`; afterwards
 * SIGKILL to the namespace's PID 1 ends whatever is left (the kernel kills the rest).
 */
export async function withContainer(root: TestRoot, options: ContainerOptions, body: (c: Container) => Promise<void>): Promise<void> {
  const command = options.command ?? [...(options.wrap ?? []), BIN, "--root", root.dir, "boot", ...(options.args ?? [])];
  const started = Date.now();
  const child: ChildProcess = spawn("unshare", ["--pid", "--fork", "--mount-proc", ...(options.unshare ?? []), "--", ...command], {
    cwd: REPO,
    env: childEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  let ended = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) =>
    child.once("exit", (code, signal) => {
      ended = true;
      resolve({ code, signal, ms: Date.now() - started });
    }),
  );
  let init = 0;
  try {
    init = await waitFor("the namespace's PID 1", () => {
      if (ended) throw new Error(`unshare ended at once:\n${stdout}${stderr}`);
      const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim();
      return children === "" ? null : Number(children.split(" ")[0]);
    });
    const container: Container = {
      init,
      stdout: () => stdout,
      stderr: () => stderr,
      async line(pattern, timeoutMs = DEADLINE_MS) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const found = stdout.split("\n").find((l) => pattern.test(l));
          if (found !== undefined) return found;
          if (ended) throw new Error(`PID 1 exited before a line ${pattern} came`);
          if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for a line ${pattern}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      },
      exited,
      members: () => membersOf(init),
      pauseStdout: () => void child.stdout!.pause(),
      resumeStdout: () => void child.stdout!.resume(),
    };
    await body(container);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- the container's stdout:\n${stdout}\n--- stderr:\n${stderr}`, { cause: e });
  } finally {
    if (!ended && init !== 0) {
      try {
        process.kill(init, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
    if (!ended) child.kill("SIGKILL");
    await exited;
  }
}

/** PID 1 and every process below it (all of a PID namespace's are: orphans go to its PID 1), seen from outside. */
function membersOf(init: number): { pid: number; zombie: boolean }[] {
  const table = new Map<number, { ppid: number; zombie: boolean }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      table.set(Number(entry), { ppid: Number(fields[1]), zombie: fields[0] === "Z" });
    } catch {
      // gone meanwhile
    }
  }
  const first = table.get(init);
  if (first === undefined) return [];
  const found = [{ pid: init, zombie: first.zombie }];
  for (let i = 0; i < found.length; i++) {
    for (const [pid, p] of table) if (p.ppid === found[i]!.pid) found.push({ pid, zombie: p.zombie });
  }
  return found;
}
