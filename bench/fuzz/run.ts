// `npm run fuzz [-- OPTIONS]` (builds first): a million malformed control requests sent
// to a real server, and a million mutated service sets through the compiler.
//
//   --seed N               the run's seed (default: from the clock; printed)
//   --count M              cases of each kind (default 1,000,000)
//   --start I              the first case's index (default 0): with --count 1, one case replayed
//   --only requests|sets   one kind only
//   --jobs N               worker threads for the sets (default: the CPUs, at most 2)
//   --lanes N              connections at once for the requests (default 8)
//
// Every case is a function of the seed and its index, so a finding printed as
// "seed S, cases I–J" replays with --seed S --start I --count (J-I+1). Prints one table
// (inputs, crashes, hangs, wrong answers, peak RSS of the server and of the fuzzer,
// elapsed) and the findings; exit status 0 when nothing was found, 1 when something
// was, 2 on a usage error.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { FUZZ_SET } from "./request-cases.js";
import { fuzzRequests, type Finding } from "./requests.js";
import { fuzzSets } from "./sets.js";

interface Row {
  fuzz: string;
  inputs: number;
  findings: Finding[];
  serverKiB: number | null;
  fuzzerKiB: number;
  ms: number;
}

const REPO = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) dir = dirname(dir);
  return dir;
})();
const TEND = join(REPO, "bin/tend");

function usage(message: string): never {
  process.stderr.write(`fuzz: ${message}\nusage: npm run fuzz -- [--seed N] [--count M] [--start I] [--only requests|sets] [--jobs N] [--lanes N]\n`);
  process.exit(2);
}

function whole(text: string | undefined, fallback: number, what: string): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) usage(`${what} must be a whole number, not '${text}'`);
  return Number(text);
}

/** A tend server in a temporary root, started again when it dies; ended with a shutdown. */
class FuzzedServer {
  readonly root = mkdtempSync(join(tmpdir(), "tend-fuzz-"));
  readonly socket = join(this.root, "run/tend/control.sock");
  private child: ChildProcess | null = null;
  private restarting: Promise<void> | null = null;
  /** The highest VmHWM of any server of the run. */
  peakKiB = 0;
  private readonly sampler = setInterval(() => this.sample(), 1000);

  async start(): Promise<void> {
    const sources = join(this.root, "etc/tend");
    mkdirSync(sources, { recursive: true });
    for (const [name, text] of Object.entries(FUZZ_SET)) writeFileSync(join(sources, name), text);
    const compiled = spawnSync(process.execPath, [TEND, "--root", this.root, "compile"], { encoding: "utf8" });
    if (compiled.status !== 0) throw new Error(`tend compile failed:\n${compiled.stdout}${compiled.stderr}`);
    await this.launch();
  }

  alive = (): boolean => this.child !== null && this.child.exitCode === null && this.child.signalCode === null;

  /** Idempotent: lanes that saw the same death share one new server. */
  restart = (): Promise<void> => {
    if (this.alive()) return this.restarting ?? Promise.resolve();
    this.restarting ??= this.launch().finally(() => (this.restarting = null));
    return this.restarting;
  };

  private async launch(): Promise<void> {
    const out = openSync(join(this.root, "server.log"), "a");
    this.child = spawn(process.execPath, [TEND, "daemon", "--root", this.root], { stdio: ["ignore", out, out], detached: true });
    const deadline = Date.now() + 30_000;
    while (!(await this.ping())) {
      if (!this.alive() || Date.now() > deadline) throw new Error(`the server did not start:\n${this.log()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const s = connect(this.socket);
      s.setEncoding("utf8");
      s.on("error", () => resolve(false));
      s.on("data", (d: string) => {
        s.destroy();
        resolve(d.includes('"ok":true'));
      });
      s.on("connect", () => s.write(`${JSON.stringify({ id: 1, cmd: "ping" })}\n`));
    });
  }

  log(): string {
    try {
      return readFileSync(join(this.root, "server.log"), "utf8").split("\n").slice(-30).join("\n");
    } catch {
      return "";
    }
  }

  private sample(): void {
    if (this.child?.pid === undefined || !this.alive()) return;
    try {
      const hwm = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${this.child.pid}/status`, "utf8"));
      if (hwm) this.peakKiB = Math.max(this.peakKiB, Number(hwm[1]));
    } catch {
      // it just exited
    }
  }

  /** Shuts the server down, ends what is left of the run under the root (by pid), removes the root. */
  async stop(): Promise<void> {
    this.sample();
    clearInterval(this.sampler);
    if (this.alive()) {
      const exited = new Promise((r) => this.child!.once("exit", r));
      const s = connect(this.socket);
      s.on("error", () => {});
      s.on("connect", () => s.write(`${JSON.stringify({ id: 1, cmd: "shutdown" })}\n`));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 60_000)))]);
      clearTimeout(timer);
      s.destroy();
    }
    // The keeper and services name the root on their command lines: only they can.
    for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
      let cmdline: string;
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      } catch {
        continue;
      }
      if (cmdline.includes(this.root)) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // gone
        }
      }
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}

const fuzzerKiB = (): number => process.resourceUsage().maxRSS;

function progress(kind: string, total: number): (done: number) => void {
  let last = 0;
  return (done) => {
    if (Date.now() - last < 2000 && done < total) return;
    last = Date.now();
    process.stderr.write(`fuzz: ${kind}: ${done.toLocaleString("en-US")} of ${total.toLocaleString("en-US")}\n`);
  };
}

async function runRequests(seed: number, start: number, count: number, lanes: number): Promise<Row> {
  const server = new FuzzedServer();
  const began = Date.now();
  try {
    await server.start();
    const outcome = await fuzzRequests({ seed, start, count, lanes, socket: server.socket, alive: server.alive, restart: server.restart, progress: progress("requests", count) });
    if (!server.alive()) outcome.findings.push({ kind: "crash", from: start, to: start + count, what: `the server is gone at the end:\n${server.log()}` });
    return { fuzz: "requests", inputs: outcome.inputs, findings: outcome.findings, serverKiB: server.peakKiB, fuzzerKiB: fuzzerKiB(), ms: Date.now() - began };
  } finally {
    await server.stop();
  }
}

async function runSets(seed: number, start: number, count: number, jobs: number): Promise<Row> {
  const began = Date.now();
  const outcome = await fuzzSets({ seed, start, count, jobs, progress: progress("sets", count) });
  process.stderr.write(`fuzz: sets: ${outcome.accepted.toLocaleString("en-US")} of ${count.toLocaleString("en-US")} accepted\n`);
  return { fuzz: "sets", inputs: outcome.inputs, findings: outcome.findings, serverKiB: null, fuzzerKiB: fuzzerKiB(), ms: Date.now() - began };
}

const mib = (kib: number | null): string => (kib === null ? "—" : `${(kib / 1024).toFixed(1)} MiB`);
const count = (n: number): string => n.toLocaleString("en-US");

function table(rows: Row[]): string {
  const header = ["fuzz", "inputs", "crashes", "hangs", "wrong", "peak RSS server", "peak RSS fuzzer", "elapsed"];
  const cells = rows.map((r) => [
    r.fuzz,
    count(r.inputs),
    count(r.findings.filter((f) => f.kind === "crash").length),
    count(r.findings.filter((f) => f.kind === "hang").length),
    count(r.findings.filter((f) => f.kind === "wrong").length),
    mib(r.serverKiB),
    mib(r.fuzzerKiB),
    `${(r.ms / 1000).toFixed(1)} s`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  return [header, ...cells].map((line) => line.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")).join("\n");
}

/** The findings, the same message once with its count, each with the command that replays it. */
function findingsText(seed: number, rows: Row[]): string {
  const lines: string[] = [];
  for (const row of rows) {
    const byWhat = new Map<string, Finding[]>();
    for (const f of row.findings) {
      const key = `${f.kind}: ${f.what.replace(/\bcases \d+–\d+/g, "cases I–J")}`;
      byWhat.set(key, [...(byWhat.get(key) ?? []), f]);
    }
    for (const [what, list] of byWhat) {
      const first = list[0]!;
      lines.push(`${row.fuzz} ${what} (${list.length}×); first: seed ${seed}, cases ${first.from}–${first.to - 1}: npm run fuzz -- --only ${row.fuzz} --seed ${seed} --start ${first.from} --count ${first.to - first.from}`);
    }
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({ options: { seed: { type: "string" }, count: { type: "string" }, start: { type: "string" }, only: { type: "string" }, jobs: { type: "string" }, lanes: { type: "string" } } }));
  } catch (e) {
    usage((e as Error).message);
  }
  const seed = whole(values.seed, Date.now() % 2 ** 32, "--seed") >>> 0;
  const total = whole(values.count, 1_000_000, "--count");
  const start = whole(values.start, 0, "--start");
  const jobs = Math.max(1, whole(values.jobs, Math.min(2, availableParallelism()), "--jobs"));
  const lanes = Math.max(1, whole(values.lanes, 8, "--lanes"));
  if (values.only !== undefined && values.only !== "requests" && values.only !== "sets") usage(`--only is requests or sets, not '${values.only}'`);
  process.stderr.write(`fuzz: seed ${seed}, cases ${start}–${start + total - 1}\n`);
  const rows: Row[] = [];
  if (values.only !== "sets") rows.push(await runRequests(seed, start, total, lanes));
  if (values.only !== "requests") rows.push(await runSets(seed, start, total, jobs));
  process.stdout.write(`seed ${seed}\n${table(rows)}\n`);
  const found = findingsText(seed, rows);
  if (found !== "") process.stdout.write(`\nfindings:\n${found}\n`);
  process.exitCode = rows.some((r) => r.findings.length > 0) ? 1 : 0;
}

await main();
