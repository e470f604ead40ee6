// `tend status`, the table, at its quickest: bin/tend's first step (quick-start.ts)
// tries this before it loads the quick CLI, whose loading is most of a `tend status`
// that reads the server's status file rather than connecting (W3 in
// docs/benchmarks.md). It parses the command line with the CLI's own parser and
// options, reads the status file (server/status-file.ts) and prints the table with the
// code the quick CLI prints it with. Anything else (another command or option, a usage
// error, no status file that its server stands behind) is left to the quick CLI, which
// then runs the command from the start, as if this had not been tried.

import { places } from "../places.js";
import { readStatusFile } from "../server/status-file.js";
import { OPTIONS, type OptionName, type Values } from "./option-table.js";
import { parseOptions } from "./options.js";
import { output } from "./output.js";
import { printTable, statusPhases } from "./status-table.js";

/** What the table takes here; --json, -q and --help go the whole way. */
const TAKEN: ReadonlySet<OptionName> = new Set(["root", "failed", "state"]);

/** Whether `argv` asked for the table and it was printed; false: nothing was done. */
export function quickTable(argv: readonly string[]): boolean {
  const parsed = parseOptions<Values>(argv, OPTIONS);
  if (!parsed.ok || parsed.operands.length !== 1 || parsed.operands[0] !== "status" || parsed.given.some((o) => !TAKEN.has(o as OptionName))) return false;
  const phases = statusPhases(parsed.values.failed === true, parsed.values.state);
  if (typeof phases === "string") return false; // a usage error: the quick CLI words it
  const where = places({ root: parsed.values.root, env: process.env, uid: process.getuid?.() ?? 0 });
  const table = readStatusFile(where.run);
  if (table === null) return false;
  printTable(output(false), table, phases);
  return true;
}
