// `tend apply [DIR] [--dry-run]`: compile the source set, install it, and have the
// running server perform the difference. The plan is printed first.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compile } from "../compile/compile.js";
import { installDatabase } from "../compile/database.js";
import type { Places } from "../places.js";
import { writablePlaces } from "../system/writable.js";
import type { ApplyResult } from "../server/protocol.js";
import { request } from "./client.js";
import { orUserError } from "./errors.js";
import { plural, printDiagnostic, type Output } from "./output.js";
import { isTerminal } from "./own-output.js";

export async function apply(places: Places, out: Output, sourceDir: string | undefined, dryRun: boolean, portable: boolean): Promise<number> {
  const result = compile({ sourceDir: sourceDir ?? places.sources, hostChecks: !portable });
  if (result.compiled === null) {
    if (out.json) out.data({ accepted: false, diagnostics: result.diagnostics });
    else {
      for (const d of result.diagnostics) printDiagnostic(out, d);
      out.line(`rejected: ${plural(result.diagnostics.filter((d) => d.severity === "error").length, "error")}; nothing was applied`);
    }
    return 1;
  }
  if (!out.json) for (const d of result.diagnostics) printDiagnostic(out, d); // warnings: an accepted set has no error
  // Install only for a server that will apply it: without one, 'tend compile' is the command.
  await request(places, { cmd: "ping" });
  let staging: string | undefined;
  try {
    if (dryRun) {
      staging = mkdtempSync(join(tmpdir(), "tend-apply-"));
      installDatabase(staging, result.compiled);
    } else {
      const compiled = result.compiled;
      // Into the state the server reads: under the run directory when the state directory cannot be written.
      const { state } = orUserError(`cannot install the database in ${places.state}`, () => writablePlaces(places)).places;
      orUserError(`cannot install the database in ${state}`, () => installDatabase(state, compiled));
    }
    const plan = await request(places, dryRun ? { cmd: "apply", from: staging! } : { cmd: "apply" }, (line) => {
      if (!out.json && isTerminal(1) && "progress" in line) out.line(`  ${line.progress.service}: ${line.progress.phase}`);
    });
    const failed = "failed" in plan ? plan.failed : [];
    if (out.json) return out.data(plan), failed.length > 0 ? 1 : 0;
    printPlan(out, plan, dryRun);
    return failed.length > 0 ? 1 : 0;
  } finally {
    if (staging !== undefined) rmSync(staging, { recursive: true, force: true });
  }
}

function printPlan(out: Output, plan: ApplyResult, dryRun: boolean): void {
  const rows: [string, string[]][] = [
    ["add (start if wanted)", plan.added],
    ["remove (stop)", plan.removed],
    ["change (restart)", plan.changed],
    ["restart with them (they require a changed service)", plan.bounced],
  ];
  if (rows.every(([, names]) => names.length === 0)) out.line("no difference: nothing to do");
  for (const [what, names] of rows) if (names.length > 0) out.line(`${what}: ${names.join(", ")}`);
  if ("note" in plan && plan.note) out.line(plan.note);
  else if (dryRun) out.line("dry run: nothing was changed");
  else if ("failed" in plan && plan.failed.length > 0) out.line(`failed: ${plan.failed.join(", ")}`);
  else out.line(`applied generation ${plan.generation.to}`);
}
