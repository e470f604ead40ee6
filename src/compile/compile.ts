// The compiler: a source directory in, every diagnostic and (when there is no error)
// a CompiledSet out. Nothing else in tend parses service files.

import { join, resolve } from "node:path";
import { byLocation, collector, hasErrors, type Diagnostic } from "../config/diagnostics.js";
import { parseServiceFile, type ParsedService } from "../config/parse.js";
import { waitsForTrigger, type ServiceDef } from "../config/service.js";
import { readSource, type Source } from "../config/source.js";
import { digestOf, type CompiledSet } from "./database.js";
import { sourcesRecord } from "./freshness.js";
import { resolveGraph } from "./graph.js";
import { addNamedInstances } from "./templates.js";
import { checkHost, checkSourceDirectory, hostCache, readHostFacts, type HostFacts } from "./host.js";
import { plan } from "./plan.js";
import { nameRecord, required } from "../records.js";

/** The bundle that `tend boot` brings up. */
export const BOOT_BUNDLE = "default";

export interface CompileOptions {
  sourceDir: string;
  /** Check programs, users and groups against this machine (off with --portable). */
  hostChecks: boolean;
  host?: HostFacts;
}

export interface CompileResult {
  accepted: boolean;
  diagnostics: Diagnostic[];
  skipped: { file: string; why: string }[];
  /** Present when accepted. */
  compiled: CompiledSet | null;
  serviceCount: number;
}

export function compile(options: CompileOptions): CompileResult {
  const { diagnostics, report } = collector();
  const source = readSource(options.sourceDir, report);
  return compileSource(source, diagnostics, options);
}

/**
 * The compiler without the disk: the files as readSource returns them, and what reading
 * them reported. compile() is this after readSource; the fuzzer (bench/fuzz) feeds it
 * sets made in memory, a million of them, with no directory written.
 */
export function compileSource(source: Source, readDiagnostics: readonly Diagnostic[], options: Omit<CompileOptions, "sourceDir">): CompileResult {
  const { diagnostics, report } = collector();
  diagnostics.push(...readDiagnostics);
  const sourceDir = resolve(source.dir);
  const parsed = new Map<string, ParsedService>();
  for (const file of source.files) {
    const service = parseServiceFile(file.file, file.name, file.bytes, sourceDir, report);
    if (service !== null) parsed.set(file.name, service);
  }
  const unparsed = new Set([...source.files.map((f) => f.name).filter((name) => !parsed.has(name)), ...source.unread]);
  addNamedInstances(parsed, unparsed, report);
  if (options.hostChecks) {
    const host = options.host ?? readHostFacts();
    const cache = hostCache(host);
    checkSourceDirectory(sourceDir, report, cache);
    for (const service of parsed.values()) checkHost(service, host, report, cache);
  }
  const graph = resolveGraph(parsed, unparsed, report);
  if (source.files.length === 0 && !hasErrors(diagnostics)) {
    report("error", { file: source.dir, line: 0, col: 0 }, "no service files here: nothing to compile");
  } else if (!parsed.has(BOOT_BUNDLE)) {
    report("warning", { file: source.dir, line: 0, col: 0 }, `there is no '${BOOT_BUNDLE}' bundle: booting this set starts nothing`);
  }
  // An instance has its template's lines: what is wrong in them is said once, not once per instance.
  const said = [...new Map(diagnostics.map((d) => [JSON.stringify(d), d])).values()].sort(byLocation);

  const accepted = !hasErrors(said);
  let compiled: CompiledSet | null = null;
  if (accepted) {
    const services = nameRecord<ServiceDef>();
    // Stored with absolute paths: the same files reached by another path are the same
    // configuration. An instance's file is its template's.
    for (const name of [...parsed.keys()].sort()) {
      const def = parsed.get(name)!.def;
      services[name] = { ...def, file: join(sourceDir, def.template ?? name) };
    }
    const boot = parsed.has(BOOT_BUNDLE) ? plan(graph, [BOOT_BUNDLE], (n) => waitsForTrigger(required(services, n, "the compiled services"))).waves : [];
    const set = { source: sourceDir, services, graph, boot, sources: sourcesRecord(source.files) };
    compiled = { ...set, digest: digestOf(set) };
  }
  return { accepted, diagnostics: said, skipped: source.skipped, compiled, serviceCount: source.files.length };
}
