// A CommonJS file run from a V8 code cache of it: what dist/bin/tend.cjs does with the
// quick CLI (quick-start.ts). V8 checks a cache against its own version and flags and
// the source's length; one written before the file was is not offered at all.

import { readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { Script } from "node:vm";

export interface CachedScript {
  /** Runs the file as a CommonJS module, and gives its exports. */
  run(): unknown;
  /** Whether V8 took the cache: null when there was none (or a stale one) to offer. */
  cacheTaken: boolean | null;
  /** Writes the cache of what has been compiled so far (call it once the work is done). */
  writeCache(): void;
}

export function cachedScript(file: string, cacheFile: string, options: { offerCache: boolean }): CachedScript {
  const cache = options.offerCache ? freshCache(file, cacheFile) : undefined;
  // The function CommonJS wraps every module in, so the file runs as it would if required.
  const source = `(function (exports, require, module, __filename, __dirname) {${readFileSync(file, "utf8")}\n})`;
  const script = new Script(source, { filename: file, cachedData: cache });
  return {
    run() {
      const module = { exports: {} };
      script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
      return module.exports;
    },
    cacheTaken: cache === undefined ? null : !script.cachedDataRejected,
    writeCache: () => writeFileSync(cacheFile, script.createCachedData(), { mode: 0o644 }),
  };
}

/** The cache, when it was written after the file. */
function freshCache(file: string, cacheFile: string): Buffer | undefined {
  try {
    return statSync(cacheFile).mtimeMs >= statSync(file).mtimeMs ? readFileSync(cacheFile) : undefined;
  } catch {
    return undefined; // none: compiled as any script is
  }
}
