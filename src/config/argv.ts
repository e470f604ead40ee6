// Splits a command line into argv the way a POSIX shell would quote it — and does
// nothing else a shell does: no variables, globs, pipes or redirections. A service
// that wants a shell asks for one (`command = sh -c '…'`).

export type SplitResult = { ok: true; argv: string[] } | { ok: false; offset: number; message: string };

/** A command's argv: it names a program, so it is never empty. */
export type Argv = [string, ...string[]];

/** Does `argv` name a program (a first word, and not an empty one)? A service file's commands and the database's must. */
export const isCommand = (argv: string[]): argv is Argv => argv.length > 0 && argv[0] !== "";

export function splitArgv(text: string): SplitResult {
  const argv: string[] = [];
  let word = "";
  let inWord = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === " " || c === "\t") {
      if (inWord) argv.push(word);
      word = "";
      inWord = false;
      i++;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return { ok: false, offset: i, message: "unterminated single quote" };
      word += text.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      const start = i;
      i++;
      for (;;) {
        if (i >= text.length) return { ok: false, offset: start, message: "unterminated double quote" };
        const d = text[i]!;
        if (d === '"') break;
        if (d === "\\" && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) {
          word += text[i + 1];
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
      i++;
    } else if (c === "\\") {
      if (i + 1 >= text.length) return { ok: false, offset: i, message: "a '\\' at the end escapes nothing" };
      word += text[i + 1];
      i += 2;
    } else {
      word += c;
      i++;
    }
  }
  if (inWord) argv.push(word);
  return { ok: true, argv };
}

/** Quotes argv back into a command line that `splitArgv` reads as the same argv. */
export function joinArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}
