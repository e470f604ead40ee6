// check-10k: `tend check` on a generated set of 10,000 services (see lib/generate.ts).
//   (a) tend check --portable DIR   whole process, no host checks
//   (b) tend check DIR              whole process, programs/users checked on this host
//   in-process compile(), cold, split by phase (read, parse, host, graph, plan, digest)
// Goal: 10,000 services checked in under a second. When a whole-process case misses
// it (or with --profile), one run of (b) is profiled with --cpu-prof and summarized.

import { copyFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { generateServices } from "../lib/generate.js";
import { formatProfile, summarizeProfile, type ProfileSummary } from "../lib/profile.js";
import { timeInterleaved, timeProcess, type Command } from "../lib/proc.js";
import { rng } from "../lib/prng.js";
import { median } from "../lib/stats.js";
import { makeTempDir, removeTempDir } from "../lib/tmp.js";
import { caseResult, repetitions, type CaseResult, type Workload } from "../lib/workload.js";

const SERVICES = 10_000;
const SEED = 0x7e2d_0010;
const DEFAULT_SIZE = 300;
const GOAL = { text: "< 1000 ms", max: 1000, strict: true };
const PHASES = ["read", "parse", "host", "graph", "plan", "digest"] as const;

export const check10k: Workload = {
  name: "check-10k",
  title: "tend check on 10,000 generated services",
  async run(ctx) {
    const runs = repetitions(ctx, 10, 3);
    const phaseRuns = repetitions(ctx, 5, 2);
    const tmp = makeTempDir("check-10k");
    try {
      const dir = join(tmp, "services");
      const t0 = performance.now();
      const generated = generateServices(dir, { count: SERVICES, seed: SEED, defaultSize: DEFAULT_SIZE });
      ctx.log(`check-10k: generated ${generated.files} files (${(generated.bytes / 1024).toFixed(0)} KiB) in ${(performance.now() - t0).toFixed(0)} ms, digest ${generated.digest.slice(0, 12)}`);

      const node = process.execPath;
      const portable: Command = { label: "tend check --portable (10k)", file: node, args: [ctx.tend, "check", "--portable", dir] };
      const hosted: Command = { label: "tend check (10k, host checks)", file: node, args: [ctx.tend, "check", dir] };
      const outputs = new Map<string, { bytes: number; diagnostics: number; summary: string }>();
      ctx.log(`check-10k: 2 cases × ${runs} runs, interleaved`);
      const r = rng(0x10c4);
      const samples = await timeInterleaved([portable, hosted], runs, {
        round: ctx.round,
        warmup: 1,
        shuffle: (items) => r.shuffle(items),
        check: (cmd, t) => {
          const summary = /^accepted: .*$/m.exec(t.stdout)?.[0];
          if (summary === undefined || !summary.includes(`${SERVICES} services`)) {
            throw new Error(`${cmd.label}: the generated set was not accepted:\n${t.stdout.slice(0, 2000)}${t.stderr.slice(0, 2000)}`);
          }
          const diagnostics = t.stdout.split("\n").filter((l) => /: (error|warning): /.test(l)).length;
          outputs.set(cmd.label, { bytes: Buffer.byteLength(t.stdout), diagnostics, summary: `${summary} / ${/^boot plan.*$/m.exec(t.stdout)?.[0] ?? "no boot plan"}` });
        },
      });
      const cases: CaseResult[] = [
        caseResult("check-10k", "tend check --portable", "tend", samples.get(portable.label)!, GOAL),
        caseResult("check-10k", "tend check (host checks)", "tend", samples.get(hosted.label)!, GOAL),
      ];

      // In-process, cold: compile() as a whole, then its phases, each in a fresh process.
      ctx.log(`check-10k: in-process compile() and phases, ${phaseRuns} fresh processes each`);
      const child = join(ctx.root, "dist", "bench", "child", "compile-phases.js");
      const compileCold: number[] = [];
      const compileWarm: number[] = [];
      const phaseSamples = new Map<string, number[]>(PHASES.map((p) => [p, []]));
      for (let i = 0; i < phaseRuns; i++) {
        const [whole, split] = await ctx.round(() => [
          JSON.parse(timeProcess({ label: "compile()", file: node, args: [child, "compile", dir, "--host", "--repeat", "4"] }).stdout) as { compile: number[]; accepted: boolean },
          JSON.parse(timeProcess({ label: "compile phases", file: node, args: [child, "phases", dir, "--host"] }).stdout) as Record<string, number>,
        ] as const);
        if (!whole.accepted) throw new Error("compile() did not accept the generated set");
        compileCold.push(whole.compile[0]!);
        compileWarm.push(...whole.compile.slice(1));
        for (const p of PHASES) phaseSamples.get(p)!.push(split[p]!);
      }
      cases.push(caseResult("check-10k", "compile() in-process, cold", "tend", compileCold, null, "host checks on"));
      cases.push(caseResult("check-10k", "compile() in-process, warm", "tend", compileWarm, null, "same process, 2nd–4th call"));
      for (const p of PHASES) cases.push(caseResult("check-10k", `  phase: ${p === "read" ? "read files" : p === "host" ? "host checks" : p}`, "tend", phaseSamples.get(p)!, null, "cold"));
      const notes: string[] = [];
      const phaseSum = PHASES.reduce((sum, p) => sum + median(phaseSamples.get(p)!), 0);
      const cold = median(compileCold);
      const apart = Math.abs(phaseSum - cold) > 0.25 * cold;
      notes.push(
        `check-10k: the phases' medians add up to ${phaseSum.toFixed(0)} ms; compile() cold takes ${cold.toFixed(0)} ms` +
          (apart ? " — more than 25% apart: the machine was busy, or bench/child/compile-phases.ts no longer mirrors src/compile/compile.ts" : ""),
      );

      // Where the time goes, when the goal is missed or a profile is asked for.
      const slow = cases.slice(0, 2).some((c) => c.verdict === "FAIL");
      let profile: ProfileSummary | null = null;
      if (slow || ctx.profile) {
        ctx.log(`check-10k: profiling one run of 'tend check' (${slow ? "over the goal" : "--profile"})`);
        const profDir = join(tmp, "prof");
        timeProcess({ label: "tend check --cpu-prof", file: node, args: ["--cpu-prof", "--cpu-prof-interval", "500", "--cpu-prof-dir", profDir, ctx.tend, "check", dir] });
        const written = readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"));
        if (written === undefined) throw new Error("node --cpu-prof wrote no profile");
        const kept = join(ctx.resultsDir, `${ctx.stamp}-check-10k.cpuprofile`);
        copyFileSync(join(profDir, written), kept);
        profile = summarizeProfile(kept, ctx.root);
        notes.push(`check-10k CPU profile of one 'tend check DIR' (open ${kept} in Chrome DevTools or speedscope):`, ...formatProfile(profile));
      }
      return {
        cases,
        notes,
        details: {
          generator: { ...generated, dir: undefined, seed: SEED, services: SERVICES, defaultSize: DEFAULT_SIZE },
          output: Object.fromEntries(outputs),
          profile,
        },
      };
    } finally {
      removeTempDir(tmp);
    }
  },
};
