// The table of tend's commands and options: what each command takes, what it says
// about itself, and how it runs. The global usage, each command's help, the usage
// errors, the man page tend(1) and the shell completion are all drawn from it, so
// they cannot disagree. A command's code is a lazy import in its `run`: every `tend`
// call loads this table, never the code of the commands it does not run.
//
// Adding a command: an entry in COMMANDS (in the order the usage lists them), its
// options in OPTIONS if they are new, and its section in docs/cli.md (a test checks).

import type { Places } from "../places.js";
import { GLOBAL_OPTIONS, OPTIONS, option, type OptionName, type OptionSpec, type Values } from "./option-table.js";
import type { Output } from "./output.js";
import { UsageError } from "./errors.js";
import { isTerminal } from "./own-output.js";

export { GLOBAL_OPTIONS, OPTIONS, option, type OptionName, type OptionSpec, type Values } from "./option-table.js";

/** The run options of `daemon` and `boot`, which tend.conf can also give. */
const RUN_OPTIONS = ["exit-with", "on-boot-failure", "stop-grace", "log-format", "service-logs", "syslog", "compile"] as const satisfies readonly OptionName[];


/**
 * The words a command's operands and options' values are named by in the usage: how a
 * missing one is named in an error, and what completes it (`__complete`).
 */
export const OPERANDS = {
  NAME: { missing: "a service name", complete: "services" },
  UNIT: { missing: "a unit file, directory or unit name", complete: "directories" },
  DIR: { missing: "a directory", complete: "directories" },
  PATH: { missing: "a path", complete: "directories" },
  SIGNAL: { missing: "a signal", complete: "signals" },
  EVENT: { missing: "an event name", complete: "none" },
  "KEY=VALUE": { missing: "a KEY=VALUE word", complete: "none" },
  LEVEL: { missing: "a level name", complete: "levels" },
  VALUE: { missing: "a value", complete: "none" },
  COMMAND: { missing: "a command", complete: "commands" },
  WORD: { missing: "a word", complete: "none" },
  N: { missing: "a number", complete: "none" },
  DURATION: { missing: "a duration", complete: "none" },
  TIME: { missing: "a time", complete: "none" },
  /** `--until`: a time for logs, conditions for monitor. */
  WHEN: { missing: "a time (logs) or NAME=STATE (monitor)", complete: "none" },
  STATE: { missing: "a state", complete: "none" },
  REPORT: { missing: "a report: boot, critical-chain or plot", complete: "none" },
} as const satisfies Record<string, { missing: string; complete: Completion }>;

export type Completion = "services" | "directories" | "signals" | "levels" | "commands" | "none";

export const GROUPS = {
  configuration: "configuration",
  server: "the server",
  services: "services",
  events: "events",
  help: "help",
} as const;

/** What a command's `run` is given. */
export interface Invocation {
  /** The command as typed (one entry may serve several: start, stop, restart). */
  command: string;
  args: string[];
  values: Values;
  places: Places;
  out: Output;
  /**
   * This table, for the commands that describe commands (help, completion): their
   * chunks get it from here rather than importing it, so that the table stays in the
   * entry file instead of a chunk of its own, one file less for every call to load.
   */
  table: Table;
}

/** The table as one value (TABLE, below). */
export interface Table {
  COMMANDS: Readonly<Record<string, CommandSpec>>;
  OPTIONS: Readonly<Record<OptionName, OptionSpec>>;
  GLOBAL_OPTIONS: readonly OptionName[];
  OPERANDS: typeof OPERANDS;
  GROUPS: typeof GROUPS;
  commandNamed(name: string): CommandSpec | undefined;
  arity(spec: CommandSpec): { min: number; max: number; words: string[] };
  option(name: OptionName): OptionSpec;
}

export interface CommandSpec {
  readonly group: keyof typeof GROUPS;
  /** The operands in the usage: `NAME…` one or more, `[DIR]` at most one, `NAME SIGNAL` exactly two; how many it takes is read off this. */
  readonly operands: string;
  /** The options it takes besides the global ones. */
  readonly options: readonly OptionName[];
  /** One line for the list of commands (at most 50 characters, to fit beside the usage). */
  readonly summary: string;
  /** `tend help COMMAND` and the man page: what it does, in a paragraph or two (blank lines between). */
  readonly help: string;
  /** Left out of the usage, the man page and completion (the shell completion's own helper). */
  readonly hidden?: boolean;
  /**
   * It runs the compiler or the server (or may, as an `enable` with no server does), which
   * the quick CLI (dist/bin/quick.cjs, see quick.ts) leaves out: the whole CLI runs it.
   */
  readonly full?: boolean;
  run(a: Invocation): Promise<number> | number;
}

/** A whole number of at least `min` from an option's text, or the usage error. */
function count(a: Invocation, text: string | undefined, fallback: number, min: number, what: string): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`-n takes a number of ${what}${min > 0 ? ` from ${min}` : ""}, not '${text}'`, a.command);
  return n;
}

const change = (cmd: "start" | "stop" | "restart") => async (a: Invocation) => {
  const commands = await import("./service-commands.js");
  return a.values["dry-run"] === true ? commands.dryRun(a.places, a.out, cmd, a.args) : commands.change(a.places, a.out, cmd, a.args, a.values["no-wait"] !== true);
};
const enable = (cmd: "enable" | "disable") => async (a: Invocation) => {
  const commands = await import("./service-commands.js");
  return a.values["dry-run"] === true ? commands.dryRun(a.places, a.out, cmd, a.args) : commands.enable(a.places, a.out, cmd, a.args);
};
const check = (install: boolean) => async (a: Invocation) =>
  (await import("./check.js")).runCheck({ sourceDir: a.args[0], portable: a.values.portable === true, install }, a.places, a.out);
const server = (boot: boolean) => async (a: Invocation) => {
  const { daemon, parseRunFlags } = await import("./daemon.js");
  const settings = parseRunFlags(a.values);
  if (typeof settings === "string") throw new UsageError(settings, a.command);
  return daemon(a.places, boot, settings);
};

const RUN_OPTIONS_HELP = "The run options can also be given in tend.conf (KEY = VALUE, the option's name without --); an option given here wins over tend.conf, which wins over the default.";

/** Every command, in the order the usage and the man page list them. */
export const COMMANDS = {
  check: {
    full: true,
    group: "configuration",
    operands: "[DIR]",
    options: ["portable"],
    summary: "check the service files in DIR; show the boot plan",
    help: "Compiles the service files in DIR (default: the sources place, /etc/tend in root mode) and prints every error and warning as FILE:LINE:COL: MESSAGE, then the boot plan of 'default' in waves. It writes nothing. Exit 0 accepted, 1 rejected.",
    run: check(false),
  },
  compile: {
    full: true,
    group: "configuration",
    operands: "[DIR]",
    options: ["portable"],
    summary: "check, then install the compiled database",
    help: "Checks DIR as 'tend check' does and, if the set is accepted, installs the compiled database atomically in the state place (STATE/db.json, the previous one kept as db.prev.json). Compiling unchanged files writes nothing. A running server keeps its database until 'tend apply' or SIGHUP.",
    run: check(true),
  },
  apply: {
    full: true,
    group: "configuration",
    operands: "[DIR]",
    options: ["dry-run", "portable"],
    summary: "compile, install, and have the server switch to it",
    help: "Compiles and installs DIR as 'tend compile' does, then has the running server perform the difference: what was removed stops, what changed restarts (with what requires it), what was added starts if something wants it. It prints the plan, then waits for the changed and added services to settle.",
    run: async (a) => (await import("./apply.js")).apply(a.places, a.out, a.args[0], a.values["dry-run"] === true, a.values.portable === true),
  },
  graph: {
    full: true,
    group: "configuration",
    operands: "[NAME]",
    options: ["format"],
    summary: "the dependency graph, as SVG or Graphviz DOT",
    help: "Draws the dependency graph of the installed database (STATE/db.json: what 'tend compile' installed; no server is needed): every service and bundle, or with NAME only what NAME needs and what needs it (followed both ways, however far). An edge goes from the service whose file states it to the one it names: requires (solid), wants (dashed), ordered after (dotted grey), a bundle's contents (purple), and the job events a start-on, stop-on or schedule waits for (dotted green, red, blue); a service an event or a clock starts says so on a second line. The first wave of the boot plan is on top, each service below what it is ordered after. --format svg (the default when stdout is not a terminal: 'tend graph > graph.svg') is drawn by tend itself; --format dot (the default on a terminal) is for Graphviz ('tend graph --format dot | dot -Tpng'). --json: the nodes, with their layers, and the edges.",
    run: async (a) => {
      const { graph, graphFormat } = await import("./graph.js");
      return graph(a.places, a.out, a.args[0], graphFormat(a.values.format, isTerminal(1)));
    },
  },
  import: {
    group: "configuration",
    operands: "UNIT…",
    options: ["to", "force"],
    summary: "systemd units and init scripts as service files",
    full: true,
    help: "Translates each UNIT (a systemd .service, .timer or .socket file, an LSB init script, a directory of them, or a unit's name, looked up in /etc/systemd/system, /run/systemd/system, /lib/systemd/system and /usr/lib/systemd/system, under --root when given) into a tend service file in the source directory, or in --to DIR; a file there already is left as it is unless --force. A .timer and its service become one task with a schedule; a template unit (foo@.service) a template (foo@). It prints, per unit, every directive: translated (and into what), approximated, dropped, or ignored, and why. A unit its boot targets want (WantedBy=multi-user.target) is added to the 'default' bundle. Exit 0 all translated, 1 imported but something was dropped or approximated, 2 usage, 3 a unit could not be imported (not found, unreadable, unparseable, or its file exists). Check the result with 'tend check'.",
    run: async (a) =>
      (await import("./import.js")).importUnits({ operands: a.args, to: a.values.to, force: a.values.force === true, root: a.values.root }, a.places, a.out),
  },
  daemon: {
    full: true,
    group: "server",
    operands: "",
    options: RUN_OPTIONS,
    summary: "run the server in the foreground; start nothing",
    help: `Runs the server in the foreground for this root, logging to stderr, and starts no service until asked (only an --exit-with service). It takes over the services a previous server left with the keeper. SIGTERM and SIGINT stop everything in order; SIGHUP loads the installed database when it changed.\n\n${RUN_OPTIONS_HELP}`,
    run: server(false),
  },
  boot: {
    full: true,
    group: "server",
    operands: "",
    options: RUN_OPTIONS,
    summary: "run the server and bring up 'default'",
    help: `Runs the server as 'tend daemon' does and brings up the 'default' bundle and every enabled service, less the disabled ones: what an init system or a container's entry point runs.\n\n${RUN_OPTIONS_HELP}`,
    run: server(true),
  },
  shutdown: {
    group: "server",
    operands: "",
    options: [],
    summary: "stop every service in order, then the server",
    help: "Asks the server to stop every service, dependents first, and waits until all are down; the server then exits.",
    run: async (a) => (await import("./service-commands.js")).shutdown(a.places, a.out),
  },
  ready: {
    group: "server",
    operands: "[NAME…]",
    options: ["wait"],
    summary: "exit 0 once the services (or the boot's) are up",
    help: "Says whether the named services (default: the boot's) and what they require are up, and exits 0 if so, 1 if not, 3 if no server runs: a container's health check. With --wait, waits for it (a startup probe).",
    run: async (a) => {
      const commands = await import("./service-commands.js");
      const wait = a.values.wait === undefined ? undefined : commands.readyWait(a.values.wait);
      if (typeof wait === "string") throw new UsageError(wait, a.command);
      return commands.ready(a.places, a.out, a.args, wait);
    },
  },
  analyze: {
    group: "server",
    operands: "[REPORT] [NAME]",
    options: ["lines"],
    summary: "the boot's timings: slowest, failures, chains",
    help: "Shows what the server recorded of the last boot (or, when it did not boot, the last 'tend start'): the time until all of it was ready, the slowest services (spawn to ready; 10 unless -n says) and what failed, and why. 'analyze critical-chain [NAME]' prints the chain of waits that decided when NAME (a service or bundle; default: the boot's set) became ready, each link with when it was ready (@) and what it took (+), and why the one before it waited on it: a requirement not ready, an ordering, a hook running, a restart delay. 'analyze boot' prints the last boot's whole record, a line per run; it survives a server's restart. 'analyze plot' draws the same span as an SVG timeline ('tend analyze plot > boot.svg'): a row per service sorted by when it began to start, bars for waiting, starting and up, readiness marked, and what each waited for last. --json gives the record itself (the timeline, with the graph), the chain, the boot's record with its runs, or the plot's rows.",
    run: async (a) => (await import("./analyze.js")).analyze(a.places, a.out, a.args, count(a, a.values.lines, 10, 1, "services")),
  },
  status: {
    group: "services",
    operands: "[NAME…]",
    options: ["failed", "state", "quiet"],
    summary: "what runs, what failed and why; NAME in detail",
    help: "Without names, prints a table of every service: its kind, state, main process, since when, and why (a disabled one says so). With names (a bundle stands for its members), each in detail, as systemctl status shows a unit: its file and whether the next boot brings it up, its kind, state and why (as 'tend why' says), since when, what it runs, its main process and the tree of its processes, their memory, how it last ended, its restarts, and its last 10 log lines. --failed and --state show only the services in those states. With names, the exit status is LSB's: 0 all up, 1 one failed, 3 one not up, 4 an unknown name; -q prints nothing but gives the same status.",
    run: async (a) => {
      const [commands, { statusPhases }] = await Promise.all([import("./service-commands.js"), import("./status-table.js")]);
      const phases = statusPhases(a.values.failed === true, a.values.state);
      if (typeof phases === "string") throw new UsageError(phases, a.command);
      return commands.status(a.places, a.out, a.args, { phases, quiet: a.values.quiet === true });
    },
  },
  "is-active": {
    group: "services",
    operands: "NAME…",
    options: ["quiet"],
    summary: "active, inactive, failed…: a word each",
    help: "Prints a word for each named service, as systemctl is-active does: active (up, or a task running), activating (starting), deactivating (stopping), inactive (down) or failed. Exit 0 when every one is active, 3 otherwise (and when no server runs), 4 for an unknown name; -q prints nothing.",
    run: async (a) => (await import("./service-commands.js")).isActive(a.places, a.out, a.args, a.values.quiet === true),
  },
  "is-enabled": {
    group: "services",
    operands: "NAME…",
    options: ["quiet"],
    summary: "enabled, disabled or manual: a word each",
    help: "Prints a word for each named service or bundle: enabled (the next boot brings it up: a member of 'default' or named by 'tend enable'), disabled ('tend disable' took it, or a bundle holding it, out) or manual (neither: it starts when started, pulled in, or by its event or clock). Exit 0 when every one is enabled, 1 otherwise; -q prints nothing.",
    run: async (a) => (await import("./service-commands.js")).isEnabled(a.places, a.out, a.args, a.values.quiet === true),
  },
  cat: {
    group: "services",
    operands: "NAME",
    options: [],
    summary: "the service file, after a line with its path",
    help: "Prints the service file the running definition of NAME was compiled from (a template's, for an instance), after a comment line with its path, which says so when the file changed since it was compiled. Needs root or the control group: a service file may hold env values.",
    run: async (a) => (await import("./show.js")).cat(a.places, a.out, a.args[0]!),
  },
  show: {
    group: "services",
    operands: "NAME",
    options: [],
    summary: "the definition the server runs, defaults filled in",
    help: "Prints the definition of NAME the server runs, as compiled: every field, with every default filled in, one KEY=VALUE a line (--json: the record, as in the database). Needs root or the control group: it holds the env values.",
    run: async (a) => (await import("./show.js")).show(a.places, a.out, a.args[0]!),
  },
  list: {
    group: "services",
    operands: "",
    options: [],
    summary: "every service and bundle, with its description",
    help: "Lists every service and bundle of the database the server runs: its name, type and description, and a bundle's members.",
    run: async (a) => (await import("./service-commands.js")).list(a.places, a.out),
  },
  why: {
    group: "services",
    operands: "NAME",
    options: [],
    summary: "why a service is in its state",
    help: "Explains a service's state: what wants it (the chain back to what was started explicitly), what holds it, which requirement or ordering it waits for, what must stop before it.",
    run: async (a) => (await import("./service-commands.js")).why(a.places, a.out, a.args[0]!),
  },
  start: {
    group: "services",
    operands: "NAME…",
    options: ["no-wait", "dry-run"],
    summary: "start services and what they need; wait for them",
    help: "Starts each named service (a bundle: its members; an instance of a template, like getty@tty1: made from the template 'getty@' if need be) with everything it requires and wants, in order, and waits until each is up, failed or done. A failed or held service is tried again, whatever its restart limit; a task runs once more. On a terminal it shows each change as it happens.",
    run: change("start"),
  },
  stop: {
    group: "services",
    operands: "NAME…",
    options: ["no-wait", "dry-run"],
    summary: "stop services, and first what requires them",
    help: "Stops each named service and everything active that requires it, dependents first, and waits until they are down. They stay down until started again (or the server restarts: to keep a service of 'default' down at boot, disable it).",
    run: change("stop"),
  },
  restart: {
    group: "services",
    operands: "NAME…",
    options: ["no-wait", "dry-run"],
    summary: "stop services and start them again, in order",
    help: "Stops each named service, after what requires it, then starts them all again in order, and waits until they are up again (or failed). Never blocked by the restart limit.",
    run: change("restart"),
  },
  reload: {
    group: "services",
    operands: "NAME…",
    options: ["no-wait"],
    summary: "have up services read their configuration again",
    help: "Has each named service (a bundle: its members) read its configuration again without a restart: its 'reload' command runs beside it (with MAINPID), or its main process is sent its 'reload-signal'; a notify service that says RELOADING=1 is done at its READY=1. Waits for each: 'web: reloaded', or 'web: reload failed: …' (exit 1; the service keeps running). Refused for a service that is not up or has no way to reload.",
    run: async (a) => (await import("./service-commands.js")).reload(a.places, a.out, a.args, a.values["no-wait"] !== true),
  },
  enable: {
    full: true,
    group: "services",
    operands: "NAME…",
    options: ["dry-run"],
    summary: "persistently add services to what boot starts",
    help: "Records the names (services, bundles, instances of templates like openvpn@client) in STATE/enabled.json, which every later 'tend boot' starts along with 'default'; a server started by 'tend boot' also starts them now. With no server running, it records them itself, for the next boot.",
    run: enable("enable"),
  },
  disable: {
    full: true,
    group: "services",
    operands: "NAME…",
    options: ["dry-run"],
    summary: "persistently keep services out of the boot",
    help: "Records the names in STATE/enabled.json as disabled: a later 'tend boot' leaves them out of the bundles it starts; a server started by 'tend boot' also stops them now unless something needs them. With no server running, it records them itself, for the next boot.",
    run: enable("disable"),
  },
  signal: {
    group: "services",
    operands: "NAME SIGNAL",
    options: ["main"],
    summary: "send a signal to a service's process group",
    help: "Sends SIGNAL (HUP, sigusr1, 15 …) to the process group of the service's running process; KILL ends the whole service. With --main, to its main process alone (a master that passes it on to its workers itself). A process that dies of it is restarted by its policy: to stop a service, use 'tend stop'.",
    run: async (a) => (await import("./service-commands.js")).signal(a.places, a.out, a.args[0]!, a.args[1]!, a.values.main === true),
  },
  logs: {
    group: "services",
    operands: "[NAME…]",
    options: ["unit", "lines", "follow", "since", "until"],
    summary: "the log of services, merged in time order",
    help: "Prints the last lines of a service's log (20 unless -n says), oldest first, each stamped with the time tend read it; tend's own lines about the service are marked [tend]. Several names (or -u NAME, again and again; a bundle stands for its members), or none for every service: their logs merged in time order, each line named. --since and --until keep the lines of a time range (then all of them, unless -n says). With -f, goes on printing new lines as they are written. 'tend logs syslog' is the syslog log, the messages no service sent (boot --syslog), unless a service has that name; 'tend logs _syslog' always is; with no name it is merged with the rest.",
    run: async (a) => {
      const lines = a.values.lines === undefined ? undefined : count(a, a.values.lines, 0, 0, "lines");
      const { parseTime } = await import("./times.js");
      const now = new Date();
      if ((a.values.until?.length ?? 0) > 1) throw new UsageError("--until is given more than once: a range has one end", a.command);
      const time = (option: "since" | "until"): number | undefined => {
        const text = option === "since" ? a.values.since : a.values.until?.[0];
        if (text === undefined) return undefined;
        const t = parseTime(text, now);
        if (typeof t === "string") throw new UsageError(`--${option}: ${t}`, a.command);
        return t;
      };
      const [since, until] = [time("since"), time("until")];
      if (a.values.follow === true && until !== undefined) throw new UsageError("--until ends the lines and -f never does: give one of them", a.command);
      const names = [...a.args, ...(a.values.unit ?? [])];
      return (await import("./logs.js")).logs(a.places, a.out, { names, lines, follow: a.values.follow === true, since, until });
    },
  },
  monitor: {
    group: "services",
    operands: "[NAME…]",
    options: ["until", "timeout", "quiet"],
    summary: "changes, events and levels as they happen",
    help: "Prints the current state of each named service (a bundle: its members; none: every service), then every change of state, event, level change and job event that concerns them, a line each (--json: a JSON object a line), until interrupted (exit 0) or the server exits. With --until NAME=STATE (up, down, starting, running, stopping, failed; several: all must hold at once) it exits 0 as soon as they hold, the current state included, so a condition true already ends it at once: what a script or a configuration manager waits with. 'up' is ready as 'tend ready' says: a longrun or oneshot up, a task that has run and did not fail. With --timeout it gives up after that long, exit 1, saying what did not hold. A reader too slow to keep up is told how many lines it missed.",
    run: async (a) => {
      const { monitor, parseConditions } = await import("./monitor.js");
      const until = parseConditions(a.values.until ?? []);
      if (typeof until === "string") throw new UsageError(until, a.command);
      let timeoutMs: number | undefined;
      if (a.values.timeout !== undefined) {
        if (until.length === 0) throw new UsageError("--timeout is how long to wait for --until: give --until NAME=STATE", a.command);
        const { readyWait } = await import("./service-commands.js");
        const ms = readyWait(a.values.timeout, "--timeout");
        if (typeof ms === "string") throw new UsageError(ms, a.command);
        timeoutMs = ms;
      }
      return monitor(a.places, a.out, { names: a.args, until, timeoutMs, quiet: a.values.quiet === true });
    },
  },
  demo: {
    full: true,
    group: "services",
    operands: "",
    options: [],
    summary: "run the examples (what 'npm start' runs)",
    help: "Compiles the package's examples/ into a private root (.demo/ in the package), runs them with a server in this process as the current user, and shows the status. On a terminal it keeps running until Ctrl-C; otherwise it stops everything again at once.",
    run: async (a) => {
      if (a.values.json) throw new UsageError("'demo' shows a live run and has no JSON output; use 'status --json' against its root (.demo)", a.command);
      return (await import("./demo.js")).runDemo(a.out);
    },
  },
  emit: {
    group: "events",
    operands: "EVENT [KEY=VALUE…]",
    options: [],
    summary: "tell the server an event happened (udev, hooks)",
    help: "Sends the edge event EVENT with its KEY=VALUE values; the server fires every start-on, stop-on and schedule it completes, and the answer says what it started, stopped or skipped.",
    run: async (a) => (await import("./event-commands.js")).emit(a.places, a.out, a.args[0]!, a.args.slice(1)),
  },
  set: {
    group: "events",
    operands: "LEVEL VALUE",
    options: ["persist", "no-persist"],
    summary: "set a level (net.eth0 up); what it starts or stops",
    help: "Sets the level LEVEL to VALUE; every condition that mentions it looks again, so a start-on fires and a 'while' starts or stops its service. A level lasts until the server exits, unless --persist.",
    run: async (a) => {
      const persist = a.values.persist ? true : a.values["no-persist"] ? false : undefined;
      return (await import("./event-commands.js")).setLevel(a.places, a.out, a.args[0]!, a.args[1]!, persist);
    },
  },
  unset: {
    group: "events",
    operands: "LEVEL",
    options: [],
    summary: "remove a level",
    help: "Removes the level LEVEL (and its persisted value); a 'while' over it stops its service.",
    run: async (a) => (await import("./event-commands.js")).setLevel(a.places, a.out, a.args[0]!, null, undefined),
  },
  events: {
    group: "events",
    operands: "",
    options: ["lines"],
    summary: "recent events and what they started or stopped",
    help: "Prints the newest entries (50 unless -n says) of the server's history: every event, level change and schedule that fell due, with what each started, stopped or skipped.",
    run: async (a) => (await import("./event-commands.js")).events(a.places, a.out, count(a, a.values.lines, 50, 1, "entries")),
  },
  levels: {
    group: "events",
    operands: "",
    options: [],
    summary: "the current value of every level",
    help: "Prints every level that is set, NAME=VALUE, and whether it is persisted.",
    run: async (a) => (await import("./event-commands.js")).levels(a.places, a.out),
  },
  help: {
    group: "help",
    operands: "[COMMAND]",
    options: [],
    summary: "the usage, or a command's help",
    help: "Prints the list of commands, or the usage, options and description of COMMAND ('tend COMMAND --help' does the same). 'man tend' has them all.",
    run: async (a) => (await import("./help.js")).words(a.table).help(a.args[0]),
  },
  __complete: {
    group: "help",
    operands: "[WORD…]",
    options: [],
    summary: "the shell completion's candidates for the last word",
    help: "Prints the candidates for the last WORD of a command line (the words after 'tend'), one a line: what contrib/completion/ calls. Service and level names come from the running server, if one answers within a second.",
    hidden: true,
    run: async (a) => (await import("./complete.js")).complete(a.table, a.args),
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

/** The entry of a command typed by a user, or undefined (`constructor` is no command). */
export function commandNamed(name: string): CommandSpec | undefined {
  return Object.hasOwn(COMMANDS, name) ? (COMMANDS as Record<string, CommandSpec>)[name] : undefined;
}

/** How many operands a command takes, read off its usage: `[X]` optional, `X…` repeats. */
export function arity(spec: CommandSpec): { min: number; max: number; words: string[] } {
  const words = spec.operands.split(" ").filter(Boolean);
  const min = words.filter((w) => !w.startsWith("[")).length;
  return { min, max: words.some((w) => w.includes("…")) ? Infinity : words.length, words };
}

/** The table as one value, for the chunks that are given it (Invocation's `table`). */
export const TABLE: Table = { COMMANDS, OPTIONS, GLOBAL_OPTIONS, OPERANDS, GROUPS, commandNamed, arity, option };
