// Reads a source directory: one service per regular file, the file name is the
// service name (a name ending in '@' is a template, see template.ts). Editor and package-manager leftovers are skipped (and listed), so
// that `vi` swap files or `.dpkg-old` copies never become services.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Report } from "./diagnostics.js";
import { MAX_FILE_BYTES } from "./lexer.js";
import { splitInstanceName, TEMPLATE_NAME } from "./template.js";
import { SERVICE_NAME } from "./values.js";

export interface SourceFile {
  name: string;
  /** The path as shown in diagnostics: DIR/NAME as given on the command line. */
  file: string;
  bytes: Uint8Array;
}

export interface Source {
  dir: string;
  files: SourceFile[];
  /** Files passed over on purpose, with why. */
  skipped: { file: string; why: string }[];
  /** Names of service files that exist but were rejected unread (too large, unreadable); already reported. */
  unread: string[];
}

const LEFTOVER = /(~|\.(bak|orig|rej|swp|swo|tmp|dpkg-old|dpkg-new|dpkg-dist|dpkg-bak|rpmnew|rpmsave|rpmorig|ucf-old|ucf-new|ucf-dist))$/;

export function readSource(dir: string, report: Report): Source {
  const source: Source = { dir, files: [], skipped: [], unread: [] };
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    report("error", { file: dir, line: 0, col: 0 }, `cannot read the source directory: ${(e as NodeJS.ErrnoException).code ?? e}`);
    return source;
  }
  for (const name of names) {
    const file = join(dir, name);
    if (name.startsWith(".")) {
      source.skipped.push({ file, why: "hidden file" });
      continue;
    }
    if (LEFTOVER.test(name)) {
      source.skipped.push({ file, why: "backup or package-manager leftover" });
      continue;
    }
    let isFile: boolean;
    let size: number;
    try {
      const stat = statSync(file);
      isFile = stat.isFile();
      size = stat.size;
    } catch (e) {
      report("error", { file, line: 0, col: 0 }, `cannot read: ${(e as NodeJS.ErrnoException).code ?? e}`);
      source.unread.push(name);
      continue;
    }
    if (!isFile) continue; // directories hold a service's programs or data, never a service
    if (!SERVICE_NAME.test(name) && !TEMPLATE_NAME.test(name)) {
      const instance = splitInstanceName(name);
      report(
        "error",
        { file, line: 0, col: 0 },
        instance !== null
          ? `'${name}' is an instance's name: a file is a service (NAME) or a template (NAME@); name '${name}' in a bundle's 'contents' (or 'tend start' it) to have it made from '${instance.template}'`
          : `'${name}' is not a valid service name: use letters, digits, '.', '_' and '-', starting with a letter or digit, at most 100 characters (and '@' at the end for a template)`,
      );
      continue;
    }
    if (size > MAX_FILE_BYTES) {
      report("error", { file, line: 0, col: 0 }, `file is ${size} bytes; a service file may be at most ${MAX_FILE_BYTES} bytes`);
      source.unread.push(name);
      continue;
    }
    try {
      source.files.push({ name, file, bytes: readFileSync(file) });
    } catch (e) {
      report("error", { file, line: 0, col: 0 }, `cannot read: ${(e as NodeJS.ErrnoException).code ?? e}`);
      source.unread.push(name);
    }
  }
  return source;
}
