// Temporary directories, and processes the bench started, that are removed or stopped
// when the bench ends, however it ends (normal exit, an error, Ctrl-C, SIGTERM).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const live = new Set<string>();
/** Synchronous clean-ups (stop a server the bench started), run before the directories go. */
const cleanups = new Set<() => void>();
let keep = false;
let hooked = false;

/** Keep temporary directories (for debugging a workload): `--keep`. */
export function keepTempDirs(value: boolean): void {
  keep = value;
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", removeAllTempDirs);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      removeAllTempDirs();
      process.kill(process.pid, signal);
    });
  }
}

export function makeTempDir(prefix: string): string {
  hook();
  const dir = mkdtempSync(join(tmpdir(), `tend-bench-${prefix}-`));
  live.add(dir);
  return dir;
}

/**
 * Registers a synchronous clean-up (kill the processes a workload started) that runs
 * when the bench ends or is interrupted, before the temporary directories are removed.
 * Returns the function that unregisters it (call it once the workload cleaned up itself).
 */
export function onCleanup(cleanup: () => void): () => void {
  hook();
  cleanups.add(cleanup);
  return () => void cleanups.delete(cleanup);
}

export function removeTempDir(dir: string): void {
  if (!live.delete(dir)) return;
  if (keep) {
    process.stderr.write(`bench: kept ${dir}\n`);
    return;
  }
  rmSync(dir, { recursive: true, force: true });
}

export function runCleanups(): void {
  for (const cleanup of [...cleanups]) {
    cleanups.delete(cleanup);
    try {
      cleanup();
    } catch (e) {
      process.stderr.write(`bench: clean-up failed: ${(e as Error).message}\n`);
    }
  }
}

export function removeAllTempDirs(): void {
  runCleanups();
  for (const dir of [...live]) removeTempDir(dir);
}
