// The `tend` command, run by either of two entries built from this one code: the
// whole CLI (main.ts → dist/bin/main.js: ESM, each command's code a chunk imported only when it
// runs) and the quick one (quick.ts → dist/bin/quick.cjs, which bin/tend runs from a code
// cache through dist/bin/tend.cjs: one CommonJS file of
// every command that only talks to the server, which Node loads in half the time of the
// chunks that `tend status` needs; docs/benchmarks.md). A command marked `full` (it
// compiles, or runs the server) is handed over whole by the quick CLI to the whole one,
// before anything of it has run. This module reads the command line by the table of
// commands (commands.ts) and runs one entry; help and usage errors are worded by
// help.ts, loaded only for them.

import { places } from "../places.js";
import { arity, commandNamed, GLOBAL_OPTIONS, OPTIONS, TABLE as table, type OptionName, type Values } from "./commands.js";
import { UsageError, UserError } from "./errors.js";
import { parseOptions } from "./options.js";
import { output } from "./output.js";
import { writeErr, writeOut } from "./own-output.js";

const VERSION = "0.1.0";

const words = async () => (await import("./help.js")).words(table);

/** Runs the whole CLI instead, for a command this one leaves out (null: this is the whole CLI). */
export type HandOver = (() => Promise<unknown>) | null;

/** What `tend ARGV…` does; its exit status becomes the process's, once its output is out. */
export function runCli(argv: string[], handOver: HandOver): void {
  main(argv, handOver).then(
    (code) => {
      if (code !== null) process.exitCode = code;
    },
    async (error: unknown) => {
      if (error instanceof UsageError) {
        process.exitCode = (await words()).printUsageError(error);
        return;
      }
      // Errors a user can act on (no server, permission, a refused request) carry their own words.
      if (error instanceof UserError) {
        writeErr(`tend: ${error.message}\n`);
        process.exitCode = error.exitCode;
        return;
      }
      writeErr(`tend: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 70;
    },
  );
}

/** The command's exit status; null when the whole CLI was handed the command (it sets the status). */
async function main(argv: string[], handOver: HandOver): Promise<number | null> {
  const parsed = parseOptions<Values>(argv, OPTIONS);
  const named = parsed.ok && parsed.operands[0] !== undefined ? commandNamed(parsed.operands[0]) : undefined;
  if (named?.full === true && handOver !== null) {
    await handOver();
    return null;
  }
  if (!parsed.ok) {
    // The command, for the usage line and the guess: the first word that names one.
    const command = argv.find((w) => commandNamed(w) !== undefined);
    const h = await words();
    const message =
      parsed.problem === "unknown" ? h.unknownOption(parsed.option, command) : parsed.problem === "missing-value" ? h.missingValue(parsed.option) : h.noValue(parsed.option);
    throw new UsageError(message, command);
  }
  const { values, operands, given } = parsed;
  if (values.version) {
    writeOut(`tend ${VERSION}\n`);
    return 0;
  }
  const [command, ...args] = operands;
  if (command === undefined) {
    const h = await words();
    if (values.help) return h.help(undefined);
    writeErr(`tend: a command is needed\n${h.usage()}\n`);
    return 2;
  }
  const spec = commandNamed(command);
  if (spec === undefined) throw new UsageError((await words()).unknownCommand(command));
  if (values.help) return (await words()).help(command);
  const foreign = given.find((o) => !GLOBAL_OPTIONS.includes(o as OptionName) && !spec.options.includes(o as OptionName));
  if (foreign !== undefined) throw new UsageError((await words()).notTaken(command, foreign as OptionName), command);
  const { min, max } = arity(spec);
  if (args.length < min || args.length > max) throw new UsageError((await words()).wrongCount(command, args.length)!, command);

  const out = output(values.json === true);
  const where = places({ root: values.root, env: process.env, uid: process.getuid?.() ?? 0 });
  return spec.run({ command, args, values, places: where, out, table });
}
