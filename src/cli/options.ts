// The words of a `tend` command line into options and operands, by the options table
// (commands.ts), the way getopt_long reads them: options anywhere before `--`,
// `--name value` and `--name=value` (an optional value: `--name=value` only), `-n 5`
// and `-n5`, flags grouped (`-fn 5`). What
// is wrong comes back as a value for the caller to word, never as an exception, so no
// parser's wording reaches the user.

import type { OptionSpec } from "./option-table.js";

export type Parsed<V> =
  | { ok: true; values: V; operands: string[]; given: string[] }
  | { ok: false; problem: "unknown" | "missing-value" | "no-value"; option: string };

/**
 * `given` lists the options found, by their table name, in order; `option` in a problem is
 * the option as typed (`--folow`, `-x`), or as the table names it for a missing value.
 */
export function parseOptions<V>(words: readonly string[], table: Readonly<Record<string, OptionSpec>>): Parsed<V> {
  const values: Record<string, string | true | string[]> = Object.create(null);
  const operands: string[] = [];
  const given: string[] = [];
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(table)) if (spec.short !== undefined) byShort.set(spec.short, name);
  const set = (name: string, value: string | true): void => {
    given.push(name);
    const spec = table[name]!;
    if (spec.repeat === true) ((values[name] ??= []) as string[]).push(value as string);
    else values[name] = value;
  };

  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word === "--") {
      operands.push(...words.slice(i + 1));
      break;
    }
    if (word.startsWith("--")) {
      const eq = word.indexOf("=");
      const name = word.slice(2, eq < 0 ? undefined : eq);
      const spec = Object.hasOwn(table, name) ? table[name]! : undefined;
      if (spec === undefined) return { ok: false, problem: "unknown", option: eq < 0 ? word : word.slice(0, eq) };
      if (spec.value === undefined) {
        if (eq >= 0) return { ok: false, problem: "no-value", option: `--${name}` };
        set(name, true);
      } else if (eq >= 0) set(name, word.slice(eq + 1));
      else if (spec.optional !== undefined) set(name, spec.optional);
      else if (i + 1 < words.length) set(name, words[++i]!);
      else return { ok: false, problem: "missing-value", option: `--${name}` };
      continue;
    }
    if (word.startsWith("-") && word.length > 1) {
      // A group of one-letter options: flags, and at most one that takes a value, last (the rest of the word, or the next word).
      for (let j = 1; j < word.length; j++) {
        const name = byShort.get(word[j]!);
        if (name === undefined) return { ok: false, problem: "unknown", option: `-${word[j]}` };
        if (table[name]!.value === undefined) {
          set(name, true);
          continue;
        }
        if (j + 1 < word.length) set(name, word.slice(j + 1));
        else if (i + 1 < words.length) set(name, words[++i]!);
        else return { ok: false, problem: "missing-value", option: `-${word[j]}` };
        break;
      }
      continue;
    }
    operands.push(word);
  }
  return { ok: true, values: values as V, operands, given };
}
