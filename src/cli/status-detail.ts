// `tend status NAME`: one service in detail, as `systemctl status` shows a unit: what it
// is, its state and why (the engine's `tend why`), since when, what it runs, its
// processes and their memory, how it last ended, and its last log lines.

import { joinArgv } from "../config/argv.js";
import type { ServiceDetail } from "../server/protocol.js";
import type { ProcessInfo } from "../system/process-tree.js";
import { paint, plural, type Output } from "./output.js";

/** A service's last log lines, or why there are none to show. */
export type LogTail = { lines: string[] } | { error: string };

const ENABLEMENT = {
  enabled: "enabled (in what 'tend boot' starts)",
  disabled: "disabled ('tend disable' took it out of what 'tend boot' starts)",
  manual: "manual (not in what 'tend boot' starts by name)",
} as const;

export function printDetail(out: Output, s: ServiceDetail, log: LogTail, now = Date.now()): void {
  const colour = s.phase === "failed" ? "red" : s.phase === "up" || s.phase === "running" ? "green" : null;
  const field = (label: string, value: string, more: string[] = []): void => {
    out.line(`${label.padStart(10)}: ${value}`);
    for (const line of more) out.line(`${" ".repeat(12)}${line}`);
  };
  out.line(paint(out, "bold", `${s.name}${s.description ? ` - ${s.description}` : ""}`));
  field("Loaded", `${s.file}; ${ENABLEMENT[s.enablement]}`);
  field("Kind", s.type);
  const phase = s.reloading ? `${s.phase} (reloading)` : s.phase;
  const state = colour === null ? phase : paint(out, colour, phase);
  field("State", `${state} since ${localTime(s.since)} (${relative(s.since, now)})`, s.reason ? [s.reason] : []);
  // The first line of `tend why` says the state, which the line above shows.
  const why = s.why.slice(1);
  if (why.length > 0) field("Why", why[0]!, why.slice(1));
  if (s.statusText !== null) field("Status", `"${s.statusText}"`);
  if (s.nextRun !== null) field("Next run", `${localTime(s.nextRun)} (${relative(s.nextRun, now)})`);
  if (s.skipped > 0) field("Skipped", `${plural(s.skipped, "trigger")} skipped while running`);
  if (s.command !== null) field("Command", joinArgv(s.command));
  if (s.pid !== null) field("Main PID", String(s.pid));
  if (s.processes.length > 0) {
    const [top, ...rest] = tree(s.processes);
    const more = s.processCount - s.processes.length;
    field("Processes", top!, more > 0 ? [...rest, `… and ${more} more (${s.processCount} in all)`] : rest);
  }
  if (s.memory !== null) field("Memory", `${bytes(s.memory.bytes)} (${s.memory.from === "cgroup" ? "its cgroup's memory.current" : "the resident sets of its processes"})`);
  if (s.lastExit !== null) field("Last end", lastEnd(s.lastExit));
  if (s.type === "longrun") {
    const window = s.restartLimit === null ? "" : ` within ${duration(s.restartLimit.windowMs)} (the restart limit is ${s.restartLimit.count})`;
    field("Restarts", `${s.restarts}${window}`);
  } else field("Runs", String(s.runs));
  out.line();
  if ("error" in log) out.line(paint(out, "dim", `(no log lines: ${log.error})`));
  else if (log.lines.length === 0) out.line(paint(out, "dim", "(no log lines yet)"));
  else for (const line of log.lines) out.line(line);
}

/** How a process ended, in words: `exited with 3`, `killed by SIGKILL`. */
export function lastEnd(exit: { code: number | null; signal: string | null }): string {
  if (exit.signal !== null) return `killed by ${exit.signal}`;
  return `exited with ${exit.code}`;
}

/** The processes as a tree, a line each: `9712 sh -c …`, then `├─9713 sleep 1000` under it. */
function tree(processes: readonly ProcessInfo[]): string[] {
  const pids = new Set(processes.map((p) => p.pid));
  const children = new Map<number, ProcessInfo[]>();
  const roots: ProcessInfo[] = [];
  for (const p of processes) {
    if (pids.has(p.ppid) && p.ppid !== p.pid) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
    else roots.push(p);
  }
  const lines: string[] = [];
  const walk = (p: ProcessInfo, lead: string, branch: string): void => {
    lines.push(`${lead}${branch}${p.pid} ${p.command}`);
    const under = children.get(p.pid) ?? [];
    const next = lead + (branch === "" ? "" : branch === "├─" ? "│ " : "  ");
    under.forEach((c, i) => walk(c, next, i === under.length - 1 ? "└─" : "├─"));
  };
  for (const r of roots) walk(r, "", "");
  return lines;
}

/** Local time with its offset, `2026-12-02 10:00:03 +01:00`: what `tend logs --since` reads back. */
export function localTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, "0");
  const offset = -d.getTimezoneOffset();
  const zone = `${offset < 0 ? "-" : "+"}${two(Math.floor(Math.abs(offset) / 60))}:${two(Math.abs(offset) % 60)}`;
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${zone}`;
}

/** `3 min ago`, `in 5 min`, `2 h 10 min ago`. */
export function relative(ms: number, now: number): string {
  const span = duration(Math.abs(now - ms), true);
  return ms <= now ? `${span} ago` : `in ${span}`;
}

/** `45 s`, `3 min`, `2 h 10 min`, `4 d 2 h`; to the second under a minute. */
function duration(ms: number, spaced = false): string {
  const s = Math.floor(ms / 1000);
  const join = (a: string, b: string | null): string => (b === null ? a : `${a} ${b}`);
  const unit = (n: number, u: string): string | null => (n === 0 ? null : spaced ? `${n} ${u}` : `${n}${u}`);
  if (s < 60) return spaced ? `${s} s` : `${s}s`;
  if (s < 3600) return unit(Math.floor(s / 60), "min")!;
  if (s < 86400) return join(unit(Math.floor(s / 3600), "h")!, unit(Math.floor((s % 3600) / 60), "min"));
  return join(unit(Math.floor(s / 86400), "d")!, unit(Math.floor((s % 86400) / 3600), "h"));
}

/** `512K`, `3.4M`, `1.2G`: powers of 1024, as systemctl shows memory. */
function bytes(n: number): string {
  const units = ["B", "K", "M", "G", "T"];
  let value = n;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${i === 0 || value >= 100 ? Math.round(value) : value.toFixed(1)}${units[i]}`;
}
