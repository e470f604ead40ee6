// `tend status` without a connection: the server keeps the table it would answer (the
// `table` reply) in a file, RUN/status.json, which the CLI reads instead of connecting,
// as s6-svstat and runit's sv read the supervise/status files. A Node client that
// connects pays for node:net, its streams and a round trip, about 6 ms of W3
// (docs/benchmarks.md); reading one file costs a tenth of that.
//
// How current it is: the file is replaced (never written in place: a reader sees the
// old table or the new one) STATUS_FILE_INTERVAL_MS after something it shows changed,
// with whatever else changed meanwhile (a start of 500 is not 500 tables); and before
// the server sends any reply, a change not in it yet is written, so that what a command
// did (`tend start web` returned) is in the table read next. It names the server that wrote
// it by pid and start time: the CLI takes it only while that very process runs, and
// asks the server otherwise (one that died leaves its file). The server removes it at
// its end. One it cannot write is removed, said once in its log: the CLI asks meanwhile.

import { rmSync } from "node:fs";
import { join } from "node:path";
import { readRegularFile } from "../system/bounded-read.js";
import { writeFileAtomically } from "../system/files.js";
import { identityOf, runningPidOf } from "../system/processes.js";
import type { TableResult } from "./protocol.js";

export const STATUS_FILE = "status.json";
/** How long after a change the file follows, with the changes made meanwhile (but for a reply, which writes it at once). */
const STATUS_FILE_INTERVAL_MS = 250;
/** The file's format: a reader takes this one only (a server of another version may write another). */
const FORMAT = 1;
/** More than a table of 100,000 services: a file this large (or not a regular file: a FIFO would block) is none of a server's. */
const MAX_BYTES = 32 * 1024 * 1024;
/** Everyone may read it, as everyone may ask the status socket (docs/protocol.md, "Access"). */
const MODE = 0o644;

interface Content extends TableResult {
  format: typeof FORMAT;
  /** The server that wrote it: "PID START" (system/processes.ts `identityOf`). */
  server: string;
}

export interface StatusFile {
  /** From now on the file follows `table` (before, changes are only noted): once the server serves. */
  serve(table: () => TableResult): void;
  /** Something the table shows may have changed. */
  changed(): void;
  /** Before a reply: a change not in the file yet is written now. */
  flush(): void;
  /** At the server's end: the file goes, and is not written again. */
  close(): void;
}

export function keepStatusFile(runDir: string, log: (line: string) => void): StatusFile {
  const path = join(runDir, STATUS_FILE);
  const server = identityOf(process.pid);
  let table: (() => TableResult) | null = null;
  let dirty = false;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  /** What the file holds now (null: unknown, or none): a table that did not change is not written again. */
  let written: string | null = null;
  let failing = false;

  const cancel = (): void => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  const write = (): void => {
    cancel();
    if (!dirty || table === null || closed) return;
    dirty = false;
    const content: Content = { format: FORMAT, server, ...table() };
    const text = JSON.stringify(content);
    if (text === written) return;
    try {
      writeFileAtomically(path, text, { mode: MODE, durable: false });
      written = text;
      if (failing) log(`${path} is written again`);
      failing = false;
    } catch (e) {
      written = null;
      const removed = remove();
      if (!failing) log(`cannot write ${path}: ${(e as Error).message}; 'tend status' asks the server instead${removed ? "" : ", but the old file could not be removed either: it shows an old table"}`);
      failing = true;
    }
  };
  const remove = (): boolean => {
    try {
      rmSync(path, { force: true });
      return true;
    } catch {
      return false;
    }
  };
  const schedule = (): void => {
    if (timer !== null || table === null || closed) return;
    timer = setTimeout(write, STATUS_FILE_INTERVAL_MS);
    timer.unref();
  };
  return {
    serve(t) {
      table = t;
      dirty = true;
      schedule();
    },
    changed() {
      dirty = true;
      schedule();
    },
    flush: write,
    close() {
      closed = true;
      cancel();
      remove();
    },
  };
}

/** The table in `runDir`'s status file while the server that wrote it runs; null: ask the server. */
export function readStatusFile(runDir: string): TableResult | null {
  let content: unknown;
  try {
    content = JSON.parse(readRegularFile(join(runDir, STATUS_FILE), MAX_BYTES).toString("utf8"));
  } catch {
    return null; // none (no server, or one that cannot write it), not a file, too large, or not JSON: damaged
  }
  return isContent(content) && runningPidOf(content.server) !== null ? content : null;
}

/** Whether a parsed file has every part `tend status` shows, of the types it shows them as. */
function isContent(value: unknown): value is Content {
  const c = value as Partial<Content> | null;
  if (typeof c !== "object" || c === null || c.format !== FORMAT || typeof c.server !== "string") return false;
  const t = c.table;
  if (typeof t !== "object" || t === null || typeof t.head !== "string" || typeof t.state?.at !== "number" || typeof t.state.width !== "number" || !Array.isArray(t.rows)) return false;
  // By index: the CLI runs this in V8's interpreter, where an iterator costs more than the checks.
  const rows: unknown[] = t.rows;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (!Array.isArray(r) || typeof r[0] !== "string" || typeof r[1] !== "string" || typeof r[2] !== "number" || typeof r[3] !== "string") return false;
  }
  const { tracking, settings, warnings, bootFailures } = c;
  return typeof tracking?.kind === "string" && typeof settings === "object" && settings !== null && Array.isArray(settings.places?.moved) && Array.isArray(warnings) && Array.isArray(bootFailures);
}
