// The commands that ask the server about services or change them: status, is-active,
// is-enabled, list, why, start, stop, restart, reload, enable, disable, signal,
// shutdown, ready.

import { parseDuration } from "../config/values.js";
import type { Places } from "../places.js";
import type { Phase } from "../engine/types.js";
import { MAX_READY_WAIT_MS, type InspectResult, type ServiceDetail, type ServiceStatus } from "../server/protocol.js";
import { readStatusFile } from "../server/status-file.js";
import { ClientError, CommandError, NoServerError, request, requestOnceListening } from "./client.js";
import { UserError } from "./errors.js";
import { paint, type Output } from "./output.js";
import { isTerminal } from "./own-output.js";
import { printTable } from "./status-table.js";
import type { LogTail } from "./status-detail.js";

/** LSB `status` exit codes, used when names are given. */
const LSB = { running: 0, dead: 1, stopped: 3, unknown: 4 } as const;

export interface StatusOptions {
  /** Only the services in one of these phases (`--state`, `--failed`); null: all. */
  phases: readonly Phase[] | null;
  /** `-q`: print nothing, answer with the exit code only. */
  quiet: boolean;
}

/**
 * `tend status`: the table of every service; with names, each named service in
 * detail (status-detail.ts), exiting with the LSB codes; `-q` asks only for the codes.
 */
export async function status(places: Places, out: Output, names: string[], options: StatusOptions): Promise<number> {
  const keep = <S extends ServiceStatus>(services: S[]): S[] => (options.phases === null ? services : services.filter((s) => options.phases!.includes(s.phase)));
  let services: ServiceStatus[];
  try {
    if (names.length > 0 && !options.quiet) {
      const result = await inspect(places, names);
      services = result.services;
      const shown = keep(result.services);
      if (out.json) out.data({ services: shown.map((s) => ({ ...s, log: result.logs.get(s.name) })), warnings: result.warnings });
      else printDetails(out, shown, result, (await import("./status-detail.js")).printDetail);
    } else if (names.length > 0 || options.quiet || out.json) {
      const result = await request(places, names.length > 0 ? { cmd: "status", names } : { cmd: "status" });
      services = result.services;
      const shown = keep(result.services);
      if (options.quiet) {
        // the exit code says it
      } else out.data({ ...result, services: shown });
    } else {
      // The server's status file, while the server that wrote it runs: no connection to make (server/status-file.ts).
      printTable(out, readStatusFile(places.run) ?? (await request(places, { cmd: "table" })), options.phases);
      return 0;
    }
  } catch (e) {
    if (e instanceof CommandError) throw new CommandError(e.message, LSB.unknown);
    // No server: nothing it runs is running (LSB 3), which `tend status NAME` says.
    if (e instanceof ClientError && names.length > 0) throw new UserError(e.message, LSB.stopped);
    throw e;
  }
  if (names.length === 0) return 0;
  if (services.some((s) => s.phase === "failed")) return LSB.dead;
  if (services.some((s) => s.phase !== "up" && s.type !== "task")) return LSB.stopped;
  return LSB.running;
}

/** The detail of each service, and the warnings; `printDetail` is loaded only for it, since the table is what must start fast. */
function printDetails(out: Output, services: ServiceDetail[], result: InspectResult & { logs: Map<string, LogTail> }, printDetail: (out: Output, s: ServiceDetail, log: LogTail) => void): void {
  services.forEach((s, i) => {
    if (i > 0) out.line();
    printDetail(out, s, result.logs.get(s.name)!);
  });
  for (const warning of result.warnings) out.line(paint(out, "red", `warning: ${warning}`));
}

/**
 * The named services in detail, each with its last 10 log lines, or why there are none
 * (`logs` needs more than `status`). One request after another: a user may hold only
 * so many connections at once (docs/protocol.md, "Limits").
 */
async function inspect(places: Places, names: string[]): Promise<InspectResult & { logs: Map<string, LogTail> }> {
  const result = await request(places, { cmd: "inspect", names });
  const logs = new Map<string, LogTail>();
  for (const s of result.services) {
    const lines: string[] = [];
    try {
      await request(places, { cmd: "logs", name: s.name, lines: DETAIL_LOG_LINES }, (reply) => {
        if ("line" in reply) lines.push(reply.line);
      });
      logs.set(s.name, { lines });
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      logs.set(s.name, { error: e.message });
    }
  }
  return { ...result, logs };
}

const DETAIL_LOG_LINES = 10;

/** systemctl's words for the phases: `is-active` prints them. */
const ACTIVITY: Readonly<Record<Phase, string>> = { up: "active", running: "active", starting: "activating", stopping: "deactivating", down: "inactive", failed: "failed" };

/** `tend is-active NAME…`: a word per name (unless quiet); 0 when every one is active (up, or a task running), else 3. */
export async function isActive(places: Places, out: Output, names: string[], quiet: boolean): Promise<number> {
  let services;
  try {
    ({ services } = await request(places, { cmd: "status", names }));
  } catch (e) {
    if (e instanceof CommandError) throw new CommandError(e.message, LSB.unknown);
    if (e instanceof ClientError) throw new UserError(e.message, LSB.stopped);
    throw e;
  }
  const words = services.map((s) => ({ name: s.name, state: ACTIVITY[s.phase], phase: s.phase }));
  if (quiet) {
    // nothing to print
  } else if (out.json) out.data(words);
  else for (const w of words) out.line(w.state);
  return words.every((w) => w.state === "active") ? 0 : LSB.stopped;
}

/** `tend is-enabled NAME…`: a word per name (unless quiet); 0 when every one is enabled, else 1. */
export async function isEnabled(places: Places, out: Output, names: string[], quiet: boolean): Promise<number> {
  const states = await request(places, { cmd: "is-enabled", names });
  if (quiet) {
    // nothing to print
  } else if (out.json) out.data(states);
  else for (const s of states) out.line(s.enablement);
  return states.every((s) => s.enablement === "enabled") ? 0 : 1;
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

/**
 * start / stop / restart: wait for the outcome, then name each service that changed,
 * in the order each reached where it is (a stop: dependents first), the named ones and
 * what came up or went down with them; on a terminal, each change as it happens too.
 */
export async function change(places: Places, out: Output, cmd: "start" | "stop" | "restart", names: string[], wait: boolean): Promise<number> {
  const live = !out.json && isTerminal(1);
  /** Each service's last change, in the order of those changes: the server's progress lines. */
  const changes = new Map<string, { name: string; phase: Phase; reason: string | null }>();
  // The progress is what orders the lines: asked for whenever text is printed.
  const result = await request(places, { cmd, names, wait, progress: !out.json }, (line) => {
    if (live && "affected" in line && line.affected.length > 0) out.line(`${cmd === "stop" ? "stopping" : cmd === "restart" ? "restarting" : "starting"}: ${line.affected.join(", ")}`);
    if ("progress" in line) {
      const p = line.progress;
      changes.delete(p.service);
      changes.set(p.service, { name: p.service, phase: p.phase, reason: p.reason });
      if (live) out.line(`  ${p.service}: ${p.phase}${p.reason ? ` (${p.reason})` : ""}`);
    }
  });
  if (out.json) return out.data(result), "failed" in result && result.failed.length > 0 ? 1 : 0;
  if ("affected" in result) {
    out.line(`${cmd}: asked for ${result.affected.join(", ")}`);
    return 0;
  }
  if ("dryRun" in result) throw new UserError("the server answered a dry run to a request that asked for none");
  if (result.services.length === 0 && changes.size === 0) out.line(`${cmd}: nothing to do (${names.join(", ")}: ${cmd === "stop" ? "not running" : "nothing concerned"})`);
  // Those the command concerns that did not change first (a start of what is up), then the changes in order, where the outcome left them.
  const outcome = new Map(result.services.map((s) => [s.name, s]));
  for (const s of [...result.services.filter((s) => !changes.has(s.name)), ...[...changes.values()].map((c) => outcome.get(c.name) ?? c)]) {
    const state = s.phase === "failed" ? paint(out, "red", s.phase) : s.phase;
    out.line(`${s.name}: ${state}${s.reason ? ` (${s.reason})` : ""}`);
  }
  return result.failed.length > 0 ? 1 : 0;
}

/**
 * `--dry-run` of start, stop, restart, enable and disable: the server says what the
 * command would change (its engine's preview) and changes nothing. A script reads
 * `--json`: every list empty means nothing would change.
 */
export async function dryRun(places: Places, out: Output, cmd: "start" | "stop" | "restart" | "enable" | "disable", names: string[]): Promise<number> {
  let result;
  try {
    result = await request(places, { cmd, names, dryRun: true });
  } catch (e) {
    if (e instanceof NoServerError && (cmd === "enable" || cmd === "disable")) throw new UserError(`--dry-run asks the running server, and none runs (${e.message})`);
    throw e;
  }
  if (!("dryRun" in result)) throw new UserError("the server does not know --dry-run for this command (it is older than this client)");
  if (out.json) return out.data(result), 0;
  const rows: [string, string[]][] = [
    ["would stop", result.stop],
    ["would restart", result.restart],
    ["would start", result.start],
    ["the next boot would change", result.enablement.map((c) => `${c.name} (${c.from} → ${c.to})`)],
  ];
  if (rows.every(([, listed]) => listed.length === 0)) out.line(`${cmd} ${names.join(" ")}: nothing would change`);
  for (const [what, listed] of rows) if (listed.length > 0) out.line(`${what}: ${listed.join(", ")}`);
  out.line("dry run: nothing was changed");
  return 0;
}

export async function enable(places: Places, out: Output, cmd: "enable" | "disable", names: string[]): Promise<number> {
  let result;
  try {
    result = await request(places, { cmd, names });
    if ("dryRun" in result) throw new UserError("the server answered a dry run to a request that asked for none");
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

export async function shutdown(places: Places, out: Output): Promise<number> {
  const live = !out.json && isTerminal(1);
  const result = await request(places, { cmd: "shutdown" }, (line) => {
    if (live && "progress" in line) out.line(`  ${line.progress.service}: ${line.progress.phase}`);
  });
  if (out.json) out.data(result);
  else out.line("every service is down; the server is exiting");
  return 0;
}

/** `--wait DURATION` of `tend ready` (or `--timeout` of `tend monitor`: `option`), in ms, or the usage error. */
export function readyWait(text: string, option = "--wait"): number | string {
  const d = parseDuration(text);
  if (!d.ok) return `${option}: ${d.message}`;
  return d.value > MAX_READY_WAIT_MS ? `${option}: '${text}' is too long: at most 1d` : d.value;
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
  try {
    r = await requestOnceListening(places, deadline, (left) => ({ cmd: "ready", ...(names.length > 0 ? { names } : {}), ...(waitMs === undefined ? {} : { waitMs: left }) }));
  } catch (e) {
    if (e instanceof ClientError) throw new UserError(e.message, LSB.stopped);
    throw e;
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
