// systemd's unit file syntax (systemd.syntax(7)), read into sections of assignments,
// in order, with the drop-ins (`NAME.d/*.conf`) after the unit's own lines. Pure: the
// caller reads the files. What the assignments mean (an empty one resetting a list, a
// repeated single key: the last wins) is the translator's, which sees every one.

export interface Assignment {
  key: string;
  value: string;
  file: string;
  line: number;
}

export interface UnitFile {
  /** Section name → its assignments, in the order read (drop-ins last). */
  sections: Map<string, Assignment[]>;
}

export type ParsedUnit = { ok: true; unit: UnitFile } | { ok: false; error: string };

const SECTION = /^\[([^\]\n]+)\]$/;
const KEY = /^[A-Za-z0-9_-]+$/;


/** Adds one file's assignments to `into`. */
function readInto(into: UnitFile, file: string, text: string): string | null {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  let section: Assignment[] | null = null;
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i]!.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    // A `\` at the end joins the next line, with a space; comment lines inside are skipped.
    while (line.endsWith("\\") && i + 1 < lines.length) {
      line = line.slice(0, -1);
      let next = lines[++i]!.trim();
      while ((next.startsWith("#") || next.startsWith(";")) && i + 1 < lines.length) next = lines[++i]!.trim();
      if (next.startsWith("#") || next.startsWith(";")) next = "";
      line = `${line} ${next}`;
    }
    if (line.endsWith("\\")) line = line.slice(0, -1);
    const header = SECTION.exec(line);
    if (header !== null) {
      const name = header[1]!;
      section = into.sections.get(name) ?? [];
      into.sections.set(name, section);
      continue;
    }
    const eq = line.indexOf("=");
    if (eq < 0) return `${file}:${start}: expected KEY=VALUE or [Section], found '${line.slice(0, 40)}'`;
    const key = line.slice(0, eq).trim();
    if (!KEY.test(key)) return `${file}:${start}: '${key.slice(0, 40)}' is not a directive's name`;
    if (section === null) return `${file}:${start}: '${key}=' before any [Section] header`;
    section.push({ key, value: line.slice(eq + 1).trim(), file, line: start });
  }
  return null;
}

/** A unit's text and its drop-ins' (each `{file, text}`, in the order to apply: sorted by name). */
export function parseUnit(file: string, text: string, dropIns: readonly { file: string; text: string }[] = []): ParsedUnit {
  if (text.includes("\0")) return { ok: false, error: `${file}: holds a NUL byte: not a unit file` };
  const unit: UnitFile = { sections: new Map() };
  for (const part of [{ file, text }, ...dropIns]) {
    const error = readInto(unit, part.file, part.text);
    if (error !== null) return { ok: false, error };
  }
  return { ok: true, unit };
}

/**
 * The values of a list directive in effect: every assignment's, in order, an empty one
 * dropping those before it (systemd's reset).
 */
export function listOf(assignments: readonly Assignment[]): Assignment[] {
  let out: Assignment[] = [];
  for (const a of assignments) {
    if (a.value === "") out = [];
    else out.push(a);
  }
  return out;
}

/** The assignment of a single-valued directive in effect: the last one (an empty one: back to the default, none). */
export function lastOf(assignments: readonly Assignment[]): Assignment | null {
  const last = assignments.at(-1);
  return last === undefined || last.value === "" ? null : last;
}
