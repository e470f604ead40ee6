// The table of `tend status`: a line per service, its kind, state, main process, since
// when, and why. The server renders it (the `table` request): it is warm, while the CLI
// that shows it is a process a few milliseconds old, in which formatting 1,000 rows and
// parsing their JSON cost more than the rest of its work (W3 in docs/benchmarks.md).

import type { ServiceStatus } from "../server/protocol.js";
import { paint } from "./output.js";

export interface TableOptions {
  /** The services `tend disable` took out of the boot: their row says so. */
  disabled: ReadonlySet<string>;
  /** The time "since" counts from (ms since the epoch). */
  now: number;
  /** Terminal colours (the CLI's choice: a terminal without NO_COLOR). */
  colour: boolean;
}

/** The table's lines, its header first. */
export function statusTable(services: readonly ServiceStatus[], options: TableOptions): string[] {
  const rows = services.map((s) => [
    s.name,
    s.type,
    s.reloading ? `${s.phase} (reloading)` : s.phase,
    s.pid === null ? "-" : String(s.pid),
    ago(options.now, s.since),
    detail(s, options.disabled.has(s.name)),
  ]);
  const header = ["NAME", "KIND", "STATE", "PID", "SINCE", "DETAIL"];
  // Every column but the last is padded to its widest cell. One pass over the rows and a
  // string built by `+=` per line: the server renders this at every `tend status`, and
  // arrays made per cell cost it more than the text (W3 in docs/benchmarks.md).
  const widths = header.map((h) => h.length);
  for (const row of rows) for (let i = 0; i < row.length - 1; i++) widths[i] = Math.max(widths[i]!, row[i]!.length);
  const line = (cells: string[], state: string): string => {
    let text = "";
    for (let i = 0; i < cells.length - 1; i++) text += `${i === 2 ? state : cells[i]}${" ".repeat(widths[i]! - cells[i]!.length + 2)}`;
    return (text + cells[cells.length - 1]).trimEnd();
  };
  const lines = [paint(options, "bold", line(header, header[2]!))];
  for (const row of rows) {
    const state = row[2]!;
    const colour = state === "failed" ? "red" : state.startsWith("up") || state === "running" ? "green" : null;
    lines.push(line(row, colour === null ? state : paint(options, colour, state)));
  }
  return lines;
}

function detail(s: ServiceStatus, disabled: boolean): string {
  const parts: string[] = [];
  if (disabled) parts.push("disabled");
  if (s.reason) parts.push(s.reason);
  if (s.statusText) parts.push(`"${s.statusText}"`);
  if (s.phase === "down" && s.wanted && !s.reason) parts.push("waiting to start");
  if (s.phase !== "down" && !s.wanted && s.phase !== "failed") parts.push("not wanted");
  if (s.restarts > 0 && !(s.reason ?? "").startsWith("restarting")) parts.push(`${s.restarts} recent restart${s.restarts > 1 ? "s" : ""}`);
  if (s.type === "task" && s.runs > 0) parts.push(`${s.runs} run${s.runs > 1 ? "s" : ""}`);
  if (s.skipped > 0) parts.push(`${s.skipped} trigger${s.skipped > 1 ? "s" : ""} skipped while running`);
  if (s.nextRun !== null) parts.push(`next ${new Date(s.nextRun).toISOString().replace(/\.\d+Z$/, "Z")}`);
  return parts.join("; ");
}

function ago(now: number, epochMs: number): string {
  const seconds = Math.max(0, Math.round((now - epochMs) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
}
