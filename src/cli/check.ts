// `tend check [DIR]` and `tend compile [DIR]`: compile a source set, print every
// diagnostic and the boot plan; `compile` also installs the accepted database.

import { compile, BOOT_BUNDLE } from "../compile/compile.js";
import { installDatabase } from "../compile/database.js";
import type { Places } from "../places.js";
import { describeMove, writablePlaces } from "../system/writable.js";
import { orUserError } from "./errors.js";
import { paint, plural, printDiagnostic, type Output } from "./output.js";

export interface CheckArgs {
  sourceDir: string | undefined;
  portable: boolean;
  install: boolean;
}

/** Exit status: 0 accepted (and installed), 1 rejected. */
export function runCheck(args: CheckArgs, where: Places, out: Output): number {
  const sourceDir = args.sourceDir ?? where.sources;
  const result = compile({ sourceDir, hostChecks: !args.portable });
  const errors = result.diagnostics.filter((d) => d.severity === "error").length;
  const warnings = result.diagnostics.length - errors;
  const compiled = result.compiled;
  // Where the server of this boot reads it: under the run directory when the state directory cannot be written.
  const target = compiled !== null && args.install ? orUserError(`cannot install the database in ${where.state}`, () => writablePlaces(where)) : null;
  const state = target?.places.state ?? where.state;
  const moved = target?.moved.find((m) => m.place === "state") ?? null;
  const install = compiled !== null && target !== null ? orUserError(`cannot install the database in ${state}`, () => installDatabase(state, compiled)) : null;

  if (out.json) {
    out.data({
      accepted: result.accepted,
      source: sourceDir,
      services: result.serviceCount,
      errors,
      warnings,
      diagnostics: result.diagnostics,
      skipped: result.skipped,
      boot: result.compiled?.boot ?? null,
      installed: install && {
        changed: install.changed,
        generation: install.database.generation,
        path: state,
        moved,
        digest: install.database.digest,
      },
    });
    return result.accepted ? 0 : 1;
  }

  for (const d of result.diagnostics) printDiagnostic(out, d);
  for (const s of result.skipped) out.line(paint(out, "dim", `${s.file}: skipped (${s.why})`));
  const counts = `${plural(errors, "error")}, ${plural(warnings, "warning")}`;
  if (result.compiled === null) {
    out.line(`${paint(out, "red", "rejected")}: ${sourceDir}: ${counts} in ${plural(result.serviceCount, "service file")}`);
    if (args.install) out.line("nothing was installed; the installed database is unchanged");
    return 1;
  }
  out.line(`${paint(out, "green", "accepted")}: ${sourceDir}: ${plural(result.serviceCount, "service")}, ${counts}`);
  const waves = result.compiled.boot;
  if (waves.length > 0) {
    const total = waves.reduce((n, w) => n + w.length, 0);
    out.line(`boot plan for '${BOOT_BUNDLE}': ${plural(total, "service")} in ${plural(waves.length, "wave")}`);
    waves.forEach((wave, i) => out.line(`  ${String(i + 1).padStart(2)}. ${wave.join("  ")}`));
  }
  if (install !== null) {
    const { generation } = install.database;
    if (moved !== null) out.line(describeMove(moved));
    out.line(install.changed ? `installed generation ${generation} in ${state}` : `unchanged: generation ${generation} in ${state} is this configuration already`);
  }
  return 0;
}
