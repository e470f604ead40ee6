// `tend demo` (what `npm start` runs): the example service set, checked and compiled
// into a private root so that nothing on the machine is touched.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { places } from "../places.js";
import { runCheck } from "./check.js";
import type { Output } from "./output.js";

/** The package's own directory, found from wherever the bundle was loaded. */
export function packageDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (dir !== dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "tend") return dir;
    dir = dirname(dir);
  }
  throw new Error("cannot find tend's package directory");
}

export function runDemo(out: Output): number {
  const pkg = packageDir();
  const where = places({ root: join(pkg, ".demo"), env: process.env, uid: process.getuid?.() ?? 0 });
  return runCheck({ sourceDir: join(pkg, "examples"), portable: false, install: true }, where, out);
}
