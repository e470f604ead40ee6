// `tend demo` (what `npm start` runs): the example service set, copied into a private
// root under the package (its sources place) with settings of its own (a free port,
// a data directory in the root: settings/demo.env), and run by an in-process server
// as the current user; so nothing on the machine is touched, and two checkouts run
// side by side. On a terminal it keeps running until Ctrl-C; otherwise, or once nobody reads
// its output any more (`npm start | head`), it stops everything again, in order.

import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { compile } from "../compile/compile.js";
import { installDatabase } from "../compile/database.js";
import { places } from "../places.js";
import { runServer } from "../server/server.js";
import { call } from "./client.js";
import { UserError } from "./errors.js";
import { paint, printDiagnostic, type Output } from "./output.js";
import { isTerminal, keepRunningWithoutOutput, ownStream, writable } from "./own-output.js";
import { printTable } from "./status-table.js";

/** The package's own directory, found from wherever the bundle was loaded. */
export function packageDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (dir !== dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "tend") return dir;
    dir = dirname(dir);
  }
  throw new Error("cannot find tend's package directory");
}

/** A TCP port of 127.0.0.1 free at this moment. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export async function runDemo(given: Output): Promise<number> {
  // Output nobody reads any more ends the demo in order, never the process at once:
  // the services run in the keeper, which would outlive a server that just exited.
  keepRunningWithoutOutput();
  const out: Output = { ...given, line: (text) => void (writable(1) && given.line(text)) };
  const pkg = packageDir();
  const root = join(pkg, ".demo");
  const where = places({ root, env: process.env, uid: process.getuid?.() ?? 0 });
  const running = await call(where, { cmd: "ping" }).catch(() => null);
  if (running?.ok) {
    throw new UserError(`a demo is already running (server pid ${running.result.pid}); stop it with Ctrl-C or 'tend --root ${root} shutdown'`);
  }
  rmSync(root, { recursive: true, force: true }); // a fresh start each time
  // The set, its data and its sockets live in the root; the services read where from settings/demo.env.
  const examples = join(pkg, "examples");
  cpSync(examples, where.sources, { recursive: true });
  const port = await freePort();
  writeFileSync(join(where.sources, "settings/demo.env"), `DEMO_PORT=${port}\nDEMO_DIR=${join(root, "tmp")}\n`, { mode: 0o644 });
  const result = compile({ sourceDir: where.sources, hostChecks: true });
  for (const d of result.diagnostics) printDiagnostic(out, d);
  if (result.compiled === null) return 1;
  installDatabase(where.state, result.compiled);
  out.line(`${paint(out, "green", "accepted")}: ${examples} (copied to ${where.sources}): ${result.serviceCount} services; boot plan:`);
  result.compiled.boot.forEach((wave, i) => out.line(`  ${i + 1}. ${wave.join("  ")}`));
  out.line(`running them under ${root} (logs in ${where.log}), web on 127.0.0.1:${port}\n`);

  let listening: () => void = () => {};
  const ready = new Promise<void>((resolve) => (listening = resolve));
  const server = runServer({ places: where, boot: false, settings: {}, log: (line) => out.line(paint(out, "dim", `  [tend] ${line}`)), onListening: listening });
  // The server may fail to start (it says why): then there is nothing to show.
  const started = await Promise.race([ready.then(() => true), server.then(() => false)]);
  if (!started) return 1;
  let stopping = false;
  const stopAll = (): void => {
    if (stopping) return;
    stopping = true;
    void call(where, { cmd: "shutdown" }).catch(() => {});
  };
  if (!writable(1)) stopAll();
  ownStream(1).once("error", stopAll);

  // Once stopping, the server may be gone before these are answered: that is no error.
  try {
    await call(where, { cmd: "start", names: ["default"], wait: true });
    const table = stopping ? null : await call(where, { cmd: "table" });
    if (table?.ok) {
      out.line();
      printTable(out, table.result, null);
    }
  } catch (e) {
    if (!stopping) throw e;
  }
  if (isTerminal(1) && process.stdin.isTTY) {
    out.line("\nthe demo keeps running: try 'tend --root .demo status' or 'tend --root .demo logs web' in another terminal; Ctrl-C stops everything in order");
  } else if (!stopping) {
    out.line("\nnot on a terminal: stopping everything in order");
    stopAll();
  }
  return server;
}
