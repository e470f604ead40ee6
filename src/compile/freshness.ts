// Whether the installed database is still what its source directory holds: the
// compiler records each service file's sha256, and a booting server reads the
// directory again and names what was added, removed or changed since. By content, not
// by modification times, which an image build or a copy does not keep.

import { createHash } from "node:crypto";
import { basename } from "node:path";
import type { SourceFile } from "../config/source.js";
import { readSource } from "../config/source.js";
import { nameRecord, own } from "../records.js";

/** Service file name → sha256 of its bytes (hex). */
export type SourcesRecord = Record<string, string>;

/** At most this many names in the warning; the rest are counted. */
const NAMED = 5;

export function sourcesRecord(files: readonly SourceFile[]): SourcesRecord {
  const record = nameRecord<string>();
  for (const f of files) record[f.name] = createHash("sha256").update(f.bytes).digest("hex");
  return record;
}

/**
 * What differs between `recorded` (the database compiled from `dir`) and `dir` now, as
 * one warning naming the files and the fix; null when nothing does, or when the
 * directory cannot be read at all (an image may drop its sources once compiled).
 */
export function staleSources(dir: string, recorded: Readonly<SourcesRecord>, generation: number): string | null {
  let readable = true;
  // A file the compiler would refuse unread (unreadable, too large, a name that is not one) differs from any record.
  const refused = new Set<string>();
  const source = readSource(dir, (_severity, at) => {
    if (at.file === dir) readable = false;
    else refused.add(basename(at.file));
  });
  if (!readable) return null;
  const now = sourcesRecord(source.files);
  const differences: string[] = [];
  for (const name of [...new Set([...Object.keys(recorded), ...Object.keys(now), ...refused])].sort()) {
    const was = own(recorded, name);
    // null: the file is there but the compiler would not read it.
    const is = refused.has(name) ? null : own(now, name);
    if (was === undefined) differences.push(`${name} added`);
    else if (is === undefined) differences.push(`${name} removed`);
    else if (is !== was) differences.push(`${name} changed`);
  }
  if (differences.length === 0) return null;
  const named = differences.slice(0, NAMED).join(", ");
  const more = differences.length > NAMED ? `, and ${differences.length - NAMED} more` : "";
  return `the service files in ${dir} differ from database generation ${generation}, compiled from them: ${named}${more}; run 'tend compile' (or boot with --compile) to use them`;
}
