// Runs every compiled *.test.js under dist/test with Node's test runner. (Node 20's
// `--test DIR` would also run helper modules as if they were tests.)
//
// Every test drives the keeper built with AddressSanitizer and UndefinedBehaviorSanitizer
// (TEND_KEEPER); their reports go to files, and any report fails the run even when the
// test that caused it passed.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildKeeper, buildPeercred } from "./keeper-build.mjs";

const keeper = resolve("dist/keeper/tend-keeper-sanitized");
buildKeeper(keeper, { sanitize: true });
// The peercred addon is loaded into Node, which is not built with the sanitizers: the
// sanitized build is driven by test/server/peercred.test.ts in a node with them preloaded.
const peercred = resolve("dist/native/peercred-sanitized.node");
buildPeercred(peercred, { sanitize: true });
const reports = mkdtempSync(join(tmpdir(), "tend-sanitizer-"));
const env = {
  ...process.env,
  TEND_KEEPER: process.env.TEND_KEEPER ?? keeper,
  TEND_PEERCRED_SANITIZED: peercred,
  ASAN_OPTIONS: `log_path=${reports}/asan:detect_leaks=1:abort_on_error=1`,
  UBSAN_OPTIONS: `log_path=${reports}/ubsan:print_stacktrace=1:halt_on_error=1`,
};

const files = readdirSync("dist/test", { recursive: true })
  .filter((f) => f.endsWith(".test.js"))
  .map((f) => join("dist/test", f))
  .sort();
const result = spawnSync(process.execPath, ["--test", "--test-reporter=spec", ...process.argv.slice(2), ...files], { stdio: "inherit", env });
const found = readdirSync(reports);
for (const file of found) process.stderr.write(`\n--- sanitizer report ${file}:\n${readFileSync(join(reports, file), "utf8")}`);
rmSync(reports, { recursive: true, force: true });
if (found.length > 0) {
  process.stderr.write(`\n${found.length} sanitizer report(s): the keeper has a memory or undefined-behaviour bug\n`);
  process.exit(1);
}
process.exit(result.status ?? 1);
