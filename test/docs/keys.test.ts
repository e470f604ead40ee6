// docs/service-files.md documents the KEYS table: every key as a heading or a row of
// a key table in its "Keys" section, and nothing there that is not a key.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { KEYS } from "../../src/config/keys.js";

const DOC = new URL("../../../docs/service-files.md", import.meta.url);
const ALL_TYPES = ["longrun", "oneshot", "task", "bundle"];

interface Documented {
  key: string;
  line: number;
  /** The types the doc gives for the key, if it gives them. */
  types?: string[];
}

/** The lines of the `## Keys` section, with their line numbers. */
function keysSection(text: string): { text: string; line: number }[] {
  const lines = text.split("\n").map((t, i) => ({ text: t, line: i + 1 }));
  const start = lines.findIndex((l) => l.text === "## Keys");
  assert.ok(start >= 0, "docs/service-files.md has no '## Keys' section");
  const end = lines.findIndex((l, i) => i > start && l.text.startsWith("## "));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

const cells = (row: string): string[] => row.replace(/^\s*\|/, "").replace(/\|\s*$/, "").split("|").map((c) => c.trim());

function parseTypes(text: string): string[] {
  const list = text.trim().replace(/\.$/, "");
  return list === "all" ? [...ALL_TYPES] : list.split(/\s*,\s*/);
}

/** Keys documented as `#### \`key\`` headings (with their `Types:` line) and as rows of tables headed `key`. */
function documentedKeys(text: string): Documented[] {
  const found: Documented[] = [];
  let heading: Documented | null = null;
  let table: { keyColumn: boolean; typesColumn: number } | null = null;
  for (const { text: l, line } of keysSection(text)) {
    const h = /^#{3,6}\s+`([^`]+)`\s*$/.exec(l);
    if (h) {
      heading = { key: h[1]!, line };
      found.push(heading);
      table = null;
      continue;
    }
    if (/^#{3,6}\s/.test(l)) heading = null;
    const types = /^Types:\s*([^.]+)\./.exec(l);
    if (types && heading && heading.types === undefined) heading.types = parseTypes(types[1]!);

    if (!l.trimStart().startsWith("|")) {
      table = null;
      continue;
    }
    const row = cells(l);
    if (table === null) {
      const header = row.map((c) => c.toLowerCase());
      table = { keyColumn: header[0] === "key", typesColumn: header.indexOf("types") };
      continue;
    }
    if (!table.keyColumn || row.every((c) => /^:?-+:?$/.test(c))) continue;
    const name = /^`([^`]+)`$/.exec(row[0]!);
    assert.ok(name, `docs/service-files.md:${line}: a key table row must start with the key in backticks`);
    const entry: Documented = { key: name[1]!, line };
    if (table.typesColumn > 0) entry.types = parseTypes(row[table.typesColumn]!);
    found.push(entry);
  }
  return found;
}

const documented = documentedKeys(readFileSync(DOC, "utf8"));

test("every key in KEYS is documented in docs/service-files.md", () => {
  const names = new Set(documented.map((d) => d.key));
  const missing = Object.keys(KEYS).filter((k) => !names.has(k));
  assert.deepEqual(missing, [], `keys without documentation: ${missing.join(", ")}`);
});

test("docs/service-files.md documents no key that does not exist", () => {
  const unknown = documented.filter((d) => !(d.key in KEYS)).map((d) => `'${d.key}' (line ${d.line})`);
  assert.deepEqual(unknown, [], `documented keys that are not in KEYS: ${unknown.join(", ")}`);
});

test("the types documented for each key are the types it applies to", () => {
  const wrong = documented
    .filter((d) => d.key in KEYS && d.types !== undefined)
    .filter((d) => [...d.types!].sort().join(",") !== [...KEYS[d.key]!.types].sort().join(","))
    .map((d) => `'${d.key}' (line ${d.line}): documented ${d.types!.join(", ")}, applies to ${KEYS[d.key]!.types.join(", ")}`);
  assert.deepEqual(wrong, [], wrong.join("\n"));
});

test("every key has an example", () => {
  const text = readFileSync(DOC, "utf8");
  const missing = Object.keys(KEYS).filter((k) => !text.includes(`\`${k} = `));
  assert.deepEqual(missing, [], `keys without a '\`KEY = …\`' example: ${missing.join(", ")}`);
});
