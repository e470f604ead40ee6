// Runs and times whole processes. Every measured Node process gets the same cleaned
// environment: variables that change how Node starts (NODE_EXTRA_CA_CERTS alone adds
// ~75 ms to each start on a machine that sets it) are removed, so that tend is
// measured against the same floor as `node -e 0`.

import { spawnSync, type SpawnSyncOptions } from "node:child_process";

/** Variables removed from every measured process's environment. */
export const REMOVED_ENV = ["NODE_EXTRA_CA_CERTS", "NODE_OPTIONS", "NODE_V8_COVERAGE", "NODE_DEBUG", "NODE_COMPILE_CACHE", "TEND_ROOT", "FORCE_COLOR"] as const;

/** A copy of `env` without REMOVED_ENV. NODE_EXTRA_CA_CERTS is always removed. */
export function cleanEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const copy: NodeJS.ProcessEnv = { ...env };
  for (const name of REMOVED_ENV) delete copy[name];
  delete copy.NODE_EXTRA_CA_CERTS; // the one that matters most: never measure with it
  return copy;
}

/** Which of REMOVED_ENV the bench's own environment had set (recorded in the results). */
export function removedFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return REMOVED_ENV.filter((name) => env[name] !== undefined);
}

export interface Command {
  /** Shown in tables and errors. */
  label: string;
  file: string;
  args: readonly string[];
  cwd?: string;
  /** Added to the cleaned environment. */
  env?: NodeJS.ProcessEnv;
  /** Exit statuses that count as success; default [0]. */
  okStatus?: readonly number[];
  /** Killed (and the workload failed) after this long; default: no limit. */
  timeoutMs?: number;
}

export interface Timed {
  ms: number;
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `cmd` to completion and returns its wall time (spawn to exit and closed pipes). */
export function timeProcess(cmd: Command, extraEnv: NodeJS.ProcessEnv = {}): Timed {
  const options: SpawnSyncOptions = {
    cwd: cmd.cwd,
    env: { ...cleanEnv(), ...extraEnv, ...cmd.env },
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 256 * 1024 * 1024,
    encoding: "utf8",
    ...(cmd.timeoutMs === undefined ? {} : { timeout: cmd.timeoutMs, killSignal: "SIGKILL" as const }),
  };
  const start = process.hrtime.bigint();
  const result = spawnSync(cmd.file, cmd.args, options);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.error) {
    if ((result.error as NodeJS.ErrnoException).code === "ETIMEDOUT") throw new Error(`${cmd.label}: no answer within ${cmd.timeoutMs} ms (killed)`);
    throw new Error(`${cmd.label}: cannot run ${cmd.file}: ${result.error.message}`);
  }
  const timed: Timed = { ms, status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
  const ok = cmd.okStatus ?? [0];
  if (result.status === null || !ok.includes(result.status)) {
    const why = result.status === null ? `killed by ${result.signal}` : `exit status ${result.status}`;
    const tail = (timed.stderr || timed.stdout).split("\n").slice(0, 20).join("\n");
    throw new Error(`${cmd.label}: ${why}\n${tail}`);
  }
  return timed;
}

/**
 * Runs `steps` one after the other (a start that is a command and then a wait, for a
 * manager whose CLI does not wait): the wall time from the first spawn to the last exit,
 * and the outputs joined.
 */
export function timeSteps(steps: readonly Command[]): Timed {
  const start = process.hrtime.bigint();
  let stdout = "";
  let stderr = "";
  let status: number | null = 0;
  for (const step of steps) {
    const t = timeProcess(step);
    stdout += t.stdout;
    stderr += t.stderr;
    status = t.status;
  }
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, status, stdout, stderr };
}

/**
 * Runs one measured round; the harness may repeat it when other work disturbed it (see
 * BenchContext.round). A round may be asynchronous (a workload that talks to a server
 * it started): it is awaited before the machine's load is read again.
 */
export type RoundRunner = <T>(round: () => T | Promise<T>) => Promise<T>;

/**
 * Lets the event loop turn: the timed work is synchronous (spawnSync), and a signal
 * handler (Ctrl-C: remove the temporary directories) only runs when the loop turns.
 */
export const breathe = (): Promise<void> => new Promise((done) => setImmediate(done));

/** Runs a round once, as it is. */
export const once: RoundRunner = async (round) => {
  await breathe();
  return round();
};

export interface InterleaveOptions {
  /** Untimed rounds first (caches, page cache, JIT of the bench itself). */
  warmup?: number;
  /** Reorders each round's commands. */
  shuffle?: <T>(items: T[]) => T[];
  /** Sees each command's output once, in the first warm-up round: throw to fail the workload. */
  check?: (cmd: Command, t: Timed) => void;
  /** Runs each timed round (default: once). */
  round?: RoundRunner;
}

/** Runs each command `runs` times, interleaved round by round (order shuffled per round), after `warmup` untimed rounds. */
export async function timeInterleaved(commands: readonly Command[], runs: number, options: InterleaveOptions = {}): Promise<Map<string, number[]>> {
  const samples = new Map<string, number[]>(commands.map((c) => [c.label, []]));
  const warmup = options.warmup ?? 1;
  const runRound = options.round ?? once;
  for (let round = -warmup; round < 0; round++) {
    await breathe();
    for (const cmd of commands) {
      const t = timeProcess(cmd);
      if (round === -warmup) options.check?.(cmd, t);
    }
  }
  for (let round = 0; round < runs; round++) {
    const order = options.shuffle ? options.shuffle([...commands]) : commands;
    const times = await runRound(() => order.map((cmd) => [cmd.label, timeProcess(cmd).ms] as const));
    for (const [label, ms] of times) samples.get(label)!.push(ms);
  }
  return samples;
}
