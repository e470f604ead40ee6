// `tend demo` (what `npm start` runs): the example service set, compiled into a
// private root under the package and run by an in-process server as the current
// user, so nothing on the machine is touched. On a terminal it keeps running until
// Ctrl-C; otherwise it shows what came up and stops everything again.

import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { compile } from "../compile/compile.js";
import { installDatabase } from "../compile/database.js";
import { places } from "../places.js";
import { runServer } from "../server/server.js";
import { call } from "./client.js";
import { UserError } from "./errors.js";
import { paint, printDiagnostic, type Output } from "./output.js";
import { printStatusTable } from "./service-commands.js";

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

export async function runDemo(out: Output): Promise<number> {
  const pkg = packageDir();
  const root = join(pkg, ".demo");
  const where = places({ root, env: process.env, uid: process.getuid?.() ?? 0 });
  const running = await call(where, { cmd: "ping" }).catch(() => null);
  if (running?.ok) {
    throw new UserError(`a demo is already running (server pid ${running.result.pid}); stop it with Ctrl-C or 'tend --root ${root} shutdown'`);
  }
  rmSync(root, { recursive: true, force: true }); // a fresh start each time
  const examples = join(pkg, "examples");
  const result = compile({ sourceDir: examples, hostChecks: true });
  for (const d of result.diagnostics) printDiagnostic(out, d);
  if (result.compiled === null) return 1;
  installDatabase(where.state, result.compiled);
  out.line(`${paint(out, "green", "accepted")}: ${examples}: ${result.serviceCount} services; boot plan:`);
  result.compiled.boot.forEach((wave, i) => out.line(`  ${i + 1}. ${wave.join("  ")}`));
  out.line(`running them under ${root} (logs in ${where.log})\n`);

  let listening: () => void = () => {};
  const ready = new Promise<void>((resolve) => (listening = resolve));
  const server = runServer({ places: where, boot: false, settings: {}, log: (line) => out.line(paint(out, "dim", `  [tend] ${line}`)), onListening: listening });
  // The server may fail to start (it says why): then there is nothing to show.
  const started = await Promise.race([ready.then(() => true), server.then(() => false)]);
  if (!started) return 1;
  await call(where, { cmd: "start", names: ["default"], wait: true });
  const status = await call(where, { cmd: "status" });
  if (status.ok) {
    out.line("");
    printStatusTable(out, status.result.services);
  }
  if (process.stdout.isTTY && process.stdin.isTTY) {
    out.line("\nthe demo keeps running: try 'tend --root .demo status' or 'tend --root .demo logs web' in another terminal; Ctrl-C stops everything in order");
  } else {
    out.line("\nnot on a terminal: stopping everything in order");
    await call(where, { cmd: "shutdown" });
  }
  return server;
}
