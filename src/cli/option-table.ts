// The options of tend's commands, apart from the commands' table (commands.ts) so that
// reading a command line does not load every command's entry: bin/tend's quickest path
// (quick-table.ts) parses with this alone.

export interface OptionSpec {
  /** The one-letter form, without its `-`. */
  readonly short?: string;
  /** The name of the option's value in the usage (a word of OPERANDS, or choices `a|b`); a flag has none. */
  readonly value?: string;
  /** May be given more than once: every value is kept, in order. */
  readonly repeat?: boolean;
  /** With `value`: the value the option has when given alone (`--syslog` is `--syslog=on`); one of its own then comes after `=` only. */
  readonly optional?: string;
  readonly help: string;
}

/** Every option of every command. Which command takes which is the command's `options`. */
export const OPTIONS = {
  root: { value: "DIR", help: "keep every file under DIR instead of the system or user places (also: TEND_ROOT=DIR)" },
  json: { help: "write the result as JSON on stdout" },
  help: { short: "h", help: "print the usage, or a command's help, and exit" },
  version: { help: "print tend's version and exit" },
  portable: { help: "skip the host checks (programs, users, groups, strict modes): for a set meant for another machine" },
  "dry-run": { help: "show what would stop, restart and start (enable, disable: and what the next boot would bring up); change nothing" },
  "no-wait": { help: "return once the server has the request, without waiting for the outcome" },
  lines: { short: "n", value: "N", help: "how many of the last lines (logs: 20, or all of a --since/--until range), entries (events: 50) or slowest services (analyze: 10) to show" },
  follow: { short: "f", help: "keep printing new lines as they come, until interrupted or the server exits" },
  unit: { short: "u", value: "NAME", repeat: true, help: "this service's log (or a bundle's members'), merged with the others named; may be given again" },
  since: { value: "TIME", help: "only lines from TIME on: '2026-12-02 10:00', '10:00', '10 min ago', '1h ago', 'today' (local time unless a zone is given)" },
  until: {
    value: "WHEN",
    repeat: true,
    help: "logs: only lines up to WHEN, a time as for --since (not with -f); monitor: WHEN is NAME=STATE, exit 0 once it holds (several: given again or with commas, all at once)",
  },
  timeout: { value: "DURATION", help: "with --until: give up after DURATION (at most 1d), exit 1" },
  failed: { help: "only the failed services (--state=failed)" },
  state: { value: "STATE", help: "only the services in STATE: down, starting, up, running, stopping or failed (several with commas)" },
  quiet: { short: "q", help: "print nothing: the exit status says it" },
  persist: { help: "keep the level across server restarts (STATE/levels.json)" },
  "no-persist": { help: "stop keeping the level across restarts; it is set all the same" },
  wait: { value: "DURATION", help: "wait up to DURATION (at most 1d) for them to be ready, and for a server to answer" },
  "exit-with": { value: "NAME", help: "start NAME with the boot; when its run ends, stop everything and exit with its status" },
  "on-boot-failure": { value: "report|stop", help: "stop: a service failing before the boot completed stops everything (exit 1); report (default): status shows it" },
  "stop-grace": { value: "DURATION", help: "from a SIGTERM to SIGKILL for what still runs (default 8s, at most 1h)" },
  "log-format": { value: "text|json", help: "the console's lines (the keeper's stdout, a container's log)" },
  "service-logs": { value: "auto|files|console|both", help: "where 'log = file' services write (auto: both as a container's PID 1, else files)" },
  syslog: {
    value: "PATH",
    optional: "on",
    help: "listen for syslog(3) messages on /dev/log (RUN/dev-log for a user's or --root server) or on PATH, each into the log of the service that sent it; =off: not (over tend.conf)",
  },
  compile: { help: "compile and install the source directory first; refuse to start when it is rejected" },
  main: { help: "to the service's main process alone, not its process group" },
  to: { value: "DIR", help: "write the service files into DIR instead of the source directory" },
  force: { help: "replace service files that exist already" },
  format: { value: "dot|svg", help: "graph: Graphviz DOT, or SVG drawn by tend (default: dot on a terminal, svg otherwise)" },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;

/** An option's entry, as the general shape (the table's own type is each entry's literal one). */
export const option = (name: OptionName): OptionSpec => OPTIONS[name];

/** The options every command takes. */
export const GLOBAL_OPTIONS: readonly OptionName[] = ["root", "json", "help", "version"];

type ValueOf<S> = S extends { readonly value: string } ? (S extends { readonly repeat: true } ? string[] : string) : true;
/** The options given, by name: a flag is `true`, an option with a value its text (a list for `repeat`). */
export type Values = { [K in OptionName]?: ValueOf<(typeof OPTIONS)[K]> };
