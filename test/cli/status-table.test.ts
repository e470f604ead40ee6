// The table of `tend status` in its two halves (src/cli/status-table.ts): the server's
// layout (every cell padded but SINCE) and the CLI's completion of it (SINCE counted
// from now, the colours, the rows of the states asked for).

import { test } from "node:test";
import assert from "node:assert/strict";
import { layOut, printTable, showTable } from "../../src/cli/status-table.js";
import type { Output } from "../../src/cli/output.js";
import type { ServiceStatus, TableResult } from "../../src/server/protocol.js";

const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);
const service = (name: string, more: Partial<ServiceStatus>): ServiceStatus => ({
  name,
  type: "longrun",
  description: "",
  phase: "up",
  wanted: true,
  pid: 100,
  since: NOW,
  reason: null,
  lastExit: null,
  restarts: 0,
  runs: 0,
  skipped: 0,
  nextRun: null,
  statusText: null,
  reloading: false,
  ...more,
});

const services = [
  service("web", { pid: 4242, since: NOW - 3 * 3600_000, statusText: "serving" }),
  service("database", { phase: "failed", pid: null, since: NOW - 5_000, reason: "exited with 3", wanted: false }),
  service("cache", { phase: "down", pid: null, since: NOW - 40_000 }),
  service("cron", { reloading: true, since: NOW - 90 * 86400_000 }),
];

test("every column padded to its widest cell, SINCE too; a row without detail ends at its SINCE", () => {
  const layout = layOut(services, new Set(["cache"]));
  assert.deepEqual(showTable(layout, { now: NOW, colour: false, phases: null }).split("\n"), [
    "NAME      KIND     STATE           PID   SINCE    DETAIL",
    'web       longrun  up              4242  3h ago   "serving"',
    "database  longrun  failed          -     5s ago   exited with 3",
    "cache     longrun  down            -     40s ago  disabled; waiting to start",
    "cron      longrun  up (reloading)  100   90d ago",
  ]);
});

test("--state and --failed keep their rows, in the widths of the whole table; SINCE as wide as the rows shown", () => {
  const layout = layOut(services, new Set());
  assert.deepEqual(showTable(layout, { now: NOW, colour: false, phases: ["failed"] }).split("\n"), [
    "NAME      KIND     STATE           PID   SINCE   DETAIL",
    "database  longrun  failed          -     5s ago  exited with 3",
  ]);
  assert.deepEqual(showTable(layout, { now: NOW, colour: false, phases: ["stopping"] }).split("\n"), ["NAME      KIND     STATE           PID   SINCE  DETAIL"]);
});

test("on a terminal the header is bold, a failed state red, an up or running one green, the padding outside the colour", () => {
  const lines = showTable(layOut(services, new Set()), { now: NOW, colour: true, phases: null }).split("\n");
  assert.equal(lines[0], "\x1b[1mNAME      KIND     STATE           PID   SINCE    DETAIL\x1b[0m");
  assert.equal(lines[1], 'web       longrun  \x1b[32mup\x1b[0m              4242  3h ago   "serving"');
  assert.equal(lines[2], "database  longrun  \x1b[31mfailed\x1b[0m          -     5s ago   exited with 3");
  assert.equal(lines[3], "cache     longrun  down            -     40s ago  waiting to start");
  assert.equal(lines[4], "cron      longrun  \x1b[32mup (reloading)\x1b[0m  100   90d ago");
});

test("a server older than the CLI (not restarted since an upgrade) sends the table's text: printed as it came", () => {
  const lines: string[] = [];
  const out: Output = { json: false, colour: false, line: (text = "") => void lines.push(text), error: () => {}, data: () => {} };
  const settings = { exitWith: null, onBootFailure: "report", stopGraceMs: 8000, logFormat: "text", serviceLogs: "auto", syslog: "off", compile: false, file: "", controlGroup: null, places: { state: "", log: "", moved: [] } };
  const old = { generation: 1, shuttingDown: false, tracking: { kind: "fallback", cgroup: null }, settings, boot: null, end: null, warnings: [], table: "NAME  KIND\nweb   longrun" };
  printTable(out, old as unknown as TableResult, null);
  assert.deepEqual(lines, ["NAME  KIND\nweb   longrun", "process trees tracked by session and process group (no writable cgroup2 hierarchy)"]);
});
