// W3 status: one `tend status` round trip, the whole CLI process (with the cleaned
// environment: no NODE_EXTRA_CA_CERTS), while 1000 services are up, against `node -e 0`
// in the same interleaved rounds. Goal (issue 3): within Node's start-up + 10 ms, that
// is the per-round difference `tend status − node -e 0` ≤ 10 ms. With dinit there,
// `dinitctl list` over the same 1000 services is timed in the same rounds.
// And the server's RSS with the 1000 up, once settled (before the status calls):
// goal (issue 3) < 60 MB.

import { join } from "node:path";
import { findDinit, launchDinit, launchTend, prepareDinit, prepareTend, type Manager } from "../lib/managers.js";
import { rssMiB, sleepSync } from "../lib/processes.js";
import { timeInterleaved, timeProcess, type Command } from "../lib/proc.js";
import { rng } from "../lib/prng.js";
import { flatSet } from "../lib/service-sets.js";
import { servicePrograms } from "../lib/service-program.js";
import { pairedDifferences } from "../lib/stats.js";
import { makeTempDir, removeTempDir } from "../lib/tmp.js";
import { caseResult, repetitions, type CaseResult, type Workload } from "../lib/workload.js";

const SERVICES = 1000;
const BUNDLE = `flat-${SERVICES}`;
const GOAL_MS = 10;
const RSS_GOAL = { text: "< 60 MB", max: 60, strict: true };
/** V8's memory reducer shrinks the heap some seconds (about 8) after the start's burst. */
const SETTLE_MS = 20_000;
const RSS_DROP_MIB = 5;

export const w3Status: Workload = {
  name: "w3-status",
  title: "W3: one `tend status` round trip with 1000 services up, vs node -e 0; the server's settled RSS",
  async run(ctx) {
    const runs = repetitions(ctx, 20, 10);
    const tmp = makeTempDir("w3");
    const managers: Manager[] = [];
    try {
      const programs = servicePrograms(tmp);
      const set = flatSet(SERVICES, [SERVICES]);
      const tendRoot = prepareTend(ctx, join(tmp, "tend-root"), set, programs.tend);
      const notes: string[] = [];
      const peer = findDinit(ctx.log);
      if (!peer.ok) notes.push(`w3-status: no dinit rows: ${peer.why}`);

      ctx.log(`w3-status: starting ${SERVICES} services under tend${peer.ok ? " and under dinit" : ""}`);
      const tend = launchTend(ctx, tendRoot);
      managers.push(tend);
      const upMs: Record<string, number> = {};
      const started = timeProcess(tend.start(BUNDLE));
      tend.checkStarted(started.stdout, SERVICES);
      upMs.tend = started.ms;
      // The RSS goal is about a server that runs 1000 services, not one that has just
      // started them: the start's burst grows V8's heap, which V8 gives back when its
      // memory reducer runs, some seconds later if the server is left alone (w1-flat's
      // rows are read right after the start). So the server is left alone until that
      // happened (its RSS fell by RSS_DROP_MIB), at most SETTLE_MS, before the status calls.
      ctx.log(`w3-status: waiting (at most ${SETTLE_MS / 1000} s) for the server's memory to settle`);
      const peakRss = rssMiB(tend.pid) ?? Number.NaN;
      const settleStart = performance.now();
      let tendRss = peakRss;
      while (performance.now() - settleStart < SETTLE_MS && !(peakRss - tendRss >= RSS_DROP_MIB)) {
        sleepSync(250);
        tendRss = rssMiB(tend.pid) ?? Number.NaN;
      }
      const settledIn = performance.now() - settleStart;
      if (peakRss - tendRss >= RSS_DROP_MIB) {
        sleepSync(1000);
        tendRss = rssMiB(tend.pid) ?? tendRss;
      }
      const settledNote =
        peakRss - tendRss >= RSS_DROP_MIB
          ? `VmRSS, settled ${(settledIn / 1000).toFixed(1)} s after the start (${peakRss.toFixed(0)} MB just after)`
          : `VmRSS, NOT settled within ${SETTLE_MS / 1000} s (${peakRss.toFixed(0)} MB just after the start)`;
      let dinit: Manager | null = null;
      if (peer.ok) {
        // The peer must not cost tend's rows: if dinit cannot bring the set up, it is left out.
        try {
          dinit = launchDinit(peer.tools, prepareDinit(join(tmp, "dinit"), set, programs.dinit), [BUNDLE]);
          managers.push(dinit);
          const t = timeProcess(dinit.start(BUNDLE));
          dinit.checkStarted(t.stdout, SERVICES);
          upMs.dinit = t.ms;
        } catch (e) {
          notes.push(`w3-status: dinit rows left out: ${(e as Error).message}`);
          if (dinit !== null) {
            try {
              managers.pop()!.shutdown();
            } catch (stop) {
              notes.push(`w3-status: ${(stop as Error).message}`);
            }
          }
          dinit = null;
        }
      }

      const node: Command = { label: "node -e 0", file: process.execPath, args: ["-e", "0"] };
      const status = tend.status();
      const commands = [node, status, ...(dinit !== null ? [dinit.status()] : [])];
      ctx.log(`w3-status: ${commands.length} cases × ${runs} runs, interleaved`);
      const r = rng(0x3003);
      const samples = await timeInterleaved(commands, runs, {
        round: ctx.round,
        warmup: 2,
        shuffle: (items) => r.shuffle(items),
        check: (cmd, t) => {
          if (cmd === status) {
            const up = t.stdout.split("\n").filter((l) => /^s\d{4}\s+longrun\s+up\s/.test(l)).length;
            if (up !== SERVICES) throw new Error(`tend status shows ${up} of ${SERVICES} services up:\n${t.stdout.slice(0, 1000)}`);
          }
        },
      });
      const floor = samples.get(node.label)!;
      const tendStatus = samples.get(status.label)!;
      const cases: CaseResult[] = [
        caseResult("w3-status", "node -e 0", "node", floor, null, "the floor"),
        caseResult("w3-status", "tend status (1000 up)", "tend", tendStatus, null, "whole CLI call"),
        caseResult("w3-status", "tend status − node", "tend", pairedDifferences(tendStatus, floor), { text: `≤ ${GOAL_MS} ms`, max: GOAL_MS }, "per-round difference"),
      ];
      if (Number.isFinite(tendRss)) {
        cases.push(caseResult("w3-status", "tend daemon RSS, 1000 up", "tend", [tendRss], RSS_GOAL, settledNote, "MB"));
        notes.push(`w3-status: tend daemon RSS with 1000 up: ${tendRss.toFixed(1)} MB, ${settledNote.replace(/^VmRSS, /, "")}`);
      }
      if (dinit !== null) {
        const list = samples.get(dinit.status().label)!;
        cases.push(caseResult("w3-status", "dinitctl list (1000 up)", "dinit", list, null, "whole process"));
        cases.push(caseResult("w3-status", "tend status ÷ dinitctl list", "tend", tendStatus.map((x, i) => x / list[i]!), null, "per round", "ratio"));
        const rss = rssMiB(dinit.pid);
        if (rss !== null) cases.push(caseResult("w3-status", "dinit RSS, 1000 up", "dinit", [rss], null, "VmRSS", "MB"));
      }
      return { cases, notes, details: { services: SERVICES, startMs: upMs, peer: peer.ok ? { dinit: peer.tools.version } : { skipped: peer.why } } };
    } finally {
      const errors: string[] = [];
      for (const m of managers.reverse()) {
        try {
          m.shutdown();
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
      removeTempDir(tmp);
      if (errors.length > 0) throw new Error(errors.join("\n"));
    }
  },
};
