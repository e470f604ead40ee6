// systemd's command lines (systemd.service(5) "Command lines"): the prefixes of
// `ExecStart=` and co., the words as systemd splits and unquotes them, and those words
// written back as a tend command (docs/service-files.md "Commands"). systemd and tend
// expand `$NAME`/`${NAME}` from the process's environment the same way, and both read
// `$$` as a literal `$`, so a variable is carried over as it is written.

import { joinArgv, literalTemplate } from "../config/argv.js";

export interface ExecLine {
  /** `-`: a failing exit is not a failure. */
  ignoreFailure: boolean;
  /** `@`: the second word is argv[0] (tend cannot set it; the word is left out). */
  argv0: boolean;
  /** `+`, `!`, `!!`: run with full privileges, or without the user switch. */
  privileged: boolean;
  /** `:`: no variables expanded. */
  noExpand: boolean;
  words: string[];
}

const ESCAPES: Record<string, string> = { a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", s: " ", "\\": "\\", '"': '"', "'": "'" };

/** The words of an Exec value after its prefixes, unquoted, or what is wrong with it. */
export function splitExec(value: string): ExecLine | string {
  const line: ExecLine = { ignoreFailure: false, argv0: false, privileged: false, noExpand: false, words: [] };
  let i = 0;
  for (; i < value.length; i++) {
    const c = value[i];
    if (c === "-") line.ignoreFailure = true;
    else if (c === "@") line.argv0 = true;
    else if (c === "+" || c === "!") line.privileged = true;
    else if (c === ":") line.noExpand = true;
    else break;
  }
  let word: string | null = null;
  let quote: string | null = null;
  for (; i < value.length; i++) {
    const c = value[i]!;
    if (quote === null && (c === " " || c === "\t")) {
      if (word !== null) line.words.push(word);
      word = null;
      continue;
    }
    word ??= "";
    if (c === "\\") {
      const n = value[++i];
      if (n === undefined) return "a '\\' at the end of the line";
      if (n === "x" && /^[0-9a-fA-F]{2}$/.test(value.slice(i + 1, i + 3))) {
        word += String.fromCharCode(parseInt(value.slice(i + 1, i + 3), 16));
        i += 2;
      } else if (n === ";" && quote === null) word += ";";
      else word += ESCAPES[n] ?? n;
      continue;
    }
    if (quote !== null && c === quote) quote = null;
    else if (quote === null && (c === '"' || c === "'")) quote = c;
    else word += c;
  }
  if (quote !== null) return `a ${quote} without its closing one`;
  if (word !== null) line.words.push(word);
  if (line.argv0) line.words.splice(1, 1);
  if (line.words.length === 0) return "no program";
  return line;
}

/**
 * The words as a tend command. systemd's words mark variables as tend's template words
 * do (`$NAME`, `${NAME}`, `$$`), so tend's own quoting writes them back; with `:`, every
 * `$` is literal.
 */
export const tendCommand = (line: ExecLine): string => joinArgv(line.words.map((w) => (line.noExpand ? literalTemplate(w) : templateOf(w))));

/**
 * A systemd word as tend's template word (src/config/argv.ts): a word that is `$NAME`
 * splits in both; inside a word systemd's `$NAME` is tend's `${NAME}`; a `$` before
 * anything but a name is literal in systemd, `$$` in a template.
 */
export function templateOf(word: string): string {
  if (/^\$[A-Za-z_][A-Za-z0-9_]*$/.test(word)) return word;
  return word.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)|\$/g, (all, braced?: string, bare?: string) =>
    all === "$$" ? "$$" : braced !== undefined ? all : bare !== undefined ? `\${${bare}}` : "$$",
  );
}

const VARIABLE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** One word for sh: its text single-quoted, its variables expanded by sh as systemd would (a whole-word `$NAME` split). */
function shellWord(word: string): string {
  if (/^\$[A-Za-z_][A-Za-z0-9_]*$/.test(word)) return word;
  const quote = (text: string): string => (text === "" ? "" : `'${text.replace(/'/g, `'\\''`)}'`);
  let out = "";
  let at = 0;
  for (const m of word.matchAll(VARIABLE)) {
    out += quote(word.slice(at, m.index));
    out += m[0] === "$$" ? "'$'" : `"\${${m[1] ?? m[2]}}"`;
    at = m.index + m[0].length;
  }
  out += quote(word.slice(at));
  return out === "" ? "''" : out;
}

/**
 * Several command lines as the one command a tend key holds: one alone as it is; more
 * as `sh -c 'a && b'` (systemd runs them in order, stopping at the first that fails
 * unless it has `-`). Null for none.
 */
export function sequence(lines: readonly ExecLine[]): string | null {
  if (lines.length === 0) return null;
  if (lines.length === 1 && !lines[0]!.ignoreFailure) return tendCommand(lines[0]!);
  const script = lines.map((l) => {
    const command = l.words.map(shellWord).join(" ");
    return l.ignoreFailure ? `{ ${command} || true; }` : command;
  });
  return joinArgv(["/bin/sh", "-c", literalTemplate(script.join(" && "))]);
}
