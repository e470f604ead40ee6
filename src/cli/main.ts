// The `tend` command. This entry stays small: each command's code is imported only
// when that command runs, because every `tend` call pays for what loads here.

import { parseArgs, type ParseArgsConfig } from "node:util";
import { places } from "../places.js";
import { UserError } from "./errors.js";
import { output } from "./output.js";
import { watchOwnOutput } from "./own-output.js";

const VERSION = "0.1.0";

const USAGE = `usage: tend [--root DIR] [--json] COMMAND [ARGS]

configuration:
  check [DIR] [--portable]     compile the service files in DIR (default: the source
                               directory); print the boot plan or every error
  compile [DIR] [--portable]   check, then install the compiled database
  apply [DIR] [--dry-run]      compile, install, and have the running server perform
                               the difference (removed stop, changed restart, added start)
server:
  daemon [RUN OPTIONS]         run the server in the foreground
  boot [RUN OPTIONS]           run the server and bring up 'default'; run options:
    --exit-with NAME           start NAME; when its run ends, stop all and exit with its status
    --on-boot-failure report|stop
                               stop: a service failing before the boot completed
                               stops all (exit 1); report (default): status shows it
    --stop-grace DURATION      from a SIGTERM to SIGKILL for what still runs (8s)
    --log-format text|json     the console (the keeper's stdout, a container's log)
    --service-logs auto|files|console|both
                               where 'log = file' services write (auto: both
                               as a container's PID 1, else files)
    --compile                  compile and install the source directory first;
                               refuse to start when it is rejected
  shutdown                     stop every service in order, then the server
  ready [NAME…] [--wait DUR]   exit 0 when the services (default: the boot's) are
                               up; with --wait, wait for it (a container's probe)
services:
  status [NAME…]               what runs, what failed and why
  list                         every service and bundle
  start|stop|restart NAME…     change services and wait for the outcome (--no-wait)
  enable|disable NAME…         persistently in or out of what boot starts
  signal NAME SIGNAL           send a signal to a service's process group
  logs NAME [-n N] [-f]        a service's log
  why NAME                     why a service is in its state
  demo                         run the example service set (what 'npm start' runs)
events:
  emit NAME [KEY=VALUE…]       tell the server an event happened (udev rules, hooks)
  set NAME VALUE [--persist]   set a level (net.eth0 up); unset NAME removes it
  events [-n N]                the recent events, levels and what they started or stopped
  levels                       the current value of every level

options:
  --root DIR   keep every file under DIR (also: TEND_ROOT)
  --json       machine-readable output
  --version    print the version
Exit status: 0 success, 1 failed or rejected, 2 usage error, 3 (status, ready) not running,
4 (status) unknown; boot and daemon: 0, or the exit-with service's status, or 1 for a failed boot.`;

const OPTIONS = {
  root: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
  portable: { type: "boolean" },
  "no-wait": { type: "boolean" },
  "dry-run": { type: "boolean" },
  follow: { type: "boolean", short: "f" },
  lines: { type: "string", short: "n" },
  persist: { type: "boolean" },
  "no-persist": { type: "boolean" },
  wait: { type: "string" },
  "exit-with": { type: "string" },
  "on-boot-failure": { type: "string" },
  "stop-grace": { type: "string" },
  "log-format": { type: "string" },
  "service-logs": { type: "string" },
  compile: { type: "boolean" },
} as const satisfies ParseArgsConfig["options"];

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    return usage((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.version) {
    process.stdout.write(`tend ${VERSION}\n`);
    return 0;
  }
  const [command, ...args] = positionals;
  if (values.help || command === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command === undefined) return usage("a command is needed");
  const out = output(values.json === true);
  const where = places({ root: values.root, env: process.env, uid: process.getuid?.() ?? 0 });
  const names = (min: number, max = Infinity): string | null =>
    args.length < min
      ? `'${command}' needs ${min === 1 ? "a name" : `${min} arguments`}`
      : args.length > max
        ? max === 0
          ? `'${command}' takes no arguments`
          : `'${command}' takes at most ${max} argument${max === 1 ? "" : "s"}`
        : null;
  const check = (problem: string | null): void => {
    if (problem !== null) throw new UsageError(problem);
  };

  switch (command) {
    case "check":
    case "compile": {
      check(names(0, 1));
      const { runCheck } = await import("./check.js");
      return runCheck({ sourceDir: args[0], portable: values.portable === true, install: command === "compile" }, where, out);
    }
    case "apply": {
      check(names(0, 1));
      const { apply } = await import("./apply.js");
      return apply(where, out, args[0], values["dry-run"] === true, values.portable === true);
    }
    case "daemon":
    case "boot": {
      check(names(0, 0));
      const { daemon, parseRunFlags } = await import("./daemon.js");
      const settings = parseRunFlags(values);
      if (typeof settings === "string") return usage(settings);
      return daemon(where, command === "boot", settings);
    }
    case "emit":
    case "set":
    case "unset":
    case "events":
    case "levels": {
      const commands = await import("./event-commands.js");
      switch (command) {
        case "emit":
          check(names(1));
          return commands.emit(where, out, args[0]!, args.slice(1));
        case "set": {
          check(names(2, 2));
          const persist = values.persist ? true : values["no-persist"] ? false : undefined;
          return commands.setLevel(where, out, args[0]!, args[1]!, persist);
        }
        case "unset":
          check(names(1, 1));
          return commands.setLevel(where, out, args[0]!, null, undefined);
        case "events": {
          check(names(0, 0));
          const count = values.lines === undefined ? 50 : Number(values.lines);
          if (!Number.isInteger(count) || count < 1) return usage(`-n takes a number of entries, not '${values.lines}'`);
          return commands.events(where, out, count);
        }
        default:
          check(names(0, 0));
          return commands.levels(where, out);
      }
    }
    case "demo": {
      check(names(0, 0));
      if (values.json) return usage("'demo' shows a live run and has no JSON output; use 'status --json' against its root (.demo)");
      const { runDemo } = await import("./demo.js");
      return runDemo(out);
    }
    default: {
      const commands = await import("./service-commands.js");
      switch (command) {
        case "status":
          return commands.status(where, out, args);
        case "list":
          check(names(0, 0));
          return commands.list(where, out);
        case "why":
          check(names(1, 1));
          return commands.why(where, out, args[0]!);
        case "start":
        case "stop":
        case "restart":
          check(names(1));
          return commands.change(where, out, command, args, values["no-wait"] !== true);
        case "enable":
        case "disable":
          check(names(1));
          return commands.enable(where, out, command, args);
        case "signal":
          check(names(2, 2));
          return commands.signal(where, out, args[0]!, args[1]!);
        case "logs": {
          check(names(1, 1));
          const lines = values.lines === undefined ? 20 : Number(values.lines);
          if (!Number.isInteger(lines) || lines < 0) return usage(`-n takes a number of lines, not '${values.lines}'`);
          return commands.logs(where, out, args[0]!, lines, values.follow === true);
        }
        case "shutdown":
          check(names(0, 0));
          return commands.shutdown(where, out);
        case "ready": {
          const wait = values.wait === undefined ? undefined : commands.readyWait(values.wait);
          if (typeof wait === "string") return usage(wait);
          return commands.ready(where, out, args, wait);
        }
        default:
          return usage(`unknown command '${command}'`);
      }
    }
  }
}

class UsageError extends UserError {}

function usage(message: string): number {
  process.stderr.write(`tend: ${message}\n${USAGE}\n`);
  return 2;
}

// A reader that goes away (`tend list | head -1`) ends our output, not with a stack trace.
watchOwnOutput();

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.exitCode = usage(error.message);
      return;
    }
    // Errors a user can act on (no server, permission, a refused request) carry their own words.
    if (error instanceof UserError) {
      process.stderr.write(`tend: ${error.message}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    process.stderr.write(`tend: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 70;
  },
);
