// How an import says "the boot brings this up" (systemd's WantedBy=multi-user.target,
// LSB's Default-Start): the name goes into the `contents` of the destination's
// `default` bundle, what `tend boot` starts, as `systemctl enable` links a unit into
// multi-user.target.wants. A missing `default` is written; an existing one gets a
// `contents` line added (a list key: its values add up), its other lines untouched.
// Not `tend enable`: that names services of the installed database, and the imported
// files are not compiled yet.

import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomically } from "../system/files.js";


export const BOOT_BUNDLE = "default";
/** Service files written for the world to read: they hold no secret a unit did not already show. */
export const IMPORTED_FILE_MODE = 0o644;

export interface Enabled {
  /** The bundle's file. */
  file: string;
  /** Names added to it (those it had already are left out). */
  added: string[];
  /** Why they could not be added. */
  error?: string;
}

/** The names a `contents` line of a bundle's text lists. */
function contentsOf(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^[ \t]*contents[ \t]*=(.*)$/gm)) for (const n of m[1]!.trim().split(/\s+/)) if (n !== "") names.add(n);
  return names;
}

export function addToDefault(dir: string, names: readonly string[]): Enabled {
  const file = join(dir, BOOT_BUNDLE);
  let text: string | null = null;
  let mode = IMPORTED_FILE_MODE;
  try {
    text = readFileSync(file, "utf8");
    mode = statSync(file).mode & 0o7777;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") return { file, added: [], error: `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? e}` };
  }
  if (text !== null && !/^[ \t]*type[ \t]*=[ \t]*bundle[ \t]*$/m.test(text)) return { file, added: [], error: `${file} is not a bundle: add ${names.join(" ")} to what boots by hand` };
  const have = text === null ? new Set<string>() : contentsOf(text);
  const added = [...new Set(names)].filter((n) => !have.has(n));
  if (added.length === 0) return { file, added };
  const line = `contents = ${added.join(" ")}\n`;
  const next =
    text === null
      ? `# What 'tend boot' brings up (written by tend import).\ntype = bundle\n${line}`
      : `${text}${text.endsWith("\n") || text === "" ? "" : "\n"}# Added by tend import.\n${line}`;
  writeFileAtomically(file, next, { mode });
  return { file, added };
}
