// The real-process harness for the server, supervisor and CLI tests: a temporary root
// per test, service files written into ROOT/etc/tend, `tend compile`, a `tend daemon`
// (or `boot`) child process, the built CLI to drive it, and a cleanup that leaves no
// process behind whatever happened.
//
// Nothing here synchronises by sleeping: every wait is a condition polled until a
// deadline (`waitFor`), and the deadlines are generous because CI machines are busy.

import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { call, type Fields } from "../../src/cli/client.js";
import { places, type Places } from "../../src/places.js";
import type { Command, Final, ServiceStatus } from "../../src/server/protocol.js";
import { REPO, childEnv } from "../helpers.js";

export const BIN = join(REPO, "bin/tend");
/** The node running the tests: service programs written in JavaScript run with it. */
export const NODE = process.execPath;
export const IS_ROOT = process.getuid?.() === 0;

/** Long enough for any condition a test waits for on a busy machine. */
export const DEADLINE_MS = 20_000;
/** How long a server's output may trail its exit (the pipes are read after the exit event). */
const OUTPUT_DRAIN_MS = 1_000;

export interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time the command took. */
  ms: number;
}

export interface RunOptions {
  /** Added to the (cleaned) environment of the command. */
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Checked while the command runs: a message ends it at once and fails the call (a server that broke). */
  abortIf?: () => string | null;
  /** A command the CLI runs under (`setpriv --reuid=65534 …` to be another user). */
  wrap?: readonly string[];
}

let sharedCli: string | undefined;

/**
 * tend for another user (`wrap`, or a server run as nobody): a copy of the command, the
 * bundle, the addon and the keeper the tests use in a directory anyone may read, since
 * the checkout may lie below one only root may enter (a CI's temporary directory).
 * Made once per test process, removed when it exits.
 */
export function installForOtherUsers(): { bin: string; keeper: string } {
  if (sharedCli !== undefined) return { bin: sharedCli, keeper: join(sharedCli, "../../dist/keeper/tend-keeper") };
  const dir = mkdtempSync(join(tmpdir(), "tend-cli-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  for (const part of ["bin", "dist/bin", "dist/native"]) cpSync(join(REPO, part), join(dir, part), { recursive: true });
  cpSync(process.env.TEND_KEEPER ?? join(REPO, "dist/keeper/tend-keeper"), join(dir, "dist/keeper/tend-keeper"));
  // Readable by all whatever the umask the checkout was made with; programs runnable by all.
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    chmodSync(path, entry.isDirectory() || path.endsWith("tend-keeper") || path.endsWith("bin/tend") ? 0o755 : 0o644);
  }
  sharedCli = join(dir, "bin/tend");
  return installForOtherUsers();
}

/** Runs the built CLI without blocking the test's event loop. */
export function runCli(args: readonly string[], options: RunOptions = {}): Promise<Run> {
  const started = Date.now();
  const [program, ...prefix] = [...(options.wrap ?? []), NODE];
  const cli = options.wrap === undefined ? BIN : installForOtherUsers().bin;
  const child = spawn(program!, [...prefix, cli, ...args], { cwd: options.wrap === undefined ? REPO : "/", env: childEnv(options.env), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
  let aborted: string | null = null;
  const watch = setInterval(() => {
    aborted = options.abortIf?.() ?? null;
    if (aborted !== null) child.kill("SIGKILL");
  }, 50);
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      clearInterval(watch);
    };
    child.once("error", (e) => {
      done();
      reject(e);
    });
    child.once("close", (status, signal) => {
      done();
      if (aborted !== null) reject(new Error(`tend ${args.join(" ")} was stopped: ${aborted}`));
      else resolve({ status, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Polls `condition` until it returns something truthy; throws, saying what was awaited, at the deadline. */
export async function waitFor<T>(what: string, condition: () => T | Promise<T>, timeoutMs = DEADLINE_MS, everyMs = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
      last = value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The pid a file names, once a process has written it. */
export const readPid = async (path: string): Promise<number> => Number(await waitFor(`a pid in ${path}`, () => existsSync(path) && readFileSync(path, "utf8").trim()));

/** Where a test connects: a port of 127.0.0.1, or a unix socket's path. */
export type ConnectTo = number | { port: number; host: string } | { path: string };

function readAll(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    socket.on("data", (d) => (text += d.toString()));
    socket.on("end", () => resolve(text));
    socket.on("error", reject);
  });
}

const connectTo = (to: ConnectTo): Socket => connect(typeof to === "number" ? { port: to, host: "127.0.0.1" } : to);

/** All a server sends before it closes the connection (the connection may wait in a backlog meanwhile). */
export function fetchLine(to: ConnectTo): Promise<string> {
  return readAll(connectTo(to));
}

/** Connects, and once the connection is made (waiting in a backlog, maybe), gives what fetchLine would. */
export function connectLine(to: ConnectTo): Promise<{ line: Promise<string> }> {
  const socket = connectTo(to);
  const line = readAll(socket);
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve({ line }));
    line.catch(reject);
  });
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** The `date +%s%N` stamps (ns since the epoch) read from a file of `WORD NAME NS` or bare `NS` lines. */
export function stamps(path: string): bigint[] {
  return readLines(path).map((l) => BigInt(l.trim().split(/\s+/).at(-1)!));
}

export function readLines(path: string): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8").split("\n").filter((l) => l.trim() !== "");
}

export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie is dead for our purposes (its parent has not reaped it yet).
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};

/** VmRSS of a process, in KiB. */
export function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  assert.ok(m, `no VmRSS for ${pid}`);
  return Number(m[1]);
}

interface ProcessEntry {
  pid: number;
  ppid: number;
  /** The session: every service is a session leader, and what it forks stays in its session. */
  sid: number;
  zombie: boolean;
}

/** Parent and session of every process (for finding what a daemon spawned). */
export function processTable(): ProcessEntry[] {
  const table: ProcessEntry[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      table.push({ pid: Number(entry), ppid: Number(fields[1]), sid: Number(fields[3]), zombie: fields[0] === "Z" });
    } catch {
      // gone meanwhile
    }
  }
  return table;
}

function descendants(pid: number, table = processTable()): ProcessEntry[] {
  const found: ProcessEntry[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    const parent = stack.pop()!;
    for (const p of table) {
      if (p.ppid === parent && !found.includes(p)) {
        found.push(p);
        stack.push(p.pid);
      }
    }
  }
  return found;
}

/**
 * What the servers of the running tests have spawned, sampled every 50 ms: the pids and
 * the sessions (a service's pid). A process left behind — even one reparented to init
 * after its service's main process died — is in one of these sessions.
 */
interface Tracked {
  daemon: number;
  pids: Set<number>;
  sessions: Set<number>;
}
const tracked = new Set<Tracked>();
let sampler: NodeJS.Timeout | undefined;

function sample(): void {
  const table = processTable();
  for (const t of tracked) {
    for (const p of descendants(t.daemon, table)) {
      t.pids.add(p.pid);
      if (p.sid !== t.daemon) t.sessions.add(p.sid);
    }
  }
}

function track(daemon: number): Tracked {
  const t: Tracked = { daemon, pids: new Set(), sessions: new Set() };
  tracked.add(t);
  sampler ??= setInterval(sample, 50).unref();
  return t;
}

function untrack(t: Tracked): void {
  tracked.delete(t);
  if (tracked.size === 0) {
    clearInterval(sampler);
    sampler = undefined;
  }
}

/** Live processes a tracked server spawned (or that stayed in one of its services' sessions). */
function leftovers(t: Tracked): number[] {
  return processTable()
    .filter((p) => !p.zombie && p.pid !== t.daemon && p.pid !== process.pid && (t.sessions.has(p.sid) || t.pids.has(p.pid)))
    .map((p) => p.pid);
}

// If the test process ends abruptly, its servers and their services end with it.
process.once("exit", () => {
  for (const t of tracked) {
    for (const pid of [...leftovers(t), t.daemon]) killGroupAndPid(pid);
  }
});

/**
 * Processes that belong to a test root: their command line or working directory names
 * it. The test's own children (the CLI commands it runs, `tend --root DIR …`) are not counted.
 */
function processesUnder(dir: string): { pid: number; cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  const ours = new Set(processTable().filter((p) => p.ppid === process.pid).map((p) => p.pid));
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid || ours.has(Number(entry))) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ").trim();
      let cwd = "";
      try {
        cwd = readlinkSync(`/proc/${entry}/cwd`);
      } catch {
        // another user's process
      }
      if ((cmdline.includes(dir) || cwd === dir || cwd.startsWith(`${dir}/`)) && alive(Number(entry))) found.push({ pid: Number(entry), cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function killGroupAndPid(pid: number): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, "SIGKILL");
    } catch {
      // not a group leader, or gone
    }
  }
}

export interface Daemon {
  child: ChildProcess;
  pid: number;
  tracked: Tracked;
  /** Everything the server wrote to stdout and stderr so far. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | null;
}

export interface DaemonOptions {
  /** `boot` brings up `default`; `daemon` (the default here) starts nothing. */
  boot?: boolean;
  /** Extra environment for the server (on top of the cleaned test environment). */
  env?: Record<string, string>;
  /** Extra stdio entries (fd 3, 4, …) for the server process. */
  extraStdio?: StdioOptions;
  /** Run the server through `sh -c 'PREFIX; exec node bin/tend …'` (to open fds without close-on-exec). */
  shellPrefix?: string;
  /** Do not wait for the server to answer (it is expected to exit). */
  noWait?: boolean;
  /** More arguments of `tend daemon`/`boot` (`--compile`, `--exit-with app`). */
  args?: readonly string[];
}

export interface TestRoot {
  dir: string;
  sources: string;
  places: Places;
  /** An absolute path inside the root. */
  path(...parts: string[]): string;
  /** Writes a service file into ROOT/etc/tend. */
  service(name: string, text: string): void;
  services(files: Record<string, string>): void;
  removeService(name: string): void;
  /** Writes a helper file (a program, a flag) into the root; returns its absolute path. */
  file(name: string, text: string): string;
  compile(): Promise<Run>;
  /** `tend --root ROOT ARGS…` */
  tend(...args: string[]): Promise<Run>;
  tendWith(options: RunOptions, ...args: string[]): Promise<Run>;
  /** `tend --root ROOT --json ARGS…`, with its stdout parsed. */
  json<T = unknown>(...args: string[]): Promise<{ run: Run; data: T }>;
  /** One request over the control socket, as the CLI sends it (for polling). */
  request<C extends Command>(body: { cmd: C } & Fields<C>): Promise<Final<C>>;
  status(): Promise<ServiceStatus[]>;
  state(name: string): Promise<ServiceStatus>;
  waitPhase(name: string, phase: string | ((s: ServiceStatus) => boolean), timeoutMs?: number): Promise<ServiceStatus>;
  startDaemon(options?: DaemonOptions): Promise<Daemon>;
  /** `tend shutdown`; asserts it and the server succeeded and that no service process is left. */
  shutdown(daemon: Daemon): Promise<Run>;
  /** Waits for the server to exit; asserts no service process is left. */
  awaitExit(daemon: Daemon): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Pids of service processes seen in status replies: all must be gone at the end. */
  seenPids: Set<number>;
}

/**
 * Runs `body` with a fresh root; afterwards kills whatever it left running (each
 * daemon's services and process group, by pid) and removes the root. A body that
 * passed but left a process behind fails.
 */
export async function withRoot(body: (root: TestRoot) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "tend-test-"));
  const root = makeRoot(dir);
  const daemons = (root as TestRoot & { daemons: Daemon[] }).daemons;
  let failed = true;
  try {
    await body(root);
    failed = false;
  } finally {
    const left: string[] = [];
    for (const d of daemons) {
      sample();
      for (const pid of leftovers(d.tracked)) {
        left.push(`${pid} (spawned by the server ${d.pid})`);
        killGroupAndPid(pid);
      }
      untrack(d.tracked);
      if (d.exitStatus() !== null) continue;
      left.push(`${d.pid} (the server)`);
      killGroupAndPid(d.pid);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([d.exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
    }
    for (const p of processesUnder(dir)) {
      left.push(`${p.pid} ${p.cmdline}`);
      killGroupAndPid(p.pid);
    }
    for (const pid of root.seenPids) {
      if (alive(pid)) {
        left.push(`${pid} (a service's pid)`);
        killGroupAndPid(pid);
      }
    }
    rmSync(dir, { recursive: true, force: true });
    if (!failed && left.length > 0) assert.fail(`processes left behind:\n  ${left.join("\n  ")}\nserver output:\n${daemons.map((d) => d.output()).join("\n---\n")}`);
  }
}

function makeRoot(dir: string): TestRoot {
  const where = places({ root: dir, env: {}, uid: process.getuid?.() ?? 0 });
  const sources = where.sources;
  mkdirSync(sources, { recursive: true });
  const daemons: Daemon[] = [];
  const seenPids = new Set<number>();
  // A server that reports an internal error will not answer as it should: fail at once, with its output.
  const broken = (): string | null => {
    const d = daemons.find((x) => x.output().includes("internal error"));
    return d === undefined ? null : `the server reported an internal error:\n${d.output()}`;
  };
  const tendWith = (opts: RunOptions, ...args: string[]): Promise<Run> => runCli(["--root", dir, ...args], { abortIf: broken, ...opts });
  const note = (list: ServiceStatus[]): ServiceStatus[] => {
    for (const s of list) if (s.pid !== null) seenPids.add(s.pid);
    return list;
  };

  const root: TestRoot & { daemons: Daemon[] } = {
    dir,
    sources,
    places: where,
    daemons,
    seenPids,
    path: (...parts) => join(dir, ...parts),
    service: (name, text) => writeFileSync(join(sources, name), text),
    services(files) {
      for (const [name, text] of Object.entries(files)) root.service(name, text);
    },
    removeService: (name) => rmSync(join(sources, name)),
    file(name, text) {
      const path = join(dir, name);
      writeFileSync(path, text, { mode: 0o755 });
      return path;
    },
    async compile() {
      const r = await tendWith({}, "compile");
      assert.equal(r.status, 0, `tend compile failed:\n${r.stdout}${r.stderr}`);
      return r;
    },
    tend: (...args) => tendWith({}, ...args),
    tendWith,
    async json<T>(...args: string[]) {
      const run = await tendWith({}, "--json", ...args);
      let data: T;
      try {
        data = JSON.parse(run.stdout) as T;
      } catch {
        assert.fail(`tend ${args.join(" ")} --json printed no JSON (exit ${run.status}):\n${run.stdout}${run.stderr}`);
      }
      return { run, data };
    },
    request: (body) => call(where, body),
    async status() {
      const reply = await call(where, { cmd: "status" });
      assert.ok(reply.ok, `status refused: ${JSON.stringify(reply)}`);
      return note(reply.result.services);
    },
    async state(name) {
      const reply = await call(where, { cmd: "status", names: [name] });
      assert.ok(reply.ok, `status ${name} refused: ${JSON.stringify(reply)}`);
      return note(reply.result.services)[0]!;
    },
    waitPhase(name, phase, timeoutMs) {
      const test = typeof phase === "string" ? (s: ServiceStatus) => s.phase === phase : phase;
      return waitFor(`${name} to be ${typeof phase === "string" ? phase : "as expected"}`, async () => {
        const s = await root.state(name);
        return test(s) ? s : null;
      }, timeoutMs);
    },
    async startDaemon(opts = {}) {
      const command = [opts.boot ? "boot" : "daemon", ...(opts.args ?? [])];
      const stdio: StdioOptions = ["ignore", "pipe", "pipe", ...((opts.extraStdio as unknown[] | undefined) ?? [])] as StdioOptions;
      const env = childEnv(opts.env);
      const child =
        opts.shellPrefix === undefined
          ? spawn(NODE, [BIN, ...command, "--root", dir], { cwd: REPO, env, stdio, detached: true })
          : spawn("/bin/sh", ["-c", `${opts.shellPrefix}; exec "$0" "$@"`, NODE, BIN, ...command, "--root", dir], { cwd: REPO, env, stdio, detached: true });
      let output = "";
      child.stdout!.setEncoding("utf8").on("data", (d: string) => (output += d));
      child.stderr!.setEncoding("utf8").on("data", (d: string) => (output += d));
      let status: { code: number | null; signal: NodeJS.Signals | null } | null = null;
      // Its last lines may still be in the pipes when it exits: exited waits for them, but
      // not for a keeper that outlives it and holds the same pipes (at most OUTPUT_DRAIN_MS).
      const drained = Promise.all([child.stdout!, child.stderr!].map((stream) => new Promise((r) => stream.once("close", r))));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
        child.once("exit", (code, signal) => {
          let timer: NodeJS.Timeout | undefined;
          void Promise.race([drained, new Promise((r) => (timer = setTimeout(r, OUTPUT_DRAIN_MS)))]).then(() => {
            clearTimeout(timer);
            status = { code, signal };
            resolve(status);
          });
        });
      });
      const daemon: Daemon = { child, pid: child.pid!, tracked: track(child.pid!), output: () => output, exited, exitStatus: () => status };
      daemons.push(daemon);
      if (opts.noWait) return daemon;
      await waitFor("the server to answer on its control socket", async () => {
        if (status !== null) throw new Error(`the server exited (${JSON.stringify(status)}):\n${output}`);
        const reply = await call(where, { cmd: "ping" });
        return reply.ok && reply.result.pid === child.pid;
      });
      return daemon;
    },
    async shutdown(daemon) {
      const r = await tendWith({}, "shutdown");
      assert.equal(r.status, 0, `tend shutdown failed:\n${r.stdout}${r.stderr}\nserver output:\n${daemon.output()}`);
      const exit = await root.awaitExit(daemon);
      assert.deepEqual(exit, { code: 0, signal: null }, `the server did not exit 0:\n${daemon.output()}`);
      return r;
    },
    async awaitExit(daemon) {
      let timer: NodeJS.Timeout | undefined;
      const exit = await Promise.race([
        daemon.exited,
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the server did not exit:\n${daemon.output()}`)), DEADLINE_MS))),
      ]).finally(() => clearTimeout(timer));
      assert.doesNotMatch(daemon.output(), /internal error/, "the server reported an internal error");
      const left = processesUnder(dir).filter((p) => p.pid !== daemon.pid);
      const seen = [...seenPids, ...leftovers(daemon.tracked)].filter(alive);
      assert.deepEqual([...left.map((p) => `${p.pid} ${p.cmdline}`), ...seen.map(String)], [], `service processes outlived the server:\n${daemon.output()}`);
      return exit;
    },
  };
  return root;
}

/** JavaScript for a service program: the same stamp as `date +%s%N`, from node. */
export const JS_STAMP = `const stamp = () => String(BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n);`;

/** Names of the services in a stop/start reply. */
export const namesOf = (result: { services: { name: string }[] }): string[] => result.services.map((s) => s.name).sort();

export interface ChangeResult {
  services: { name: string; phase: string; reason: string | null }[];
  failed: string[];
}

/**
 * A longrun that logs `start NAME NS`, waits DELAY, logs `ready NAME NS` and says so on
 * fd 3, then logs `stop NAME NS` when asked to stop.
 */
const LONGRUN = `#!/bin/sh
name=$1 delay=$2 log=$3
echo "start $name $(date +%s%N)" >> "$log"
trap 'echo "stop $name $(date +%s%N)" >> "$log"; exit 0' TERM
sleep "$delay"
echo "ready $name $(date +%s%N)" >> "$log"
echo >&3
while :; do sleep 1000 & wait $!; done
`;

export function writePrograms(root: TestRoot): { longrun: (name: string, delay?: number, extra?: string) => string; log: string } {
  const longrun = root.file("longrun.sh", LONGRUN);
  const log = root.path("log");
  return {
    log,
    longrun: (name, delay = 0, extra = "") => `type = longrun\ncommand = sh ${longrun} ${name} ${delay} ${log}\nready = fd\n${extra}`,
  };
}


/** The lines `WHAT NAME NS` the programs above log. */
export interface Event {
  what: string;
  name: string;
  ns: bigint;
}

export const events = (log: string): Event[] =>
  readLines(log).map((l) => {
    const [what, name, ns] = l.split(" ");
    return { what: what!, name: name!, ns: BigInt(ns!) };
  });

/** The one time `name` did `what` (asserting it happened exactly once). */
export function once(list: Event[], what: string, name: string): bigint {
  const found = list.filter((e) => e.what === what && e.name === name);
  assert.equal(found.length, 1, `${name} should '${what}' once, not ${found.length} times`);
  return found[0]!.ns;
}

