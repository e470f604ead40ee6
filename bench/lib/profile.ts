// Reads a V8 CPU profile (`node --cpu-prof`) and says where the time went: self time
// and inclusive ("total") time per function, the top entries of each.

import { readFileSync } from "node:fs";

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  /** `name (file:line)`, file relative to the repository when inside it. */
  function: string;
  ms: number;
  percent: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  samples: number;
  /** Time in V8's pseudo-frames: (garbage collector), (program), (idle). */
  special: Record<string, number>;
  topSelf: FunctionTime[];
  topTotal: FunctionTime[];
}

const SPECIAL = new Set(["(garbage collector)", "(program)", "(idle)", "(root)"]);

function label(frame: CallFrame, root: string): string {
  const name = frame.functionName || "(anonymous)";
  if (frame.url === "") return name;
  let url = frame.url.replace(/^file:\/\//, "");
  if (url.startsWith(`${root}/`)) url = url.slice(root.length + 1);
  return `${name} (${url}:${frame.lineNumber + 1})`;
}

export function summarizeProfile(file: string, root: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = new Map(profile.nodes.map((n) => [n.id, label(n.callFrame, root)]));

  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let totalUs = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    if (us <= 0) return;
    totalUs += us;
    const key = keyOf.get(id)!;
    self.set(key, (self.get(key) ?? 0) + us);
    // Inclusive: every distinct function on the stack (recursion counted once).
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const k = keyOf.get(at)!;
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + us);
    }
  });
  const rank = (m: Map<string, number>, skip: (k: string) => boolean): FunctionTime[] =>
    [...m]
      .filter(([k]) => !skip(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => ({ function: k, ms: Math.round(us / 100) / 10, percent: Math.round((us / totalUs) * 1000) / 10 }));
  const special: Record<string, number> = {};
  for (const k of SPECIAL) if (self.has(k)) special[k] = Math.round(self.get(k)! / 100) / 10;
  return {
    file,
    totalMs: Math.round(totalUs / 100) / 10,
    samples: profile.samples.length,
    special,
    topSelf: rank(self, (k) => k === "(root)"),
    topTotal: rank(total, (k) => SPECIAL.has(k)),
  };
}

export function formatProfile(p: ProfileSummary, top = 12): string[] {
  const row = (f: FunctionTime): string => `    ${f.ms.toFixed(1).padStart(8)} ms ${f.percent.toFixed(1).padStart(5)}%  ${f.function}`;
  return [
    `  profile ${p.file}: ${p.totalMs.toFixed(0)} ms sampled` +
      (Object.keys(p.special).length > 0 ? ` (${Object.entries(p.special).map(([k, v]) => `${k} ${v.toFixed(0)} ms`).join(", ")})` : ""),
    "  by self time:",
    ...p.topSelf.slice(0, top).map(row),
    "  by total time (the function and what it calls):",
    ...p.topTotal.slice(0, top).map(row),
  ];
}

/** A share of the samples: a name and a test on a stack frame. */
export interface Category {
  name: string;
  test(frame: CallFrame): boolean;
}

/** A stretch of the profiled process's life, on the monotonic clock in µs (process.hrtime.bigint() / 1000). */
export interface TimeWindow {
  name: string;
  fromUs: number;
  toUs: number;
}

export interface BreakdownPart {
  name: string;
  ms: number;
  /** Of the window's wall time. */
  percent: number;
}

export interface Breakdown {
  window: string;
  wallMs: number;
  parts: BreakdownPart[];
}

/** The V8 pseudo-frames, each its own share. */
const PSEUDO: Record<string, string> = { "(garbage collector)": "garbage collector", "(idle)": "idle (waiting for the services, the kernel, the client)", "(program)": "V8 / native, unattributed" };
export const OTHER = "other (Node internals: event loop, streams, sockets)";

/**
 * Where the time of each window went: every sample is given to the innermost frame of
 * its stack that a category claims (categories are tried in order on each frame), to a
 * V8 pseudo-frame (GC, idle, program), or to OTHER. Time the profiler did not sample
 * inside the window (the process blocked in a system call the sampler could not
 * interrupt, or descheduled) is reported as "not sampled".
 */
export function breakdown(file: string, categories: readonly Category[], windows: readonly TimeWindow[]): Breakdown[] {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const claim = new Map<number, string>();
  const categoryOf = (id: number): string => {
    const cached = claim.get(id);
    if (cached !== undefined) return cached;
    const leaf = byId.get(id)!.callFrame.functionName;
    // Own keys only: a frame named `toString` or `constructor` is not a pseudo-frame.
    const pseudo = Object.hasOwn(PSEUDO, leaf) ? PSEUDO[leaf] : undefined;
    let result = pseudo ?? OTHER;
    if (pseudo === undefined) {
      outer: for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const frame = byId.get(at)!.callFrame;
        for (const c of categories) {
          if (c.test(frame)) {
            result = c.name;
            break outer;
          }
        }
      }
    }
    claim.set(id, result);
    return result;
  };
  const results = windows.map((w) => ({ w, parts: new Map<string, number>() }));
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    if (dt <= 0) return;
    // A sample stands for the interval before it: give the part inside each window.
    for (const r of results) {
      const overlap = Math.min(t, r.w.toUs) - Math.max(t - dt, r.w.fromUs);
      if (overlap <= 0) continue;
      const name = categoryOf(id);
      r.parts.set(name, (r.parts.get(name) ?? 0) + overlap);
    }
  });
  return results.map(({ w, parts }) => {
    const wallUs = w.toUs - w.fromUs;
    const sampled = [...parts.values()].reduce((a, b) => a + b, 0);
    if (wallUs - sampled > wallUs * 0.005) parts.set("not sampled", wallUs - sampled);
    return {
      window: w.name,
      wallMs: Math.round(wallUs / 100) / 10,
      parts: [...parts]
        .sort((a, b) => b[1] - a[1])
        .map(([name, us]) => ({ name, ms: Math.round(us / 100) / 10, percent: Math.round((us / wallUs) * 1000) / 10 })),
    };
  });
}

/** The whole profile as one window (for a short process profiled from its start to its exit). */
export function wholeProfile(file: string, name: string): TimeWindow {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  return { name, fromUs: profile.startTime, toUs: profile.endTime };
}

/** Adds breakdowns of the same categories: ms summed, percent of the summed wall time. */
export function sumBreakdowns(window: string, parts: readonly Breakdown[]): Breakdown {
  const wallMs = parts.reduce((a, b) => a + b.wallMs, 0);
  const byName = new Map<string, number>();
  for (const b of parts) for (const p of b.parts) byName.set(p.name, (byName.get(p.name) ?? 0) + p.ms);
  return {
    window,
    wallMs: Math.round(wallMs * 10) / 10,
    parts: [...byName]
      .sort((a, b) => b[1] - a[1])
      .map(([name, ms]) => ({ name, ms: Math.round(ms * 10) / 10, percent: Math.round((ms / wallMs) * 1000) / 10 })),
  };
}

export function formatBreakdown(b: Breakdown): string[] {
  return [`  ${b.window}: ${b.wallMs.toFixed(0)} ms`, ...b.parts.map((p) => `    ${p.ms.toFixed(1).padStart(8)} ms ${p.percent.toFixed(1).padStart(5)}%  ${p.name}`)];
}
