// The table of `tend status`: a line per service, its kind, state, main process, since
// when, and why. It is made in two halves. The server lays it out (`layOut`, for the
// `table` reply and the status file: src/server/status-file.ts): every cell padded but
// SINCE, which counts from the moment it is shown. The CLI completes it (`showTable`):
// the SINCE column, the colours, the rows of the states asked for. Padding 1,000 rows
// in a process a few milliseconds old costs more than the rest of its work; the SINCE
// of each is one short string (W3 in docs/benchmarks.md).

import { PHASES, type Phase } from "../engine/types.js";
import type { ServiceStatus, TableLayout, TableResult } from "../server/protocol.js";
import { changedSettings } from "../server/run-settings.js";
import { describeMove } from "../system/writable.js";
import { paint, plural, type Output } from "./output.js";

const HEADER = ["NAME", "KIND", "STATE", "PID"] as const;
const SINCE = "SINCE";
const DETAIL = "DETAIL";
/** The space between two columns. */
const GAP = 2;

/** The table of `services` as the server lays it out; `disabled` are those `tend disable` took out of the boot (their row says so). */
export function layOut(services: readonly ServiceStatus[], disabled: ReadonlySet<string>): TableLayout {
  const cells = services.map((s) => [s.name, s.type, s.reloading ? `${s.phase} (reloading)` : s.phase, s.pid === null ? "-" : String(s.pid)] as const);
  // One pass over the rows and a string built by `+=` per line: the server lays this out
  // at every change, and arrays made per cell cost it more than the text.
  const widths: number[] = HEADER.map((h) => h.length);
  for (const row of cells) for (let i = 0; i < row.length; i++) widths[i] = Math.max(widths[i]!, row[i]!.length);
  const padded = (row: readonly string[]): string => {
    let text = "";
    for (let i = 0; i < row.length; i++) text += row[i]! + " ".repeat(widths[i]! - row[i]!.length + GAP);
    return text;
  };
  return {
    head: padded(HEADER),
    state: { at: widths[0]! + widths[1]! + 2 * GAP, width: widths[2]! },
    rows: services.map((s, i) => [padded(cells[i]!), s.phase, s.since, detail(s, disabled.has(s.name))]),
  };
}

export interface ShowOptions {
  /** The time "since" counts from (ms since the epoch). */
  now: number;
  /** Terminal colours (the CLI's choice: a terminal without NO_COLOR). */
  colour: boolean;
  /** Only the rows of services in one of these phases (`--state`, `--failed`); null: all. */
  phases: readonly Phase[] | null;
}

/** The table's lines, its header first, joined by newlines (no last one). */
export function showTable(layout: TableLayout, options: ShowOptions): string {
  const { now, phases } = options;
  const rows = phases === null ? layout.rows : layout.rows.filter((r) => phases.includes(r[1]));
  const since = rows.map((r) => ago(now, r[2]));
  let width = SINCE.length;
  for (const s of since) if (s.length > width) width = s.length;
  const gap = " ".repeat(width + GAP);
  let text = paint(options, "bold", layout.head + SINCE + gap.slice(SINCE.length) + DETAIL);
  // By index, not by destructuring: this runs in V8's interpreter, where an iterator per row costs more than the row.
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const s = since[i]!;
    const detail = row[3];
    text += `\n${options.colour ? coloured(row[0], row[1], layout.state) : row[0]}${s}${detail === "" ? "" : gap.slice(s.length) + detail}`;
  }
  return text;
}

/** `--failed` and `--state=STATE[,STATE…]`: the phases to show (null: all), or the usage error. */
export function statusPhases(failed: boolean, state: string | undefined): Phase[] | null | string {
  if (state === undefined) return failed ? ["failed"] : null;
  const phases = state.split(",").map((p) => p.trim());
  const wrong = phases.find((p) => !(PHASES as readonly string[]).includes(p));
  if (wrong !== undefined) return `--state: '${wrong}' is not a state: use ${PHASES.join(", ")} (several with commas)`;
  return [...new Set([...(phases as Phase[]), ...(failed ? (["failed"] as const) : [])])];
}

/** The boot's line under the table names this many of its failures, then says how many more. */
const BOOT_FAILURES_NAMED = 10;

/** The table of `tend status` (of the services in `phases`, or all), as the server laid it out, and what the server says about itself below it. */
export function printTable(out: Output, result: TableResult, phases: readonly Phase[] | null): void {
  // A server older than this client (not restarted since an upgrade) sends the table as its text, and leaves out the boot's failures.
  const table: TableLayout | string = result.table;
  out.line(typeof table === "string" ? table : showTable(table, { now: Date.now(), colour: out.colour, phases }));
  const { tracking, settings, warnings, bootFailures } = result;
  if (bootFailures !== undefined && bootFailures.length > 0) {
    const named = bootFailures.slice(0, BOOT_FAILURES_NAMED).map((f) => `${f.service} (${f.reason})`);
    if (bootFailures.length > BOOT_FAILURES_NAMED) named.push(`and ${bootFailures.length - BOOT_FAILURES_NAMED} more ('tend analyze boot')`);
    out.line(paint(out, "red", `boot: ${plural(bootFailures.length, "service")} failed: ${named.join(", ")}`));
  }
  out.line(tracking.kind === "cgroup" ? `process trees tracked by cgroup (${tracking.cgroup})` : "process trees tracked by session and process group (no writable cgroup2 hierarchy)");
  for (const m of settings.places.moved) out.line(describeMove(m));
  const changed = changedSettings(settings);
  if (changed.length > 0) out.line(`settings: ${changed.join(", ")}`);
  for (const warning of warnings) out.line(paint(out, "red", `warning: ${warning}`));
}

/** A row's cells with its state painted: red when failed, green when up or running. */
function coloured(cells: string, phase: Phase, state: TableLayout["state"]): string {
  const colour = phase === "failed" ? "red" : phase === "up" || phase === "running" ? "green" : null;
  if (colour === null) return cells;
  const text = cells.slice(state.at, state.at + state.width).trimEnd();
  return cells.slice(0, state.at) + paint({ colour: true }, colour, text) + cells.slice(state.at + text.length);
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
