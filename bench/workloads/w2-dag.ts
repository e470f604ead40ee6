// W2 dag: 200 longruns in 10 layers of 20; each below the first requires 3 services of
// the layer above (drawn with a fixed seed); each is ready 20 ms after it starts
// (`ready = fd`). Nothing can be up before 10 × 20 ms = 200 ms: that is the floor, and
// the goal (issue 3) is `tend start dag` within 1.15 × the floor.
//
// Each round launches fresh managers and times, in a shuffled order:
//   tend start dag              the whole CLI call (Node's start-up included), until all up
//   tend start dag, server side the same request sent by the bench itself on the control
//                               socket (no CLI process): request written → final reply
//   dinit start dag             dinitctl start (dinit on the PATH, or built by the bench
//                               from ../shared/peers: bench/lib/dinit.ts)
// and reports each against the floor, and tend against dinit, per round. The other peers
// (s6, runit, supervisord, pm2) have no dependencies between services: they are left
// out, with a note, rather than faked.

import { join } from "node:path";
import { call } from "../../src/cli/client.js";
import { places } from "../../src/places.js";
import { findDinit } from "../lib/dinit.js";
import { launchDinit, launchTend, prepareDinit, prepareTend, type Manager } from "../lib/managers.js";
import { processesOf, waitUntil } from "../lib/processes.js";
import { timeSteps } from "../lib/proc.js";
import { rng } from "../lib/prng.js";
import { dagSet, digestOfSet } from "../lib/service-sets.js";
import { servicePrograms } from "../lib/service-program.js";
import { makeTempDir, removeTempDir } from "../lib/tmp.js";
import { caseResult, repetitions, type CaseResult, type Workload } from "../lib/workload.js";

const DAG = { layers: 10, width: 20, fanIn: 3, readyMs: 20, seed: 0xda9_0003 };
const SERVICES = DAG.layers * DAG.width;
const FLOOR_MS = DAG.layers * DAG.readyMs;
const RATIO_GOAL = { text: "≤ 1.15×", max: 1.15 };

/** Stop `bundle` and wait until none of `program`'s processes is left (cheap: kill(pid, 0)). */
function stopAll(m: Manager, bundle: string, program: string): number {
  const pids = processesOf(program);
  const t = timeSteps(m.stop(bundle));
  const gone = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  };
  if (!waitUntil(() => pids.every(gone), 30_000, 1)) throw new Error(`${m.subject} stop ${bundle}: service processes left running`);
  return t.ms;
}

export const w2Dag: Workload = {
  name: "w2-dag",
  title: "W2: 200 services, 10 layers × 20, 3 requirements each, ready after 20 ms: start vs the 200 ms floor",
  prepare: async (ctx) => void (await findDinit(ctx)),
  async run(ctx) {
    const runs = repetitions(ctx, 10, 3);
    const tmp = makeTempDir("w2");
    try {
      const programs = servicePrograms(tmp);
      const set = dagSet(DAG);
      const tend = prepareTend(ctx, join(tmp, "tend-root"), set, programs.tend);
      const where = places({ root: tend.root, env: {}, uid: process.getuid?.() ?? 0 });
      const notes: string[] = [
        "w2-dag: s6, runit, supervisord and pm2 are left out: they have no dependencies between services (s6-rc, s6's dependency layer, would; it is not measured), and a start order faked by the bench would measure the bench",
      ];
      const peer = await findDinit(ctx);
      if (!peer.ok) notes.push(`w2-dag: no dinit rows: ${peer.why}`);
      const dinit = peer.ok ? prepareDinit(join(tmp, "dinit"), set, programs.dinit) : null;

      /** tend, the whole CLI call. */
      const viaCli = (): number => {
        const m = launchTend(ctx, tend);
        try {
          const t = timeSteps(m.start("dag"));
          m.checkStarted(t.stdout, SERVICES);
          stopAll(m, "dag", tend.program);
          return t.ms;
        } finally {
          m.shutdown();
        }
      };
      /** tend, the request sent on the control socket by the bench: the server's share. */
      const viaSocket = async (): Promise<number> => {
        const m = launchTend(ctx, tend);
        try {
          const t0 = performance.now();
          const reply = await call(where, { cmd: "start", names: ["dag"], wait: true });
          const ms = performance.now() - t0;
          if (!reply.ok) throw new Error(`start dag: ${reply.error}`);
          m.checkStarted(JSON.stringify(reply.result), SERVICES);
          stopAll(m, "dag", tend.program);
          return ms;
        } finally {
          m.shutdown();
        }
      };
      const viaDinit = (): number => {
        const m = launchDinit(peer.ok ? peer.tools : (null as never), dinit!, ["dag"]);
        try {
          const t = timeSteps(m.start("dag"));
          m.checkStarted(t.stdout, SERVICES);
          const running = processesOf(dinit!.program).length;
          if (running !== SERVICES) throw new Error(`dinitctl start dag: ${running} service processes running, ${SERVICES} expected`);
          stopAll(m, "dag", dinit!.program);
          return t.ms;
        } finally {
          m.shutdown();
        }
      };

      // The peer must not cost tend's rows: once a dinit round fails, dinit is left out.
      let peerFailed: string | null = null;
      const tryDinit = (): number | undefined => {
        if (peerFailed !== null) return undefined;
        try {
          return viaDinit();
        } catch (e) {
          peerFailed = (e as Error).message;
          ctx.log(`w2-dag: dinit failed, left out from now on: ${peerFailed}`);
          return undefined;
        }
      };

      ctx.log("w2-dag: warm-up round");
      viaCli();
      await viaSocket();
      if (dinit !== null) tryDinit();

      ctx.log(`w2-dag: ${runs} rounds (tend CLI, tend server side${dinit !== null ? ", dinit" : ""}, shuffled)`);
      const order = rng(0x3002);
      const samples: Record<"cli" | "socket" | "dinit", number[]> = { cli: [], socket: [], dinit: [] };
      /** tend ÷ dinit of the rounds in which both ran. */
      const perRound: { cli: number; socket: number; dinit: number }[] = [];
      for (let i = 0; i < runs; i++) {
        const round = await ctx.round(async () => {
          const jobs: ["cli" | "socket" | "dinit", () => number | undefined | Promise<number>][] = [
            ["cli", viaCli],
            ["socket", viaSocket],
          ];
          if (dinit !== null && peerFailed === null) jobs.push(["dinit", tryDinit]);
          const out: Partial<Record<"cli" | "socket" | "dinit", number>> = {};
          for (const [who, job] of order.shuffle(jobs)) {
            const ms = await job();
            if (ms !== undefined) out[who] = ms;
          }
          return out;
        });
        for (const k of ["cli", "socket", "dinit"] as const) if (round[k] !== undefined) samples[k].push(round[k]!);
        if (round.cli !== undefined && round.socket !== undefined && round.dinit !== undefined) perRound.push({ cli: round.cli, socket: round.socket, dinit: round.dinit });
      }
      if (peerFailed !== null) {
        samples.dinit = [];
        notes.push(`w2-dag: dinit rows left out: a dinit round failed: ${peerFailed}`);
      }
      const ratio = (xs: number[]): number[] => xs.map((x) => x / FLOOR_MS);
      const cases: CaseResult[] = [
        caseResult("w2-dag", "tend start dag", "tend", samples.cli, null, "whole CLI call, until all up"),
        caseResult("w2-dag", "tend start dag ÷ floor", "tend", ratio(samples.cli), RATIO_GOAL, `floor ${FLOOR_MS} ms`, "ratio"),
        caseResult("w2-dag", "tend start dag, server side", "tend", samples.socket, null, "request → reply on the control socket"),
        caseResult("w2-dag", "server side ÷ floor", "tend", ratio(samples.socket), null, `floor ${FLOOR_MS} ms`, "ratio"),
      ];
      if (samples.dinit.length > 0) {
        cases.push(
          caseResult("w2-dag", "dinit start dag", "dinit", samples.dinit, null, "dinitctl start, until all up"),
          caseResult("w2-dag", "dinit start dag ÷ floor", "dinit", ratio(samples.dinit), null, `floor ${FLOOR_MS} ms`, "ratio"),
          caseResult("w2-dag", "tend ÷ dinit, start dag", "tend", perRound.map((r) => r.cli / r.dinit), null, "tend's whole CLI call ÷ dinitctl start, per round", "ratio"),
          caseResult("w2-dag", "tend server side ÷ dinit, start dag", "tend", perRound.map((r) => r.socket / r.dinit), null, "tend on its control socket ÷ dinitctl start, per round", "ratio"),
        );
      }
      return {
        cases,
        notes,
        details: {
          dag: { ...DAG, services: SERVICES, floorMs: FLOOR_MS, digest: digestOfSet(set) },
          peer: peer.ok ? { dinit: peer.tools.version, dinitctl: peer.tools.dinitctl, builtThisRun: peer.installed } : { skipped: peer.why },
        },
      };
    } finally {
      removeTempDir(tmp);
    }
  },
};
