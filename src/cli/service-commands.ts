// The commands that ask the server about services or change them: status, list,
// why, start, stop, restart, reload, enable, disable, signal, logs, shutdown, ready.

import { parseDuration } from "../config/values.js";
import type { Places } from "../places.js";
import { MAX_READY_WAIT_MS, type ServiceStatus } from "../server/protocol.js";
import { changedSettings } from "../server/run-settings.js";
import { describeMove } from "../system/writable.js";
import { ClientError, CommandError, NoServerError, request, type RequestBody } from "./client.js";
import { UserError } from "./errors.js";
import { paint, type Output } from "./output.js";

/** LSB `status` exit codes, used when names are given. */
const LSB = { running: 0, dead: 1, stopped: 3, unknown: 4 } as const;

export async function status(places: Places, out: Output, names: string[]): Promise<number> {
  let result;
  try {
    result = await request(places, names.length > 0 ? { cmd: "status", names } : { cmd: "status" });
  } catch (e) {
    if (e instanceof CommandError) throw new CommandError(e.message, LSB.unknown);
    // No server: nothing it runs is running (LSB 3), which `tend status NAME` says.
    if (e instanceof ClientError && names.length > 0) throw new UserError(e.message, LSB.stopped);
    throw e;
  }
  // A server older than this client may leave out what came later (tracking, warnings, the settings): each is checked.
  const { services, tracking, warnings, settings } = result;
  if (out.json) out.data(result);
  else {
    printStatusTable(out, services);
    if (names.length === 0 && tracking !== undefined) {
      out.line(tracking.kind === "cgroup" ? `process trees tracked by cgroup (${tracking.cgroup})` : "process trees tracked by session and process group (no writable cgroup2 hierarchy)");
    }
    if (names.length === 0) for (const m of settings?.places?.moved ?? []) out.line(describeMove(m));
    const changed = names.length === 0 && settings?.onBootFailure !== undefined ? changedSettings(settings) : [];
    if (changed.length > 0) out.line(`settings: ${changed.join(", ")}`);
    for (const warning of warnings ?? []) out.line(paint(out, "red", `warning: ${warning}`));
  }
  if (names.length === 0) return 0;
  if (services.some((s) => s.phase === "failed")) return LSB.dead;
  if (services.some((s) => s.phase !== "up" && s.type !== "task")) return LSB.stopped;
  return LSB.running;
}

export function printStatusTable(out: Output, services: ServiceStatus[]): void {
  const rows = services.map((s) => [
    s.name,
    s.type,
    s.reloading ? `${s.phase} (reloading)` : s.phase,
    s.pid === null ? "-" : String(s.pid),
    ago(s.since),
    detail(s),
  ]);
  const header = ["NAME", "KIND", "STATE", "PID", "SINCE", "DETAIL"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  out.line(paint(out, "bold", line(header)));
  for (const row of rows) {
    const colour = row[2] === "failed" ? "red" : row[2]!.startsWith("up") || row[2] === "running" ? "green" : null;
    out.line(colour === null ? line(row) : line(row).replace(` ${row[2]} `, ` ${paint(out, colour, row[2]!)} `));
  }
}

function detail(s: ServiceStatus): string {
  const parts: string[] = [];
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

function ago(epochMs: number): string {
  const seconds = Math.max(0, Math.round((Date.now() - epochMs) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
}

export async function list(places: Places, out: Output): Promise<number> {
  const services = await request(places, { cmd: "list" });
  if (out.json) return out.data(services), 0;
  const width = Math.max(4, ...services.map((s) => s.name.length));
  for (const s of services) out.line(`${s.name.padEnd(width)}  ${s.type.padEnd(7)}  ${s.description}${s.members ? ` [${s.members.join(" ")}]` : ""}`);
  return 0;
}

export async function why(places: Places, out: Output, name: string): Promise<number> {
  const lines = await request(places, { cmd: "why", name });
  if (out.json) out.data(lines);
  else for (const line of lines) out.line(line);
  return 0;
}

/** start / stop / restart: name what is affected, show progress on a terminal, wait for the outcome. */
export async function change(places: Places, out: Output, cmd: "start" | "stop" | "restart", names: string[], wait: boolean): Promise<number> {
  const live = !out.json && process.stdout.isTTY === true;
  const result = await request(places, { cmd, names, wait, progress: live }, (line) => {
    if (live && "affected" in line && line.affected.length > 0) out.line(`${cmd === "stop" ? "stopping" : cmd === "restart" ? "restarting" : "starting"}: ${line.affected.join(", ")}`);
    if (live && "progress" in line) {
      const p = line.progress;
      out.line(`  ${p.service}: ${p.phase}${p.reason ? ` (${p.reason})` : ""}`);
    }
  });
  if (out.json) return out.data(result), "failed" in result && result.failed.length > 0 ? 1 : 0;
  if ("affected" in result) {
    out.line(`${cmd}: asked for ${result.affected.join(", ")}`);
    return 0;
  }
  if (result.services.length === 0) out.line(`${cmd}: nothing to do (${names.join(", ")}: ${cmd === "stop" ? "not running" : "nothing concerned"})`);
  for (const s of result.services) {
    const state = s.phase === "failed" ? paint(out, "red", s.phase) : s.phase;
    out.line(`${s.name}: ${state}${s.reason ? ` (${s.reason})` : ""}`);
  }
  return result.failed.length > 0 ? 1 : 0;
}

export async function enable(places: Places, out: Output, cmd: "enable" | "disable", names: string[]): Promise<number> {
  let result;
  try {
    result = await request(places, { cmd, names });
  } catch (e) {
    if (!(e instanceof NoServerError)) throw e;
    return enableOffline(places, out, cmd, names);
  }
  if (out.json) out.data(result);
  else {
    const { booted } = result;
    const now = booted ? (cmd === "enable" ? "; starting it now" : "; stopping it unless something needs it") : "; this server was not booted, so boot sets take effect at the next 'tend boot'";
    out.line(`${cmd}d: ${names.join(", ")} (kept across server restarts${now})`);
  }
  return 0;
}

/** No server runs: the state file is edited for the next boot (src/cli/offline.ts). */
async function enableOffline(places: Places, out: Output, cmd: "enable" | "disable", names: string[]): Promise<number> {
  const { enableOffline: record } = await import("./offline.js");
  const { persistent, warnings } = record(places, cmd, names);
  for (const warning of warnings) out.error(`warning: ${warning}`);
  if (out.json) out.data({ ...persistent, booted: false, running: false });
  else {
    const them = names.length > 1 ? "them" : "it";
    out.line(`${cmd}d: ${names.join(", ")} (not running: the next 'tend boot' ${cmd === "enable" ? `starts ${them}` : `leaves ${them} out`})`);
  }
  return 0;
}

/** reload: each service's reload, waited for; 1 when one failed (the service keeps running). */
export async function reload(places: Places, out: Output, names: string[], wait: boolean): Promise<number> {
  const result = await request(places, { cmd: "reload", names, wait });
  if (out.json) return out.data(result), "failed" in result && result.failed.length > 0 ? 1 : 0;
  if ("reloading" in result) {
    out.line(`reload: asked of ${result.reloading.join(", ")}`);
    return 0;
  }
  for (const s of result.services) out.line(s.error === null ? `${s.name}: reloaded` : `${s.name}: ${paint(out, "red", "reload failed")}: ${s.error}`);
  return result.failed.length > 0 ? 1 : 0;
}

export async function signal(places: Places, out: Output, name: string, sig: string, main: boolean): Promise<number> {
  const result = await request(places, { cmd: "signal", name, signal: sig, ...(main ? { main } : {}) });
  const { pid, signal: sent } = result;
  if (out.json) out.data(result);
  else out.line(`sent ${sent} to ${name} (${main ? "main process" : "process group"} ${pid})`);
  return 0;
}

export async function logs(places: Places, out: Output, name: string, lines: number, follow: boolean): Promise<number> {
  await request(places, { cmd: "logs", name, lines, follow }, (line) => {
    if ("line" in line) out.line(out.json ? JSON.stringify({ line: line.line }) : line.line);
  });
  return 0;
}

export async function shutdown(places: Places, out: Output): Promise<number> {
  const live = !out.json && process.stdout.isTTY === true;
  const result = await request(places, { cmd: "shutdown" }, (line) => {
    if (live && "progress" in line) out.line(`  ${line.progress.service}: ${line.progress.phase}`);
  });
  if (out.json) out.data(result);
  else out.line("every service is down; the server is exiting");
  return 0;
}

/** `--wait DURATION` of `tend ready`, in ms, or the usage error. */
export function readyWait(text: string): number | string {
  const d = parseDuration(text);
  if (!d.ok) return `--wait: ${d.message}`;
  return d.value > MAX_READY_WAIT_MS ? `--wait: '${text}' is too long: at most 1d` : d.value;
}

/**
 * `tend ready`: 0 when every service is up (as a container's HEALTHCHECK asks), 1 when
 * not, saying which wait and which failed; 3 without a server, as `status NAME` says.
 * With `waitMs` the server answers once they are ready, one failed, or the time is up.
 */
export async function ready(places: Places, out: Output, names: string[], waitMs: number | undefined): Promise<number> {
  // Waiting includes waiting for the server: a container's startup probe may run before it listens.
  const deadline = waitMs === undefined ? 0 : Date.now() + waitMs;
  let r;
  for (;;) {
    const left = Math.max(0, deadline - Date.now());
    const body: RequestBody<"ready"> = { cmd: "ready", ...(names.length > 0 ? { names } : {}), ...(waitMs === undefined ? {} : { waitMs: left }) };
    try {
      r = await request(places, body);
      break;
    } catch (e) {
      if (e instanceof NoServerError && left > 0) {
        await new Promise((r) => setTimeout(r, Math.min(100, left)));
        continue;
      }
      if (e instanceof ClientError) throw new UserError(e.message, LSB.stopped);
      throw e;
    }
  }
  if (out.json) out.data(r);
  else if (r.ready) out.line("ready");
  else {
    const timedOut = waitMs !== undefined && r.failed.length === 0 && !r.shuttingDown;
    const parts = [
      ...(r.shuttingDown ? ["the server is shutting down"] : []),
      ...(r.failed.length > 0 ? [`failed: ${r.failed.join(", ")}`] : []),
      ...(r.waiting.length > 0 ? [`waiting for ${r.waiting.join(", ")}`] : []),
    ];
    out.line(`not ready${timedOut ? ` within ${waitMs % 1000 === 0 ? `${waitMs / 1000}s` : `${waitMs}ms`}` : ""}: ${parts.join("; ")}`);
  }
  return r.ready ? 0 : 1;
}
