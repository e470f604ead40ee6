// `tend import UNIT…`: other init systems' files into tend service files (src/import/),
// and per unit what became of each directive.

import { basename } from "node:path";
import type { Places } from "../places.js";
import { runImport } from "../import/import.js";
import type { Note } from "../import/types.js";
import { orUserError } from "./errors.js";
import { paint, type Output } from "./output.js";

export interface ImportOptions {
  operands: string[];
  to: string | undefined;
  force: boolean;
  root: string | undefined;
}

const STYLE = { translated: "green", approximated: "yellow", dropped: "red", ignored: "dim" } as const;

function noteLine(out: Output, n: Note): string {
  const head = paint(out, STYLE[n.outcome], n.outcome.padEnd(12));
  const what = `${n.directive}= (${basename(n.file)}:${n.line})`;
  return `  ${head} ${what}${n.to !== undefined ? `  → ${n.to}` : ""}${n.why !== undefined ? `: ${n.why}` : ""}`;
}

/** Exit status: 0 all translated, 1 written but something dropped or approximated, 3 a unit not imported (2: usage, from the table). */
export function importUnits(options: ImportOptions, where: Places, out: Output): number {
  const to = options.to ?? where.sources;
  const result = orUserError(`cannot write into ${to}`, () => runImport({ operands: options.operands, to, force: options.force, root: options.root ?? "/" }));
  if (out.json) {
    out.data(result);
    return result.status;
  }
  for (const unit of result.units) {
    out.line(`${unit.source}${unit.kind !== null ? ` (${unit.kind})` : ""}${unit.written.length > 0 ? ` → ${unit.written.join(", ")}` : ""}`);
    for (const n of unit.notes) out.line(noteLine(out, n));
    for (const e of unit.errors) out.line(`  ${paint(out, "red", "error")}        ${e}`);
  }
  const enabled = result.enabled;
  if (enabled !== null) {
    if (enabled.error !== undefined) out.line(`${paint(out, "red", "not enabled")}: ${enabled.error}`);
    else if (enabled.added.length > 0) out.line(`enabled: ${enabled.added.join(" ")} (added to ${enabled.file})`);
  }
  const verdict = ["all translated", "imported; something was dropped or approximated (see above)", "", "a unit was not imported (see above)"][result.status];
  out.line(`${verdict}; check the set with 'tend check ${to}'`);
  return result.status;
}
