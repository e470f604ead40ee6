// The `tend` command. This entry stays small: each command's code is imported only
// when that command runs, because every `tend` call pays for what loads here.

import { parseArgs, type ParseArgsConfig } from "node:util";
import { places } from "../places.js";
import { output } from "./output.js";

const VERSION = "0.1.0";

const USAGE = `usage: tend [--root DIR] [--json] COMMAND [ARGS]

commands:
  check [DIR] [--portable]     compile the service files in DIR (default: the source
                               directory) and print the boot plan or every error
  compile [DIR] [--portable]   check, then install the compiled database
  demo                         check the example service set (what 'npm start' runs)

options:
  --root DIR   keep every file under DIR (also: TEND_ROOT)
  --json       machine-readable output
  --version    print the version
Exit status: 0 success, 1 rejected or failed, 2 usage error.`;

const GLOBAL = {
  root: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
  portable: { type: "boolean" },
} as const satisfies ParseArgsConfig["options"];

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: GLOBAL, allowPositionals: true, strict: true });
  } catch (e) {
    process.stderr.write(`tend: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    process.stdout.write(`tend ${VERSION}\n`);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === "help") {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined && !values.help ? 2 : 0;
  }
  const out = output(values.json === true);
  const where = places({ root: values.root, env: process.env, uid: process.getuid?.() ?? 0 });
  switch (command) {
    case "check":
    case "compile": {
      if (rest.length > 1) return usage(`'${command}' takes at most one directory`);
      const { runCheck } = await import("./check.js");
      return runCheck({ sourceDir: rest[0], portable: values.portable === true, install: command === "compile" }, where, out);
    }
    case "demo": {
      const { runDemo } = await import("./demo.js");
      return runDemo(out);
    }
    default:
      return usage(`unknown command '${command}'`);
  }
}

function usage(message: string): number {
  process.stderr.write(`tend: ${message}\n${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`tend: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 70;
  },
);
