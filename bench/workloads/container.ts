// Container: tend as the PID 1 of a container, against an s6-overlay-like baseline, with
// no container engine (bench/lib/container-run.ts: a PID and a mount namespace, the
// image's layers under a fresh writable layer each run, the image's environment only).
//
//   image        the rootfs of bench/lib/container-rootfs.ts, laid out as
//                contrib/container/Containerfile lays out the image: its size, tend's
//                part (/opt/tend), node's, and the s6 packages'
//   start        from spawning the container (unshare, then PID 1's exec) until every
//                service of the example set's `default` is up and ready (flaky crashes
//                on purpose and is left out): tend, `tend boot` as PID 1, and tend
//                (keeper entry), the keeper as PID 1 running `tend boot` as its child
//                (the Containerfile's two entry points), waited for with the `ready`
//                request on the status socket (what `tend ready --wait` sends); s6,
//                s6-svscan as PID 1 (bench/lib/s6-baseline.ts), `s6-svwait -U -a` on
//                every longrun once their supervisors are there
//   stop         from SIGTERM to PID 1 (what `docker stop` sends) until PID 1 exited;
//                tend must exit 0
//   PID 1 RSS    PID 1's VmRSS with everything up, read from outside
//                (/proc/PID/status)
//   PSS          tend's processes, Σ Pss (smaps_rollup) of the server and the keeper;
//                s6's, of s6-svscan and every s6-supervise
// Each round runs one container of each, in a shuffled order, one after the other.
// Root only (namespaces, chroot, overlayfs); elsewhere, a note says why it was skipped.
//
// Both of tend's entry points end with the same processes: `tend boot` run as PID 1 execs
// the keeper, which runs the server as its child, as the keeper entry does from the
// start. Both are measured the same way: PID 1 is whatever the entry point became, and
// tend's processes are PID 1 and the keeper and server among its descendants.

import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Readiness } from "../../src/engine/boot.js";
import { STATUS_SOCKET, type ServiceStatus } from "../../src/server/protocol.js";
import { argvOf, descendants, startContainer, type Container } from "../lib/container-run.js";
import { baseRootfs, containerRootfs, ENTRY_POINTS, LAYOUT, rootfsUnavailable, treeBytes, type ImageSizes } from "../lib/container-rootfs.js";
import { ControlClient } from "../lib/control-client.js";
import { tail } from "../lib/managers.js";
import { timeProcess } from "../lib/proc.js";
import { alive, commOf, KEEPER_COMM, killEach, memoryOf, waitUntil } from "../lib/processes.js";
import { rng } from "../lib/prng.js";
import { S6_INIT, S6_READY, S6_SCAN, writeS6Layer } from "../lib/s6-baseline.js";
import { makeTempDir, removeTempDir } from "../lib/tmp.js";
import { caseResult, repetitions, withRatio, type CaseResult, type Workload } from "../lib/workload.js";

/** The example set's `default` closure that comes up and ready; flaky fails on purpose. */
const TEND_READY = ["prepare", "tune", "logger", "web", "worker", "metrics", "notifier"] as const;
const FAILS_ON_PURPOSE = "flaky";
const READY_TIMEOUT_MS = 60_000;
/** tend's stop grace is 8 s by default; docker's is 10 s. */
const STOP_TIMEOUT_MS = 30_000;
const POLL_MS = 5;
const MiB = 2 ** 20;

/** tend with each entry point, and the baseline. */
type Subject = "tend" | "keeper" | "s6";
const SUBJECTS: readonly Subject[] = ["tend", "keeper", "s6"];

interface Cycle {
  startMs: number;
  stopMs: number;
  pid1RssMiB: number;
  pssMiB: number;
  /** The programs of the processes counted in pssMiB, for the details. */
  counted: string[];
}

const delay = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

function failure(c: Container, why: string): Error {
  return new Error(`${why}\n${tail(c.log)}`);
}

/**
 * Waits for every TEND_READY service with the request `tend ready --wait` sends, naming
 * them (the boot's own readiness would answer as soon as flaky failed), connecting again
 * until the server listens; returns when the answer came. Then checks that these are what
 * `default` wants (an example set that changed must change TEND_READY too).
 */
async function tendReady(c: Container): Promise<number> {
  const socket = join(c.root, "run", "tend", STATUS_SOCKET);
  const deadline = performance.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (!alive(c.pid1)) throw failure(c, "tend: PID 1 exited before every service was up");
    if (performance.now() > deadline) throw failure(c, `tend: the server did not listen within ${READY_TIMEOUT_MS / 1000} s`);
    const client = await ControlClient.open(socket).catch(() => null);
    if (client === null) {
      await delay(POLL_MS);
      continue;
    }
    try {
      const reply = await client.request({ cmd: "ready", names: [...TEND_READY], waitMs: Math.max(0, Math.round(deadline - performance.now())) });
      const readyAt = performance.now();
      const r = reply.result as Readiness | undefined;
      if (!reply.ok || r === undefined) throw failure(c, `tend: the ready request failed: ${reply.error ?? "no result"}`);
      if (!r.ready) throw failure(c, `tend: not ready: waiting for ${r.waiting.join(", ") || "none"}; failed: ${r.failed.join(", ") || "none"}`);
      const status = await client.request({ cmd: "status" });
      const services = status.ok ? (status.result as { services: ServiceStatus[] }).services : [];
      const wanted = services.filter((s) => s.wanted && s.name !== FAILS_ON_PURPOSE).map((s) => s.name);
      if (wanted.length !== TEND_READY.length) throw failure(c, `tend: the example set's default wants ${wanted.join(", ")}; the workload waits for ${TEND_READY.join(", ")}`);
      return readyAt;
    } finally {
      client.destroy();
    }
  }
}

/** Waits until every S6_READY supervisor is there, then until each service is up and ready (`s6-svwait -U -a`, the image's own). */
function s6Ready(c: Container): void {
  const dirs = S6_READY.map((name) => join(S6_SCAN, name));
  const supervised = (): boolean => dirs.every((d) => existsSync(join(c.root, d, "supervise", "status")) && existsSync(join(c.root, d, "event")));
  if (!waitUntil(() => supervised() || !alive(c.pid1), READY_TIMEOUT_MS, 1) || !alive(c.pid1)) throw failure(c, "s6: the supervisors did not start");
  timeProcess({ label: "s6-svwait -U -a", file: "chroot", args: [c.root, "s6-svwait", "-U", "-a", "-t", String(READY_TIMEOUT_MS), ...dirs], timeoutMs: READY_TIMEOUT_MS + 5000 });
}

/** tend's own processes in the container: PID 1, and the keeper and the server among its descendants (never a service). */
function tendProcesses(pid1: number): number[] {
  const ours = (pid: number): boolean => commOf(pid) === KEEPER_COMM || argvOf(pid).some((w) => w === LAYOUT.link || w.startsWith(`${LAYOUT.tend}/`));
  return [pid1, ...descendants(pid1).filter(ours)];
}

/** s6's supervision tree: s6-svscan (PID 1) and every s6-supervise. */
function s6Processes(pid1: number): number[] {
  return [pid1, ...descendants(pid1).filter((pid) => commOf(pid) === "s6-supervise")];
}

/** The image, and the layer over it of the s6 baseline. */
interface Layers {
  image: string;
  s6: string;
}

/** One container: started, measured with everything up, stopped by SIGTERM to PID 1. */
async function cycle(subject: Subject, layers: Layers, runDir: string): Promise<Cycle> {
  const c =
    subject === "s6"
      ? startContainer([layers.s6, layers.image], runDir, [S6_INIT])
      : startContainer([layers.image], runDir, ENTRY_POINTS[subject]);
  try {
    const readyAt = subject === "s6" ? (s6Ready(c), performance.now()) : await tendReady(c);
    const startMs = readyAt - c.startedAt;
    const pid1 = memoryOf([c.pid1]);
    const procs = subject === "s6" ? s6Processes(c.pid1) : tendProcesses(c.pid1);
    const all = memoryOf(procs);
    if (pid1 === null || all === null) throw failure(c, `${subject}: PID 1 was gone once everything was up`);
    const counted = procs.map((pid) => commOf(pid) ?? "?");
    const stopAt = performance.now();
    killEach([c.pid1], "SIGTERM");
    if (!waitUntil(() => !alive(c.pid1), STOP_TIMEOUT_MS, 1)) throw failure(c, `${subject}: PID 1 did not exit within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM`);
    const stopMs = performance.now() - stopAt;
    const status = await c.exit;
    c.release();
    if (subject !== "s6" && status !== 0) throw failure(c, `${subject}: PID 1 exited with status ${status} after SIGTERM, not 0`);
    return { startMs, stopMs, pid1RssMiB: pid1.rssMiB, pssMiB: all.pssMiB, counted };
  } catch (e) {
    await c.kill();
    throw e;
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}

/** Installed-Size of the s6 packages in the image (s6, execline, skalibs), bytes. */
function s6Bytes(image: string): number {
  const listed = timeProcess({ label: "dpkg-query", file: "chroot", args: [image, "dpkg-query", "-W", "-f", "${Package} ${Installed-Size}\n"] }).stdout;
  let kib = 0;
  for (const line of listed.split("\n")) {
    const [pkg, size] = line.split(" ");
    if (pkg !== undefined && /^(s6|execline|libskarnet\d|libexecline\d|libs6-\d|libs6\d)/.test(pkg)) kib += Number(size);
  }
  return kib * 1024;
}

export const container: Workload = {
  name: "container",
  title: "tend boot as a container's PID 1 (no engine: namespaces + chroot): start, stop, memory, image size; vs s6-svscan",
  async prepare(ctx) {
    // The base (debootstrap, a minute or two, once) outside every measured window.
    if (rootfsUnavailable() !== null) return;
    try {
      baseRootfs(ctx.log);
    } catch (e) {
      ctx.log(`container: cannot build the base root file system: ${(e as Error).message}`);
    }
  },
  async run(ctx) {
    const why = rootfsUnavailable();
    if (why !== null) return { cases: [], notes: [`note: 'container' skipped: ${why}`] };
    const runs = repetitions(ctx, 10, 3);
    const dir = makeTempDir("container");
    try {
      const image = join(dir, "image");
      const sizes: ImageSizes = containerRootfs(ctx.root, image, ctx.log);
      const layers: Layers = { image, s6: join(dir, "s6-layer") };
      writeS6Layer(layers.s6);
      const s6Size = s6Bytes(image) + treeBytes(layers.s6);
      ctx.log(`container: image ${(sizes.rootfs / MiB).toFixed(1)} MiB; ${runs} rounds of one container each of ${SUBJECTS.join(", ")} (and one warm-up)`);
      const r = rng(0xc047);
      const results: Record<Subject, Cycle[]> = { tend: [], keeper: [], s6: [] };
      let n = 0;
      for (let round = -1; round < runs; round++) {
        const order = r.shuffle([...SUBJECTS]);
        const got = await ctx.round(async () => {
          const out: Partial<Record<Subject, Cycle>> = {};
          for (const subject of order) out[subject] = await cycle(subject, layers, join(dir, `run-${n++}`));
          return out as Record<Subject, Cycle>;
        });
        if (round < 0) continue; // the warm-up: page cache, the first overlay mount
        for (const subject of SUBJECTS) results[subject].push(got[subject]);
      }
      const t = results.tend;
      const row = (name: string, f: (x: Cycle) => number, note: string, unit: "ms" | "MB"): CaseResult[] => [
        caseResult("container", `${name}: tend`, "tend", t.map(f), null, note, unit),
        withRatio(caseResult("container", `${name}: tend (keeper entry)`, "tend", results.keeper.map(f), null, undefined, unit), t.map(f), results.keeper.map(f)),
        withRatio(caseResult("container", `${name}: s6`, "s6", results.s6.map(f), null, undefined, unit), t.map(f), results.s6.map(f)),
      ];
      const mb = (bytes: number): number[] => [bytes / MiB];
      const cases: CaseResult[] = [
        caseResult("container", "image: rootfs", "tend", mb(sizes.rootfs), null, "Debian minbase, slimmed + python3-minimal + s6 + node + tend + examples", "MB"),
        caseResult("container", "image: tend (/opt/tend)", "tend", mb(sizes.tend), null, "bin, the CLI bundle, the keeper, the addon", "MB"),
        caseResult("container", "image: node", "node", mb(sizes.node), null, "/usr/local/bin/node", "MB"),
        caseResult("container", "image: s6 (packages + layer)", "s6", mb(s6Size), null, "s6, execline, skalibs; the baseline's scripts", "MB"),
        ...row("start, exec → all ready", (x) => x.startMs, "7 services: 2 oneshots, 5 longruns", "ms"),
        ...row("stop, SIGTERM → PID 1 exits", (x) => x.stopMs, "tend exits 0", "ms"),
        ...row("PID 1 RSS", (x) => x.pid1RssMiB, `VmRSS; \`tend boot\` as PID 1 is ${t[0]?.counted[0] ?? "?"}`, "MB"),
        ...row("PSS of the manager", (x) => x.pssMiB, `${t[0]?.counted.join(" + ") ?? "?"}; s6: s6-svscan + supervisors`, "MB"),
      ];
      return { cases, details: { sizes, s6Bytes: s6Size, entryPoints: ENTRY_POINTS, ...results } };
    } finally {
      removeTempDir(dir);
    }
  },
};
