// A child program of the check-10k workload: compiles a source directory the way
// src/compile/compile.ts does, timing each phase, and prints one JSON line.
// It runs in a fresh process so the numbers are those of a cold `tend check`.
//
//   node dist/bench/child/compile-phases.js phases DIR [--host]
//     → {"read":…, "parse":…, "host":…, "graph":…, "plan":…, "digest":…, "services":N}
//   node dist/bench/child/compile-phases.js compile DIR [--host] [--repeat N]
//     → {"compile":[ms, ms, …], "accepted":true}   (first cold, then warm)
//
// The phases mirror compile() step by step; the bench also times compile() itself so
// that a drift between the two shows as a gap between the sum and the total.

import { resolve } from "node:path";
import { compile, BOOT_BUNDLE } from "../../src/compile/compile.js";
import { digestOf } from "../../src/compile/database.js";
import { resolveGraph } from "../../src/compile/graph.js";
import { checkHost, readHostFacts } from "../../src/compile/host.js";
import { plan } from "../../src/compile/plan.js";
import { byLocation, collector, hasErrors } from "../../src/config/diagnostics.js";
import { parseServiceFile, type ParsedService } from "../../src/config/parse.js";
import type { ServiceDef } from "../../src/config/service.js";
import { readSource } from "../../src/config/source.js";

const now = (): number => performance.now();

function phases(dir: string, host: boolean): Record<string, number | boolean> {
  const times: Record<string, number | boolean> = {};
  const { diagnostics, report } = collector();
  let t = now();
  const lap = (name: string): void => {
    const t2 = now();
    times[name] = t2 - t;
    t = t2;
  };
  const sourceDir = resolve(dir);
  const source = readSource(dir, report);
  lap("read");
  const parsed = new Map<string, ParsedService>();
  for (const file of source.files) {
    const service = parseServiceFile(file.file, file.name, file.bytes, sourceDir, report);
    if (service !== null) parsed.set(file.name, service);
  }
  lap("parse");
  if (host) {
    const facts = readHostFacts();
    for (const service of parsed.values()) checkHost(service, facts, report);
  }
  lap("host");
  // Files that exist but were not read (newer sources list them in `unread`).
  const unread = (source as { unread?: string[] }).unread ?? [];
  const unparsed = new Set([...source.files.map((f) => f.name).filter((name) => !parsed.has(name)), ...unread]);
  const graph = resolveGraph(parsed, unparsed, report);
  diagnostics.sort(byLocation);
  lap("graph");
  const accepted = !hasErrors(diagnostics);
  const boot = accepted && parsed.has(BOOT_BUNDLE) ? plan(graph, [BOOT_BUNDLE]).waves : [];
  lap("plan");
  if (accepted) {
    const services: Record<string, ServiceDef> = {};
    for (const name of [...parsed.keys()].sort()) services[name] = parsed.get(name)!.def;
    digestOf({ source: sourceDir, services, graph, boot });
  }
  lap("digest");
  times.services = source.files.length;
  times.accepted = accepted;
  times.diagnostics = diagnostics.length;
  return times;
}

function compileRepeated(dir: string, host: boolean, repeat: number): { compile: number[]; accepted: boolean } {
  const out: number[] = [];
  let accepted = true;
  for (let i = 0; i < repeat; i++) {
    const t = now();
    const result = compile({ sourceDir: dir, hostChecks: host });
    out.push(now() - t);
    accepted &&= result.accepted;
  }
  return { compile: out, accepted };
}

const [mode, dir, ...flags] = process.argv.slice(2);
if ((mode !== "phases" && mode !== "compile") || dir === undefined) {
  process.stderr.write("usage: compile-phases.js phases|compile DIR [--host] [--repeat N]\n");
  process.exit(2);
}
const host = flags.includes("--host");
const repeatAt = flags.indexOf("--repeat");
const repeat = repeatAt >= 0 ? Number(flags[repeatAt + 1]) : 1;
const result = mode === "phases" ? phases(dir, host) : compileRepeated(dir, host, repeat);
process.stdout.write(`${JSON.stringify(result)}\n`);
