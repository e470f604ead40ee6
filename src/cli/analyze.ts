// `tend analyze`: the boot (or the last start) in one screen, `analyze critical-chain
// [NAME]`, `analyze boot` and `analyze plot` (drawn by plot.ts), from what the server recorded (the `timings` request);
// the analysis itself is src/analyze/, pure. No compiler, no server: the quick CLI runs it.

import { spanOf, summarize, type Failure } from "../analyze/blame.js";
import { criticalChain, type Chain } from "../analyze/critical-chain.js";
import { runsOf, type Span } from "../analyze/timeline.js";
import { topology } from "../engine/topology.js";
import type { Places } from "../places.js";
import type { TimingsResult } from "../server/protocol.js";
import { request } from "./client.js";
import { plotCommand } from "./plot.js";
import { UsageError } from "./errors.js";
import { paint, plural, type Output } from "./output.js";

/** The reports `tend analyze` makes besides its one screen, by the word that names them. */
export const REPORTS = ["boot", "critical-chain", "plot"] as const;

export async function analyze(places: Places, out: Output, args: string[], slowest: number): Promise<number> {
  const [report, name] = args;
  if (report !== undefined && !(REPORTS as readonly string[]).includes(report)) {
    throw new UsageError(`'${report}' is not a report of analyze: use ${REPORTS.join(" or ")}, or nothing for the summary`, "analyze");
  }
  if (name !== undefined && report !== "critical-chain") throw new UsageError(`only 'critical-chain' takes a NAME`, "analyze");
  const timings = await request(places, { cmd: "timings" });
  if (report === "boot") return boot(out, timings);
  if (report === "plot") return plotCommand(out, timings, timings.graph);
  const span = spanOf(timings);
  if (report === "critical-chain") return chain(out, timings, span, name ?? null);
  if (out.json) return void out.data(timings), 0;
  if (span === null) return nothing(out), 0;
  printSummary(out, span, slowest);
  return 0;
}

function nothing(out: Output): void {
  out.line("nothing recorded yet: this server has not booted ('tend boot') and no 'tend start' was made since the record began");
}

function printSummary(out: Output, span: Span, slowest: number): void {
  const s = summarize(span, slowest);
  const what = `${s.kind === "boot" ? "boot" : "start"} of ${s.names.join(" ") || "nothing"} at ${clock(s.at)}`;
  const short = [...(s.waiting.length > 0 ? [`${plural(s.waiting.length, "service")} not ready (${listed(s.waiting)})`] : []), ...(s.failures.length > 0 ? [`${s.failures.length} failed`] : [])];
  const done = s.totalMs !== null ? `ready in ${duration(s.totalMs)}` : `not complete: ${short.join(", ") || "not every service has been up"}`;
  out.line(`${what}: ${plural(s.services, "service")}, ${done}`);
  if (s.blame.length > 0) {
    out.line();
    out.line(paint(out, "bold", `slowest (spawn → ready):`));
    const width = Math.max(...s.blame.map((b) => duration(b.ms).length));
    for (const b of s.blame) out.line(`  ${duration(b.ms).padStart(width)}  ${b.service}  (ready @${duration(b.readyAfter)})`);
  }
  if (s.failures.length > 0) {
    out.line();
    out.line(paint(out, "red", `failed (${s.failures.length}):`));
    printFailures(out, s.failures);
  }
}

function printFailures(out: Output, failures: readonly Failure[]): void {
  const width = Math.max(...failures.map((f) => f.service.length));
  for (const f of failures) out.line(`  ${f.service.padEnd(width)}  @${duration(f.after)}  ${f.reason}`);
}

function chain(out: Output, timings: TimingsResult, span: Span | null, name: string | null): number {
  if (span === null) {
    if (out.json) out.data(null);
    else nothing(out);
    return 0;
  }
  const topo = topology({ graph: timings.graph });
  if (name !== null && !topo.requires.has(name) && !Object.hasOwn(topo.bundles, name)) throw new UsageError(`'${name}' is no service or bundle of the server's database`, "analyze");
  const found = criticalChain(span, topo, name);
  if (out.json) return void out.data(found), 0;
  if (found === null) {
    out.line(`${name ?? "the boot"}: no run recorded in the ${span.kind} of ${clock(span.at)}`);
    return 0;
  }
  printChain(out, found);
  return 0;
}

function printChain(out: Output, c: Chain): void {
  out.line(paint(out, "dim", `When each became ready follows "@" (from the ${c.target ? `start of ${c.target}` : "start"}), what it took itself (spawn → ready) "+";`));
  out.line(paint(out, "dim", "each line says why the one above it waited on it."));
  c.links.forEach((l, i) => {
    const at = l.readyAfter === null ? "never ready" : `@${duration(l.readyAfter)}`;
    const took = l.tookMs === null ? "" : ` +${duration(l.tookMs)}`;
    const indent = i === 0 ? "" : `${"  ".repeat(i - 1)}└─`;
    out.line(`${indent}${l.service} ${at}${took}  (${l.why}${i > 0 && l.until !== null ? `, until @${duration(l.until)}` : ""})`);
  });
  out.line(`${"  ".repeat(c.links.length - 1)}${c.asked === null ? "(its start: nothing it waited for was recorded)" : `(asked for @${duration(c.asked)})`}`);
}

function boot(out: Output, timings: TimingsResult): number {
  const span = timings.boot;
  if (out.json) return void out.data(span === null ? null : { ...span, runs: runsOf(span.transitions) }), 0;
  if (span === null) {
    out.line("no boot recorded: the servers of this root were started by 'tend daemon' (or the record was lost)");
    return 0;
  }
  const runs = runsOf(span.transitions).sort((a, b) => a.starting - b.starting);
  const done = span.completeAt === null ? "not complete" : `complete @${duration(span.completeAt - span.at)}`;
  out.line(`boot of ${span.names.join(" ")} at ${clock(span.at)}: ${plural(span.services.length, "service")}, ${done}`);
  if (span.dropped > 0) out.line(paint(out, "yellow", `(the record holds its first ${span.transitions.length} transitions: ${span.dropped} more were not kept)`));
  const rel = (t: number | null): string => (t === null ? "-" : `@${duration(t - span.at)}`);
  const header = ["NAME", "ASKED", "STARTING", "SPAWNED", "READY", "STOPPING", "ENDED", "HOW"];
  const rows = runs.map((r) => [r.service, rel(r.asked), rel(r.starting), rel(r.spawned), rel(r.ready), rel(r.stopping), rel(r.ended), r.failed !== null ? `failed: ${r.failed}` : r.waits.map((w) => w.why).join("; ")]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  out.line(paint(out, "bold", line(header)));
  for (const row of rows) out.line(line(row));
  const failures = summarize(span, 0).failures;
  if (failures.length > 0) {
    out.line(paint(out, "red", `failed (${failures.length}):`));
    printFailures(out, failures);
  }
  return 0;
}

/** A few names of many. */
const listed = (names: readonly string[]): string => (names.length <= 5 ? names.join(", ") : `${names.slice(0, 5).join(", ")}, …`);

/** A duration as systemd-analyze writes it: `123ms`, `1.234s`, `2min 3.456s`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(3)}s`;
  return `${Math.floor(ms / 60_000)}min ${((ms % 60_000) / 1000).toFixed(3)}s`;
}

/** A time of the server's clock, local. */
function clock(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2): string => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
