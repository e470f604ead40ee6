// Hostile clients against a real server, as figures (issue 9, "Fuzzing and load"):
//
//   npm run build && node dist/bench/hostile.js        (as root: crowds connect as other uids)
//
//   1. clients that pipeline `status` and never read, 8 at once, until they are
//      disconnected at the drain deadline: the server's RSS growth per client (goal: at
//      most 2 MiB), the most of 3 rounds after one that is not counted. Eight, because
//      one alone is lost in the noise: V8 commits and releases heap pages by the MiB as
//      it goes (a client that reads its 300 replies moves the RSS by 0 to 3 MiB too), and
//      that does not add up per client. The first round is where V8 grows its young
//      generation to the load, once, as any busy clients would make it;
//   2. 256 hostile connections held (8 uids × 32, idle) and 32 more of nobody trickling
//      a request a byte a second: root's and nobody's `tend status`, the whole CLI
//      process (goal: within 1 s);
//   3. 1,000 concurrent status clients (one connection each, all opened before any is
//      answered; as root, then spread over 40 uids of 25): all answered.
//
// Exit status 0 when every goal is met.
//
// The server runs a database of 20 longruns (sleep) in a temporary root, removed at
// the end; every process this starts is ended by its pid.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DRAIN_DEADLINE_MS } from "../src/server/control-socket.js";
import { STATUS_SOCKET } from "../src/server/protocol.js";
import { startCrowd } from "../test/server/crowd.js";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BIN = join(REPO, "bin/tend");
const NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
const SERVICES = 20;

const rssKiB = (pid: number): number => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
const log = (line: string): void => void process.stderr.write(`${line}\n`);

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One request on a fresh connection: resolves with the first final reply, or the error. */
function ask(path: string, line: string): Promise<"answered" | string> {
  return new Promise((resolve) => {
    const socket = connect(path, () => socket.write(line));
    let buffered = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      if (!buffered.includes("\n")) return;
      const reply = JSON.parse(buffered.slice(0, buffered.indexOf("\n"))) as { ok: boolean; error?: string };
      socket.destroy();
      resolve(reply.ok ? "answered" : reply.error!);
    });
    socket.on("error", (e) => resolve(e.message));
  });
}

/** `tend --root ROOT status` (under `wrap`), the whole process: its wall time in ms. */
function timeStatus(root: string, wrap: string[] = []): number {
  const [program, ...args] = [...wrap, process.execPath, BIN, "--root", root, "status"];
  const start = process.hrtime.bigint();
  const run = spawnSync(program!, args, { encoding: "utf8" });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (run.status !== 0) throw new Error(`tend status${wrap.length > 0 ? " as nobody" : ""} failed: ${run.stderr}`);
  return ms;
}

/**
 * Opens `count` connections (under the given uids in turn, by seteuid), then sends
 * `requests` status requests on each at once: how many connections had all answered.
 */
async function concurrent(path: string, count: number, uids: number[], requests = 1): Promise<{ answered: number; ms: number; errors: string[] }> {
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i++) {
    const uid = uids[i % uids.length]!;
    process.setegid!(uid);
    process.seteuid!(uid);
    try {
      sockets.push(connect(path));
    } finally {
      process.seteuid!(0);
      process.setegid!(0);
    }
  }
  const start = Date.now();
  const outcomes = await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<string>((resolve) => {
          let buffered = "";
          socket.setEncoding("utf8");
          let left = requests;
          socket.once("connect", () => socket.write('{"id": 1, "cmd": "status"}\n'.repeat(requests)));
          socket.on("data", (chunk: string) => {
            buffered += chunk;
            for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
              const reply = JSON.parse(buffered.slice(0, nl)) as { ok: boolean; error?: string };
              buffered = buffered.slice(nl + 1);
              if (!reply.ok) return resolve(reply.error!);
              if (--left === 0) return resolve("answered");
            }
          });
          socket.on("error", (e) => resolve(e.message));
        }),
    ),
  );
  const ms = Date.now() - start;
  for (const s of sockets) s.destroy();
  const errors = outcomes.filter((o) => o !== "answered");
  return { answered: count - errors.length, ms, errors: [...new Set(errors)] };
}

/** Non-reading clients held at once in each round of figure 1. */
const HOGS = 8;

interface Hogs {
  /** VmRSS of the server in KiB: the most in the 2 s before, the most until all are disconnected. */
  baseline: number;
  peak: number;
  seconds: number;
}

/** `count` clients that pipeline `status` as fast as the server reads and never read a reply. */
async function nonReaders(path: string, pid: number, count: number): Promise<Hogs> {
  let baseline = 0;
  for (let i = 0; i < 40; i++, await new Promise((r) => setTimeout(r, 50))) baseline = Math.max(baseline, rssKiB(pid));
  const requests = '{"id": 1, "cmd": "status"}\n'.repeat(1000);
  let open = count;
  const hogs = Array.from({ length: count }, () => {
    const hog = connect(path);
    hog.pause();
    hog.on("error", () => {});
    let closed = false;
    hog.once("close", () => {
      closed = true;
      open--;
    });
    const pump = (): void => {
      while (!closed && hog.write(requests));
      if (!closed) hog.once("drain", pump);
    };
    hog.once("connect", pump);
    return hog;
  });
  let peak = baseline;
  const began = Date.now();
  while (open > 0 && Date.now() - began < DRAIN_DEADLINE_MS + 10_000) {
    peak = Math.max(peak, rssKiB(pid));
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const hog of hogs) hog.destroy();
  return { baseline, peak, seconds: (Date.now() - began) / 1000 };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("run as root: the crowds connect as other uids");
  const root = mkdtempSync(join(tmpdir(), "tend-hostile-"));
  chmodSync(root, 0o755);
  mkdirSync(join(root, "etc/tend"), { recursive: true });
  for (let i = 0; i < SERVICES; i++) writeFileSync(join(root, "etc/tend", `s${i}`), "type = longrun\ncommand = sleep 100000\n");
  writeFileSync(join(root, "etc/tend/all"), `type = bundle\ncontents = ${Array.from({ length: SERVICES }, (_, i) => `s${i}`).join(" ")}\n`);
  const tend = (...args: string[]) => spawnSync(process.execPath, [BIN, "--root", root, ...args], { encoding: "utf8" });
  let server: ChildProcess | undefined;
  const crowds: Awaited<ReturnType<typeof startCrowd>>[] = [];
  try {
    if (tend("compile").status !== 0) throw new Error("tend compile failed");
    server = spawn(process.execPath, [BIN, "daemon", "--root", root], { stdio: ["ignore", "ignore", "inherit"] });
    const status = join(root, "run/tend", STATUS_SOCKET);
    await waitFor("the server", async () => (await ask(status, '{"id": 1, "cmd": "ping"}\n')) === "answered");
    if (tend("start", "all").status !== 0) throw new Error("tend start all failed");
    const pid = server.pid!;

    // 1. Pipelining non-readers, HOGS at once: a first round that V8 sizes its young
    // generation by (any busy clients would make it grow so), then three measured.
    const warmUp = await nonReaders(status, pid, HOGS);
    const rounds: Hogs[] = [];
    for (let i = 0; i < 3; i++) rounds.push(await nonReaders(status, pid, HOGS));
    const perClient = (h: Hogs): number => (h.peak - h.baseline) / 1024 / HOGS;
    const growths = rounds.map(perClient);
    const growth = Math.max(...growths);
    log(`non-readers: disconnected after ${[warmUp, ...rounds].map((h) => `${h.seconds.toFixed(1)} s`).join(", ")}; the first round (not counted) added ${perClient(warmUp).toFixed(2)} MiB per client`);

    // 2. 256 hostile connections held (and 32 trickling), then root's and nobody's status.
    const idle = await startCrowd(status, { uids: Array.from({ length: 8 }, (_, i) => 60000 + i), perUid: 32, behaviour: "idle" });
    const trickle = await startCrowd(status, { uids: [65534], perUid: 32, behaviour: "trickle" });
    crowds.push(idle, trickle);
    log(`held: ${idle.report.accepted} idle of 8 uids, ${trickle.report.accepted} of nobody trickling`);
    const rootMs: number[] = [];
    const nobodyMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      rootMs.push(timeStatus(root));
      nobodyMs.push(timeStatus(root, NOBODY));
    }
    const floor = Array.from({ length: 5 }, () => {
      const start = process.hrtime.bigint();
      spawnSync(process.execPath, ["-e", "0"]);
      return Number(process.hrtime.bigint() - start) / 1e6;
    });
    // Gone, and counted out by the server (a request after their exit is answered after their closes).
    await Promise.all(crowds.splice(0).map((c) => c.release()));
    await ask(status, '{"id": 1, "cmd": "ping"}\n');

    // 3. 1,000 concurrent status clients.
    const asRoot = await concurrent(status, 1000, [0]);
    const spread = await concurrent(status, 1000, Array.from({ length: 40 }, (_, i) => 61000 + i));

    const max = (list: number[]): string => Math.max(...list).toFixed(0);
    const median = (list: number[]): string => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!.toFixed(0);
    const rows = [
      [`a non-reading client: server RSS growth per client, ${HOGS} held at once`, `at most ${growth.toFixed(2)} MiB in 3 rounds (${growths.map((g) => g.toFixed(2)).join(", ")} MiB; what is queued for each is capped at 1 MiB)`, "≤ 2 MiB", growth <= 2],
      [`root's tend status, ${idle.report.accepted + trickle.report.accepted} hostile held`, `median ${median(rootMs)} ms, max ${max(rootMs)} ms (node -e 0: ${median(floor)} ms)`, "< 1 s", Math.max(...rootMs) < 1000],
      [`nobody's tend status, ${idle.report.accepted + trickle.report.accepted} hostile held`, `median ${median(nobodyMs)} ms, max ${max(nobodyMs)} ms`, "< 1 s", Math.max(...nobodyMs) < 1000],
      ["1,000 concurrent status clients (root)", `${asRoot.answered} answered in ${asRoot.ms} ms${asRoot.errors.length ? `; ${asRoot.errors.join("; ")}` : ""}`, "1000", asRoot.answered === 1000],
      ["1,000 concurrent status clients (40 uids × 25)", `${spread.answered} answered in ${spread.ms} ms${spread.errors.length ? `; ${spread.errors.join("; ")}` : ""}`, "1000", spread.answered === 1000],
    ] as const;
    for (const [what, measured, goal, met] of rows) process.stdout.write(`${met ? "met " : "MISS"}  ${what}: ${measured} (goal ${goal})\n`);
    process.exitCode = rows.every((r) => r[3]) ? 0 : 1;
  } finally {
    await Promise.all(crowds.map((c) => c.release()));
    if (server !== undefined && server.exitCode === null) {
      tend("shutdown");
      await waitFor("the server to exit", () => server!.exitCode !== null).catch(() => server!.kill("SIGKILL"));
    }
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
