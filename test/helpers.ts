// Shared by the test files: temporary directories, parsing and compiling small
// sources, running the built CLI, and a seeded random generator.

import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { collector, formatDiagnostic, type Diagnostic } from "../src/config/diagnostics.js";
import { parseServiceFile, type ParsedService } from "../src/config/parse.js";
import { compile, type CompileOptions, type CompileResult } from "../src/compile/compile.js";
import type { Database } from "../src/compile/database.js";
import { CLEAN_PATH } from "../src/config/service.js";
export { mulberry32, random, type Random } from "./prng.js";

/** The repository: the directory whose package.json names tend (this file runs from dist/test/). */
export const REPO = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (dir !== dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "tend") return dir;
    dir = dirname(dir);
  }
  throw new Error("cannot find the repository from the test file");
})();

export const EXAMPLES = join(REPO, "examples");

/** A fresh temporary directory; the returned function removes it. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "tend-test-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `body` with a temporary directory that is removed afterwards, whatever happens. */
export function withTemp<T>(body: (dir: string) => T): T {
  const { dir, remove } = tempDir();
  try {
    return body(dir);
  } finally {
    remove();
  }
}

/** Writes service files (name → text or bytes) into `dir`, creating it if needed. */
export function writeSource(dir: string, files: Record<string, string | Uint8Array>): string {
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

/** The file name parse tests give their service: diagnostics name it. */
export const FILE = "/etc/tend/svc";

export interface ParseOutcome {
  parsed: ParsedService | null;
  diagnostics: Diagnostic[];
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

/** Parses one service file's text (or bytes) as `/etc/tend/svc`. */
export function parse(text: string | Uint8Array, name = "svc", file = FILE, sourceDir = "/etc/tend"): ParseOutcome {
  const { diagnostics, report } = collector();
  const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : text;
  const parsed = parseServiceFile(file, name, bytes, sourceDir, report);
  return {
    parsed,
    diagnostics,
    errors: diagnostics.filter((d) => d.severity === "error"),
    warnings: diagnostics.filter((d) => d.severity === "warning"),
  };
}

/** `FILE:LINE:COL` (or less, as formatDiagnostic prints it) of a diagnostic. */
export function where(d: Diagnostic): string {
  const text = formatDiagnostic(d);
  return text.slice(0, text.indexOf(`: ${d.severity}: `));
}

/** Lists diagnostics one a line, for assertion messages. */
export const show = (list: readonly Diagnostic[]): string => list.map(formatDiagnostic).join("\n") || "(no diagnostics)";

/**
 * Asserts that `list` holds exactly one error, at `at` (as formatDiagnostic prints the
 * location), whose message contains every one of `parts`.
 */
export function assertOneError(list: readonly Diagnostic[], at: string, ...parts: string[]): Diagnostic {
  const errors = list.filter((d) => d.severity === "error");
  assert.equal(errors.length, 1, `expected exactly one error, got:\n${show(list)}`);
  const d = errors[0]!;
  assert.equal(where(d), at, `wrong location:\n${show(list)}`);
  for (const part of parts) assert.ok(d.message.includes(part), `message lacks ${JSON.stringify(part)}:\n${show(list)}`);
  return d;
}

/** Asserts some diagnostic of `severity` is at `at` with a message containing every part. */
export function assertHas(list: readonly Diagnostic[], severity: "error" | "warning", at: string, ...parts: string[]): Diagnostic {
  const d = list.find((x) => x.severity === severity && where(x) === at && parts.every((p) => x.message.includes(p)));
  assert.ok(d, `no ${severity} at ${at} containing ${JSON.stringify(parts)} in:\n${show(list)}`);
  return d;
}

export const errorsOf = (list: readonly Diagnostic[]): Diagnostic[] => list.filter((d) => d.severity === "error");

/** Writes `files` into a fresh temporary source directory, compiles it, and removes it. */
export function compileFiles(
  files: Record<string, string | Uint8Array>,
  options: Partial<CompileOptions> = {},
): CompileResult & { dir: string } {
  return withTemp((dir) => {
    writeSource(dir, files);
    return { ...compile({ sourceDir: dir, hostChecks: false, ...options }), dir };
  });
}

/** `files` compiled (they must be accepted) as the database an engine runs: generation 1. */
export function compiledDatabase(files: Record<string, string>): Database {
  const r = compileFiles(files);
  assert.ok(r.compiled, show(r.diagnostics));
  return { ...r.compiled, format: "tend-db", version: 1, generation: 1, compiledAt: "" };
}

/** The environment for child processes: ours, without the CA bundle variable. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.TEND_ROOT;
  Object.assign(env, extra);
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/** Runs the built CLI (`bin/tend`) with this node, and waits for it. */
export function runTend(args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): SpawnSyncReturns<string> {
  const result = spawnSync(process.execPath, [join(REPO, "bin/tend"), ...args], {
    cwd: options.cwd ?? REPO,
    env: childEnv(options.env),
    encoding: "utf8",
    timeout: 30_000,
  });
  if (result.error) throw result.error;
  return result;
}


/** The absolute path of a program in the clean PATH services get, or null when it is not installed (for skipping tests). */
export function findTool(name: string): string | null {
  for (const dir of CLEAN_PATH.split(":")) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this directory
    }
  }
  return null;
}

/**
 * `value` with every prototype-free record (src/records.ts) made a plain object, for
 * comparing with literals: assert.deepEqual (strict) compares prototypes too.
 */
export function plain<T>(value: T): T {
  if (Array.isArray(value)) return value.map(plain) as T;
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)])) as T;
}

/** Whether a test may use cgroup tracking: root, with a cgroup2 hierarchy mounted. */
export const CGROUPS_WRITABLE = ((): boolean => {
  try {
    return process.getuid?.() === 0 && readFileSync("/proc/self/mountinfo", "utf8").includes(" - cgroup2 ");
  } catch {
    return false;
  }
})();

/** The keeper's two ways of tracking a service's tree, each test run under both where it can. */
export const TRACKINGS: { name: "auto" | "fallback"; skip: string | false }[] = [
  { name: "auto", skip: CGROUPS_WRITABLE ? false : "cgroup tracking needs root and a cgroup2 hierarchy" },
  { name: "fallback", skip: false },
];
