// What tend says about its commands, drawn from the table (commands.ts): the list of
// commands (`tend help`), a command's help (`tend help start`, `tend start --help`),
// and usage errors in two lines: what is wrong, with a guess at what was meant, and
// the command's usage. Loaded only when help or an error is printed; it is given the
// table (`words(table)`) rather than importing it, which keeps the table in the entry.

import { closest } from "../config/diagnostics.js";
import type { CommandSpec, OptionName, Table } from "./commands.js";
import { UsageError } from "./errors.js";
import { writeErr, writeOut } from "./own-output.js";

const WIDTH = 80;
/** The widest left column of the list of commands; a longer synopsis has its summary on the next line. */
const LEFT = 26;

/** Text filled into lines of at most `width` columns, each after `indent`; paragraphs apart by blank lines. */
export function wrap(text: string, indent = "", width = WIDTH): string {
  const lines: string[] = [];
  for (const paragraph of text.split("\n\n")) {
    let line = "";
    for (const word of paragraph.split(/\s+/).filter(Boolean)) {
      if (line !== "" && indent.length + line.length + 1 + word.length > width) {
        lines.push(indent + line);
        line = word;
      } else line = line === "" ? word : `${line} ${word}`;
    }
    lines.push(indent + line, "");
  }
  return lines.slice(0, -1).join("\n");
}

/** Rows of two columns, the second filled beside the first (below it, when the first is wider than `width`). */
function columns(rows: [string, string][], width: number, indent = "  "): string {
  const pad = " ".repeat(indent.length + width + 2);
  return rows
    .map(([left, right]) => {
      const text = wrap(right, pad).trimStart();
      return left.length > width ? `${indent}${left}\n${pad}${text}` : `${indent}${left.padEnd(width + 2)}${text}`;
    })
    .join("\n");
}

export type Words = ReturnType<typeof words>;

export function words(t: Table) {
  const spec = (name: string): CommandSpec => t.commandNamed(name)!;
  const visible = (): [string, CommandSpec][] => Object.entries(t.COMMANDS).filter(([, c]) => c.hidden !== true);

  /** `-n, --lines N`; `long`: `--lines N`; `short`, the one-letter form when there is one: `-n N`. */
  const flag = (name: OptionName, form: "both" | "long" | "short" = "both"): string => {
    const o = t.option(name);
    const value = o.value === undefined ? "" : o.optional !== undefined ? `[=${o.value}]` : ` ${o.value}`;
    if (o.short === undefined || form === "long") return `--${name}${value}`;
    return form === "short" ? `-${o.short}${value}` : `-${o.short}, --${name}${value}`;
  };

  /** `logs NAME [-n N] [-f]`: the command, its operands and its options; `[OPTIONS]` when that is longer than `most`. */
  const synopsis = (name: string, most = Infinity): string => {
    const c = spec(name);
    const full = [name, c.operands, ...c.options.map((o) => `[${flag(o, "short")}]`)].filter(Boolean).join(" ");
    return full.length <= most ? full : [name, c.operands, "[OPTIONS]"].filter(Boolean).join(" ");
  };

  const optionRows = (names: readonly OptionName[]): [string, string][] => names.map((o) => [flag(o), t.option(o).help]);

  /** `tend help`: every command by group, the global options, the exit statuses. */
  const usage = (): string => {
    const rows = visible().map(([name, c]): [string, string, string] => [c.group, synopsis(name, LEFT), c.summary]);
    const width = Math.min(LEFT, Math.max(...rows.map(([, left]) => left.length)));
    const sections = Object.entries(t.GROUPS).map(([group, title]) => `${title}:\n${columns(rows.filter(([g]) => g === group).map(([, l, r]) => [l, r]), width)}`);
    return [
      "usage: tend [--root DIR] [--json] COMMAND [ARGS]",
      "",
      ...sections,
      `options of every command (before or after it):\n${columns(optionRows(t.GLOBAL_OPTIONS), width)}`,
      "",
      wrap("'tend help COMMAND' or 'tend COMMAND --help': a command's usage, options and description; 'man tend': all of it."),
      wrap(
        "Exit status: 0 success, 1 failed or rejected (is-enabled: not all enabled), 2 usage error, 3 (status, is-active, ready) not running, 4 (status, is-active) unknown; boot and daemon: 0, or the exit-with service's status, or 1 for a failed boot.",
      ),
    ].join("\n");
  };

  /** `tend help COMMAND`: its usage, what it does, its options. */
  const commandHelp = (name: string): string => {
    const c = spec(name);
    const parts = [`usage: tend ${synopsis(name)}`, "", wrap(c.help)];
    if (c.options.length > 0) {
      const rows = optionRows(c.options);
      parts.push("", `options:\n${columns(rows, Math.min(LEFT, Math.max(...rows.map(([l]) => l.length))))}`);
    }
    parts.push("", `and the options of every command: ${t.GLOBAL_OPTIONS.map((o) => flag(o, "long")).join(", ")} (tend help)`);
    return parts.join("\n");
  };

  /** The line after a usage error: the command's usage and where its help is. */
  const usageLine = (command: string | undefined): string =>
    command === undefined || t.commandNamed(command) === undefined
      ? "usage: tend [--root DIR] [--json] COMMAND [ARGS]  (tend help: the commands)"
      : `usage: tend ${synopsis(command, WIDTH - `usage: tend   (tend help ${command})`.length)}  (tend help ${command})`;

  const guess = (word: string, candidates: Iterable<string>): string => {
    const g = closest(word, candidates);
    return g === undefined ? "" : ` (did you mean '${g}'?)`;
  };

  const unknownCommand = (word: string): string => `unknown command '${word}'${guess(word, visible().map(([n]) => n))}`;

  return {
    flag,
    synopsis,
    usage,
    commandHelp,
    usageLine,
    unknownCommand,

    /** The `help` command: the usage, or one command's help, on stdout. */
    help(name: string | undefined): number {
      if (name !== undefined && t.commandNamed(name) === undefined) throw new UsageError(unknownCommand(name), "help");
      writeOut(`${name === undefined ? usage() : commandHelp(name)}\n`);
      return 0;
    },

    /** An option that is none of tend's, with the closest of those `command` takes (of every command's, without one). */
    unknownOption(typed: string, command: string | undefined): string {
      const c = command === undefined ? undefined : t.commandNamed(command);
      const names = c === undefined ? (Object.keys(t.OPTIONS) as OptionName[]) : [...c.options, ...t.GLOBAL_OPTIONS];
      return `unknown option '${typed}'${typed.startsWith("--") ? guess(typed, names.map((n) => `--${n}`)) : ""}`;
    },

    /** `--wait needs a duration`, `--log-format needs one of text, json`. */
    missingValue(typed: string): string {
      const name = (Object.keys(t.OPTIONS) as OptionName[]).find((n) => `--${n}` === typed || `-${t.option(n).short}` === typed)!;
      const value = t.option(name).value!;
      return Object.hasOwn(t.OPERANDS, value) ? `${typed} needs ${t.OPERANDS[value as keyof Table["OPERANDS"]].missing}` : `${typed} needs one of ${value.split("|").join(", ")}`;
    },

    noValue: (typed: string): string => `${typed} takes no value`,

    notTaken: (command: string, option: OptionName): string => `'${command}' does not take --${option}`,

    /** Too few or too many operands for `command`, or null. */
    wrongCount(command: string, given: number): string | null {
      const { min, max, words: operands } = t.arity(spec(command));
      if (given < min) {
        const missing = operands.slice(given, min).map((w) => t.OPERANDS[w.replace("…", "") as keyof Table["OPERANDS"]].missing);
        return `'${command}' needs ${missing.join(" and ")}`;
      }
      if (given <= max) return null;
      if (max === 0) return `'${command}' takes no arguments`;
      return `'${command}' takes ${min === max ? "" : "at most "}${max} argument${max === 1 ? "" : "s"}`;
    },

    /** A usage error as tend prints it: two lines on stderr; exit 2. */
    printUsageError(e: UsageError): number {
      writeErr(`tend: ${e.message}\n${usageLine(e.command)}\n`);
      return 2;
    },
  };
}
