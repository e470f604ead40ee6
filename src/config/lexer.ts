// Turns the bytes of one service file into `key = value` entries with their positions.
// Whatever the bytes are (binary junk, invalid UTF-8, a 10 MB line, nothing at all),
// the result is entries and diagnostics, never an exception.

import type { Location, Report } from "./diagnostics.js";

export const MAX_FILE_BYTES = 1024 * 1024;
export const MAX_LINE_CHARS = 16 * 1024;

export interface Entry {
  key: string;
  value: string;
  /** Where the key starts. */
  keyAt: Location;
  /** Where character `offset` of `value` stands in the file (values may span continued lines). */
  at(offset: number): Location;
}

interface Segment {
  /** Offset in the joined value where this physical line's part begins. */
  start: number;
  line: number;
  col: number;
}

const KEY = /^[a-z][a-z0-9-]*$/;

export function lex(file: string, bytes: Uint8Array, report: Report): Entry[] {
  const whole = { file, line: 0, col: 0 };
  if (bytes.length > MAX_FILE_BYTES) {
    report("error", whole, `file is ${bytes.length} bytes; a service file may be at most ${MAX_FILE_BYTES} bytes`);
    return [];
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    report("error", whole, `file contains a NUL byte at offset ${nul}: this is not a text file`);
    return [];
  }
  const lines = decodeLines(file, bytes, report);
  if (lines.every((l) => l === null || l.trim() === "" || l.trimStart().startsWith("#"))) {
    report("error", whole, "file has no settings: a service file needs at least 'type = …'");
    return [];
  }

  const entries: Entry[] = [];
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i];
    if (typeof first !== "string") continue; // null: already reported as invalid UTF-8
    const lineNo = i + 1;
    if (first.length > MAX_LINE_CHARS) {
      report("error", { file, line: lineNo, col: 0 }, `line is ${first.length} characters long; the limit is ${MAX_LINE_CHARS}`);
      i = skipContinuation(lines, i);
      continue;
    }
    const trimmed = first.trimStart();
    if (trimmed === "" || trimmed.startsWith("#")) continue;

    const eq = first.indexOf("=");
    const keyCol = first.length - trimmed.length + 1;
    if (eq < 0) {
      report("error", { file, line: lineNo, col: keyCol }, `expected 'key = value', found '${preview(trimmed)}'`);
      i = skipContinuation(lines, i);
      continue;
    }
    const key = first.slice(0, eq).trim();
    if (!KEY.test(key)) {
      report("error", { file, line: lineNo, col: keyCol }, `'${preview(key)}' is not a valid key: keys are lower-case letters, digits and '-'`);
      i = skipContinuation(lines, i);
      continue;
    }

    // Gather the value, following backslash continuations onto the next lines.
    let rest = first.slice(eq + 1);
    let col = eq + 2 + (rest.length - rest.trimStart().length);
    rest = rest.trimStart();
    const segments: Segment[] = [];
    let value = "";
    let line = lineNo;
    for (;;) {
      const body = rest.trimEnd();
      const continues = body.endsWith("\\");
      segments.push({ start: value.length, line, col });
      value += continues ? body.slice(0, -1).trimEnd() : body;
      if (!continues) break;
      const next = lines[i + 1];
      if (next === undefined) {
        report("error", { file, line, col: col + body.length - 1 }, "the last line ends with '\\' but no line follows to continue it");
        break;
      }
      i++;
      line = i + 1;
      if (next === null) break;
      if (next.length > MAX_LINE_CHARS) {
        report("error", { file, line, col: 0 }, `line is ${next.length} characters long; the limit is ${MAX_LINE_CHARS}`);
        break;
      }
      value += " ";
      rest = next.trimStart();
      col = next.length - rest.length + 1;
    }
    // A continuation onto a blank line adds nothing, not even the blank that joins lines.
    value = value.trimEnd();
    entries.push({ key, value, keyAt: { file, line: lineNo, col: keyCol }, at: locator(file, segments) });
  }
  return entries;
}

/** Lines of text; a line that is not valid UTF-8 is reported and stands as null. */
function decodeLines(file: string, bytes: Uint8Array, report: Report): (string | null)[] {
  const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  try {
    return strict.decode(bytes).split("\n").map(stripCR);
  } catch {
    // Find the offending lines one by one so that the rest of the file is still checked.
    const lines: (string | null)[] = [];
    let start = 0;
    while (start <= bytes.length) {
      let end = bytes.indexOf(0x0a, start);
      if (end < 0) end = bytes.length;
      try {
        lines.push(stripCR(strict.decode(bytes.subarray(start, end))));
      } catch {
        report("error", { file, line: lines.length + 1, col: 0 }, "line is not valid UTF-8");
        lines.push(null);
      }
      start = end + 1;
    }
    return lines;
  }
}

const stripCR = (line: string): string => (line.endsWith("\r") ? line.slice(0, -1) : line);

function skipContinuation(lines: readonly (string | null)[], i: number): number {
  while (i + 1 < lines.length && (lines[i] ?? "").trimEnd().endsWith("\\")) i++;
  return i;
}

function locator(file: string, segments: readonly Segment[]): (offset: number) => Location {
  return (offset) => {
    // The last segment starting at or before `offset`, by bisection: a value continued
    // over thousands of lines is located thousands of times (once per name in it).
    let low = 0;
    let high = segments.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (segments[mid]!.start <= offset) low = mid;
      else high = mid - 1;
    }
    const segment = segments[low]!;
    return { file, line: segment.line, col: segment.col + Math.max(0, offset - segment.start) };
  };
}

/** A short, printable excerpt of user text for an error message. */
export function preview(text: string, max = 40): string {
  // eslint-disable-next-line no-control-regex
  const printable = text.replace(/[\u0000-\u001f\u007f]/g, "?");
  return printable.length > max ? `${printable.slice(0, max)}…` : printable;
}
