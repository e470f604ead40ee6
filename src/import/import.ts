// `tend import`: finds the files named (a unit file, a directory of them, a unit's
// name in systemd's unit directories), hands each to the translator that recognises
// it, and writes what it gives into the source directory: service files 0644, never
// over an existing one unless forced, and the names to enable into its `default`
// bundle. A translator is picked by the file's content, so another kind of file (LSB
// init scripts) is one more entry in TRANSLATORS.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ensureDirectory, writeFileAtomically } from "../system/files.js";
import { addToDefault, IMPORTED_FILE_MODE, type Enabled } from "./enable.js";
import { lsbTranslator } from "./lsb.js";
import { systemdTranslator } from "./systemd.js";
import type { Note, Translator, UnitFiles } from "./types.js";

/** Every translator, in the order they are asked: the first that recognises a file translates it. */
export const TRANSLATORS: readonly Translator[] = [systemdTranslator, lsbTranslator];

/** Where a unit given by name is looked for, in systemd's order (under `--root` when given). */
export const UNIT_DIRECTORIES = ["etc/systemd/system", "run/systemd/system", "lib/systemd/system", "usr/lib/systemd/system"];

const DIRECTORY_MODE = 0o755;

export interface ImportArgs {
  operands: string[];
  /** The destination: the source directory, or --to. */
  to: string;
  force: boolean;
  /** Where unit names are looked up: `/`, or --root. */
  root: string;
}

export interface UnitOutcome {
  source: string;
  kind: string | null;
  /** Files written, by path. */
  written: string[];
  notes: Note[];
  /** Why nothing (or not everything) of it was written: not found, unreadable, unparseable, a file there already. */
  errors: string[];
}

export interface ImportResult {
  to: string;
  units: UnitOutcome[];
  enabled: Enabled | null;
  /** 0: all translated; 1: written, something dropped or approximated; 3: a unit (or a file of it) could not be imported. */
  status: number;
}

const diskFiles: UnitFiles = {
  read(path) {
    try {
      return statSync(path).isFile() ? readFileSync(path, "utf8") : null;
    } catch {
      return null;
    }
  },
  list(dir) {
    try {
      return readdirSync(dir).sort();
    } catch {
      return [];
    }
  },
};

interface Input {
  path: string;
  text: string;
  translator: Translator;
}

/** The files an operand stands for, or why none. */
function resolve(operand: string, root: string): { paths: string[] } | { error: string } {
  if (operand.includes("/") || existsSync(operand)) {
    let st;
    try {
      st = statSync(operand);
    } catch (e) {
      return { error: `${operand}: cannot read: ${(e as NodeJS.ErrnoException).code ?? e}` };
    }
    if (!st.isDirectory()) return { paths: [operand] };
    const paths = diskFiles.list(operand).map((n) => join(operand, n)).filter((p) => diskFiles.read(p) !== null);
    return { paths };
  }
  const names = /\.[a-z]+$/.test(operand) ? [operand] : [`${operand}.service`];
  for (const dir of UNIT_DIRECTORIES) {
    for (const name of names) {
      const path = join(root, dir, name);
      if (diskFiles.read(path) !== null) return { paths: [path] };
    }
  }
  return { error: `${operand}: no such file, and no unit '${names[0]}' in ${UNIT_DIRECTORIES.map((d) => join(root, d)).join(", ")}` };
}

export function runImport(args: ImportArgs): ImportResult {
  const units: UnitOutcome[] = [];
  const inputs: Input[] = [];
  for (const operand of args.operands) {
    const found = resolve(operand, args.root);
    if ("error" in found) {
      units.push({ source: operand, kind: null, written: [], notes: [], errors: [found.error] });
      continue;
    }
    const fromDirectory = found.paths.length !== 1 || found.paths[0] !== operand;
    for (const path of found.paths) {
      const text = diskFiles.read(path);
      if (text === null) {
        units.push({ source: path, kind: null, written: [], notes: [], errors: [`${path}: cannot read it`] });
        continue;
      }
      const translator = TRANSLATORS.find((t) => t.recognises(path, text));
      if (translator === undefined) {
        // A directory holds more than units (targets, links): only a file named alone is an error.
        if (!fromDirectory) units.push({ source: path, kind: null, written: [], notes: [], errors: [`${path}: not a file tend can import (${TRANSLATORS.map((t) => t.kind).join(", ")})`] });
        continue;
      }
      if (!inputs.some((i) => i.path === path)) inputs.push({ path, text, translator });
    }
  }

  // What the destination has and this run writes: the names a dependency may keep.
  const known = new Set(diskFiles.list(args.to));
  for (const i of inputs) for (const n of i.translator.names(i.path, i.text)) known.add(n);
  // An input whose services another input writes too (a .service beside its .timer) is that one's part.
  const covered = new Set(inputs.flatMap((i) => i.translator.covers?.(i.path, i.text, diskFiles) ?? []));

  const enable: string[] = [];
  let made = false;
  for (const input of inputs) {
    if (covered.has(input.path)) continue;
    const unit: UnitOutcome = { source: input.path, kind: input.translator.kind, written: [], notes: [], errors: [] };
    units.push(unit);
    const result = input.translator.translate({ path: input.path, text: input.text, files: diskFiles, known });
    if (!result.ok) {
      unit.errors.push(result.error);
      continue;
    }
    unit.notes = result.translation.notes;
    for (const file of result.translation.files) {
      const path = join(args.to, file.name);
      if (!made) {
        ensureDirectory(args.to, DIRECTORY_MODE);
        made = true;
      }
      if (!args.force && existsSync(path)) {
        unit.errors.push(`${path} exists: left as it is (--force replaces it)`);
        continue;
      }
      writeFileAtomically(path, file.text, { mode: IMPORTED_FILE_MODE, keepExisting: !args.force });
      unit.written.push(path);
    }
    if (unit.errors.length === 0) enable.push(...result.translation.enable);
  }
  const enabled = enable.length > 0 ? addToDefault(args.to, enable) : null;
  const failed = units.some((u) => u.errors.length > 0) || (enabled !== null && enabled.error !== undefined);
  const inexact = units.some((u) => u.notes.some((n) => n.outcome === "dropped" || n.outcome === "approximated"));
  return { to: args.to, units, enabled, status: failed ? 3 : inexact ? 1 : 0 };
}

