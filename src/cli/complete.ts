// `tend __complete -- WORD…`: the candidates for the last word of a command line (the
// words after `tend`, the last one being completed, maybe empty), one a line, for the
// shell completion scripts (contrib/completion/). Commands and options come from the
// table; service and level names from the server of the root the line names, asked
// once, within a deadline, and nothing at all when none runs: a completion must be
// quick and never print an error. A line `:directories` alone asks the shell to
// complete a directory. A candidate may carry a description after a tab (zsh shows it).

import { constants } from "node:os";
import { places } from "../places.js";
import { call } from "./client.js";
import type { Completion, OptionName, Table } from "./commands.js";
import { writeOut } from "./own-output.js";

/** How long a completion waits for the server's names. */
const SERVER_DEADLINE_MS = 1000;

interface Line {
  command: string | undefined;
  /** Operands after the command, before the word being completed. */
  operands: number;
  root: string | undefined;
  /** The option whose value the word being completed is. */
  valueOf: OptionName | undefined;
  /** After `--`: no more options. */
  ended: boolean;
}

/** What stands before the word being completed, read as the command line would be, leniently. */
function read(t: Table, words: readonly string[]): Line {
  const line: Line = { command: undefined, operands: 0, root: undefined, valueOf: undefined, ended: false };
  const named = (word: string): OptionName | undefined => {
    if (word.startsWith("--")) return Object.hasOwn(t.OPTIONS, word.slice(2)) ? (word.slice(2) as OptionName) : undefined;
    return (Object.keys(t.OPTIONS) as OptionName[]).find((n) => word.length === 2 && t.option(n).short === word[1]);
  };
  for (const word of words) {
    if (line.valueOf !== undefined) {
      if (line.valueOf === "root") line.root = word;
      line.valueOf = undefined;
    } else if (!line.ended && word === "--") line.ended = true;
    else if (!line.ended && word.startsWith("--root=")) line.root = word.slice(7);
    else if (!line.ended && word.startsWith("-") && word.length > 1) {
      const option = named(word);
      // An optional value (`--syslog[=PATH]`) comes after `=` only: the next word is not it.
      if (option !== undefined && t.option(option).value !== undefined && t.option(option).optional === undefined) line.valueOf = option;
    } else if (line.command === undefined) line.command = word;
    else line.operands++;
  }
  return line;
}

/** The kind of thing an operand or an option value (`DIR`, `NAME`, `a|b`) is. */
function kindOf(t: Table, word: string): Completion | string[] {
  if (word.includes("|")) return word.split("|");
  const bare = word.replace(/^\[/, "").replace(/\]$/, "").replace("…", "");
  return Object.hasOwn(t.OPERANDS, bare) ? t.OPERANDS[bare as keyof Table["OPERANDS"]].complete : "none";
}

/** A server that has not answered within the deadline: its connection would keep this process alive. */
let unanswered = false;

async function fromServer(root: string | undefined, what: "services" | "levels"): Promise<string[]> {
  const where = places({ root, env: process.env, uid: process.getuid?.() ?? 0 });
  const asked = what === "services"
    ? call(where, { cmd: "list" }).then((r) => (r.ok ? r.result.map((s) => s.name) : []))
    : call(where, { cmd: "levels" }).then((r) => (r.ok ? Object.keys(r.result) : []));
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string[]>((resolve) => (timer = setTimeout(() => ((unanswered = true), resolve([])), SERVER_DEADLINE_MS)));
  try {
    return await Promise.race([asked.catch(() => []), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The candidates for the last of `words`, each `WORD` or `WORD\tDESCRIPTION`, or `:directories`. */
export async function candidates(t: Table, words: readonly string[]): Promise<string[]> {
  const current = words.at(-1) ?? "";
  const line = read(t, words.slice(0, -1));
  const spec = line.command === undefined ? undefined : t.commandNamed(line.command);
  let kind: Completion | string[];
  if (line.valueOf !== undefined) kind = kindOf(t, t.option(line.valueOf).value!);
  else if (!line.ended && current.startsWith("-")) {
    const options = [...(spec?.options ?? []), ...t.GLOBAL_OPTIONS];
    return options.map((o) => `--${o}`).filter((o) => o.startsWith(current)).map((o) => `${o}\t${t.option(o.slice(2) as OptionName).help}`);
  } else if (line.command === undefined) kind = "commands";
  else if (spec === undefined) return [];
  else {
    const { words: operands } = t.arity(spec);
    const word = operands[line.operands] ?? (operands.at(-1)?.includes("…") ? operands.at(-1) : undefined);
    if (word === undefined) return [];
    kind = kindOf(t, word);
  }
  const found = await named(t, kind, line.root);
  if (found === null) return [":directories"];
  return found.filter((w) => w.startsWith(current));
}

/** The words of a kind; null for directories, which the shell completes itself. */
async function named(t: Table, kind: Completion | string[], root: string | undefined): Promise<string[] | null> {
  if (Array.isArray(kind)) return kind;
  switch (kind) {
    case "directories":
      return null;
    case "commands":
      return Object.entries(t.COMMANDS)
        .filter(([, c]) => c.hidden !== true)
        .map(([n, c]) => `${n}\t${c.summary}`);
    case "signals":
      return Object.entries(constants.signals as Record<string, number>)
        .sort(([, a], [, b]) => a - b)
        .map(([n]) => n.replace(/^SIG/, ""));
    case "services":
    case "levels":
      return fromServer(root, kind);
    case "none":
      return [];
  }
}

/** The `__complete` command: the candidates on stdout, one a line; always exit 0. */
export async function complete(t: Table, words: readonly string[]): Promise<number> {
  const lines = await candidates(t, words);
  if (lines.length > 0) writeOut(`${lines.join("\n")}\n`);
  if (unanswered) process.exit(0); // stdout, a pipe or a file, is written synchronously on Linux
  return 0;
}
