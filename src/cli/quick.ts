// The quick CLI (dist/bin/quick.cjs, which dist/bin/tend.cjs runs from V8's code cache:
// quick-start.ts): one CommonJS file without the compiler and the server (the build
// leaves them out); a command that needs them is handed to the whole CLI
// (dist/bin/main.js), which runs it from the start. The import() that loads it is the
// loader's: code V8 runs from a code cache cannot import.

import { runCli, type HandOver } from "./cli.js";

export function quick(handOver: NonNullable<HandOver>): void {
  runCli(process.argv.slice(2), handOver);
}
