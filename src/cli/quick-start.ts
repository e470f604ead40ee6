// What bin/tend runs (dist/bin/tend.cjs): the quick CLI (quick.ts, bundled as
// dist/bin/quick.cjs), compiled from the V8 code cache the build made of it
// (dist/bin/quick.cache) instead of anew at every command: V8 compiling the bundle was
// the largest part of a `tend status` after Node's own start (W3 in docs/benchmarks.md);
// and first, the table of `tend status` from the server's status file, which needs none
// of it (quick-table.ts).
// A cache V8 rejects (another Node, other V8 flags) or older than the bundle only costs
// the saving. The build makes the cache by running `tend status` once with
// TEND_BUILD_CODE_CACHE=1 (no server: the way to one and the error are compiled too).

import { join } from "node:path";
import { cachedScript } from "./code-cache.js";
import { quickTable } from "./quick-table.js";

// The table of `tend status`, from the status file, needs none of the quick CLI (quick-table.ts).
if (!quickTable(process.argv.slice(2))) {
  const making = process.env.TEND_BUILD_CODE_CACHE === "1";
  const quick = cachedScript(join(__dirname, "quick.cjs"), join(__dirname, "quick.cache"), { offerCache: !making });
  if (making) process.once("exit", quick.writeCache);
  // The import() of the whole CLI is made here: code V8 runs from a code cache cannot import.
  (quick.run() as { quick(handOver: () => Promise<unknown>): void }).quick(() => import("./main.js"));
}
