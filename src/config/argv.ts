// Command lines. The compiler splits one into words the way a POSIX shell quotes, and
// marks where `$NAME` and `${NAME}` stand; the server expands them from the service's
// environment when it spawns, as systemd does for ExecStart. Nothing else a shell does
// happens: no globs, pipes, redirections or `~`. A service that wants a shell asks for
// one (`command = sh -c '…'`, whose single quotes keep its `$1` for the shell).
//
// A stored word is a *template*: `$$` is a literal `$`; `${NAME}` is NAME's value
// (empty when it is not set); a word that is exactly `$NAME` is NAME's value split at
// blanks, zero or more words. No other `$` appears in one.

import { own } from "../records.js";

/** A command's words as stored (templates): it names a program, so it is never empty. */
export type Argv = [string, ...string[]];

/** A variable in a command line: the word it is in, where its `$` stands in the text, and whether it splits. */
export interface Expansion {
  word: number;
  offset: number;
  name: string;
  /** `$NAME` as a word of its own, unquoted: split into words. */
  split: boolean;
}

export type SplitResult = { ok: true; argv: string[]; expansions: Expansion[] } | { ok: false; offset: number; message: string };

/** Does `argv` name a program (a first word, and not an empty one)? A service file's commands and the database's must. */
export const isCommand = (argv: string[]): argv is Argv => argv.length > 0 && argv[0] !== "";

const NAME = "[A-Za-z_][A-Za-z0-9_]*";
const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;
/** A word that is a variable split into words. */
const LONE = new RegExp(`^\\$(${NAME})$`);
const NAME_ONLY = new RegExp(`^${NAME}$`);
const TEMPLATE = new RegExp(`^(?:[^$]|\\$\\$|\\$\\{${NAME}\\})*$`);
const PARTS = new RegExp(`\\$(?:\\$|\\{(${NAME})\\})`, "g");

/** `text` as a template that means exactly it: each `$` doubled. */
export const literalTemplate = (text: string): string => text.replace(/\$/g, () => "$$");

/** Is `word` a template as the compiler writes them (the database's shape check)? */
export const isTemplate = (word: string): boolean => LONE.test(word) || TEMPLATE.test(word);

/** What a template means when it holds no variable; null when it holds one. */
export function literalOf(word: string): string | null {
  if (LONE.test(word) || /\$\{/.test(word.replace(/\$\$/g, ""))) return null;
  return word.replace(/\$\$/g, "$");
}

/** A variable starting at `text[i]` (a `$`): its name and where it ends, null for a literal `$`, or what is wrong. */
function variableAt(text: string, i: number): { name: string; end: number; braced: boolean } | { offset: number; message: string } | null {
  const next = text[i + 1];
  if (next === "{") {
    const close = text.indexOf("}", i + 2);
    if (close < 0) return { offset: i, message: "'${' is not closed: write ${NAME}, or '$$' for a literal '$'" };
    const name = text.slice(i + 2, close);
    if (!NAME_ONLY.test(name)) {
      return { offset: i, message: `'\${${name}}' is not a variable: only \${NAME} is expanded (letters, digits and '_', not starting with a digit); write '$$' for a literal '$'` };
    }
    return { name, end: close + 1, braced: true };
  }
  if (next === undefined || !NAME_START.test(next)) return null;
  let end = i + 2;
  while (end < text.length && NAME_CHAR.test(text[end]!)) end++;
  return { name: text.slice(i + 1, end), end, braced: false };
}

const isBlank = (c: string | undefined): boolean => c === undefined || c === " " || c === "\t";

/**
 * Splits `text` into template words. Unquoted and in double quotes, `$NAME` and
 * `${NAME}` are variables and `$$` a literal `$` (a `$` before anything else is
 * literal too); in single quotes, and after a `\`, `$` is literal. An unquoted `$NAME`
 * alone as a word splits at blanks; every other variable stays inside its word.
 */
export function splitArgv(text: string): SplitResult {
  const argv: string[] = [];
  const expansions: Expansion[] = [];
  let word = "";
  let started = false;
  let i = 0;
  /** The `$` at `i`: appended to the word as a variable or a literal; the next index, or what is wrong. */
  const dollar = (quoted: boolean): number | { offset: number; message: string } => {
    if (text[i + 1] === "$") {
      word += "$$";
      return i + 2;
    }
    const v = variableAt(text, i);
    if (v === null) {
      word += "$$";
      return i + 1;
    }
    if ("message" in v) return v;
    const split = !quoted && !v.braced && !started && isBlank(text[v.end]);
    expansions.push({ word: argv.length, offset: i, name: v.name, split });
    word += split ? `$${v.name}` : `\${${v.name}}`;
    return v.end;
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === " " || c === "\t") {
      if (started) argv.push(word);
      word = "";
      started = false;
      i++;
      continue;
    }
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return { ok: false, offset: i, message: "unterminated single quote" };
      word += literalTemplate(text.slice(i + 1, end));
      i = end + 1;
    } else if (c === '"') {
      const start = i;
      i++;
      for (;;) {
        if (i >= text.length) return { ok: false, offset: start, message: "unterminated double quote" };
        const d = text[i]!;
        if (d === '"') break;
        if (d === "\\" && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) {
          word += literalTemplate(text[i + 1]!);
          i += 2;
        } else if (d === "$") {
          const next = dollar(true);
          if (typeof next !== "number") return { ok: false, ...next };
          i = next;
        } else {
          word += d;
          i++;
        }
      }
      i++;
    } else if (c === "\\") {
      if (i + 1 >= text.length) return { ok: false, offset: i, message: "a '\\' at the end escapes nothing" };
      word += literalTemplate(text[i + 1]!);
      i += 2;
    } else if (c === "$") {
      const next = dollar(false);
      if (typeof next !== "number") return { ok: false, ...next };
      i = next;
    } else {
      word += c;
      i++;
    }
    started = true;
  }
  if (started) argv.push(word);
  return { ok: true, argv, expansions };
}

export type CommandResult = { ok: true; argv: Argv } | { ok: false; offset?: number; message: string };

/**
 * A command line of a service file: split, and naming its program literally. The
 * program may not come from a variable (systemd's rule too): it is looked up when
 * compiling, and what it is must not depend on an env-file read at the start.
 */
export function parseCommand(text: string): CommandResult {
  const split = splitArgv(text);
  if (!split.ok) return split;
  const inProgram = split.expansions.find((e) => e.word === 0);
  if (inProgram !== undefined) {
    return { ok: false, offset: inProgram.offset, message: `the program cannot come from a variable ('$${inProgram.name}'): write its path, and put what varies in the arguments` };
  }
  const argv = split.argv;
  return isCommand(argv) ? { ok: true, argv } : { ok: false, message: "a command is needed here" };
}

/** The value of `name` in `env`, empty when it is not set (own keys only: `constructor` is a name). */
const valueOf = (env: Readonly<Record<string, string>>, name: string): string => own(env, name) ?? "";

/** A template word with its variables replaced by their values in `env`, without splitting. */
export function expandWord(word: string, env: Readonly<Record<string, string>>): string {
  return word.replace(PARTS, (_, name: string | undefined) => (name === undefined ? "$" : valueOf(env, name)));
}

/**
 * The words the process gets: each template expanded from `env` (the service's final
 * environment). A `$NAME` word becomes the words of NAME's value split at blanks (none
 * when it is empty or not set); every other word stays one word.
 */
export function expandArgv(argv: readonly string[], env: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  for (const word of argv) {
    const lone = LONE.exec(word);
    if (lone === null) out.push(expandWord(word, env));
    else out.push(...valueOf(env, lone[1]!).split(/[ \t\n\r]+/).filter((w) => w !== ""));
  }
  return out;
}

/** Quotes template words back into a command line that `splitArgv` reads as the same words. */
export function joinArgv(argv: readonly string[]): string {
  return argv
    .map((word) => {
      if (LONE.test(word)) return word;
      const literal = literalOf(word);
      if (literal !== null) return /^[A-Za-z0-9_@%+=:,./-]+$/.test(literal) ? literal : `'${literal.replace(/'/g, `'\\''`)}'`;
      // In double quotes, where a variable still expands: the literal text escaped, `$$` as `\$`.
      let quoted = "";
      let at = 0;
      for (const m of word.matchAll(PARTS)) {
        quoted += escapeQuoted(word.slice(at, m.index)) + (m[1] === undefined ? "\\$" : m[0]);
        at = m.index + m[0].length;
      }
      return `"${quoted}${escapeQuoted(word.slice(at))}"`;
    })
    .join(" ");
}

const escapeQuoted = (text: string): string => text.replace(/["\\`]/g, (c) => `\\${c}`);
