// `tend analyze critical-chain [NAME]`: the chain of waits that decided when NAME
// became ready, walked back from its ready. Each run's start was decided by the last
// wait to end before it: a requirement becoming ready, a service it is ordered after
// settling (the engine's rules: rules.ts `requirementReady`, `settled`), or, between
// its start and its spawn, a hook task ending or its restart delay. Which edges a
// service has is the engine's topology; only "which wait ended last" is decided here.

import { edgesOf, members, requirementsOf, type Topology } from "../engine/topology.js";
import { decisiveRuns } from "./blame.js";
import { runsOf, type Run, type Span } from "./timeline.js";

export interface Link {
  service: string;
  /** When it was ready, from the span's start (ms); null: it never was (the chain of a failure). */
  readyAfter: number | null;
  /** What it took itself: its spawn to ready (ms); null without both. */
  tookMs: number | null;
  /**
   * Why the link before it (the one that waited) waited on this one: `required db not
   * ready`, `ordered after x`, `hook h running`, `restart delay …`; for the first link,
   * what it is (`NAME`, `the last of the boot`).
   */
  why: string;
  /** When what it was waited for ended (ms from the span's start): its ready, its settling, the hook's end, the delay's. */
  until: number | null;
}

export interface Chain {
  /** What the chain is for: the name given, or the span's names. */
  target: string;
  links: Link[];
  /** When the last link was asked for (by the boot, a start: ms from the span's start), which nothing it waited for outlasted; null: not recorded (pulled in by `wants`, an event). */
  asked: number | null;
}

/** What the chain is of: NAME's services (a bundle's members and what they require), or the span's. */
function servicesFor(topo: Topology, span: Span, name: string | null): string[] {
  if (name === null) return span.services;
  const found = new Set<string>();
  for (const m of members(topo, name)) for (const r of requirementsOf(topo, m)) found.add(r);
  return [...found];
}

/**
 * The chain for `name` (a service or bundle; null: the span's set): from the one of
 * its services ready last (or, when none was, the first to start), back through what
 * each waited on. Null when the span holds no run of them.
 */
export function criticalChain(span: Span, topo: Topology, name: string | null): Chain | null {
  const all = runsOf(span.transitions);
  const decisive = decisiveRuns(all);
  const byService = new Map<string, Run[]>();
  for (const r of all) byService.set(r.service, [...(byService.get(r.service) ?? []), r]);
  const runs = servicesFor(topo, span, name).flatMap((n) => decisive.get(n) ?? []);
  if (runs.length === 0) return null;
  const ready = runs.filter((r) => r.ready !== null);
  const last = ready.length > 0 ? latest(ready, (r) => r.ready!)! : latest(runs, (r) => -r.starting)!;
  const target = name ?? span.names.join(" ");
  const at = (t: number | null): number | null => (t === null ? null : t - span.at);
  const links: Link[] = [];
  const seen = new Set<Run>();
  let run: Run = last;
  let why = name === last.service ? last.service : `the last of ${target || "the start"} to be ready${last.ready === null ? ": none was" : ""}`;
  let until: number | null = last.ready;
  /** After a hook's link, the walk goes on from the start of the run that waited for it. */
  let waiting: Run | null = null;
  for (;;) {
    seen.add(run);
    links.push({ service: run.service, readyAfter: at(run.ready), tookMs: run.ready !== null && run.spawned !== null ? run.ready - run.spawned : null, why, until: at(until) });
    const from: Run = waiting ?? run;
    const next: Wait | null = waiting !== null ? startedAfter(from, byService, topo) : (spawnedAfter(from, all, byService) ?? startedAfter(from, byService, topo));
    if (next === null || seen.has(next.run)) return { target, links, asked: at(from.asked) };
    waiting = next.hook ? from : null;
    ({ run, why, until } = next);
  }
}

interface Wait {
  run: Run;
  why: string;
  until: number;
  /** A hook task the run's spawn waited for (its own start is not what the chain follows). */
  hook?: boolean;
}

/** What `run` waited for between its start and its spawn: a restart delay (the run began where its last one ended), or the hook task that ended last. */
function spawnedAfter(run: Run, all: readonly Run[], byService: ReadonlyMap<string, readonly Run[]>): Wait | null {
  const spawned = run.spawned;
  if (spawned === null || spawned <= run.starting || run.waits.length === 0) return null;
  const before = byService.get(run.service)!.find((r) => r !== run && r.ended === run.starting && r.spawned !== null);
  if (before !== undefined) return { run: before, why: `restart delay: ${run.waits[0]!.why}`, until: spawned };
  const hooks = all.filter((r) => r.service !== run.service && r.task && r.starting <= run.starting && r.ended !== null && r.ended >= run.starting && r.ended <= spawned);
  const hook = latest(hooks, (r) => r.ended!);
  return hook === null ? null : { run: hook, why: `hook ${hook.service} running (${run.waits[0]!.why})`, until: hook.ended!, hook: true };
}

/**
 * What decided `run`'s start: of what it requires, the one ready last before it; of
 * what it is ordered after, the one settled (ready, or ended) last before it — neither
 * before it was asked for. A requirement wins a tie.
 */
function startedAfter(run: Run, byService: ReadonlyMap<string, readonly Run[]>, topo: Topology): Wait | null {
  if (!topo.requires.has(run.service)) return null; // an instance or service no longer in the database
  const required = new Set(edgesOf(topo, "requires", run.service));
  let best: Wait | null = null;
  for (const dep of edgesOf(topo, "after", run.service)) {
    const isRequired = required.has(dep);
    for (const r of byService.get(dep) ?? []) {
      const end = isRequired ? r.ready : (r.ready ?? r.ended);
      if (end === null || end > run.starting || (run.asked !== null && end < run.asked)) continue;
      if (best === null || end > best.until || (end === best.until && isRequired && !required.has(best.run.service))) {
        best = { run: r, why: isRequired ? `required ${dep} not ready` : `ordered after ${dep}`, until: end };
      }
    }
  }
  return best;
}

function latest<T>(items: readonly T[], time: (item: T) => number): T | null {
  let best: T | null = null;
  for (const item of items) if (best === null || time(item) > time(best)) best = item;
  return best;
}
